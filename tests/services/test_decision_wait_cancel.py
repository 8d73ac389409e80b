"""Shutting a runner down while its proposal waits always ends the wait, even when the cancellation arrives in the
same turn of the event loop as a wake-up (on Python 3.11, asyncio.wait_for lost such a cancellation, and the runner
then polled on for ever, so closing the window hung)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.services.decision_wait import DecisionWaiter
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.agent_harness import run
from tests.support.judges import file_proposal


def test_a_cancellation_that_arrives_with_a_wake_up_still_ends_the_wait(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    database = open_database(str(tmp_path / "wait.db"))
    repository = AsyncRepository(Repository(database))
    proposal = file_proposal(repository.sync, root, "a.py", "a = 1\n", tool_use_id="t")
    try:

        async def scenario() -> tuple[bool, bool]:
            # Polls only every 30 s: only the cancellation can end this wait within the test.
            waiter = DecisionWaiter(repository, poll_interval_s=30.0)
            task = asyncio.get_running_loop().create_task(waiter.wait(proposal.id))
            while proposal.id not in waiter._wakeups or not waiter._wakeups[proposal.id]._waiters:  # type: ignore[attr-defined]
                await asyncio.sleep(0)  # until the waiter sleeps on its wake-up event
            waiter.notify(proposal.id)
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)
            return task.done(), task.done() and task.cancelled()

        assert run(scenario()) == (True, True), "the cancelled wait ended (as cancelled) instead of polling on"
    finally:
        repository.close()
        database.close()
