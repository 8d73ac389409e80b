"""An open window carries out decisions made elsewhere (`signoff approve`, another window, a reviewer on PostgreSQL) on
sessions no live process runs: it says it is watching (``store.watchers``) and resumes such a session within a poll.

Sessions this process already runs are woken by their own DecisionWaiter; this covers the rest. No Qt here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from app.services.endpoints import NoApiKeyError
from app.services.sessions import SessionManager
from app.store.async_repository import AsyncRepository
from app.store.errors import StoreError, UnknownItemError

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.5
HEARTBEAT_INTERVAL_S = 5.0


class UnownedDecisionWatcher:
    """Polls one indexed read beside the database thread every ``poll_interval_s`` and resumes, here, each session
    whose decided proposal nobody carries out. ``say`` gets one sentence when a session cannot be resumed here."""

    def __init__(
        self,
        repository: AsyncRepository,
        manager: SessionManager,
        *,
        say: Callable[[str], None] = lambda text: None,
        kind: str = "window",
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._repository = repository
        self._manager = manager
        self._say = say
        self._kind = kind
        self._poll_interval_s = poll_interval_s
        self._task: asyncio.Task[None] | None = None
        # Sessions this watcher could not resume (no key, workspace elsewhere): said once, not retried every poll.
        self._refused: set[int] = set()

    @property
    def runner_id(self) -> str:
        return self._manager.runner_id

    async def start(self) -> None:
        await self._repository.write(
            lambda store: store.watchers.announce(
                self.runner_id, kind=self._kind, host=socket.gethostname(), pid=os.getpid()
            )
        )
        self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        try:
            await self._repository.write(lambda store: store.watchers.withdraw(self.runner_id))
        except (StoreError, RuntimeError) as err:
            # A stale row is harmless: it stops counting once its heartbeat is old.
            log.info("watcher not withdrawn: %s", err)

    async def _watch(self) -> None:
        beat_at = time.monotonic()
        while True:
            await asyncio.sleep(self._poll_interval_s)
            try:
                await self.check()
                if time.monotonic() - beat_at >= HEARTBEAT_INTERVAL_S:
                    beat_at = time.monotonic()
                    await self._repository.write(lambda store: store.watchers.heartbeat(self.runner_id))
            except StoreError as err:
                log.warning("watching for decisions failed: %s", err)

    async def check(self) -> list[int]:
        """One look: resume here every session with a decision nobody carries out; returns the sessions resumed."""
        found = await self._repository.read_beside(lambda store: store.watchers.unowned_decisions())
        resumed: list[int] = []
        for _proposal_id, session_id, workspace_root in found:
            if session_id in self._refused or self._manager.is_running(session_id) or session_id in resumed:
                continue
            if not await asyncio.to_thread(Path(workspace_root).is_dir):
                self._refuse(session_id, f"its workspace {workspace_root} is not on this machine")
                continue
            try:
                await self._manager.resume(session_id)
            except (NoApiKeyError, ValueError, UnknownItemError) as err:
                self._refuse(session_id, str(err))
                continue
            resumed.append(session_id)
        return resumed

    def _refuse(self, session_id: int, why: str) -> None:
        self._refused.add(session_id)
        self._say(f"A decision on session {session_id} was made elsewhere, but this window cannot carry it out: {why}")
