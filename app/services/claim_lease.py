"""Holding a claim on the proposal a reviewer has on screen: claim it when it is shown, renew the lease while it stays,
release it when something else is shown. One asyncio task; all SQL goes through the AsyncRepository.

No Qt here: the window tells it what is on screen with ``hold(proposal_id)``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from app.store.async_repository import AsyncRepository
from app.store.claims import DEFAULT_LEASE, ClaimRecord
from app.store.errors import ProposalClaimedError, StoreError

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(
        self,
        repository: AsyncRepository,
        reviewer: Callable[[], str],
        *,
        lease: dt.timedelta = DEFAULT_LEASE,
        on_refused: Callable[[ProposalClaimedError], None] | None = None,
    ) -> None:
        self._repository = repository
        self._reviewer = reviewer
        self._lease = lease
        # Renewed at a third of the lease, so one slow round trip never lets it lapse while on screen.
        self._renew_every_s = max(lease.total_seconds() / 3, 0.05)
        self._on_refused = on_refused
        self._target: int | None = None
        self.held: ClaimRecord | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Called after every claim attempt (tests wait on it).
        self.settled = asyncio.Event()

    def hold(self, proposal_id: int | None) -> None:
        """This proposal is on screen now (None: nothing is); cheap to call again with the same id."""
        if proposal_id == self._target and self._task is not None:
            return
        self._target = proposal_id
        self.settled.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        self._wakeup.set()

    async def close(self) -> None:
        """Release what is held and stop."""
        self._target = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._release()

    async def _release(self) -> None:
        held, self.held = self.held, None
        if held is not None:
            try:
                await self._repository.write(lambda store: store.claims.release(held.proposal_id, held.reviewer))
            except StoreError as err:  # the lease lapses on its own
                log.info("could not release the claim on proposal %s: %s", held.proposal_id, err)

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            target = self._target
            if self.held is not None and self.held.proposal_id != target:
                await self._release()
            if target is not None:
                reviewer = self._reviewer()
                try:
                    self.held = await self._repository.write(
                        lambda store, pid, who: store.claims.claim(pid, who, lease=self._lease), target, reviewer
                    )
                except ProposalClaimedError as err:
                    self.held = None
                    if self._on_refused is not None and target == self._target:
                        self._on_refused(err)
                except StoreError as err:
                    # Decided or withdrawn meanwhile: nothing to hold, and nothing the reviewer needs to hear.
                    self.held = None
                    log.info("no claim on proposal %s: %s", target, err)
            self.settled.set()
            try:
                # Renew what is held; retry what someone else held (their lease may lapse); else wait for hold().
                # asyncio.timeout, not wait_for, which on Python 3.11 can lose a cancellation (see decision_wait).
                async with asyncio.timeout(self._renew_every_s if self._target is not None else None):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
