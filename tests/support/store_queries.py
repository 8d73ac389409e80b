"""Store queries only the tests use (the product never calls them): listing proposals, claim housekeeping, picking the
next free item, and a reviewer's view of one item. Each takes the synchronous store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select, func, select, update

from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import ProposalRecord, as_utc
from app.store.audit import live_decisions
from app.store.claims import DEFAULT_LEASE, ClaimRecord, free_for, not_decided_by
from app.store.errors import UnknownItemError
from app.store.mappers import proposal_query, proposal_record
from app.store.models import AgentSession, Decision, Proposal, utcnow
from app.store.repository import Repository
from app.store.team_review import (
    ADJUDICATION,
    AWAITING_SECOND_REVIEW,
    DISPUTED,
    SECOND,
    ReviewItem,
    reviewed_by,
    rules_for_workspace_id,
)

# On SQLite another writer may take the candidate between our SELECT and UPDATE; a few fresh picks get past that.
_SQLITE_PICK_ATTEMPTS = 20


def renew_claim(
    store: Repository, proposal_id: int, reviewer: str, *, lease: dt.timedelta = DEFAULT_LEASE
) -> ClaimRecord:
    """Renewing a claim is claiming it again."""
    return store.claims.claim(proposal_id, reviewer, lease=lease)


def list_proposals(
    store: Repository, *, session_id: int | None = None, statuses: Iterable[str] | None = None, limit: int = 1000
) -> list[ProposalRecord]:
    with store.database.session() as orm:
        query = proposal_query()
        if session_id is not None:
            query = query.where(Proposal.session_id == session_id)
        if statuses is not None:
            query = query.where(Proposal.status.in_(list(statuses)))
        rows = orm.execute(query.order_by(Proposal.id).limit(limit)).all()
        return [proposal_record(*row) for row in rows]


def pending_proposals(store: Repository, session_id: int | None = None) -> list[ProposalRecord]:
    return list_proposals(store, session_id=session_id, statuses=[ProposalStatus.PENDING])


def expire_claims(store: Repository, now: dt.datetime | None = None) -> int:
    """Clear every lapsed claim (housekeeping: a lapsed claim already counts as free); returns how many."""
    moment = now or utcnow()
    with store.database.session() as orm, orm.begin():
        result = orm.execute(
            update(Proposal)
            .where(Proposal.claimed_by.is_not(None), Proposal.claim_expires_at <= moment)
            .values(claimed_by=None, claim_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


def current_claim(store: Repository, proposal_id: int) -> ClaimRecord | None:
    with store.database.session() as orm:
        row = orm.execute(
            select(Proposal.claimed_by, Proposal.claim_expires_at).where(Proposal.id == proposal_id)
        ).first()
    if row is None or row.claimed_by is None:
        return None
    expires = as_utc(row.claim_expires_at)
    if expires is None or expires <= utcnow():
        return None
    return ClaimRecord(proposal_id, row.claimed_by, expires)


def live_claims(store: Repository) -> dict[int, ClaimRecord]:
    """Every live claim, by proposal id: what a queue shows as taken."""
    now = utcnow()
    with store.database.session() as orm:
        rows = orm.execute(
            select(Proposal.id, Proposal.claimed_by, Proposal.claim_expires_at).where(
                Proposal.claimed_by.is_not(None),
                Proposal.claim_expires_at > now,
                Proposal.status.in_(STILL_UNDECIDED),
            )
        ).all()
    return {pid: ClaimRecord(pid, who, as_utc(expires)) for pid, who, expires in rows}


def claim_next(store: Repository, reviewer: str, *, lease: dt.timedelta = DEFAULT_LEASE) -> ClaimRecord | None:
    """Claim the oldest proposal ``reviewer`` may review that nobody else holds; None when there is none.

    Second reviews come first (they finish what someone started), then waiting proposals, oldest first.
    """
    now = utcnow()
    expires = now + lease
    if store.database.dialect == "postgresql":
        return _claim_next_skip_locked(store, reviewer, now, expires)
    for status in (AWAITING_SECOND_REVIEW, ProposalStatus.PENDING):
        claim = _claim_oldest_by_update(store, reviewer, status, now, expires)
        if claim is not None:
            return claim
    return None


def _oldest(reviewer: str, status: str, now: dt.datetime) -> Select[tuple[int]]:
    # One status, in created_at order: the (status, created_at) index yields rows in order, so the scan stops
    # at the first free row instead of sorting the whole queue.
    candidates = (
        select(Proposal.id)
        .where(Proposal.status == status, free_for(reviewer, now))
        .order_by(Proposal.created_at, Proposal.id)
        .limit(1)
    )
    if status == AWAITING_SECOND_REVIEW:
        candidates = candidates.where(not_decided_by(reviewer))
    return candidates


def _claim_next_skip_locked(
    store: Repository, reviewer: str, now: dt.datetime, expires: dt.datetime
) -> ClaimRecord | None:
    # One statement, one round trip. Rows another reviewer is claiming at this instant are skipped, not waited
    # for; the row lock lasts only until commit, after which the lease (claimed_by) keeps others away.
    # COALESCE evaluates its second subquery only when the first finds no second review to do.
    picked = func.coalesce(
        _oldest(reviewer, AWAITING_SECOND_REVIEW, now).with_for_update(skip_locked=True).scalar_subquery(),
        _oldest(reviewer, ProposalStatus.PENDING, now).with_for_update(skip_locked=True).scalar_subquery(),
    )
    with store.database.session() as orm, orm.begin():
        proposal_id = orm.scalar(
            update(Proposal)
            .where(Proposal.id == picked)
            .values(claimed_by=reviewer, claim_expires_at=expires)
            .returning(Proposal.id)
            .execution_options(synchronize_session=False)
        )
    return None if proposal_id is None else ClaimRecord(proposal_id, reviewer, expires)


def _claim_oldest_by_update(
    store: Repository, reviewer: str, status: str, now: dt.datetime, expires: dt.datetime
) -> ClaimRecord | None:
    candidates = _oldest(reviewer, status, now)
    for _attempt in range(_SQLITE_PICK_ATTEMPTS):
        with store.database.session() as orm, orm.begin():
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


def review_item(store: Repository, proposal_id: int, reviewer: str) -> ReviewItem:
    """The review state of a proposal as ``reviewer``'s panel may show it: never with an earlier verdict."""
    with store.database.session() as orm:
        row = orm.execute(
            select(
                Proposal.status,
                Proposal.kind,
                Proposal.path,
                Proposal.claimed_by,
                Proposal.claim_expires_at,
                AgentSession.workspace_id,
            )
            .join(AgentSession, Proposal.session_id == AgentSession.id)
            .where(Proposal.id == proposal_id)
        ).first()
        if row is None:
            raise UnknownItemError(f"There is no proposal {proposal_id}.")
        status, kind, path, claimed_by, expires, workspace_id = row
        status = ProposalStatus(status)
        staged = orm.scalar(
            select(func.count()).where(
                Decision.proposal_id == proposal_id, Decision.review_stage.is_not(None), live_decisions()
            )
        )
        needs_two = bool(staged) or rules_for_workspace_id(orm, workspace_id).needs_two_reviews(kind, path)
        stage = {AWAITING_SECOND_REVIEW: SECOND, DISPUTED: ADJUDICATION}.get(status)
        return ReviewItem(proposal_id, status, needs_two, stage, claimed_by, as_utc(expires))


def reviewable_proposal_ids(store: Repository, reviewer: str, *, limit: int = 100_000) -> list[int]:
    """Ids of proposals ``reviewer`` could decide now: waiting ones, and second reviews of others' first reviews."""
    mine = reviewed_by(reviewer)
    with store.database.session() as orm:
        return list(
            orm.scalars(
                select(Proposal.id)
                .where(Proposal.status.in_((ProposalStatus.PENDING, AWAITING_SECOND_REVIEW)), ~mine)
                .order_by(Proposal.id)
                .limit(limit)
            )
        )
