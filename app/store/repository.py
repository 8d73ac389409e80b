"""The store: every read and write Signoff makes to its database, one aggregate per concern, over plain records.

The database is also the queue between processes: runners create proposals, any reviewer (window or command line,
on any machine sharing the database) decides them, and the runner owning the session applies them. A decision is
claimed with a conditional UPDATE so no proposal is ever decided twice. No Qt here.

Like anki's ``Collection`` (``col.decks = DeckManager(col)``), ``Repository`` only holds the aggregates:

- ``sessions``  agent sessions, runners and heartbeats, usage, the transcript (app.store.sessions)
- ``proposals`` proposals, decisions, undo, apply intents and outcomes (app.store.proposals)
- ``queue``     the review queue's pages, signature, choices and figures (app.store.queue)
- ``claims``    reviewers' leases on proposals (app.store.claims)
- ``reviews``   team review rules, blind second reviews, adjudication, agreement (app.store.reviews)
- ``compares``  compare mode's alternatives and picks (app.store.compare)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.store.claims import Claims
from app.store.compare import Compares
from app.store.proposals import Proposals
from app.store.queue import Queue
from app.store.reviews import Reviews
from app.store.sessions import Sessions

if TYPE_CHECKING:
    from app.store.db import Database


class Repository:
    """Synchronous access; call it from one thread at a time (``AsyncRepository`` does that for the event loop)."""

<<<<<<< HEAD
    def __init__(self, database: Database) -> None:
        self.database = database
        self.sessions = Sessions(database)
        self.proposals = Proposals(database)
        self.queue = Queue(database)
        self.claims = Claims(database)
        self.reviews = Reviews(database)
        self.compares = Compares(database)
=======

class AlreadyDecidedError(StoreError):
    pass


class UndoRefusedError(StoreError):
    """The decision can no longer be taken back (its undo window passed, it is being applied, or it is not yours)."""


def _session_record(row: AgentSession, root: str) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        workspace_root=root,
        task=row.task,
        endpoint=row.endpoint,
        model=row.model,
        system_prompt=row.system_prompt,
        tools=row.tools,
        sampling=row.sampling,
        max_turns=row.max_turns,
        status=row.status,
        stop_reason=row.stop_reason,
        error=row.error,
        turns=row.turns,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_creation_input_tokens=row.cache_creation_input_tokens,
        cache_read_input_tokens=row.cache_read_input_tokens,
        runner_id=row.runner_id,
        heartbeat_at=as_utc(row.heartbeat_at),
        created_at=as_utc(row.created_at),
        ended_at=as_utc(row.ended_at),
        source=row.source,
    )


def _proposal_record(row: Proposal, root: str, task: str) -> ProposalRecord:
    return ProposalRecord(
        id=row.id,
        session_id=row.session_id,
        workspace_root=root,
        task=task,
        message_seq=row.message_seq,
        tool_use_id=row.tool_use_id,
        tool_name=row.tool_name,
        tool_input=row.tool_input,
        kind=row.kind,
        path=row.path,
        command=row.command,
        cwd=row.cwd,
        base_hash=row.base_hash,
        old_content=row.old_content,
        new_content=row.new_content,
        shown_text=row.shown_text,
        shown_hash=row.shown_hash,
        lines_added=row.lines_added,
        lines_removed=row.lines_removed,
        status=row.status,
        result=row.result,
        created_at=as_utc(row.created_at),
        decided_at=as_utc(row.decided_at),
    )


def _decision_record(row: Decision) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        proposal_id=row.proposal_id,
        verdict=row.verdict,
        reason=row.reason,
        edited_content=row.edited_content,
        reviewer=row.reviewer,
        time_on_screen_ms=row.time_on_screen_ms,
        decided_at=as_utc(row.decided_at),
        channel=row.channel,
        hunk_verdicts=row.hunk_verdicts,
        strength=row.strength,
        shown_hash=row.shown_hash,
        review_stage=row.review_stage,
    )


class Repository(ClaimsMixin, TeamReviewMixin, CompareMixin):
    """Synchronous access; call it from one thread (``AsyncRepository`` does that for the event loop)."""

    def __init__(self, database: Any) -> None:
        self.database = database

    def _orm(self) -> OrmSession:
        return self.database.session()

    # -- sessions --------------------------------------------------------------------------------------------------

    def create_session(
        self,
        *,
        workspace_root: str,
        task: str,
        endpoint: str,
        model: str,
        system_prompt: str,
        tools: list[dict[str, Any]],
        sampling: dict[str, Any],
        max_turns: int,
    ) -> SessionRecord:
        with self._orm() as orm, orm.begin():
            workspace = workspace_row(orm, workspace_root)
            row = AgentSession(
                workspace_id=workspace.id,
                task=task,
                endpoint=endpoint,
                model=model,
                system_prompt=system_prompt,
                tools=tools,
                sampling=sampling,
                max_turns=max_turns,
                status="running",
                turns=0,
                input_tokens=0,
                output_tokens=0,
                cache_creation_input_tokens=0,
                cache_read_input_tokens=0,
            )
            orm.add(row)
            orm.flush()
            return _session_record(row, workspace_root)

    def get_session(self, session_id: int) -> SessionRecord:
        with self._orm() as orm:
            row = orm.get(AgentSession, session_id)
            if row is None:
                raise UnknownItemError(f"There is no session {session_id}.")
            return _session_record(row, row.workspace.root_path)

    def list_sessions(self, limit: int = 200) -> list[SessionRecord]:
        with self._orm() as orm:
            rows = orm.execute(
                select(AgentSession, Workspace.root_path).join(Workspace).order_by(AgentSession.id.desc()).limit(limit)
            ).all()
            return [_session_record(row, root) for row, root in rows]

    def update_session(self, session_id: int, **values: Any) -> None:
        allowed = {"status", "stop_reason", "error", "turns", "ended_at", "model"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"cannot update session fields {sorted(unknown)}")
        with self._orm() as orm, orm.begin():
            orm.execute(update(AgentSession).where(AgentSession.id == session_id).values(updated_at=utcnow(), **values))

    def add_usage(self, session_id: int, usage: dict[str, Any]) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id)
                .values(
                    input_tokens=AgentSession.input_tokens + int(usage.get("input_tokens") or 0),
                    output_tokens=AgentSession.output_tokens + int(usage.get("output_tokens") or 0),
                    cache_creation_input_tokens=AgentSession.cache_creation_input_tokens
                    + int(usage.get("cache_creation_input_tokens") or 0),
                    cache_read_input_tokens=AgentSession.cache_read_input_tokens
                    + int(usage.get("cache_read_input_tokens") or 0),
                    updated_at=utcnow(),
                )
            )

    def claim_session(self, session_id: int, runner_id: str, *, force: bool = False) -> bool:
        """Become the runner of a session if nobody live drives it; True when this runner now owns it."""
        now = utcnow()
        stale = now - STALE_RUNNER_AFTER
        condition = (
            (AgentSession.runner_id.is_(None))
            | (AgentSession.runner_id == runner_id)
            | (AgentSession.heartbeat_at < stale)
        )
        with self._orm() as orm, orm.begin():
            statement = update(AgentSession).where(AgentSession.id == session_id)
            if not force:
                statement = statement.where(condition)
            result = orm.execute(statement.values(runner_id=runner_id, heartbeat_at=now))
            return result.rowcount == 1

    def heartbeat(self, session_id: int, runner_id: str) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id, AgentSession.runner_id == runner_id)
                .values(heartbeat_at=utcnow())
            )

    def release_session(self, session_id: int, runner_id: str) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id, AgentSession.runner_id == runner_id)
                .values(runner_id=None, heartbeat_at=None)
            )

    def has_live_runner(self, session_id: int) -> bool:
        record = self.get_session(session_id)
        if record.runner_id is None or record.heartbeat_at is None:
            return False
        return record.heartbeat_at >= utcnow() - STALE_RUNNER_AFTER

    # -- transcript ------------------------------------------------------------------------------------------------

    def append_message(
        self,
        session_id: int,
        role: str,
        content: list[dict[str, Any]],
        *,
        api_message_id: str | None = None,
        stop_reason: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> int:
        with self._orm() as orm, orm.begin():
            last = orm.scalar(select(func.max(Message.seq)).where(Message.session_id == session_id))
            seq = 0 if last is None else last + 1
            orm.add(
                Message(
                    session_id=session_id,
                    seq=seq,
                    role=role,
                    content=content,
                    api_message_id=api_message_id,
                    stop_reason=stop_reason,
                    usage=usage,
                )
            )
            return seq

    def load_messages(self, session_id: int) -> list[MessageRecord]:
        with self._orm() as orm:
            rows = orm.scalars(select(Message).where(Message.session_id == session_id).order_by(Message.seq))
            return [MessageRecord(r.seq, r.role, r.content, r.stop_reason, r.usage) for r in rows]

    # -- proposals -------------------------------------------------------------------------------------------------

    def create_proposal(self, **fields: Any) -> ProposalRecord:
        """Store a proposal; idempotent per (session, tool_use_id) so a resumed loop finds the one it made."""
        existing = self.proposal_for_tool_use(fields["session_id"], fields["tool_use_id"])
        if existing is not None:
            return existing
        try:
            with self._orm() as orm, orm.begin():
                row = Proposal(status="pending", **fields)
                orm.add(row)
                orm.flush()
                proposal_id = row.id
        except IntegrityError:
            existing = self.proposal_for_tool_use(fields["session_id"], fields["tool_use_id"])
            if existing is None:
                raise
            return existing
        return self.get_proposal(proposal_id)

    def _proposal_query(self):
        return (
            select(Proposal, Workspace.root_path, AgentSession.task)
            .join(AgentSession, Proposal.session_id == AgentSession.id)
            .join(Workspace, AgentSession.workspace_id == Workspace.id)
        )

    def get_proposal(self, proposal_id: int) -> ProposalRecord:
        with self._orm() as orm:
            row = orm.execute(self._proposal_query().where(Proposal.id == proposal_id)).first()
            if row is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            return _proposal_record(*row)

    def proposal_for_tool_use(self, session_id: int, tool_use_id: str) -> ProposalRecord | None:
        with self._orm() as orm:
            row = orm.execute(
                self._proposal_query().where(Proposal.session_id == session_id, Proposal.tool_use_id == tool_use_id)
            ).first()
            return None if row is None else _proposal_record(*row)

    def list_proposals(
        self, *, session_id: int | None = None, statuses: Iterable[str] | None = None, limit: int = 1000
    ) -> list[ProposalRecord]:
        with self._orm() as orm:
            query = self._proposal_query()
            if session_id is not None:
                query = query.where(Proposal.session_id == session_id)
            if statuses is not None:
                query = query.where(Proposal.status.in_(list(statuses)))
            rows = orm.execute(query.order_by(Proposal.id).limit(limit)).all()
            return [_proposal_record(*row) for row in rows]

    def pending_proposals(self, session_id: int | None = None) -> list[ProposalRecord]:
        return self.list_proposals(session_id=session_id, statuses=["pending"])

    def record_decision(
        self,
        proposal_id: int,
        *,
        verdict: str,
        reviewer: str,
        reason: str | None = None,
        edited_content: bytes | None = None,
        time_on_screen_ms: int | None = None,
        shown_at: dt.datetime | None = None,
        channel: str = "window",
        hunk_verdicts: list[dict[str, Any]] | None = None,
        strength: int | None = None,
        adjudication: bool = False,
        compare: dict[str, Any] | None = None,
    ) -> DecisionRecord:
        """Durably record a judgment; exactly one decision wins per proposal, across processes and machines.

        Team mode (app.store.team_review, app.store.claims): a live claim by someone else refuses the decision, and a
        proposal needing two reviews moves through awaiting_second_review (and disputed, then ``adjudication``).
        """
        if verdict not in {"approve", "reject", "edit"}:
            raise ValueError(f"unknown verdict {verdict!r}")
        now = utcnow()
        with self._orm() as orm, orm.begin():
            step = plan_decision(
                orm,
                proposal_id,
                verdict=verdict,
                reviewer=reviewer,
                edited_content=edited_content,
                adjudication=adjudication,
            )
            claimed = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == step.from_status, free_for(reviewer, now))
                .values(
                    status=step.to_status,
                    decided_at=now if step.is_final else None,
                    claimed_by=None,
                    claim_expires_at=None,
                )
            )
            if claimed.rowcount != 1:
                refuse_if_claimed(orm, proposal_id, reviewer, now)
                refuse_if_in_review(orm, proposal_id)
                row = orm.get(Proposal, proposal_id)
                if row is None:
                    raise UnknownItemError(f"There is no proposal {proposal_id}.")
                if row.status == "cancelled":
                    why = f" ({row.withdrawn_reason})" if row.withdrawn_reason else " when its session stopped"
                    raise AlreadyDecidedError(f"Proposal {proposal_id} was withdrawn{why}; there is nothing to decide.")
                earlier = orm.scalar(
                    select(Decision)
                    .where(Decision.proposal_id == proposal_id, live_decisions())
                    .order_by(Decision.id.desc())
                    .limit(1)
                )
                who = f" by {earlier.reviewer}" if earlier is not None else ""
                verdict_text = f" ({earlier.verdict})" if earlier is not None else ""
                raise AlreadyDecidedError(f"Proposal {proposal_id} was already decided{who}{verdict_text}.")
            decision = Decision(
                proposal_id=proposal_id,
                verdict=verdict,
                reason=reason,
                edited_content=edited_content,
                reviewer=reviewer,
                time_on_screen_ms=time_on_screen_ms,
                shown_at=shown_at,
                decided_at=now,
                channel=channel,
                hunk_verdicts=hunk_verdicts,
                strength=strength,
                review_stage=step.stage,
                compare=compare,
            )
            # Adds and flushes it, linked to the audit chain in this same transaction.
            seal_decision(orm, decision)
            return _decision_record(decision)

    def latest_decision(self, proposal_id: int) -> DecisionRecord | None:
        with self._orm() as orm:
            row = orm.scalar(
                select(Decision)
                .where(Decision.proposal_id == proposal_id, live_decisions())
                .order_by(Decision.id.desc())
                .limit(1)
            )
            return None if row is None else _decision_record(row)

    def resolve_proposal(
        self, proposal_id: int, *, status: str, result: dict[str, Any], applied_hash: str | None = None
    ) -> None:
        """Record what happened to a decided proposal and what the agent was told."""
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id)
                .values(status=status, result=result, applied_hash=applied_hash, resolved_at=utcnow())
            )

    def cancel_pending(self, session_id: int) -> int:
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(Proposal)
                .where(Proposal.session_id == session_id, Proposal.status == "pending")
                .values(status="cancelled", resolved_at=utcnow())
            )
            return result.rowcount

    def decisions_for_session(self, session_id: int) -> list[tuple[ProposalRecord, DecisionRecord]]:
        with self._orm() as orm:
            rows = orm.execute(
                self._proposal_query()
                .add_columns(Decision)
                .join(Decision, Decision.proposal_id == Proposal.id)
                .where(Proposal.session_id == session_id, live_decisions())
                .order_by(Decision.id)
            ).all()
            return [(_proposal_record(p, root, task), _decision_record(d)) for p, root, task, d in rows]

    # -- the review queue (window) -------------------------------------------------------------------------------------

    def queue_page(
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

        def ordered(sort_key):
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
            in_review = reviewer and anything_in_review(orm)
            if not in_review:
                rows = orm.execute(ordered(key).where(Proposal.status == "pending")).all()
            else:
                visibility = visibility_for(orm, reviewer)
                # One page per status, then the best ``limit`` of those few rows: a single query with status IN (...)
                # or OR makes the database sort or scan the whole waiting queue for every page. The database merges,
                # so its collation orders text as it does for one status. The review stages are few rows: their key
                # is kept off indexes (kind, session) that would walk every proposal ever made in that order.
                rare_key = _QUEUE_SORTS_OFF_INDEX.get(sort, key)
                parts = [ordered(key).where(Proposal.status == "pending").subquery()] + [
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
                    status=row.status,
                    created_at=as_utc(row.created_at),
                    sort_key=sort_key,
                    claimed_by=holder,
                )
            )
        return items

    def queue_signature(self) -> tuple[int, int]:
        """(highest proposal id, highest decision id): both read from the primary keys at once, so polling it every
        second costs nothing even with a million rows; any new proposal, decision or undo of the newest changes it."""
        with self._orm() as orm:
            proposals = orm.scalar(select(func.max(Proposal.id))) or 0
            decisions = orm.scalar(select(func.max(Decision.id))) or 0
            return int(proposals), int(decisions)

    def queue_choices(self, limit: int = 200, reviewer: str | None = None) -> list[tuple[int, str, str]]:
        """(session id, task, workspace root) of the sessions that have waiting proposals, newest first; with a
        ``reviewer``, also those whose only waiting work is a second review or dispute that person may take (the
        sessions of their queue's items)."""
        with self._orm() as orm:
            visible = reviewable_by(orm, reviewer) if reviewer else None
            rows = orm.execute(_queue_choices_query(limit, visible)).all()
            return [(row.id, row.task, row.root_path) for row in rows]

    def queue_texts(self, proposal_ids: Iterable[int]) -> dict[int, QueueTextRecord]:
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

    def proposal_states(self, proposal_ids: Iterable[int]) -> dict[int, ProposalStateRecord]:
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
            row.id: ProposalStateRecord(row.id, row.status, as_utc(row.decided_at), row.verdict, row.reviewer)
            for row in rows
        }

    def queue_stats(
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
                    .where(or_(Proposal.status == "pending", visible))
                )
            elif reviewer:
                waiting_query = select(func.count()).select_from(Proposal).where(Proposal.status == "pending")
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
                middle = list(orm.scalars(ordered.limit(2 - timed % 2).offset((timed - 1) // 2)))
                median_ms = sum(middle) / len(middle)
        return QueueStatsRecord(waiting, decided_today, decided_last_hour, median_ms)

    # -- undo ------------------------------------------------------------------------------------------------------------

    def undo_decision(
        self, proposal_id: int, reviewer: str, *, window_s: float, channel: str = "window"
    ) -> ProposalRecord:
        """Take back ``reviewer``'s standing decision on a proposal while it is younger than ``window_s`` and nothing was
        carried out yet; the proposal goes back to the step before it (waiting, second review or adjudication).

        The undo is appended to the audit chain as its own entry (verdict 'undo', ``revokes_id``), so it works however
        many decisions others recorded since, and ``signoff audit verify`` still passes. One conditional UPDATE
        decides the race with the runner's ``claim_for_apply``: whichever commits first wins.
        """
        now = utcnow()
        with self._orm() as orm, orm.begin():
            found = orm.execute(select(Proposal.status, Proposal.decided_at).where(Proposal.id == proposal_id)).first()
            if found is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            status, final_at = found
            decision = orm.scalar(
                select(Decision)
                .where(Decision.proposal_id == proposal_id, live_decisions())
                .order_by(Decision.id.desc())
                .limit(1)
            )
            if decision is None or status == "pending":
                raise UndoRefusedError(f"Proposal {proposal_id} is not decided; there is nothing to undo.")
            if decision.reviewer != reviewer:
                # Reviews stay blind: say whose it is only once the proposal is decided.
                who = decision.reviewer if status not in STILL_UNDECIDED else "another reviewer"
                raise UndoRefusedError(f"Proposal {proposal_id} was last decided by {who}; only they can undo it.")
            produced, back_to = _undo_steps(decision.review_stage)
            if status not in produced:
                doing = "is being carried out now" if status == "applying" else f"was already carried out ({status})"
                raise UndoRefusedError(f"The decision on proposal {proposal_id} is final: it {doing}.")
            cutoff = now - dt.timedelta(seconds=window_s)
            # The window runs from when the proposal was decided (what the runner's claim_for_apply counts from), or
            # for a review that decided nothing yet, from that review.
            if as_utc(final_at if status == "decided" and final_at is not None else decision.decided_at) <= cutoff:
                raise UndoRefusedError(
                    f"The decision on proposal {proposal_id} is final: its {window_s:g} s undo window has passed."
                )
            statement = update(Proposal).where(Proposal.id == proposal_id, Proposal.status == status)
            if status == "decided":
                statement = statement.where(Proposal.decided_at > cutoff)
            returned = orm.execute(statement.values(status=back_to, decided_at=None))
            if returned.rowcount != 1:
                # The runner made it final (or another undo won) between the read above and this UPDATE.
                raise UndoRefusedError(f"The decision on proposal {proposal_id} is final: it is being carried out now.")
            seal_decision(
                orm,
                Decision(
                    proposal_id=proposal_id,
                    verdict=UNDO_VERDICT,
                    reviewer=reviewer,
                    decided_at=now,
                    channel=channel,
                    revokes_id=decision.id,
                ),
            )
        return self.get_proposal(proposal_id)

    def claim_for_apply(self, proposal_id: int, *, window_s: float) -> bool:
        """Make a decision final once its undo window has passed: 'decided' becomes 'applying' for the runner only."""
        cutoff = utcnow() - dt.timedelta(seconds=window_s)
        with self._orm() as orm, orm.begin():
            claimed = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == "decided", Proposal.decided_at <= cutoff)
                .values(status="applying")
            )
            return claimed.rowcount == 1

    def record_apply_intent(self, proposal_id: int, target_hash: str) -> bool:
        """Durably note, before anything is written or run, what an 'applying' proposal is about to do: the sha256 of
        the exact bytes a file will hold, or of the command about to run. It stays in ``applied_hash`` while the
        status is 'applying'; after a crash it tells the resumed runner a write may have happened (or a command may
        have run). False when the proposal is no longer 'applying'."""
        with self._orm() as orm, orm.begin():
            marked = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == "applying")
                .values(applied_hash=target_hash)
            )
            return marked.rowcount == 1

    def apply_intent(self, proposal_id: int) -> str | None:
        """The target hash recorded by ``record_apply_intent`` while the proposal is still 'applying', else None."""
        with self._orm() as orm:
            row = orm.execute(select(Proposal.status, Proposal.applied_hash).where(Proposal.id == proposal_id)).first()
            if row is None or row.status != "applying":
                return None
            return row.applied_hash

    def take_over_session(self, session_id: int, runner_id: str, dead_runner_id: str) -> bool:
        """Become the runner of a session whose recorded runner is known to be dead (its process is gone from this
        host), without waiting for its heartbeat to go stale. Compare-and-swap on the dead runner's id, so two
        processes taking over at once cannot both win."""
        with self._orm() as orm, orm.begin():
            taken = orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id, AgentSession.runner_id == dead_runner_id)
                .values(runner_id=runner_id, heartbeat_at=utcnow())
            )
            return taken.rowcount == 1


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


def _queue_sort_key(sort: str):
    try:
        return _QUEUE_SORTS[sort]
    except KeyError:
        raise ValueError(f"The queue cannot be sorted by {sort!r}; use one of {', '.join(_QUEUE_SORTS)}.") from None


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _queue_filtered(query, workspace_roots, kinds, session_ids, path_like, text):
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


def _queue_choices_query(limit: int, in_review: Any = None):
    """Sessions with pending proposals, or with review-stage proposals meeting ``in_review`` (a condition on
    Proposal joined to AgentSession)."""
    # DISTINCT over the (status, session_id) index: an index-only scan, not a probe per session.
    pending = select(Proposal.session_id).where(Proposal.status == "pending")
    if in_review is not None:
        # The review stages are few rows; their part is a join of its own, so the pending part stays index-only.
        pending = union(
            pending,
            select(Proposal.session_id).join(AgentSession, Proposal.session_id == AgentSession.id).where(in_review),
        )
    waiting_sessions = pending.distinct().subquery() if in_review is None else pending.subquery()
    return (
        select(AgentSession.id, AgentSession.task, Workspace.root_path)
        .join(waiting_sessions, waiting_sessions.c.session_id == AgentSession.id)
        .join(Workspace, AgentSession.workspace_id == Workspace.id)
        .order_by(AgentSession.id.desc())
        .limit(limit)
    )
>>>>>>> 511f4b3 (External agents as sessions (migration 0008), the adapter interface and queue broker, and the Claude Code hook with hooks install/uninstall)
