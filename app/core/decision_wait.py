"""Waiting for a person's decision on a proposal, wherever it is made.

Decisions made in this process wake the waiter at once (``notify``); decisions made by another process (a reviewer's
window elsewhere, ``signoff approve``) are found by polling the shared database. No Qt here.
"""

from __future__ import annotations

import asyncio

from app.store.async_repository import AsyncRepository
from app.store.records import DecisionRecord

POLL_INTERVAL_S = 0.5


class ProposalWithdrawn(Exception):
    pass


class DecisionWaiter:
    def __init__(self, repository: AsyncRepository, *, poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self._repository = repository
        self._poll_interval_s = poll_interval_s
        self._wakeups: dict[int, asyncio.Event] = {}

    def notify(self, proposal_id: int) -> None:
        """A decision on ``proposal_id`` was just stored in this process."""
        event = self._wakeups.get(proposal_id)
        if event is not None:
            event.set()

    async def wait(self, proposal_id: int) -> DecisionRecord:
        event = self._wakeups.setdefault(proposal_id, asyncio.Event())
        try:
            while True:
                # Cleared before the check, so a notify() racing with it is never lost.
                event.clear()
                proposal = await self._repository.get_proposal(proposal_id)
                if proposal.status != "pending":
                    decision = await self._repository.latest_decision(proposal_id)
                    if decision is not None:
                        return decision
                    raise ProposalWithdrawn(f"Proposal {proposal_id} was withdrawn ({proposal.status}).")
                try:
                    await asyncio.wait_for(event.wait(), self._poll_interval_s)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._wakeups.pop(proposal_id, None)
