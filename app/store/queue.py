"""The store's queue aggregate: what the review queue reads: keyset pages of waiting proposals, the cheap change
signature it polls, the filter choices, flag texts, what became of shown items, and the progress figures counted in
SQL. Reads only. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, literal, or_, select, tuple_, union, union_all

from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import ProposalStateRecord, QueueItemRecord, QueueStatsRecord, QueueTextRecord, as_utc
from app.store.audit import live_decisions
from app.store.base import StoreBase
from app.store.models import AgentSession, Decision, Proposal, Workspace, utcnow
from app.store.team_review import (
    AWAITING_SECOND_REVIEW,
    DISPUTED,
    anything_in_review,
    reviewable_by,
    visibility_for,
    visible_in_review,
)

if TYPE_CHECKING:
    from app.store.base import AnySelect

PENDING = ProposalStatus.PENDING


class Queue(StoreBase):
    """The review queue's reads (``store.queue``)."""

    def page(
        self,
        *,
        sort: str = "age",
        descending: bool = False,
        after: tuple[Any, int] | None = None,
        limit: int = 200,
        workspace_roots: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        session_ids: Iterable[int] | None = None,
        path_like: str | None = None,
        text: str | None = None,
        reviewer: str | None = None,
    ) -> list[QueueItemRecord]:
        """One page of waiting proposals in (sort key, id) order, strictly after the keyset position ``after``.

        Keyset pagination, so a page deep in a 100k queue costs what the first page costs (for the default sort by
        age, the (status, created_at) index yields rows already in order).

        With a ``reviewer`` the page also holds what that person may review in team mode: second reviews of others'
        first reviews and disputes they may adjudicate (app.store.team_review.visible_in_review); without one, only
        proposals in status 'pending'.
        """
        key = _queue_sort_key(sort)
        claimed_by = getattr(Proposal, "claimed_by", None)
        claim_expires_at = getattr(Proposal, "claim_expires_at", None)

        def ordered(sort_key: Any) -> AnySelect:
            """The page query with ``sort_key`` as its order (keyset bound included), without a status condition."""
            columns = [
                Proposal.id,
                Proposal.session_id,
                Workspace.root_path,
                AgentSession.task,
                Proposal.kind,
                Proposal.path,
                Proposal.command,
                Proposal.lines_added,
                Proposal.lines_removed,
                Proposal.status,
                Proposal.created_at,
                sort_key.label("sort_key"),
            ]
            if claimed_by is not None:
                columns.append(claimed_by)
                if claim_expires_at is not None:
                    columns.append(claim_expires_at)
            query = (
                select(*columns)
                .join(AgentSession, Proposal.session_id == AgentSession.id)
                .join(Workspace, AgentSession.workspace_id == Workspace.id)
            )
            query = _queue_filtered(query, workspace_roots, kinds, session_ids, path_like, text)
            if after is not None:
                after_key, after_id = after
                position = tuple_(sort_key, Proposal.id)
                bound = tuple_(literal(after_key, key.type), literal(after_id, Proposal.id.type))
                query = query.where(position < bound if descending else position > bound)
            order = (sort_key.desc(), Proposal.id.desc()) if descending else (sort_key.asc(), Proposal.id.asc())
            return query.order_by(*order).limit(limit)

        with self._orm() as orm:
            # Most of the time nothing is in a review stage (one probe of the status index says so), and the page is
            # the plain query; building the merged one costs a few milliseconds of Python per page.
            in_review = bool(reviewer) and anything_in_review(orm)
            if reviewer is None or not in_review:
                rows = orm.execute(ordered(key).where(Proposal.status == PENDING)).all()
            else:
                visibility = visibility_for(orm, reviewer)
                # One page per status, then the best ``limit`` of those few rows: a single query with status IN (...)
                # or OR makes the database sort or scan the whole waiting queue for every page. The database merges,
                # so its collation orders text as it does for one status. The review stages are few rows: their key
                # is kept off indexes (kind, session) that would walk every proposal ever made in that order.
                rare_key = _QUEUE_SORTS_OFF_INDEX.get(sort, key)
                parts = [ordered(key).where(Proposal.status == PENDING).subquery()] + [
                    ordered(rare_key).where(Proposal.status == status, visible_in_review(visibility, status)).subquery()
                    for status in (AWAITING_SECOND_REVIEW, DISPUTED)
                ]
                merged = union_all(*(select(part) for part in parts)).subquery()
                merged_order = (
                    (merged.c.sort_key.desc(), merged.c.id.desc())
                    if descending
                    else (merged.c.sort_key.asc(), merged.c.id.asc())
                )
                rows = orm.execute(select(merged).order_by(*merged_order).limit(limit)).all()
        items = []
        now = utcnow()
        for row in rows:
            holder = None
            if claimed_by is not None:
                holder = row.claimed_by
                # An expired lease is as good as no claim.
                if claim_expires_at is not None and (as_utc(row.claim_expires_at) or now) < now:
                    holder = None
            sort_key = row.sort_key
            if sort == "age":
                sort_key = as_utc(row.created_at)
            items.append(
                QueueItemRecord(
                    id=row.id,
                    session_id=row.session_id,
                    workspace_root=row.root_path,
                    task=row.task,
                    kind=row.kind,
                    path=row.path,
                    command=row.command,
                    lines_added=row.lines_added,
                    lines_removed=row.lines_removed,
                    status=ProposalStatus(row.status),
                    created_at=as_utc(row.created_at),
                    sort_key=sort_key,
                    claimed_by=holder,
                )
            )
        return items

    def signature(self) -> tuple[int, int]:
        """(highest proposal id, highest decision id): both read from the primary keys at once, so polling it every
        second costs nothing even with a million rows; any new proposal, decision or undo of the newest changes it."""
        with self._orm() as orm:
            proposals = orm.scalar(select(func.max(Proposal.id))) or 0
            decisions = orm.scalar(select(func.max(Decision.id))) or 0
            return int(proposals), int(decisions)

    def choices(self, limit: int = 200, reviewer: str | None = None) -> list[tuple[int, str, str]]:
        """(session id, task, workspace root) of the sessions that have waiting proposals, newest first; with a
        ``reviewer``, also those whose only waiting work is a second review or dispute that person may take (the
        sessions of their queue's items)."""
        with self._orm() as orm:
            visible = reviewable_by(orm, reviewer) if reviewer else None
            rows = orm.execute(_queue_choices_query(limit, visible)).all()
            return [(row.id, row.task, row.root_path) for row in rows]

    def texts(self, proposal_ids: Iterable[int]) -> dict[int, QueueTextRecord]:
        """What the flags of each proposal are computed from: the shown diff or command, and the base it assumed."""
        ids = list(proposal_ids)
        if not ids:
            return {}
        with self._orm() as orm:
            rows = orm.execute(
                select(
                    Proposal.id,
                    Proposal.kind,
                    Proposal.shown_text,
                    Proposal.path,
                    Proposal.base_hash,
                    Workspace.root_path,
                    Proposal.cwd,
                )
                .join(AgentSession, Proposal.session_id == AgentSession.id)
                .join(Workspace, AgentSession.workspace_id == Workspace.id)
                .where(Proposal.id.in_(ids))
            ).all()
        return {
            row.id: QueueTextRecord(row.id, row.kind, row.shown_text, row.path, row.base_hash, row.root_path, row.cwd)
            for row in rows
        }

    def states(self, proposal_ids: Iterable[int]) -> dict[int, ProposalStateRecord]:
        """Status, decision time and latest verdict of each proposal, for showing what became of them."""
        ids = list(proposal_ids)
        if not ids:
            return {}
        latest = (
            select(func.max(Decision.id))
            .where(Decision.proposal_id == Proposal.id, live_decisions())
            .correlate(Proposal)
            .scalar_subquery()
        )
        with self._orm() as orm:
            rows = orm.execute(
                select(Proposal.id, Proposal.status, Proposal.decided_at, Decision.verdict, Decision.reviewer)
                .outerjoin(Decision, Decision.id == latest)
                .where(Proposal.id.in_(ids))
            ).all()
        return {
            row.id: ProposalStateRecord(
                row.id, ProposalStatus(row.status), as_utc(row.decided_at), row.verdict, row.reviewer
            )
            for row in rows
        }

    def stats(
        self,
        *,
        day_start: dt.datetime,
        hour_ago: dt.datetime,
        session_id: int | None = None,
        reviewer: str | None = None,
    ) -> QueueStatsRecord:
        """Progress counted in SQL: waiting now, decided since ``day_start`` and since ``hour_ago``, and the median
        time on screen of today's decisions (the median row is found with ORDER BY/OFFSET, never by loading rows).

        Waiting counts what anyone could review; with a ``reviewer``, what that person may review: the items of their
        queue page (second reviews of others' first reviews, disputes they may adjudicate), so the tray's count is
        the work waiting for them."""
        with self._orm() as orm:
            # Second reviews and disputes wait for someone too.
            waiting_query = select(func.count()).select_from(Proposal).where(Proposal.status.in_(STILL_UNDECIDED))
            visible = reviewable_by(orm, reviewer) if reviewer else None
            if visible is not None:
                waiting_query = (
                    select(func.count())
                    .select_from(Proposal)
                    .join(AgentSession, Proposal.session_id == AgentSession.id)
                    .where(or_(Proposal.status == PENDING, visible))
                )
            elif reviewer:
                waiting_query = select(func.count()).select_from(Proposal).where(Proposal.status == PENDING)
            # Undo entries and the decisions they took back are not decisions made.
            decided_query = select(func.count()).select_from(Decision).where(live_decisions())
            timed_query = select(Decision.time_on_screen_ms).select_from(Decision).where(live_decisions())
            if session_id is not None:
                waiting_query = waiting_query.where(Proposal.session_id == session_id)
                # "+ 0" keeps the planner off the session index: today's decisions (by time) are far fewer than a
                # long-lived session's proposals.
                in_session = (Proposal.session_id + 0) == session_id
                decided_query = decided_query.join(Proposal, Decision.proposal_id == Proposal.id).where(in_session)
                timed_query = timed_query.join(Proposal, Decision.proposal_id == Proposal.id).where(in_session)
            waiting = int(orm.scalar(waiting_query) or 0)
            decided_today = int(orm.scalar(decided_query.where(Decision.decided_at >= day_start)) or 0)
            decided_last_hour = int(orm.scalar(decided_query.where(Decision.decided_at >= hour_ago)) or 0)
            timed_query = timed_query.where(Decision.decided_at >= day_start, Decision.time_on_screen_ms.is_not(None))
            timed = int(orm.scalar(select(func.count()).select_from(timed_query.subquery())) or 0)
            median_ms: float | None = None
            if timed:
                ordered = timed_query.order_by(Decision.time_on_screen_ms)
                middle = [int(ms or 0) for ms in orm.scalars(ordered.limit(2 - timed % 2).offset((timed - 1) // 2))]
                median_ms = sum(middle) / len(middle)
        return QueueStatsRecord(waiting, decided_today, decided_last_hour, median_ms)


_QUEUE_SORTS = {
    "age": Proposal.created_at,
    "workspace": Workspace.root_path,
    "session": Proposal.session_id,
    "kind": Proposal.kind,
    "target": func.coalesce(Proposal.path, Proposal.command),
    "lines": Proposal.lines_added + Proposal.lines_removed,
}


# The same keys as expressions no index can order by ("+ 0", "|| ''"), for the review stages' few rows.
_QUEUE_SORTS_OFF_INDEX = {
    "kind": Proposal.kind.concat(""),
    "session": Proposal.session_id + 0,
}


def _queue_sort_key(sort: str) -> Any:
    try:
        return _QUEUE_SORTS[sort]
    except KeyError:
        raise ValueError(f"The queue cannot be sorted by {sort!r}; use one of {', '.join(_QUEUE_SORTS)}.") from None


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _queue_filtered(
    query: AnySelect,
    workspace_roots: Iterable[str] | None,
    kinds: Iterable[str] | None,
    session_ids: Iterable[int] | None,
    path_like: str | None,
    text: str | None,
) -> AnySelect:
    if workspace_roots is not None:
        query = query.where(Workspace.root_path.in_(list(workspace_roots)))
    if kinds is not None:
        query = query.where(Proposal.kind.in_(list(kinds)))
    if session_ids is not None:
        query = query.where(Proposal.session_id.in_(list(session_ids)))
    if path_like is not None:
        query = query.where(Proposal.path.like(path_like, escape="\\"))
    if text:
        pattern = f"%{_like_escaped(text)}%"
        query = query.where(
            Proposal.path.like(pattern, escape="\\")
            | Proposal.command.like(pattern, escape="\\")
            | AgentSession.task.like(pattern, escape="\\")
            | Workspace.root_path.like(pattern, escape="\\")
        )
    return query


def _queue_choices_query(limit: int, in_review: ColumnElement[bool] | None = None) -> AnySelect:
    """Sessions with pending proposals, or with review-stage proposals meeting ``in_review`` (a condition on
    Proposal joined to AgentSession)."""
    # DISTINCT over the (status, session_id) index: an index-only scan, not a probe per session.
    pending = select(Proposal.session_id).where(Proposal.status == PENDING)
    if in_review is None:
        waiting_sessions = pending.distinct().subquery()
    else:
        # The review stages are few rows; their part is a join of its own, so the pending part stays index-only.
        waiting_sessions = union(
            pending,
            select(Proposal.session_id).join(AgentSession, Proposal.session_id == AgentSession.id).where(in_review),
        ).subquery()
    return (
        select(AgentSession.id, AgentSession.task, Workspace.root_path)
        .join(waiting_sessions, waiting_sessions.c.session_id == AgentSession.id)
        .join(Workspace, AgentSession.workspace_id == Workspace.id)
        .order_by(AgentSession.id.desc())
        .limit(limit)
    )
