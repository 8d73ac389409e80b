"""Claims with a lease: the reviewer who opens a proposal holds it for a while, and nobody else may decide it meanwhile.

The next free item is picked with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (racing reviewers skip each
other's rows instead of queueing on them) and with a conditional UPDATE on SQLite (one writer at a time anyway).
An expired lease is as good as none. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session as OrmSession

from app.domain.records import as_utc
from app.store.models import Proposal, utcnow
from app.store.team_review import (
    AWAITING_SECOND_REVIEW,
    STATUS_WORDS,
    STILL_UNDECIDED,
    DecisionRefusedError,
    reviewed_by,
)

DEFAULT_LEASE = dt.timedelta(seconds=120)
# On SQLite another writer may take the candidate between our SELECT and UPDATE; a few fresh picks get past that.
_SQLITE_PICK_ATTEMPTS = 20


@dataclass(frozen=True)
class ClaimRecord:
    proposal_id: int
    reviewer: str
    expires_at: dt.datetime


def clock(moment: dt.datetime) -> str:
    """HH:MM:SS in this computer's time zone: what a person compares with the clock on their screen."""
    return moment.astimezone().strftime("%H:%M:%S")


class ProposalClaimedError(DecisionRefusedError):
    def __init__(self, proposal_id: int, holder: str, until: dt.datetime) -> None:
        super().__init__(f"Proposal {proposal_id} is claimed by {holder} until {clock(until)}.")
        self.proposal_id = proposal_id
        self.holder = holder
        self.until = until


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


def _not_decided_by(reviewer: str) -> ColumnElement[bool]:
    # A first reviewer must not pick their own item again for its second review.
    return ~reviewed_by(reviewer)


class ClaimsMixin:
    """Repository methods for claims; ``database.dialect`` picks the locking strategy."""

    database: object

    def _orm(self) -> OrmSession:  # provided by Repository
        raise NotImplementedError

    def claim_proposal(self, proposal_id: int, reviewer: str, *, lease: dt.timedelta = DEFAULT_LEASE) -> ClaimRecord:
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
                    (Proposal.status != AWAITING_SECOND_REVIEW) | _not_decided_by(reviewer),
                )
                .values(claimed_by=reviewer, claim_expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                return ClaimRecord(proposal_id, reviewer, expires)
            self._explain_refused_claim(orm, proposal_id, reviewer, now)
        raise AssertionError("unreachable")  # pragma: no cover

    def _explain_refused_claim(self, orm: OrmSession, proposal_id: int, reviewer: str, now: dt.datetime) -> None:
        status = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
        if status is None:
            from app.store.repository import UnknownItemError

            raise UnknownItemError(f"There is no proposal {proposal_id}.")
        if status not in STILL_UNDECIDED:
            raise DecisionRefusedError(f"Proposal {proposal_id} no longer waits for a review ({status}).")
        refuse_if_claimed(orm, proposal_id, reviewer, now)
        raise DecisionRefusedError(
            f"You gave the first review of proposal {proposal_id}; its {STATUS_WORDS[status]} is someone else's."
        )

    renew_claim = claim_proposal

    def release_claim(self, proposal_id: int, reviewer: str) -> bool:
        """Give up ``reviewer``'s claim; False when they held none (expired claims are released too)."""
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.claimed_by == reviewer)
                .values(claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def expire_claims(self, now: dt.datetime | None = None) -> int:
        """Clear every lapsed claim (housekeeping: a lapsed claim already counts as free); returns how many."""
        moment = now or utcnow()
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(Proposal)
                .where(Proposal.claimed_by.is_not(None), Proposal.claim_expires_at <= moment)
                .values(claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount

    def current_claim(self, proposal_id: int) -> ClaimRecord | None:
        with self._orm() as orm:
            row = orm.execute(
                select(Proposal.claimed_by, Proposal.claim_expires_at).where(Proposal.id == proposal_id)
            ).first()
        if row is None or row.claimed_by is None:
            return None
        expires = as_utc(row.claim_expires_at)
        if expires is None or expires <= utcnow():
            return None
        return ClaimRecord(proposal_id, row.claimed_by, expires)

    def live_claims(self) -> dict[int, ClaimRecord]:
        """Every live claim, by proposal id: what a queue shows as taken."""
        now = utcnow()
        with self._orm() as orm:
            rows = orm.execute(
                select(Proposal.id, Proposal.claimed_by, Proposal.claim_expires_at).where(
                    Proposal.claimed_by.is_not(None),
                    Proposal.claim_expires_at > now,
                    Proposal.status.in_(STILL_UNDECIDED),
                )
            ).all()
        return {pid: ClaimRecord(pid, who, as_utc(expires)) for pid, who, expires in rows}

    def claim_next(self, reviewer: str, *, lease: dt.timedelta = DEFAULT_LEASE) -> ClaimRecord | None:
        """Claim the oldest proposal ``reviewer`` may review that nobody else holds; None when there is none.

        Second reviews come first (they finish what someone started), then waiting proposals, oldest first.
        """
        now = utcnow()
        expires = now + lease
        if getattr(self.database, "dialect", "") == "postgresql":
            return self._claim_next_skip_locked(reviewer, now, expires)
        for status in (AWAITING_SECOND_REVIEW, "pending"):
            claim = self._claim_oldest_by_update(reviewer, status, now, expires)
            if claim is not None:
                return claim
        return None

    @staticmethod
    def _oldest(reviewer: str, status: str, now: dt.datetime):
        # One status, in created_at order: the (status, created_at) index yields rows in order, so the scan stops
        # at the first free row instead of sorting the whole queue.
        candidates = (
            select(Proposal.id)
            .where(Proposal.status == status, free_for(reviewer, now))
            .order_by(Proposal.created_at, Proposal.id)
            .limit(1)
        )
        if status == AWAITING_SECOND_REVIEW:
            candidates = candidates.where(_not_decided_by(reviewer))
        return candidates

    def _claim_next_skip_locked(self, reviewer: str, now: dt.datetime, expires: dt.datetime) -> ClaimRecord | None:
        # One statement, one round trip. Rows another reviewer is claiming at this instant are skipped, not waited
        # for; the row lock lasts only until commit, after which the lease (claimed_by) keeps others away.
        # COALESCE evaluates its second subquery only when the first finds no second review to do.
        picked = func.coalesce(
            self._oldest(reviewer, AWAITING_SECOND_REVIEW, now).with_for_update(skip_locked=True).scalar_subquery(),
            self._oldest(reviewer, "pending", now).with_for_update(skip_locked=True).scalar_subquery(),
        )
        with self._orm() as orm, orm.begin():
            proposal_id = orm.scalar(
                update(Proposal)
                .where(Proposal.id == picked)
                .values(claimed_by=reviewer, claim_expires_at=expires)
                .returning(Proposal.id)
                .execution_options(synchronize_session=False)
            )
        return None if proposal_id is None else ClaimRecord(proposal_id, reviewer, expires)

    def _claim_oldest_by_update(
        self, reviewer: str, status: str, now: dt.datetime, expires: dt.datetime
    ) -> ClaimRecord | None:
        candidates = self._oldest(reviewer, status, now)
        for _attempt in range(_SQLITE_PICK_ATTEMPTS):
            with self._orm() as orm, orm.begin():
                proposal_id = orm.scalar(candidates)
                if proposal_id is None:
                    return None
                # SQLite has one writer at a time, so this guarded UPDATE decides a race with another process.
                result = orm.execute(
                    update(Proposal)
                    .where(Proposal.id == proposal_id, Proposal.status == status, free_for(reviewer, now))
                    .values(claimed_by=reviewer, claim_expires_at=expires)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    return ClaimRecord(proposal_id, reviewer, expires)
        return None
