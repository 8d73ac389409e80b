"""External agents' sessions and the processes that hold their requests open while a proposal waits.

An external session is found by (source, external id); a proposal made for one names its waiter ('host:pid') and
is withdrawn, with the reason, when that waiter is gone or gives up. Every change is one conditional UPDATE, so a
withdrawal and a decision can race without both winning. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.store.base import changed_rows
from app.store.models import AgentSession, Proposal, utcnow
from app.store.workspaces import workspace_row

if TYPE_CHECKING:
    from app.store.db import Database

# A waiter on another host that has not said it is alive for this long is presumed gone.
STALE_WAITER_AFTER = dt.timedelta(seconds=30)
WITHDRAWN = ProposalStatus.CANCELLED


class ExternalStore:
    """Synchronous, like ``Repository``; shares its database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def session_for(
        self,
        *,
        source: str,
        external_id: str,
        workspace_root: str,
        task: str,
        transcript_path: str | None = None,
        model: str = "",
    ) -> int:
        """The Signoff session of an external one, created on its first request (two racing requests make one)."""
        found = self._find(source, external_id)
        if found is not None:
            return found
        try:
            with self.database.session() as orm, orm.begin():
                workspace = workspace_row(orm, workspace_root)
                row = AgentSession(
                    workspace_id=workspace.id,
                    task=task,
                    endpoint=source,
                    model=model or source,
                    system_prompt="",
                    tools=[],
                    sampling={},
                    max_turns=0,
                    status="running",
                    turns=0,
                    input_tokens=0,
                    output_tokens=0,
                    cache_creation_input_tokens=0,
                    cache_read_input_tokens=0,
                    source=source,
                    external_id=external_id,
                    transcript_path=transcript_path,
                )
                orm.add(row)
                orm.flush()
                return row.id
        except IntegrityError:
            found = self._find(source, external_id)
            if found is None:
                raise
            return found

    def _find(self, source: str, external_id: str) -> int | None:
        with self.database.session() as orm:
            return orm.scalar(
                select(AgentSession.id).where(AgentSession.source == source, AgentSession.external_id == external_id)
            )

    def hold(self, proposal_id: int, waiter_id: str, *, note: str | None = None) -> None:
        """``waiter_id`` now holds the agent's request for this proposal open (a retried request takes it over)."""
        values: dict[str, Any] = {"waiter_id": waiter_id, "waiter_heartbeat_at": utcnow()}
        if note is not None:
            values["protocol_note"] = note
        with self.database.session() as orm, orm.begin():
            orm.execute(update(Proposal).where(Proposal.id == proposal_id).values(**values))

    def heartbeat(self, proposal_id: int, waiter_id: str) -> None:
        with self.database.session() as orm, orm.begin():
            orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.waiter_id == waiter_id)
                .values(waiter_heartbeat_at=utcnow())
            )

    def withdraw(self, proposal_id: int, reason: str, *, waiter_id: str | None = None) -> bool:
        """Withdraw a proposal nobody decided yet; False when a decision (or another withdrawal) came first."""
        statement = update(Proposal).where(Proposal.id == proposal_id, Proposal.status.in_(list(STILL_UNDECIDED)))
        if waiter_id is not None:
            statement = statement.where(Proposal.waiter_id == waiter_id)
        with self.database.session() as orm, orm.begin():
            done = orm.execute(statement.values(status=WITHDRAWN, withdrawn_reason=reason, resolved_at=utcnow()))
            return changed_rows(done) == 1

    def withdrawn_reason(self, proposal_id: int) -> str | None:
        with self.database.session() as orm:
            return orm.scalar(select(Proposal.withdrawn_reason).where(Proposal.id == proposal_id))

    def end_session(self, source: str, external_id: str, reason: str) -> int:
        """The external session ended: withdraw what still waits in it and mark it finished; how many were withdrawn."""
        session_id = self._find(source, external_id)
        if session_id is None:
            return 0
        now = utcnow()
        with self.database.session() as orm, orm.begin():
            withdrawn = changed_rows(
                orm.execute(
                    update(Proposal)
                    .where(Proposal.session_id == session_id, Proposal.status.in_(list(STILL_UNDECIDED)))
                    .values(status=WITHDRAWN, withdrawn_reason=reason, resolved_at=now)
                )
            )
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id)
                .values(status="finished", stop_reason="external_end", ended_at=now, updated_at=now)
            )
            return withdrawn

    def waiting(self) -> list[tuple[int, str, dt.datetime | None]]:
        """(proposal id, waiter id, last heartbeat) of every undecided proposal an external process holds open."""
        with self.database.session() as orm:
            rows = orm.execute(
                select(Proposal.id, Proposal.waiter_id, Proposal.waiter_heartbeat_at).where(
                    Proposal.status.in_(list(STILL_UNDECIDED)), Proposal.waiter_id.is_not(None)
                )
            ).all()
            return [(row[0], row[1] or "", row[2]) for row in rows]
