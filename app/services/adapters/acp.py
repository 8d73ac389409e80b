"""ACP (the Agent Client Protocol): Signoff as the client-side handler of ``session/request_permission``.

The tool call's ``{"type": "diff", path, oldText, newText}`` content becomes an edit or create proposal (old bytes
from disk), an ``execute`` call a command. The answer selects one of the offered options: ``allow_once`` /
``reject_once``; where only an ``*_always`` option fits, the same rule is written into the workspace's policy
(``.signoff/policy.toml``) so Signoff and the agent agree on what is always allowed or refused. ACP carries no reason
and no edit: they are queued for the client to send as the next prompt (``session/prompt``).
"""

from __future__ import annotations

import threading
from typing import Any

from app.services.adapters.base import ALLOW, ASK, DENY, Answer, Change, RefusedError, ToolRequest, read_old
from app.services.adapters.jsonrpc import JsonRpcPeer, RpcError
from app.services.adapters.mcp_server import PromptService
from app.services.workspace import Workspace

SOURCE = "acp"
REQUEST_PERMISSION = "session/request_permission"
PROTOCOL_NOTE = (
    "ACP's permission answer carries no reason and no edit: a rejection's reason, or your own version, is sent to the "
    "agent as the next prompt."
)


def tool_call_change(workspace: Workspace, tool_call: dict[str, Any]) -> Change | None:
    """The change an ACP tool call asks permission for (None: a read, which passes)."""
    for block in tool_call.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "diff":
            path, new_text = block.get("path"), block.get("newText")
            if not isinstance(path, str) or not isinstance(new_text, str):
                raise RefusedError(DENY, "The diff content lacks a path or newText.")
            relative, old = read_old(workspace, path)
            return Change(
                "create" if old is None else "edit", path=relative, old_content=old, new_content=new_text.encode()
            )
    kind = tool_call.get("kind")
    raw = tool_call.get("rawInput") if isinstance(tool_call.get("rawInput"), dict) else {}
    if kind == "execute":
        command = raw.get("command") or tool_call.get("title")
        if isinstance(command, list):
            command = " ".join(str(word) for word in command)
        if not isinstance(command, str) or not command.strip():
            raise RefusedError(ASK, "The execute call names no command.")
        return Change("command", command=command, cwd=".")
    if kind in ("read", "search", "think", "fetch"):
        return None
    raise RefusedError(ASK, f"Signoff does not review ACP tool calls of kind {kind!r}.")


def choose_option(options: list[dict[str, Any]], behavior: str) -> tuple[str | None, bool]:
    """(optionId, whether it is an 'always' option) for allow or deny; prefers the one-time option."""
    wanted = ("allow_once", "allow_always") if behavior == ALLOW else ("reject_once", "reject_always")
    for kind in wanted:
        for option in options:
            if isinstance(option, dict) and option.get("kind") == kind:
                return str(option.get("optionId")), kind.endswith("always")
    return None, False


class _NoEdits:
    source = SOURCE

    def draft(self, request: ToolRequest) -> Change | None:  # pragma: no cover - changes are drafted above
        return None

    def edited_input(self, request: ToolRequest, change: Change, edited: bytes) -> dict[str, Any] | None:
        return None


class AcpPermissions:
    """Answers one ACP agent's permission requests; ``next_prompts`` holds what to send as the next prompt."""

    def __init__(self, peer: JsonRpcPeer, service: PromptService) -> None:
        self.peer = peer
        self.service = service
        self.adapter = _NoEdits()
        self.next_prompts: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def serve(self) -> None:
        self.peer.serve(self.on_request, lambda method, params: None)

    def on_request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method != REQUEST_PERMISSION:
            raise RpcError(-32601, f"Signoff does not handle {method}.")
        session_id = str(params.get("sessionId") or "")
        tool_call = params.get("toolCall") if isinstance(params.get("toolCall"), dict) else {}
        options = params.get("options") if isinstance(params.get("options"), list) else []
        try:
            change = tool_call_change(Workspace(self.service.cwd), tool_call)
        except RefusedError as refused:
            answer = Answer(refused.action, refused.message)
            change = None
        else:
            answer = Answer(ALLOW, "A read.") if change is None else self._settle(session_id, tool_call, change)
        if answer.behavior == ASK:
            return {"outcome": {"outcome": "cancelled"}}
        option_id, always = choose_option(options, answer.behavior)
        if option_id is None:
            return {"outcome": {"outcome": "cancelled"}}
        if always and change is not None:
            self._write_rule(change, answer.behavior)
        if answer.behavior == DENY and answer.decided_by == "person" and answer.message:
            with self._lock:
                self.next_prompts.setdefault(session_id, []).append(f"The reviewer declined: {answer.message}")
        return {"outcome": {"outcome": "selected", "optionId": option_id}}

    def _settle(self, session_id: str, tool_call: dict[str, Any], change: Change) -> Answer:
        request = ToolRequest(
            source=SOURCE,
            session_key=session_id or self.service.session_key,
            cwd=self.service.cwd,
            tool_name=str(tool_call.get("kind") or "tool"),
            tool_input=tool_call.get("rawInput") if isinstance(tool_call.get("rawInput"), dict) else {},
            tool_use_id=str(tool_call.get("toolCallId") or ""),
        )
        return self.service.settle(request, change, self.adapter, note=PROTOCOL_NOTE)

    def _write_rule(self, change: Change, behavior: str) -> None:
        from app.domain.policy import Rule, escape_path_glob
        from app.services.policy_file import add_rules

        action = "allow" if behavior == ALLOW else "deny"
        if change.kind == "command":
            rule = Rule.for_command(action, change.command or "", "exact", note="from an ACP always option")
        else:
            rule = Rule(action, change.kind, escape_path_glob(change.path or ""), note="from an ACP always option")
        add_rules(self.service.cwd, [rule])

    def send_next_prompts(self, session_id: str) -> None:
        """Send what the reviewer said as the next prompt (call it when the current prompt turn has ended)."""
        with self._lock:
            messages = self.next_prompts.pop(session_id, [])
        if messages:
            self.peer.request(
                "session/prompt", {"sessionId": session_id, "prompt": [{"type": "text", "text": "\n\n".join(messages)}]}
            )
