"""The words the agent reads in changeset mode: an edit applied in its worktree, and what the review of its changeset
did, hunk by hunk, with the reviewer's reasons. Pure; no Qt, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.changeset import ChangesetDiff
from app.domain.hunks import HunkVerdict

MODE_NOTE = (
    "\n\n(Changeset mode: you work in your own copy of the workspace. Your edits and commands take effect there at "
    "once, without waiting for a person. When you end your turn, everything you changed is reviewed as one "
    "changeset, hunk by hunk; approved hunks are merged into the real workspace.)"
)


def edit_applied(path: str, added: int, removed: int) -> str:
    return (
        f"Applied in your worktree: {path} (+{added} -{removed} lines). It is reviewed with the rest of your "
        "changeset when you end your turn."
    )


def review_outcome(diff: ChangesetDiff, verdicts: Sequence[HunkVerdict], refused: Sequence[str]) -> str:
    """What became of each hunk: merged as proposed, merged with the reviewer's edit, or not merged and why."""
    by_unit = {verdict.hunk: verdict for verdict in verdicts}
    lines = []
    for index in range(diff.hunk_count):
        verdict = by_unit[index]
        where = f"hunk {index + 1} ({diff.unit_title(index)})"
        if verdict.verdict == "approve":
            lines.append(f"- {where}: merged into the workspace.")
        elif verdict.verdict == "edit":
            lines.append(f"- {where}: merged with the reviewer's edits (your worktree still has your version).")
        else:
            lines.append(f"- {where}: NOT merged. Reason: {verdict.reason or '(no reason given)'}")
    merged = sum(1 for v in verdicts if v.verdict != "reject")
    if merged == diff.hunk_count:
        head = f"The reviewer approved your changeset: all {diff.hunk_count} hunk(s) were merged into the workspace."
    elif merged == 0:
        head = (
            f"The reviewer rejected your changeset: none of its {diff.hunk_count} hunk(s) was merged; the workspace "
            "is exactly as it was. Revise your work in your worktree to address the reasons, then end your turn to "
            "propose it again."
        )
    else:
        head = (
            f"The reviewer merged {merged} of {diff.hunk_count} hunk(s) of your changeset. The others are still in "
            "your worktree; revise them to address the reasons, then end your turn to propose them again."
        )
    text = head + "\n" + "\n".join(lines)
    if refused:
        text += "\nLeft out of the changeset (never merged): " + "; ".join(refused)
    return text


def rejected_whole(reason: str) -> str:
    return (
        f"The reviewer rejected your changeset. Reason: {reason}\nNothing was merged; the workspace is exactly as it "
        "was. Your worktree still holds your work: revise it to address the reason, then end your turn to propose "
        "it again."
    )


def conflict(described: str) -> str:
    return (
        "Your changeset was approved but NOT merged: the workspace changed under it, so nothing was written.\n"
        f"{described}\nThe changed files' current workspace versions are now the base your changes are compared "
        "against: check them in your worktree against what you meant, then end your turn to propose again."
    )


def held(reason: str) -> str:
    return f"Not run: held because your changeset was just rejected. {reason}"
