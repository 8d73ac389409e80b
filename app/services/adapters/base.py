"""The adapter interface every external agent shares: its request as a ``ToolRequest``, what it would change as a
``Change`` (real old bytes from disk, new bytes from the tool input), and Signoff's ``Answer``.

Cheap to import on purpose: the Claude Code hook answers a policy-decided call from here without loading the
database layer (no SQLAlchemy, no anthropic, no Qt). Each adapter module turns ``Answer`` into its protocol's shape.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.domain import agent_tools
from app.services.workspace import MAX_FILE_BYTES, ToolInputError, Workspace, is_binary, sha256_hex

ALLOW, DENY, ASK = "allow", "deny", "ask"


@dataclass(frozen=True)
class ToolRequest:
    """One permission request from an external agent, in Signoff's words."""

    source: str  # 'claude-code', 'mcp', 'agent-sdk', 'codex', 'acp'
    session_key: str  # the agent's own session id
    cwd: str  # the session's folder: the workspace every path must stay inside
    tool_name: str
    tool_input: dict[str, Any]
    tool_use_id: str
    transcript_path: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class Change:
    """What the request would do, drafted against the disk now."""

    kind: str  # 'edit' | 'create' | 'command'
    path: str | None = None  # workspace-relative
    command: str | None = None
    cwd: str | None = "."
    old_content: bytes | None = None
    new_content: bytes | None = None

    @property
    def base_hash(self) -> str | None:
        return sha256_hex(self.old_content)


@dataclass(frozen=True)
class Answer:
    behavior: str  # allow | deny | ask
    message: str = ""
    updated_input: dict[str, Any] | None = None
    # Who decided: 'policy', 'person' or 'signoff' (it could not put the request to anyone).
    decided_by: str = "signoff"
    extra: dict[str, Any] = field(default_factory=dict)


class RefusedError(Exception):
    """The request cannot become a proposal; ``action`` (deny or ask) and the message go back on the protocol."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(message)
        self.action = action
        self.message = message


class Adapter(Protocol):
    """What an adapter module provides: its requests drafted as changes and edits re-expressed in its shapes."""

    source: str

    def draft(self, request: ToolRequest) -> Change | None:
        """The change (None: a read-only call that passes through); raises RefusedError for what cannot be reviewed."""
        ...

    def edited_input(self, request: ToolRequest, change: Change, edited: bytes) -> dict[str, Any] | None:
        """The reviewer's version as the tool's input, or None where the protocol cannot carry an edit."""
        ...


def waiter_id() -> str:
    """Names the process that holds an agent's request open: 'host:pid'."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _text_of(data: bytes | None, relative: str) -> str | None:
    if data is None:
        return None
    if is_binary(data):
        raise RefusedError(ASK, f"{relative} is a binary file; Signoff cannot show a change to it, so the agent asks.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError(ASK, f"{relative} is not UTF-8 text; Signoff cannot show a change to it.") from None


def read_old(workspace: Workspace, name: str) -> tuple[str, bytes | None]:
    """(workspace-relative path, bytes now on disk or None) for a path the agent names; RefusedError when outside."""
    try:
        resolved = workspace.resolve(name, for_write=True)
    except ToolInputError as err:
        raise RefusedError(DENY, f"Signoff refused this change: {err}") from None
    if resolved.absolute.is_dir():
        raise RefusedError(DENY, f"{resolved.relative} is a folder, not a file.")
    try:
        size = resolved.absolute.stat().st_size
    except FileNotFoundError:
        return resolved.relative, None
    if size > MAX_FILE_BYTES:
        raise RefusedError(
            ASK, f"{resolved.relative} is {size:,} bytes, over Signoff's {MAX_FILE_BYTES:,}-byte review limit."
        )
    return resolved.relative, resolved.absolute.read_bytes()


def draft_claude_tool(request: ToolRequest) -> Change | None:
    """Claude Code's Edit / Write / MultiEdit / Bash (the names the hook, MCP and the Agent SDK share) as a change."""
    name, tool_input = request.tool_name, request.tool_input
    if name in agent_tools.READ_ONLY_TOOLS:
        return None
    if not agent_tools.is_reviewed(name):
        raise RefusedError(ASK, f"Signoff does not review {name} calls; the agent's own permission prompt decides.")
    if not isinstance(tool_input, dict):
        raise RefusedError(DENY, "The tool input is not a JSON object.")
    try:
        workspace = Workspace(request.cwd)
    except (FileNotFoundError, OSError) as err:
        raise RefusedError(ASK, f"The session's folder cannot be used as a workspace: {err}") from None
    try:
        if name in agent_tools.COMMAND_TOOLS:
            return Change("command", command=agent_tools.command_of(tool_input), cwd=".")
        relative, old = read_old(workspace, agent_tools.file_path_of(tool_input))
        new_text = agent_tools.new_file_text(name, tool_input, _text_of(old, relative))
    except agent_tools.ToolShapeError as err:
        raise RefusedError(DENY, f"{name} would fail: {err}") from None
    return Change("create" if old is None else "edit", path=relative, old_content=old, new_content=new_text.encode())


def claude_edited_input(request: ToolRequest, change: Change, edited: bytes) -> dict[str, Any] | None:
    try:
        old_text = None if change.old_content is None else change.old_content.decode("utf-8")
        return agent_tools.edited_input(request.tool_name, request.tool_input, old_text, edited.decode("utf-8"))
    except (UnicodeDecodeError, agent_tools.ToolShapeError):
        return None


class ClaudeTools:
    """The adapter for every agent that names Claude Code's tools (the hook, the MCP prompt tool, the Agent SDK)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def draft(self, request: ToolRequest) -> Change | None:
        return draft_claude_tool(request)

    def edited_input(self, request: ToolRequest, change: Change, edited: bytes) -> dict[str, Any] | None:
        return claude_edited_input(request, change, edited)


def policy_answer(change: Change, root: str) -> tuple[Answer, str] | None:
    """The workspace's rules on a change: (allow or deny answer, reviewer name to record), or None when a person
    decides (ask, no rule, or a policy file that cannot be used)."""
    from app.domain.policy import POLICY_REVIEWER, PolicyError
    from app.services.policy_file import load_policy

    try:
        verdict = load_policy(root).check(change, root)
    except PolicyError:
        return None
    if verdict.action == ALLOW:
        return Answer(ALLOW, verdict.reason, decided_by="policy"), verdict.reviewer
    if verdict.action == DENY:
        message = f"Denied by this workspace's policy (.signoff/policy.toml). {verdict.reason}"
        return Answer(DENY, message, decided_by="policy"), POLICY_REVIEWER
    return None
