"""Waiting for a person's decision on a proposal, wherever it is made, and for its undo window to pass.

Decisions (and undos) made in this process wake the waiter at once (``notify``); those made by another process (a
reviewer's window elsewhere, ``signoff approve``/``undo``) are found by polling the proposal's status (a primary-key
read beside the database thread) every ``poll_interval_s``. A decision is handed to the runner only once it is final:
``undo_window_s`` after it was made, claimed atomically against an undo.
No Qt here.
"""

from __future__ import annotations

import asyncio

from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import DecisionRecord
from app.store.async_repository import AsyncRepository
from app.store.models import utcnow

POLL_INTERVAL_S = 0.5
# After a lost race with an undo, look again soon rather than spinning.
_RECHECK_S = 0.05


class ProposalWithdrawn(Exception):
    pass


class DecisionWaiter:
    def __init__(
        self, repository: AsyncRepository, *, poll_interval_s: float = POLL_INTERVAL_S, undo_window_s: float = 0.0
    ) -> None:
        self._repository = repository
        self._poll_interval_s = poll_interval_s
        # Seconds a decision can still be taken back; the window sets it from Settings.
        self.undo_window_s = undo_window_s
        self._wakeups: dict[int, asyncio.Event] = {}

    def notify(self, proposal_id: int) -> None:
        """A decision on ``proposal_id`` was just stored (or taken back) in this process."""
        event = self._wakeups.get(proposal_id)
        if event is not None:
            event.set()

    async def wait(self, proposal_id: int) -> DecisionRecord:
        """The final decision on a pending or freshly decided proposal; it is 'applying' when this returns."""
        event = self._wakeups.setdefault(proposal_id, asyncio.Event())
        try:
            while True:
                # Cleared before the check, so a notify() racing with it is never lost.
                event.clear()
                timeout = self._poll_interval_s
                # Polled: only the status, by primary key, on a reader thread (never queued behind writes).
                status = await self._repository.read_beside(lambda store: store.proposals.status(proposal_id))
                if status in STILL_UNDECIDED and not event.is_set():
                    await _woken_or_timed_out(event, timeout)
                    continue
                proposal = await self._repository.read(lambda store: store.proposals.get(proposal_id))
                if proposal.status == ProposalStatus.DECIDED:
                    decision = await self._repository.read(lambda store: store.proposals.latest_decision(proposal_id))
                    if decision is not None:
                        window = self.undo_window_s
                        remaining = (decision.decided_at - utcnow()).total_seconds() + window
                        if remaining <= 0:
                            if await self._repository.write(
                                lambda store, after: store.proposals.claim_for_apply(proposal_id, window_s=after),
                                window,
                            ):
                                return decision
                            timeout = _RECHECK_S
                        else:
                            timeout = min(timeout, remaining)
                elif proposal.status not in STILL_UNDECIDED:
                    # awaiting_second_review and disputed are not final either: keep waiting for the deciding review.
                    decision = await self._repository.read(lambda store: store.proposals.latest_decision(proposal_id))
                    if decision is not None:
                        return decision
                    raise ProposalWithdrawn(f"Proposal {proposal_id} was withdrawn ({proposal.status}).")
                await _woken_or_timed_out(event, timeout)
        finally:
            self._wakeups.pop(proposal_id, None)


async def _woken_or_timed_out(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds. asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a
    cancellation that arrives as the event fires, and a runner being shut down would then poll on for ever."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
