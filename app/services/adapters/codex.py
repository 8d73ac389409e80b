"""Codex (``codex app-server``, JSON-RPC over stdio without the ``jsonrpc`` header): Signoff answers
``item/commandExecution/requestApproval`` and ``item/fileChange/requestApproval`` with ``accept | decline | cancel``.

File changes arrive beforehand as ``item/started`` notifications (a ``fileChange`` item: per file, ``add`` with the
content or ``update`` with a unified diff); each file becomes a proposal with the real old bytes from disk. The
protocol carries no reason and no edit, so a rejection's reason (or the reviewer's own version) is sent as the next
user turn (``turn/start``) once the current turn completes, and each proposal says so before anyone decides.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

from app.services.adapters.base import ALLOW, ASK, DENY, Answer, Change, RefusedError, ToolRequest, read_old
from app.services.adapters.jsonrpc import JsonRpcPeer
from app.services.adapters.mcp_server import PromptService
from app.services.workspace import Workspace

log = logging.getLogger(__name__)

SOURCE = "codex"
COMMAND_APPROVAL = "item/commandExecution/requestApproval"
FILE_APPROVAL = "item/fileChange/requestApproval"
PROTOCOL_NOTE = (
    "Codex's approval carries no reason and no edit: a rejection's reason, or your own version, reaches Codex as the "
    "next user message."
)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    pass


def apply_unified_diff(old_text: str, diff: str) -> str:
    """``old_text`` with a unified diff's hunks applied (context and removed lines must match exactly)."""
    old_lines = old_text.splitlines(keepends=True)
    result: list[str] = []
    position = 0
    lines = diff.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        header = _HUNK.match(lines[index])
        index += 1
        if header is None:
            continue
        start = max(int(header.group(1)) - 1, 0) if header.group(2) != "0" else int(header.group(1))
        if start < position:
            raise PatchError("hunks overlap or are out of order")
        result.extend(old_lines[position:start])
        position = start
        while index < len(lines) and not lines[index].startswith("@@"):
            line = lines[index]
            index += 1
            if line.startswith("\\"):
                # "\ No newline at end of file": the line before it has no newline.
                target = result if result and lines[index - 2].startswith(("+", " ")) else None
                if target:
                    target[-1] = target[-1].rstrip("\n")
                continue
            tag, text = line[:1], line[1:]
            if tag in (" ", "-"):
                if position >= len(old_lines) or old_lines[position].rstrip("\n") != text.rstrip("\n"):
                    raise PatchError(f"the diff does not match the file at line {position + 1}")
                if tag == " ":
                    result.append(old_lines[position])
                position += 1
            elif tag == "+":
                result.append(text if text.endswith("\n") else text + "\n")
    result.extend(old_lines[position:])
    return "".join(result)


def file_change(workspace: Workspace, entry: dict[str, Any]) -> Change:
    """One file of a Codex fileChange item as a proposal's change, against the bytes on disk now."""
    path = entry.get("path")
    kind = entry.get("kind") if isinstance(entry.get("kind"), dict) else {"type": entry.get("kind")}
    if not isinstance(path, str):
        raise RefusedError(DENY, "A Codex file change has no path.")
    relative, old = read_old(workspace, path)
    diff = entry.get("diff") or ""
    change_type = kind.get("type")
    if change_type == "add":
        return Change("create" if old is None else "edit", path=relative, old_content=old, new_content=diff.encode())
    if change_type == "delete":
        raise RefusedError(ASK, f"Codex deletes {relative}; Signoff shows changes, not deletions, so Codex asks.")
    if old is None:
        raise RefusedError(DENY, f"Codex updates {relative}, which does not exist.")
    try:
        new_text = apply_unified_diff(old.decode("utf-8"), diff)
    except (UnicodeDecodeError, PatchError) as err:
        raise RefusedError(ASK, f"Signoff cannot apply Codex's diff to {relative} ({err}).") from None
    return Change("edit", path=relative, old_content=old, new_content=new_text.encode())


class _NoEdits:
    source = SOURCE

    def draft(self, request: ToolRequest) -> Change | None:  # pragma: no cover - changes are drafted above
        return None

    def edited_input(self, request: ToolRequest, change: Change, edited: bytes) -> dict[str, Any] | None:
        return None


class CodexApprovals:
    """Signoff as the approval side of one Codex app-server connection (one thread = one Signoff session)."""

    def __init__(self, peer: JsonRpcPeer, service: PromptService) -> None:
        self.peer = peer
        self.service = service
        self.adapter = _NoEdits()
        self._file_items: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def serve(self) -> None:
        self.peer.serve(self.on_request, self.on_notification)

    def on_notification(self, method: str, params: dict[str, Any]) -> None:
        item = params.get("item")
        if method == "item/started" and isinstance(item, dict) and item.get("type") == "fileChange":
            with self._lock:
                self._file_items[str(item.get("id"))] = item
        elif method == "turn/completed":
            thread_id = str(params.get("threadId") or (params.get("turn") or {}).get("threadId") or "")
            self._send_messages(thread_id)

    def on_request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method not in (COMMAND_APPROVAL, FILE_APPROVAL):
            from app.services.adapters.jsonrpc import RpcError

            raise RpcError(-32601, f"Signoff does not handle {method}.")
        thread_id = str(params.get("threadId") or "")
        item_id = str(params.get("itemId") or "")
        try:
            changes = self._changes(method, params, item_id)
        except RefusedError as refused:
            return {"decision": "decline" if refused.action == DENY else "cancel"}
        answers = [self._settle(thread_id, item_id, index, change) for index, change in enumerate(changes)]
        refusals = [answer for answer in answers if answer.behavior != ALLOW]
        if not refusals:
            return {"decision": "accept"}
        told = "\n\n".join(answer.message for answer in refusals if answer.message)
        if told and any(answer.decided_by == "person" for answer in refusals):
            with self._lock:
                self._messages.setdefault(thread_id, []).append(f"The reviewer declined that change: {told}")
        return {"decision": "decline"}

    def _changes(self, method: str, params: dict[str, Any], item_id: str) -> list[Change]:
        workspace = Workspace(self.service.cwd)
        if method == COMMAND_APPROVAL:
            command = params.get("command")
            if isinstance(command, list):
                command = " ".join(str(word) for word in command)
            if not isinstance(command, str) or not command.strip():
                raise RefusedError(DENY, "The approval request names no command.")
            cwd = params.get("cwd") or self.service.cwd
            relative = os.path.relpath(os.path.realpath(cwd), workspace.root)
            if relative.startswith(".."):
                raise RefusedError(DENY, f"The command runs outside the workspace ({cwd}).")
            return [Change("command", command=command, cwd=relative)]
        with self._lock:
            item = self._file_items.get(item_id)
        if item is None or not isinstance(item.get("changes"), list) or not item["changes"]:
            raise RefusedError(ASK, f"Signoff never saw the changes of file change {item_id}.")
        return [file_change(workspace, entry) for entry in item["changes"]]

    def _settle(self, thread_id: str, item_id: str, index: int, change: Change) -> Answer:
        request = ToolRequest(
            source=SOURCE,
            session_key=thread_id or self.service.session_key,
            cwd=self.service.cwd,
            tool_name="commandExecution" if change.kind == "command" else "fileChange",
            tool_input={"command": change.command} if change.kind == "command" else {"path": change.path},
            tool_use_id=f"{item_id}:{index}",
        )
        return self.service.settle(request, change, self.adapter, note=PROTOCOL_NOTE)

    def _send_messages(self, thread_id: str) -> None:
        with self._lock:
            messages = self._messages.pop(thread_id, [])
        if messages:
            text = "\n\n".join(messages)
            threading.Thread(target=self._start_turn, args=(thread_id, text), daemon=True).start()

    def _start_turn(self, thread_id: str, text: str) -> None:
        try:
            self.peer.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})
        except Exception as err:  # noqa: BLE001 - a lost message is logged, the connection goes on
            log.warning("could not send the reviewer's reason to Codex: %s", err)
