"""Every decision the terminal UI makes, in one small module: approve, reject, edit, per hunk, undo, claim, release.

Each is one call of the services the window and the CLI use (app.services.review / undo, the repository's claims), so
switching to a single decision path later touches only this file. No widgets, no Qt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.hunks import HunkVerdict
from app.domain.records import DecisionRecord, ProposalRecord
from app.services import review, undo
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

    def undo_last(self) -> ProposalRecord:
        """Take back the newest decision made here that can still be taken back."""
        if not self.decided:
            raise DecisionRefusedError("Nothing decided here to undo.")
        proposal_id = self.decided[-1]
        try:
            proposal = undo.undo(
                self.repository, proposal_id, self.reviewer, window_s=self.undo_seconds, channel=CHANNEL
            )
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
            self.repository.claim_proposal(proposal_id, self.reviewer, lease=dt.timedelta(seconds=lease_s))
        except StoreError as err:
            raise DecisionRefusedError(str(err)) from None

    def release(self, proposal_id: int) -> bool:
        return self.repository.release_claim(proposal_id, self.reviewer)

    def _context(self, proposal: ProposalRecord, shown_at: dt.datetime | None) -> dict:
        now = dt.datetime.now(dt.UTC)
        on_screen = None if shown_at is None else max(0, int((now - shown_at).total_seconds() * 1000))
        return {
            "channel": CHANNEL,
            "shown_at": shown_at,
            "time_on_screen_ms": on_screen,
            # A disputed proposal is settled by its adjudicator; the store refuses anyone else.
            "adjudication": proposal.status == "disputed",
        }

    def _decide(self, request: review.DecisionRequest) -> DecisionRecord:
        try:
            decision = review.decide(self.repository, request)
        except (review.ReviewError, StoreError) as err:
            raise DecisionRefusedError(str(err)) from None
        self.decided.append(request.proposal_id)
        if self.after is not None:
            self.after(request.proposal_id)
        return decision
