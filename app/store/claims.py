"""Claims with a lease: the reviewer who opens a proposal holds it for a while, and nobody else may decide it meanwhile.

A claim is taken with a conditional UPDATE, so two reviewers racing for one row cannot both win. An expired lease is
as good as none. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session as OrmSession

from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import as_utc
from app.domain.review_rules import STATUS_WORDS
from app.store.base import StoreBase, changed_rows
from app.store.errors import DecisionRefusedError, ProposalClaimedError, UnknownItemError
from app.store.models import Proposal, utcnow
from app.store.team_review import AWAITING_SECOND_REVIEW, reviewed_by

DEFAULT_LEASE = dt.timedelta(seconds=120)


@dataclass(frozen=True)
class ClaimRecord:
    proposal_id: int
    reviewer: str
    expires_at: dt.datetime


def free_for(reviewer: str, now: dt.datetime) -> ColumnElement[bool]:
    """SQL condition: nobody else holds a live claim on the proposal row."""
    return or_(Proposal.claimed_by.is_(None), Proposal.claimed_by == reviewer, Proposal.claim_expires_at <= now)


def refuse_if_claimed(orm: OrmSession, proposal_id: int, reviewer: str, now: dt.datetime) -> None:
    """Raise ProposalClaimedError when someone other than ``reviewer`` holds a live claim on the proposal."""
    row = orm.execute(select(Proposal.claimed_by, Proposal.claim_expires_at).where(Proposal.id == proposal_id)).first()
    if row is None or row.claimed_by is None or row.claimed_by == reviewer:
        return
    expires = as_utc(row.claim_expires_at)
    if expires is not None and expires > now:
        raise ProposalClaimedError(proposal_id, row.claimed_by, expires)


def not_decided_by(reviewer: str) -> ColumnElement[bool]:
    # A first reviewer must not pick their own item again for its second review.
    return ~reviewed_by(reviewer)


class Claims(StoreBase):
    """Reviewers' leases on proposals (``store.claims``)."""

    def claim(self, proposal_id: int, reviewer: str, *, lease: dt.timedelta = DEFAULT_LEASE) -> ClaimRecord:
        """Claim (or renew the claim on) one proposal; raises ProposalClaimedError when someone else holds it."""
        if not reviewer.strip():
            raise DecisionRefusedError("A claim needs a reviewer name (set it in Settings).")
        now = utcnow()
        expires = now + lease
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(Proposal)
                .where(
                    Proposal.id == proposal_id,
                    Proposal.status.in_(STILL_UNDECIDED),
                    free_for(reviewer, now),
                    (Proposal.status != AWAITING_SECOND_REVIEW) | not_decided_by(reviewer),
                )
                .values(claimed_by=reviewer, claim_expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if changed_rows(result) == 1:
                return ClaimRecord(proposal_id, reviewer, expires)
            self._explain_refused_claim(orm, proposal_id, reviewer, now)
        raise AssertionError("unreachable")  # pragma: no cover

    def _explain_refused_claim(self, orm: OrmSession, proposal_id: int, reviewer: str, now: dt.datetime) -> None:
        status = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
        if status is None:
            raise UnknownItemError(f"There is no proposal {proposal_id}.")
        if status not in STILL_UNDECIDED:
            raise DecisionRefusedError(f"Proposal {proposal_id} no longer waits for a review ({status}).")
        refuse_if_claimed(orm, proposal_id, reviewer, now)
        stage = STATUS_WORDS[ProposalStatus(status)]
        raise DecisionRefusedError(
            f"You gave the first review of proposal {proposal_id}; its {stage} is someone else's."
        )

    def release(self, proposal_id: int, reviewer: str) -> bool:
        """Give up ``reviewer``'s claim; False when they held none (expired claims are released too)."""
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.claimed_by == reviewer)
                .values(claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            return changed_rows(result) == 1
