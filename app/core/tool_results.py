"""The words the agent reads after a person's decision: what was applied, what was not, and why.

A rejected or unapplied change always says plainly that nothing was changed, so the model revises instead of
assuming. No Qt here.
"""

from __future__ import annotations

from typing import Any

from app.core.diffing import compute_diff


def result_block(tool_use_id: str, text: str, *, is_error: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": text}
    if is_error:
        block["is_error"] = True
    return block


def rejected(kind: str, path: str | None, reason: str) -> str:
    what = "The command was NOT run." if kind == "command" else f"Nothing was changed: {path} is exactly as it was."
    return (
        f"The reviewer rejected this {'command' if kind == 'command' else 'change'}. Reason: {reason}\n"
        f"{what} Revise your approach to address the reason, then propose again."
    )


def file_applied(kind: str, path: str, added: int, removed: int) -> str:
    verb = "created" if kind == "create" else "edited"
    return f"Approved by the reviewer and applied: {path} was {verb} (+{added} -{removed} lines)."


def file_applied_with_edits(path: str, proposed: bytes, applied: bytes) -> str:
    difference = compute_diff(proposed, applied, path)
    return (
        f"The reviewer edited your change before approving it. {path} now holds the reviewer's version, "
        "not exactly yours. Differences from what you proposed (a = your proposal, b = what was applied):\n"
        f"{difference.text}"
    )


def conflict(path: str, detail: str) -> str:
    return (
        f"Approved by the reviewer but NOT applied: {detail} Nothing was written to {path}. "
        "View the file again and propose the change against its current content."
    )


def apply_failed(path: str | None, detail: str) -> str:
    return f"Approved by the reviewer but applying it failed: {detail}. Nothing was changed{f' in {path}' if path else ''}."


def command_edited_prefix(proposed: str, ran: str) -> str:
    return f"The reviewer edited the command before approving it. You proposed: {proposed}\nThe reviewer's version ran instead.\n"


def withdrawn() -> str:
    return "The session was stopped before the reviewer decided; nothing was changed."
