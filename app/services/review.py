"""Review operations: approve, reject with a reason, edit then approve. One named operation each, shared by the
window and the command line; each validates, then records the decision durably (the runner applies it).

No Qt here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain import hunks, plans
from app.domain.diffing import proposal_diff
from app.domain.input_limits import InputLimitError, check_command_text, check_edit_bytes
from app.domain.records import DecisionRecord, ProposalRecord
from app.domain.tools import EFFECTS_KIND
from app.services.settings import load_settings

if TYPE_CHECKING:
    from app.store.decide_lite import LiteDecisionStore
    from app.store.repository import Repository


class ReviewError(Exception):
    """A decision that cannot be taken as asked; the message says why in one line."""


@dataclass(frozen=True)
class DecisionRequest:
    proposal_id: int
    verdict: str  # approve | reject | edit
    reviewer: str
    reason: str | None = None
    # For 'edit': the full new file content, or the command, to apply instead of the proposal.
    edited_content: bytes | None = None
    time_on_screen_ms: int | None = None
    shown_at: dt.datetime | None = None
    channel: str = "window"
    # Per-hunk verdicts when the reviewer split the proposal (see store.models.Decision.hunk_verdicts).
    hunk_verdicts: list[dict] | None = None
    # Optional 1-5 confidence rating.
    strength: int | None = None
    # Team mode: this decision settles a disagreement between two reviewers (see app.store.team_review).
    adjudication: bool = False
    # Compare mode: what was compared and which was picked (app.services.compare builds it; stored on the decision).
    compare: dict | None = None
    # Commands: what approving grants the sandboxed command beyond writing the workspace's own files
    # ({"git_writes": True, "network": True}); see grants().
    grants: dict | None = None


GRANT_NAMES = ("git_writes", "network")


def grants(*, git_writes: bool = False, network: bool = False) -> dict | None:
    """The stored form of what an approval grants a command, or None for nothing."""
    chosen = {name: True for name, on in (("git_writes", git_writes), ("network", network)) if on}
    return chosen or None


def approve(proposal_id: int, reviewer: str, **context) -> DecisionRequest:
    return DecisionRequest(proposal_id, "approve", reviewer, **context)


def reject(proposal_id: int, reviewer: str, reason: str, **context) -> DecisionRequest:
    return DecisionRequest(proposal_id, "reject", reviewer, reason=reason, **context)


def edit(proposal_id: int, reviewer: str, edited_content: bytes, **context) -> DecisionRequest:
    return DecisionRequest(proposal_id, "edit", reviewer, edited_content=edited_content, **context)


# The verdict a per-hunk request carries until validation replaces it with the summary.
HUNKS = "hunks"


def by_hunk(proposal_id: int, reviewer: str, verdicts: list[hunks.HunkVerdict], **context) -> DecisionRequest:
    """A decision hunk by hunk; ``validated`` turns it into its whole-proposal summary and the bytes to apply."""
    from app.domain import hunks

    try:
        stored = hunks.to_json(verdicts)
    except hunks.HunkError as err:
        raise ReviewError(str(err)) from None
    return DecisionRequest(proposal_id, HUNKS, reviewer, hunk_verdicts=stored, **context)


def read_edit_file(path: Path, max_bytes: int) -> bytes:
    """A reviewer's edit file, read no further than one byte past ``max_bytes`` (``/dev/zero`` never ends), so the
    limit check in ``validated`` can say it is too large. Raises OSError."""
    with path.open("rb") as handle:
        return handle.read(max_bytes + 1)


def _check_limits(proposal: ProposalRecord, edited: bytes) -> None:
    what = "The edited command" if proposal.kind == "command" else f"The edited content for {proposal.path}"
    # A file that was binary before may stay binary; everything else a person edits must be text.
    was_text = proposal.kind == "command" or _is_text(proposal.new_content) or _is_text(proposal.old_content)
    try:
        check_edit_bytes(edited, what=what, max_bytes=load_settings().max_edit_bytes, text=was_text)
        if proposal.kind == "command":
            check_command_text(edited.decode("utf-8"), what=what)
    except InputLimitError as err:
        raise ReviewError(str(err)) from None


def _is_text(content: bytes | None) -> bool:
    if content is None or b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def validated(proposal: ProposalRecord, request: DecisionRequest) -> DecisionRequest:
    """Check a request against its proposal; an edit identical to the proposal is an approval.

    Whether it is still waiting is checked when the decision is recorded, atomically with it.
    """
    if not request.reviewer.strip():
        raise ReviewError("A decision needs a reviewer name (set it in Settings).")
    request = _checked_grants(proposal, request)
    _check_effect_verdict(proposal, request)
    if proposal.kind in ("plan", "delegate"):
        return _validated_plan_or_delegation(proposal, request)
    if request.hunk_verdicts is not None:
        return _validated_by_hunk(proposal, request)
    if request.verdict == "reject":
        if not (request.reason or "").strip():
            raise ReviewError("A rejection needs a reason: the agent revises from it.")
        return replace(request, reason=request.reason.strip())
    if request.verdict == "edit":
        if request.edited_content is None:
            raise ReviewError("An edit needs the content to apply instead.")
        _check_limits(proposal, request.edited_content)
        if proposal.kind == "command":
            try:
                command = request.edited_content.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise ReviewError("The edited command is not valid UTF-8.") from None
            if not command:
                raise ReviewError("The edited command is empty; reject the proposal instead.")
            if command == (proposal.command or "").strip():
                return replace(request, verdict="approve", edited_content=None)
            return replace(request, edited_content=command.encode("utf-8"))
        if request.edited_content == proposal.new_content:
            return replace(request, verdict="approve", edited_content=None)
        return request
    if request.verdict != "approve":
        raise ReviewError(f"Unknown verdict {request.verdict!r}; use approve, reject or edit.")
    return request


def _validated_plan_or_delegation(proposal: ProposalRecord, request: DecisionRequest) -> DecisionRequest:
    if request.hunk_verdicts is not None:
        raise ReviewError(f"A {proposal.kind} has no hunks; approve, reject or edit it as a whole.")
    if request.verdict == "reject":
        if not (request.reason or "").strip():
            raise ReviewError("A rejection needs a reason: the agent revises from it.")
        return replace(request, reason=(request.reason or "").strip())
    if request.verdict == "edit":
        if request.edited_content is None:
            raise ReviewError("An edit needs the content to apply instead.")
        if proposal.kind == "delegate":
            raise ReviewError("A delegation can only be approved or rejected.")
        return _validated_plan_edit(proposal, request)
    if request.verdict != "approve":
        raise ReviewError(f"Unknown verdict {request.verdict!r}; use approve, reject or edit.")
    return request


def _validated_plan_edit(proposal: ProposalRecord, request: DecisionRequest) -> DecisionRequest:
    """An edited plan, as its canonical bytes; given as stored JSON or as a numbered Markdown list."""
    assert request.edited_content is not None and proposal.new_content is not None
    proposed = plans.plan_from_bytes(proposal.new_content)
    if len(request.edited_content) > plans.MAX_PLAN_BYTES:
        raise ReviewError(f"The edited plan is larger than {plans.MAX_PLAN_BYTES // 1024} KiB.")
    try:
        text = request.edited_content.decode("utf-8")
    except UnicodeDecodeError:
        raise ReviewError("The edited plan is not valid UTF-8 text.") from None
    try:
        edited = (
            plans.plan_from_bytes(request.edited_content)
            if text.lstrip().startswith("{")
            else plans.parse_markdown(text, default_title=proposed.title)
        )
    except plans.PlanError as err:
        raise ReviewError(f"The edited plan cannot be read: {err}") from None
    if edited == proposed:
        return replace(request, verdict="approve", edited_content=None)
    return replace(request, edited_content=edited.to_bytes())


def _checked_grants(proposal: ProposalRecord, request: DecisionRequest) -> DecisionRequest:
    if not request.grants:
        return replace(request, grants=None)
    unknown = set(request.grants) - set(GRANT_NAMES)
    if unknown:
        raise ReviewError(f"Unknown grant {sorted(unknown)[0]!r}; a command can be granted .git writes or network.")
    if proposal.kind != "command":
        raise ReviewError("Only a command can be granted .git writes or network; this proposal changes a file.")
    if request.verdict == "reject":
        return replace(request, grants=None)
    return replace(request, grants={name: True for name in GRANT_NAMES if request.grants.get(name)} or None)


def _check_effect_verdict(proposal: ProposalRecord, request: DecisionRequest) -> None:
    """A command's change to a link, a folder or a mode is judged as a whole: there are no lines to edit."""
    if proposal.kind != EFFECTS_KIND or not (proposal.tool_input or {}).get("meta"):
        return
    if request.verdict == "edit" or request.hunk_verdicts is not None:
        raise ReviewError(
            f"This effect on {proposal.path} (a link, folder or mode change) can only be approved or rejected as a "
            "whole."
        )


def _validated_by_hunk(proposal: ProposalRecord, request: DecisionRequest) -> DecisionRequest:
    """Every hunk judged, reasons for rejections; the summary verdict, and for a mixed result the exact bytes."""
    # Imported here: the diff engine (pygit2) is needed only for per-hunk decisions, not for every approval.
    from app.domain import hunks

    if proposal.kind == "command":
        raise ReviewError("A command has no hunks; approve, reject or edit it as a whole.")
    if proposal.new_content is None:
        raise ReviewError("This proposal deletes a file; it can only be judged as a whole.")
    diff = proposal_diff(proposal.id, proposal.old_content, proposal.new_content, proposal.path or "file")
    try:
        verdicts = hunks.from_json(request.hunk_verdicts)
        result = hunks.apply_verdicts(proposal.old_content, diff, verdicts)
        stored = hunks.to_json(verdicts)
    except hunks.HunkError as err:
        raise ReviewError(str(err)) from None
    verdict, reason = hunks.summary(result)
    edited = result.content if verdict == hunks.EDIT else None
    if edited is not None and edited == proposal.new_content:
        # Edits that end up exactly as proposed are an approval of the whole.
        verdict, edited = hunks.APPROVE, None
    return replace(request, verdict=verdict, reason=reason, edited_content=edited, hunk_verdicts=stored)


def _check_strength(request: DecisionRequest) -> None:
    if request.strength is not None and not (isinstance(request.strength, int) and 1 <= request.strength <= 5):
        raise ReviewError("A strength rating is a whole number from 1 to 5.")


def decide(repository: Repository, request: DecisionRequest) -> DecisionRecord:
    """Validate and durably record a decision. Raises ReviewError, UnknownItemError or AlreadyDecidedError."""
    return record(repository, repository.proposals.get(request.proposal_id), request)


def record(
    repository: Repository | LiteDecisionStore, proposal: ProposalRecord, request: DecisionRequest
) -> DecisionRecord:
    """Validate a decision against its proposal (read by the caller) and durably record it."""
    _check_strength(request)
    if proposal.kind == "changeset":
        from app.services import changeset_review

        files = repository.changesets.files(proposal.id)
        checked = changeset_review.validated(proposal, files, request, ReviewError)
    else:
        checked = validated(proposal, request)
    return repository.proposals.record_decision(
        checked.proposal_id,
        verdict=checked.verdict,
        reviewer=checked.reviewer,
        reason=checked.reason,
        edited_content=checked.edited_content,
        time_on_screen_ms=checked.time_on_screen_ms,
        shown_at=checked.shown_at,
        channel=checked.channel,
        hunk_verdicts=checked.hunk_verdicts,
        strength=checked.strength,
        adjudication=checked.adjudication,
        compare=checked.compare,
        grants=checked.grants,
    )
