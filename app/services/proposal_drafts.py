"""A world-changing tool call drafted as a proposal, exactly what its reviewer is shown, and the check that the stored
proposal is still what was approved. No Qt here."""

from __future__ import annotations

import hashlib
from typing import Any

from app.domain.diffing import compute_diff
from app.domain.input_limits import InputLimitError, check_command_text, check_edit_bytes
from app.domain.records import DecisionRecord, ProposalRecord
from app.domain.tools import COMMAND_TOOL_NAME
from app.services import editor_tool
from app.services.command_tool import draft_command
from app.services.settings import load_settings
from app.services.workspace import ToolInputError, Workspace, sha256_hex


def draft_fields(workspace: Workspace, tool_name: str, tool_input: Any) -> dict[str, Any]:
    """A world-changing tool call drafted as the runner drafts a proposal (raises ToolInputError)."""
    if tool_name == COMMAND_TOOL_NAME:
        draft = draft_command(workspace, tool_input)
        try:
            check_command_text(draft.command, what="The `command`")
        except InputLimitError as err:
            raise ToolInputError(str(err)) from None
        shown = draft.command
        fields: dict[str, Any] = dict(
            kind="command", command=draft.command, cwd=draft.cwd, lines_added=0, lines_removed=0
        )
    else:
        change = editor_tool.draft_change(workspace, tool_input)
        try:
            check_edit_bytes(
                change.new_content, what=f"The new content of {change.path}", max_bytes=load_settings().max_edit_bytes
            )
        except InputLimitError as err:
            raise ToolInputError(str(err)) from None
        diff = compute_diff(change.old_content, change.new_content, change.path)
        shown = diff.binary_summary if diff.is_binary else diff.text
        fields = dict(
            kind=change.kind,
            path=change.path,
            base_hash=change.base_hash,
            old_content=change.old_content,
            new_content=change.new_content,
            lines_added=diff.lines_added,
            lines_removed=diff.lines_removed,
        )
    fields.update(shown_text=shown, shown_hash=hashlib.sha256(shown.encode("utf-8")).hexdigest())
    return fields


def shown_text_for(kind: str, path: str | None, old: bytes | None, new: bytes | None, command: str | None) -> str:
    """Exactly what the reviewer is shown for a proposal: the command, or the unified diff (or binary summary)."""
    if kind == "command":
        return command or ""
    diff = compute_diff(old, new, path or "")
    return diff.binary_summary if diff.is_binary else diff.text


def shown_mismatch(proposal: ProposalRecord, decision: DecisionRecord) -> str | None:
    """Why the stored proposal is no longer what the reviewer was shown (None when it still is): applied bytes must be
    byte for byte what was approved."""
    approved = decision.shown_hash or proposal.shown_hash
    if proposal.kind != "command" and sha256_hex(proposal.old_content) != proposal.base_hash:
        return "The stored proposal's base content no longer matches its hash; nothing was applied."
    shown = shown_text_for(proposal.kind, proposal.path, proposal.old_content, proposal.new_content, proposal.command)
    if hashlib.sha256(shown.encode("utf-8")).hexdigest() != approved or proposal.shown_hash != approved:
        return (
            "The stored proposal no longer matches what the reviewer approved (its hash changed); nothing was applied."
        )
    return None


def command_hash(command: str) -> str:
    """The apply intent recorded before an approved command runs."""
    return hashlib.sha256(b"command\0" + command.encode("utf-8")).hexdigest()
