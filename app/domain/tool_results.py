"""The words the agent reads after a person's decision: what was applied, what was not, and why.

A rejected or unapplied change always says plainly that nothing was changed, so the model revises instead of
assuming. No Qt here.
"""

from __future__ import annotations

from typing import Any

from app.domain.diffing import compute_diff
from app.domain.hunks import PartialResult


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


def _hunk_lines(result: PartialResult) -> str:
    lines = []
    for outcome in result.outcomes:
        where = f"hunk {outcome.number} ({outcome.header})"
        if outcome.verdict == "approve":
            lines.append(f"- {where}: applied as you proposed.")
        elif outcome.verdict == "edit":
            lines.append(f"- {where}: applied with the reviewer's edits.")
        else:
            lines.append(f"- {where}: NOT applied. Reason: {outcome.reason or '(no reason given)'}")
    return "\n".join(lines)


def hunks_rejected(path: str | None, result: PartialResult) -> str:
    """Every hunk of a file change rejected, each with its own reason."""
    return (
        f"The reviewer judged this change hunk by hunk and rejected every hunk:\n{_hunk_lines(result)}\n"
        f"Nothing was changed: {path} is exactly as it was. Revise your approach to address the reasons, "
        "then propose again."
    )


def hunks_applied(path: str, proposed: bytes, result: PartialResult) -> str:
    """Some hunks applied (as proposed or edited), others not: what the file holds now, exactly."""
    total = len(result.outcomes)
    held_back = len(result.not_applied)
    text = (
        f"The reviewer judged your change to {path} hunk by hunk: {total - held_back} of {total} hunks applied, "
        f"{held_back} not applied.\n{_hunk_lines(result)}\n"
        f"{path} now holds exactly its old content plus the applied hunks — not your whole proposal. "
        "Continue from the file as it is now; re-propose anything still needed against its current content."
    )
    if result.content == proposed:
        return text
    difference = compute_diff(proposed, result.content, path)
    return (
        f"{text}\nDifferences from what you proposed (a = your proposal, b = what is now in the file):\n"
        f"{difference.text}"
    )


def conflict(path: str, detail: str) -> str:
    return (
        f"Approved by the reviewer but NOT applied: {detail} Nothing was written to {path}. "
        "View the file again and propose the change against its current content."
    )


def apply_failed(path: str | None, detail: str) -> str:
    return (
        f"Approved by the reviewer but applying it failed: {detail}. "
        f"Nothing was changed{f' in {path}' if path else ''}."
    )


def file_applied_before_restart(kind: str, path: str, added: int, removed: int) -> str:
    """A write an earlier run of this session began, found complete on disk after a restart (it is not redone)."""
    return (
        f"{file_applied(kind, path, added, removed)} (Signoff was interrupted while applying it; after the restart "
        f"{path} already held exactly the approved content, so it was not written again.)"
    )


def interrupted_conflict(path: str, detail: str) -> str:
    return (
        f"Approved by the reviewer, but Signoff was interrupted while applying it, and after the restart {path} held "
        f"neither its old content nor the approved content: {detail} Signoff wrote nothing more to {path}. "
        "View the file again and propose the change against its current content."
    )


def command_interrupted(command: str) -> str:
    return (
        f"Approved by the reviewer, but Signoff was interrupted while running the command, so its outcome is UNKNOWN: "
        f"it may not have run, or run partly or completely. It was NOT run again. Command: {command}\n"
        "Check the workspace (view files) before assuming either way."
    )


def command_edited_prefix(proposed: str, ran: str) -> str:
    return (
        f"The reviewer edited the command before approving it. You proposed: {proposed}\n"
        "The reviewer's version ran instead.\n"
    )


def withdrawn() -> str:
    return "The session was stopped before the reviewer decided; nothing was changed."
