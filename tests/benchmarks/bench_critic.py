"""The critic's prompt cache: a session of 50 proposals (quick: 10) judged through the real SDK against the stand-in
costs one cached rubric write and a cache read for every later call (from the usage the API reports); how long a
critic call takes there; and the window's event loop staying responsive (a 5 ms QTimer heartbeat) while 20 critic
calls are in flight and drawn, against the same loop idle. Creates its own offscreen QApplication."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import anthropic  # noqa: E402

from app.services.api_key import ApiKey
from app.services.critic import Critic
from app.services.endpoints import Endpoints
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
    # Informational: the stand-in caches any marked prefix; the real API only from 1,024 (Sonnet) to 4,096 (Haiku 4.5,
    # Opus 4.5) tokens, so a default rubric this short is cached there only with a longer workspace rubric.
    prefix = max((usage.get("cache_creation_input_tokens", 0) for usage in critic.usages), default=0)
    yield Figure.at_most("critic: cached prefix (default rubric + tool), stand-in tokens", prefix, "tokens", None)
    yield from window_heartbeat()


# -- the window while the critic works -----------------------------------------------------------------------------

HEARTBEAT_MS = 5
HEARTBEAT_GAP_TARGET_MS = 33.0
CONCURRENT_CALLS = 20


class _Heartbeat:
    """A 5 ms QTimer whose largest gap between ticks says how long the UI thread was busy."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.largest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last:
            self.largest = max(self.largest, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = self.largest = 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.largest * 1000


_STANDIN_PROCESS = """
import sys
from app.standin.server import StandinServer
from tests.support.scripted_scenario import ScriptedScenario

with StandinServer(ScriptedScenario([])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""


@contextlib.contextmanager
def _standin_process() -> Iterator[str]:
    """The stand-in in a process of its own, as the real API is: its 20 request handlers must not compete with the
    window's thread for this process's interpreter lock (an in-process server would, and measure itself)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _STANDIN_PROCESS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError("the stand-in process did not start")
        yield base_url
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def window_heartbeat() -> Iterator[Figure]:
    """20 critic calls in flight on the window's event loop (qasync), each answer read back and drawn on a judges
    badge as the window does, against the same loop idle for as long: the largest gap of a 5 ms heartbeat."""
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    with (
        tempfile.TemporaryDirectory(prefix="signoff-bench-critic-ui-") as folder,
        _standin_process() as base_url,
    ):
        root = tiny_pytest_workspace(Path(folder, "ws"))
        database = open_database(str(Path(folder, "critic-ui.db")))
        repository = AsyncRepository(Repository(database))
        loop = qasync.QEventLoop(app, already_running=False)
        asyncio.set_event_loop(loop)
        try:
            proposals = [
                file_proposal(repository.sync, root, "calc.py", FIXED_HALF + f"# {n}\n", tool_use_id=f"u{n}")
                for n in range(CONCURRENT_CALLS)
            ]
            busy_ms, idle_ms, seconds = loop.run_until_complete(_heartbeat_gaps(repository, base_url, proposals))
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            asyncio.set_event_loop(None)
            repository.close()
            database.close()
    yield Figure.at_most(
        f"critic: largest 5 ms heartbeat gap while {CONCURRENT_CALLS} calls are in flight (baseline: idle loop)",
        busy_ms,
        "ms",
        HEARTBEAT_GAP_TARGET_MS,
        idle_ms,
    )
    yield Figure.at_most(f"critic: {CONCURRENT_CALLS} concurrent calls answered and drawn", seconds, "s", None)


async def _heartbeat_gaps(repository, base_url: str, proposals) -> tuple[float, float, float]:
    # Imported before the heartbeat starts, as a running window has them.
    from app.services.judges import judged
    from app.ui.judges_badge import JudgesBadge

    badge = JudgesBadge()
    badge.show()
    drawn: set[int] = set()
    loads: set[asyncio.Task] = set()

    async def draw(proposal) -> None:
        # What the window's JudgesController does on each change: read the judges beside the writer, then draw.
        results = await repository.read_beside(judged, [proposal])
        badge.show_judgment(proposal.id, results[proposal.id])
        if results[proposal.id].critic is not None and results[proposal.id].critic.status == "done":
            drawn.add(proposal.id)

    by_id = {proposal.id: proposal for proposal in proposals}

    def changed(proposal_id: int) -> None:
        task = asyncio.get_running_loop().create_task(draw(by_id[proposal_id]))
        loads.add(task)
        task.add_done_callback(loads.discard)

    # The app's own Endpoints (its clients, its TLS set-up), pointed at the stand-in as ANTHROPIC_BASE_URL does.
    previous = os.environ.get("ANTHROPIC_BASE_URL")
    os.environ["ANTHROPIC_BASE_URL"] = base_url
    endpoints = Endpoints(lambda: ApiKey("sk-ant-bench", "this run"))
    try:
        return await _measure(
            repository, Critic(repository, endpoints, on_change=changed), proposals, loads, drawn, badge
        )
    finally:
        endpoints.close()
        if previous is None:
            os.environ.pop("ANTHROPIC_BASE_URL", None)
        else:
            os.environ["ANTHROPIC_BASE_URL"] = previous


async def _measure(repository, critic, proposals, loads, drawn, badge) -> tuple[float, float, float]:
    # Warm the path once (imports, the SDK's first client), as a running window has.
    await critic.critique(proposals[0])
    heartbeat = _Heartbeat()
    heartbeat.start()
    started = time.perf_counter()
    tasks = [critic.start(proposal) for proposal in proposals[1:]] + [critic.start(proposals[0])]
    await asyncio.gather(*tasks)
    while loads:
        await asyncio.gather(*list(loads))
    seconds = time.perf_counter() - started
    busy = heartbeat.stop()
    heartbeat.start()
    await asyncio.sleep(seconds)
    idle = heartbeat.stop()
    badge.close()
    results = await repository.read(lambda store: store.judgments.critic_results([p.id for p in proposals]))
    failed = [(r.status, r.error) for r in results.values() if r.status != "done"]
    assert not failed and drawn, f"every call answered and the badge drew them: {failed}"
    return busy, idle, seconds
