"""The agent side of the terminal UI: starts the offline demo, and after a decision wakes the session's runner here or
resumes a session nobody drives (as the window does). Owns the SessionManager; draws nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.services.api_key import ApiKeyStore
from app.services.decision_wait import DecisionWaiter
from app.services.demo_workspace import DEMO_TASK, make_demo_workspace
from app.services.endpoints import DEMO, Endpoints, NoApiKeyError
from app.services.sessions import NewSession, SessionManager
from app.services.settings import Settings
from app.standin.demo import DEMO_MODEL_ID
from app.store.async_repository import AsyncRepository
from app.store.errors import StoreError
from app.store.repository import Repository

log = logging.getLogger(__name__)


class SessionHost:
    def __init__(self, repository: Repository, settings: Settings, *, say: Callable[[str], None]) -> None:
        self.repository = AsyncRepository(Repository(repository.database))
        self.endpoints = Endpoints(ApiKeyStore().current)
        self.waiter = DecisionWaiter(self.repository, undo_window_s=settings.undo_seconds)
        self.manager = SessionManager(self.repository, self.endpoints, waiter=self.waiter)
        self.settings = settings
        self._say = say
        self._tasks: set[asyncio.Task] = set()

    async def start_demo(self) -> int:
        workspace = await asyncio.to_thread(make_demo_workspace)
        session = await self.manager.start(
            NewSession(
                workspace_root=str(workspace),
                task=DEMO_TASK,
                model=DEMO_MODEL_ID,
                max_turns=self.settings.max_turns,
                max_tokens=self.settings.max_tokens,
                endpoint=DEMO,
            )
        )
        return session.id

    def decided(self, proposal_id: int) -> None:
        """A decision (or undo) on ``proposal_id`` was stored here: wake or resume its session, off the key path."""
        self.waiter.notify(proposal_id)
        task = asyncio.get_running_loop().create_task(self._carry_on(proposal_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _carry_on(self, proposal_id: int) -> None:
        try:
            proposal = await self.repository.read(lambda store: store.proposals.get(proposal_id))
            if self.manager.is_running(proposal.session_id):
                return
            if await self.repository.read(lambda store: store.sessions.has_live_runner(proposal.session_id)):
                return
            await self.manager.resume(proposal.session_id)
        except (NoApiKeyError, ValueError, StoreError) as err:
            self._say(f"Session of proposal {proposal_id} not resumed here: {err}")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.manager.shutdown()
        self.endpoints.close()
        self.repository.close()
