"""Benchmark of the terminal review UI (Textual, headless at 80x24) on a SQLite database with 100k waiting proposals:
keystroke `a` -> decision durable -> next proposal drawn (p50, p99), against the same decision made by a direct call
of the review service in the same run (what the key costs beyond the store write)."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.benchmarks.figures import Figure
from tests.benchmarks.queue_data import build_queue_database

P50_TARGET_MS = 30.0
P99_TARGET_MS = 80.0


def benchmarks(quick: bool) -> Iterator[Figure]:
    decided, waiting = (10_000, 10_000) if quick else (100_000, 100_000)
    keystrokes = 100 if quick else 300
    with tempfile.TemporaryDirectory(prefix="signoff-bench-tui-") as folder:
        # The settings and data folders of the app under test, never the developer's.
        os.environ.setdefault("SIGNOFF_CONFIG_DIR", str(Path(folder) / "config"))
        os.environ.setdefault("SIGNOFF_DATA_DIR", str(Path(folder) / "data"))
        db_path = Path(folder) / "queue.db"
        build_queue_database(db_path, decided=decided, waiting=waiting)
        size = f"{waiting // 1000}k waiting"
        baseline_p50, baseline_p99 = _direct_decisions(db_path, keystrokes)
        p50, p99, durable_p50 = asyncio.run(_keystrokes(db_path, keystrokes))
    yield Figure.at_most(f"tui: key a -> durable -> next drawn, p50 ({size})", p50, "ms", P50_TARGET_MS, baseline_p50)
    yield Figure.at_most(f"tui: key a -> durable -> next drawn, p99 ({size})", p99, "ms", P99_TARGET_MS, baseline_p99)
    yield Figure.at_most(f"tui: key a -> decision durable, p50 ({size})", durable_p50, "ms", None, baseline_p50)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _direct_decisions(db_path: Path, count: int) -> tuple[float, float]:
    """The baseline: approve the newest waiting proposals by calling the review service, no UI at all."""
    from app.services import review
    from app.store.db import open_database
    from app.store.repository import Repository

    database = open_database(str(db_path))
    repository = Repository(database)
    try:
        newest = sorted(item.id for item in repository.queue.page(sort="age", descending=True, limit=count))
        samples = []
        for proposal_id in newest:
            started = time.perf_counter()
            review.decide(repository, review.approve(proposal_id, "bench-baseline", channel="cli"))
            samples.append((time.perf_counter() - started) * 1000)
        return _percentiles(samples)
    finally:
        database.close()


async def _keystrokes(db_path: Path, count: int) -> tuple[float, float, float]:
    from textual import events

    from app.services.settings import Settings
    from app.store.db import open_database
    from app.store.repository import Repository
    from app.tui.app import SignoffTui

    database = open_database(str(db_path))
    repository = Repository(database)
    app = SignoffTui(repository, Settings(reviewer="bench", undo_seconds=5.0), host_sessions=False, poll_s=0.5)
    drawn: dict[int, float] = {}
    stored: dict[int, float] = {}
    # When the key reached the app (as a terminal's keystroke would), not when the pilot started its own bookkeeping.
    arrived: list[float] = []

    def key_arrived(message) -> None:
        if isinstance(message, events.Key) and message.key == "a" and not arrived:
            arrived.append(time.perf_counter())

    try:
        async with app.run_test(size=(80, 24), message_hook=key_arrived) as pilot:
            await pilot.press("enter")
            await pilot.pause()
            screen = app.proposal_screen
            diff = screen.diff
            original = diff.render_line

            def render_line(y: int):
                proposal = screen.proposal
                if proposal is not None and proposal.id not in drawn:
                    drawn[proposal.id] = time.perf_counter()
                return original(y)

            diff.render_line = render_line
            app.decider.after = lambda proposal_id: stored.__setitem__(proposal_id, time.perf_counter())
            samples, durable = [], []
            for _ in range(count):
                # A reviewer reads before the next key: the previous frame is finished when it comes.
                await pilot.pause()
                current = screen.proposal.id
                following = app.model.items[1].id
                arrived.clear()
                await pilot.press("a")
                pressed = arrived[0]
                deadline = time.monotonic() + 10
                while following not in drawn:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"proposal {following} was never drawn after deciding {current}")
                    await pilot.pause()
                assert screen.proposal.id == following
                samples.append((max(drawn[following], stored[current]) - pressed) * 1000)
                durable.append((stored[current] - pressed) * 1000)
        p50, p99 = _percentiles(samples)
        return p50, p99, statistics.median(durable)
    finally:
        database.close()
