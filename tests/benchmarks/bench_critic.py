"""The critic's prompt cache: a session of 50 proposals (quick: 10) judged through the real SDK against the stand-in
costs one cached rubric write and a cache read for every later call (from the usage the API reports); and how long a
critic call takes there."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic

from app.services.critic import Critic
from app.standin.server import StandinServer
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.benchmarks.figures import Figure
from tests.support.judges import FIXED_HALF, file_proposal, tiny_pytest_workspace
from tests.support.scripted_scenario import ScriptedScenario


class _Endpoints:
    def __init__(self, server: StandinServer) -> None:
        self.server = server

    def client(self, endpoint: str) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.server.base_url, api_key="sk-ant-bench", max_retries=0)


def benchmarks(quick: bool) -> Iterator[Figure]:
    count = 10 if quick else 50
    with (
        tempfile.TemporaryDirectory(prefix="signoff-bench-critic-") as folder,
        StandinServer(ScriptedScenario([])) as server,
    ):
        root = tiny_pytest_workspace(Path(folder, "ws"))
        database = open_database(str(Path(folder, "critic.db")))
        repository = AsyncRepository(Repository(database))
        try:
            proposals = [
                file_proposal(repository.sync, root, "calc.py", FIXED_HALF + f"# {n}\n", tool_use_id=f"c{n}")
                for n in range(count)
            ]
            critic = Critic(repository, _Endpoints(server))
            seconds = []

            async def judge_all() -> None:
                for proposal in proposals:
                    started = time.perf_counter()
                    await critic.critique(proposal)
                    seconds.append(time.perf_counter() - started)

            asyncio.run(judge_all())
        finally:
            repository.close()
            database.close()
    writes = sum(1 for usage in critic.usages if usage.get("cache_creation_input_tokens"))
    reads = sum(1 for usage in critic.usages if usage.get("cache_read_input_tokens"))
    yield Figure.at_most(f"critic: cached rubric writes for {count} proposals", writes, "writes", 1)
    yield Figure.at_least(f"critic: cache reads for {count} proposals", reads, "reads", count - 1)
    yield Figure.at_most("critic: median call against the stand-in", statistics.median(seconds), "s", None)
