"""Every read and write Signoff makes to its database, as plain functions over plain records.

The database is also the queue between processes: runners create proposals, any reviewer (window or command line,
on any machine sharing the database) decides them, and the runner owning the session applies them. A decision is
claimed with a conditional UPDATE so no proposal is ever decided twice. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from app.store.errors import StoreError
from app.store.models import Decision, Message, Proposal, AgentSession, Workspace, utcnow
from app.store.records import (
    DecisionRecord,
    MessageRecord,
    ProposalRecord,
    SessionRecord,
    as_utc,
)

# A runner that has not said it is alive for this long is presumed gone; another process may resume its session.
STALE_RUNNER_AFTER = dt.timedelta(seconds=20)


class UnknownItemError(StoreError):
    pass


class AlreadyDecidedError(StoreError):
    pass


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
    )


class Repository:
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
            workspace = orm.scalar(select(Workspace).where(Workspace.root_path == workspace_root))
            if workspace is None:
                workspace = Workspace(root_path=workspace_root)
                orm.add(workspace)
                orm.flush()
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
                select(AgentSession, Workspace.root_path)
                .join(Workspace)
                .order_by(AgentSession.id.desc())
                .limit(limit)
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
            (AgentSession.runner_id.is_(None)) | (AgentSession.runner_id == runner_id) | (AgentSession.heartbeat_at < stale)
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
        return select(Proposal, Workspace.root_path, AgentSession.task).join(AgentSession, Proposal.session_id == AgentSession.id).join(
            Workspace, AgentSession.workspace_id == Workspace.id
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
    ) -> DecisionRecord:
        """Durably record a judgment; exactly one decision wins per proposal, across processes and machines."""
        if verdict not in {"approve", "reject", "edit"}:
            raise ValueError(f"unknown verdict {verdict!r}")
        now = utcnow()
        with self._orm() as orm, orm.begin():
            claimed = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == "pending")
                .values(status="decided", decided_at=now)
            )
            if claimed.rowcount != 1:
                row = orm.get(Proposal, proposal_id)
                if row is None:
                    raise UnknownItemError(f"There is no proposal {proposal_id}.")
                if row.status == "cancelled":
                    raise AlreadyDecidedError(
                        f"Proposal {proposal_id} was withdrawn when its session stopped; there is nothing to decide."
                    )
                earlier = orm.scalar(
                    select(Decision).where(Decision.proposal_id == proposal_id).order_by(Decision.id.desc())
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
            )
            orm.add(decision)
            orm.flush()
            return _decision_record(decision)

    def latest_decision(self, proposal_id: int) -> DecisionRecord | None:
        with self._orm() as orm:
            row = orm.scalar(select(Decision).where(Decision.proposal_id == proposal_id).order_by(Decision.id.desc()))
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
                .where(Proposal.session_id == session_id)
                .order_by(Decision.id)
            ).all()
            return [(_proposal_record(p, root, task), _decision_record(d)) for p, root, task, d in rows]
