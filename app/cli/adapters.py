"""``signoff hook claude-code``, ``signoff hooks install|uninstall|sweep``, ``signoff mcp``, ``signoff codex`` and
``signoff acp``: the commands external agents (Claude Code, ``claude -p``, editors running Codex or ACP agents)
start. Importing this module costs only argparse: the hook is on the agent's critical path, so everything else is
imported inside the command that needs it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _add_hook_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agent", choices=["claude-code"], help="which agent runs the hook")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="the hook timeout configured in the agent; Signoff withdraws the proposal just before it (default 600)",
    )
    parser.add_argument("--db", metavar="URL", dest="sub_db")


def add_commands(commands: Any) -> None:
    hook = commands.add_parser(
        "hook", help="answer one hook call of an external agent (stdin JSON -> stdout JSON), e.g. Claude Code's"
    )
    _add_hook_arguments(hook)

    hooks = commands.add_parser("hooks", help="add Signoff's hook to Claude Code's settings, or take it out")
    actions = hooks.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    for name, text in (
        ("install", "merge Signoff's hook into Claude Code's settings.json (a backup is kept)"),
        ("uninstall", "remove exactly Signoff's hook entries"),
    ):
        sub = actions.add_parser(name, help=text)
        where = sub.add_mutually_exclusive_group()
        where.add_argument("--project", metavar="DIR", help="DIR/.claude/settings.json (default: this folder)")
        where.add_argument("--user", action="store_true", help="~/.claude/settings.json, for every project")
        sub.add_argument("--db", metavar="URL", dest="sub_db")
        if name == "install":
            sub.add_argument(
                "--timeout", type=int, default=600, metavar="SECONDS", help="how long Claude Code waits (default 600)"
            )
    sweep = actions.add_parser("sweep", help="withdraw waiting proposals whose agent process is gone")
    sweep.add_argument("--db", metavar="URL", dest="sub_db")

    mcp = commands.add_parser(
        "mcp", help="a stdio MCP server with the permission prompt tool for `claude -p --permission-prompt-tool`"
    )
    mcp.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS", help="longest wait per request")
    mcp.add_argument("--db", metavar="URL", dest="sub_db")

    for name, text, default in (
        (
            "codex",
            "start `codex app-server` (or CMD) behind Signoff: its approval requests wait in the queue",
            "codex app-server",
        ),
        ("acp", "start an ACP agent (CMD) behind Signoff: its permission requests wait in the queue", None),
    ):
        relay = commands.add_parser(
            name,
            help=text,
            description=f"{text}. Point your editor at `signoff {name} -- CMD` instead of CMD; everything else passes "
            "through unchanged.",
        )
        relay.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS", help="longest wait per request")
        relay.add_argument("--db", metavar="URL", dest="sub_db")
        relay.add_argument(
            "agent_command",
            nargs=argparse.REMAINDER,
            metavar="-- CMD",
            help=f"the agent to start (default: {default})" if default else "the agent to start, after --",
        )


def hook(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.adapters import claude_code

    return claude_code.main(db_url=db_url, timeout_s=args.timeout)


def hooks(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.adapters import hooks_install

    if args.hooks_command == "sweep":
        return _sweep(db_url)
    path = hooks_install.settings_file(project=args.project, user=args.user)
    try:
        if args.hooks_command == "install":
            command = hooks_install.hook_command(db_url=db_url, timeout_s=args.timeout)
            change = hooks_install.install(path, command, timeout_s=args.timeout)
        else:
            change = hooks_install.uninstall(path)
    except (hooks_install.HooksFileError, OSError) as err:
        print(f"signoff: {err}", file=sys.stderr)
        return 1
    done = "installed in" if args.hooks_command == "install" else "removed from"
    if not change.changed:
        state = "already in" if args.hooks_command == "install" else "not in"
        print(f"Signoff's hook is {state} {path}; nothing changed.")
    else:
        print(f"Signoff's hook {done} {path}.")
        if change.backup is not None:
            print(f"The file as it was: {change.backup}")
    if args.hooks_command == "install":
        print("Edits, writes and commands in Claude Code now wait in Signoff's queue (read-only tools pass through).")
    return 0


def _sweep(db_url: str | None) -> int:
    from app.cli.common import database
    from app.services.adapters.broker import Broker

    withdrawn = Broker(database(db_url)).sweep()
    print(f"Withdrew {withdrawn} proposal(s) whose agent process is gone.")
    return 0


def mcp(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.adapters import mcp_server

    return mcp_server.main(db_url=db_url, timeout_s=args.timeout)


def _relay(protocol: str, args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.adapters import relay

    command = list(args.agent_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        if protocol != "codex":
            print(f"signoff: name the agent to start: signoff {protocol} -- CMD", file=sys.stderr)
            return 2
        command = list(relay.CODEX_COMMAND)
    try:
        return relay.run_agent(
            protocol,
            command,
            db_url=db_url,
            timeout_s=args.timeout,
            client_in=sys.stdin.buffer,
            client_out=sys.stdout.buffer,
        )
    except relay.AgentStartError as err:
        print(f"signoff: {err}", file=sys.stderr)
        return 1


def codex(args: argparse.Namespace, db_url: str | None) -> int:
    return _relay("codex", args, db_url)


def acp(args: argparse.Namespace, db_url: str | None) -> int:
    return _relay("acp", args, db_url)
