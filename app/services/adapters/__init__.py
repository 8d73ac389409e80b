"""Adapters that put external agents' permission requests (Claude Code hooks and its permission prompt tool, the
Claude Agent SDK, Codex app-server, ACP agents) into Signoff's queue and answer them in each agent's protocol.

One module per agent behind the interface in ``base``; ``broker`` holds the queue side they share. Nothing heavy is
imported here: the Claude Code hook's fast path must stay cheap.
"""
