"""Every decision the terminal UI makes, in one small module: approve, reject, edit, per hunk, undo, claim, release.

Each is one call of the decision path the window and the CLI use (app.services.decisions, as channel 'tui'), or of
the repository's claims. No widgets, no Qt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.hunks import HunkVerdict
from app.domain.records import DecisionRecord, ProposalRecord
from app.services import decisions, review
from app.store.errors import StoreError
from app.store.repository import Repository

CHANNEL = "tui"


class DecisionRefusedError(Exception):
    """A decision, undo or claim that did not happen; the message says why in one line."""


@dataclass
class Decider:
    """Decisions of one reviewer, recorded durably before each call returns; ``after`` runs once one is stored (the
    terminal UI hands it to the demo's runner so it wakes at once instead of at its next poll)."""

    repository: Repository
    reviewer: str
    undo_seconds: float
    after: Callable[[int], None] | None = None
    # The proposals this reviewer decided here, newest last: what `u` takes back.
    decided: list[int] = field(default_factory=list)

    def approve(self, proposal: ProposalRecord, *, shown_at: dt.datetime | None = None) -> DecisionRecord:
        return self._decide(review.approve(proposal.id, self.reviewer, **self._context(proposal, shown_at)))

    def reject(self, proposal: ProposalRecord, reason: str, *, shown_at: dt.datetime | None = None) -> DecisionRecord:
        return self._decide(review.reject(proposal.id, self.reviewer, reason, **self._context(proposal, shown_at)))

    def edit(self, proposal: ProposalRecord, content: bytes, *, shown_at: dt.datetime | None = None) -> DecisionRecord:
        return self._decide(review.edit(proposal.id, self.reviewer, content, **self._context(proposal, shown_at)))

    def by_hunk(
        self, proposal: ProposalRecord, verdicts: list[HunkVerdict], *, shown_at: dt.datetime | None = None
    ) -> DecisionRecord:
        try:
            request = review.by_hunk(proposal.id, self.reviewer, verdicts, **self._context(proposal, shown_at))
        except review.ReviewError as err:
            raise DecisionRefusedError(str(err)) from None
        return self._decide(request)

    def pick(
        self,
        proposal: ProposalRecord,
        compare_id: int,
        position: int | None,
        *,
        reason: str | None = None,
        shown_at: dt.datetime | None = None,
    ) -> DecisionRecord:
        """Pick one of a compare's alternatives (``position``), or reject them all (None) with ``reason``."""
        from app.services.compare import PickRequest

        context = self._context(proposal, shown_at)
        request = PickRequest(proposal.id, compare_id, position, "", reason=reason, **context)
        try:
            decision = decisions.pick(self.repository, request, self._actor()).decision
        except Exception as err:
            refused = decisions.failure(err, proposal.id)
            if refused is None:
                raise
            raise DecisionRefusedError(refused.message) from None
        self.decided.append(proposal.id)
        if self.after is not None:
            self.after(proposal.id)
        return decision

    def undo_last(self) -> ProposalRecord:
        """Take back the newest decision made here that can still be taken back."""
        if not self.decided:
            raise DecisionRefusedError("Nothing decided here to undo.")
        proposal_id = self.decided[-1]
        try:
            proposal = decisions.undo(self.repository, proposal_id, self._actor(), window_s=self.undo_seconds)
        except StoreError as err:
            # Too late (or not ours): it stays decided, and older ones are older still.
            self.decided.clear()
            raise DecisionRefusedError(str(err)) from None
        self.decided.pop()
        if self.after is not None:
            self.after(proposal_id)
        return proposal

    def claim(self, proposal_id: int, lease_s: float = 120.0) -> None:
        try:
            self.repository.claims.claim(proposal_id, self.reviewer, lease=dt.timedelta(seconds=lease_s))
        except StoreError as err:
            raise DecisionRefusedError(str(err)) from None

    def release(self, proposal_id: int) -> bool:
        return self.repository.claims.release(proposal_id, self.reviewer)

    def _actor(self) -> decisions.Actor:
        # The queue lists a disputed proposal only to who may adjudicate it (as the window's does): deciding it here
        # is its adjudication.
        return decisions.Actor(self.reviewer, CHANNEL, settles_disputes=True)

    def _context(self, proposal: ProposalRecord, shown_at: dt.datetime | None) -> dict:
        now = dt.datetime.now(dt.UTC)
        on_screen = None if shown_at is None else max(0, int((now - shown_at).total_seconds() * 1000))
        return {"shown_at": shown_at, "time_on_screen_ms": on_screen}

    def _decide(self, request: review.DecisionRequest) -> DecisionRecord:
        try:
            decision = decisions.decide(self.repository, request, self._actor()).decision
        except Exception as err:
            refused = decisions.failure(err, request.proposal_id)
            if refused is None:
                raise
            raise DecisionRefusedError(refused.message) from None
        self.decided.append(request.proposal_id)
        if self.after is not None:
            self.after(request.proposal_id)
        return decision
