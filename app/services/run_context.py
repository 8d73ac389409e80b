"""What every part of one session's run shares: its record, store, decision waiter, workspace, changeset mode and the
one way it reports events and its status. No Qt here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.domain.records import SessionRecord
from app.services import changeset_session
from app.services.decision_wait import DecisionWaiter
from app.services.events import EventListener, SessionEvent, StatusChanged
from app.services.workspace import Workspace
from app.store.async_repository import AsyncRepository

# The runner's logger, so what a run logs keeps one name whichever part of it logs it.
log = logging.getLogger("app.services.agent")


@dataclass(eq=False)
class RunContext:
    """Handed to each part of a runner (like git-cola's command context): the workspace and changeset change when
    changeset mode attaches, and every part sees the change."""

    session: SessionRecord
    repository: AsyncRepository
    waiter: DecisionWaiter
    listener: EventListener
    workspace: Workspace
    command_timeout_s: float
    # Changeset mode (app.services.changeset_session): the agent works in its own worktree; None otherwise.
    changeset: changeset_session.ChangesetMode | None = None

    @property
    def session_id(self) -> int:
        return self.session.id

    def emit(self, event: SessionEvent) -> None:
        try:
            self.listener(event)
        except Exception:  # a broken view must not kill the agent loop
            log.exception("session event listener failed")

    async def set_status(self, status: str, detail: str = "", **fields: Any) -> None:
        await self.repository.write(lambda store: store.sessions.update(self.session_id, status=status, **fields))
        self.emit(StatusChanged(self.session_id, status, detail))
