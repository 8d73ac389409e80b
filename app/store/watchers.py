"""The store's watchers: processes (an open window) that carry out decisions made elsewhere on sessions nobody runs,
and the cheap indexed read they poll for such decisions. No Qt here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from app.domain.lifecycle import STALE_RUNNER_AFTER, ProposalStatus
from app.domain.records import WatcherRecord
from app.store.base import StoreBase
from app.store.models import AgentSession, Proposal, Watcher, Workspace, utcnow


class Watchers(StoreBase):
    """Who carries out decisions on unowned sessions (``store.watchers``)."""

    def announce(self, runner_id: str, *, kind: str, host: str, pid: int) -> None:
        now = utcnow()
        with self._orm() as orm, orm.begin():
            row = orm.get(Watcher, runner_id)
            if row is None:
                orm.add(Watcher(runner_id=runner_id, kind=kind, host=host, pid=pid, started_at=now, heartbeat_at=now))
            else:
                row.heartbeat_at = now

    def heartbeat(self, runner_id: str) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(update(Watcher).where(Watcher.runner_id == runner_id).values(heartbeat_at=utcnow()))

    def withdraw(self, runner_id: str) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(delete(Watcher).where(Watcher.runner_id == runner_id))

    def live(self, kind: str = "window", *, stale_after: dt.timedelta = STALE_RUNNER_AFTER) -> list[WatcherRecord]:
        """Watchers of ``kind`` that said they are alive within ``stale_after``, newest first."""
        since = utcnow() - stale_after
        with self._orm() as orm:
            rows = orm.scalars(
                select(Watcher)
                .where(Watcher.kind == kind, Watcher.heartbeat_at >= since)
                .order_by(Watcher.heartbeat_at.desc())
            )
            return [WatcherRecord(r.runner_id, r.kind, r.host, r.pid) for r in rows]

    def unowned_decisions(self) -> list[tuple[int, int, str]]:
        """(proposal id, session id, workspace root) of decided proposals whose session no live process runs: what a
        watcher resumes. One pass over the (status, session_id) index; usually nothing at all."""
        stale = utcnow() - STALE_RUNNER_AFTER
        with self._orm() as orm:
            rows = orm.execute(
                select(Proposal.id, Proposal.session_id, Workspace.root_path)
                .join(AgentSession, AgentSession.id == Proposal.session_id)
                .join(Workspace, Workspace.id == AgentSession.workspace_id)
                .where(
                    Proposal.status == ProposalStatus.DECIDED.value,
                    AgentSession.source.is_(None),
                    AgentSession.runner_id.is_(None) | (AgentSession.heartbeat_at < stale),
                )
                .order_by(Proposal.id)
            ).all()
            return [(pid, sid, root) for pid, sid, root in rows]
