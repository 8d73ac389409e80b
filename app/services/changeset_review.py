"""Validating a decision on a changeset: whole (approve, reject with a reason) or hunk by hunk across its files, each
hunk numbered as `signoff show` and the window number them. Edits are per hunk only. No Qt here."""

from __future__ import annotations

from dataclasses import replace

from app.domain import hunks
from app.domain.changeset import build, verdict_summary
from app.domain.records import ChangedFile, ProposalRecord


def validated(proposal: ProposalRecord, files: list[ChangedFile], request, error: type[Exception]):
    """``request`` (a review.DecisionRequest) checked against the changeset's files; raises ``error`` saying why not."""
    if not request.reviewer.strip():
        raise error("A decision needs a reviewer name (set it in Settings).")
    if not files:
        raise error(f"Changeset {proposal.id} has no files to decide.")
    if request.hunk_verdicts is None:
        if request.verdict == "reject":
            if not (request.reason or "").strip():
                raise error("A rejection needs a reason: the agent revises from it.")
            return replace(request, reason=request.reason.strip())
        if request.verdict == "edit":
            raise error("A changeset is edited hunk by hunk (Shift+E, or `signoff decide ID --hunk N=edit:PATH`).")
        if request.verdict != "approve":
            raise error(f"Unknown verdict {request.verdict!r}; use approve or reject.")
        return request
    diff = build(files)
    try:
        verdicts = hunks.from_json(request.hunk_verdicts)
        diff.merges(verdicts)
        stored = hunks.to_json(verdicts)
    except hunks.HunkError as err:
        raise error(str(err)) from None
    verdict = verdict_summary(verdicts)
    reasons = "; ".join(
        f"Hunk {v.hunk + 1} ({diff.unit_title(v.hunk)}): {v.reason}"
        for v in sorted(verdicts, key=lambda v: v.hunk)
        if v.verdict == hunks.REJECT and v.reason
    )
    return replace(request, verdict=verdict, reason=reasons or None, edited_content=None, hunk_verdicts=stored)
