"""Benchmarks of the review queue page on a large SQLite database built in a temporary folder:
keystroke -> decision durable -> next item painted (p50, p99), and opening and scrolling 1M decided + 100k waiting
rows (time to first paint, largest gap of a 5 ms UI heartbeat), each against a naive load-everything list."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.benchmarks.figures import Figure  # noqa: E402
from tests.benchmarks.queue_data import build_queue_database  # noqa: E402
from tests.support.store_queries import list_proposals  # noqa: E402

KEYSTROKE_P50_TARGET_MS = 16.0
KEYSTROKE_P99_TARGET_MS = 50.0
FIRST_PAINT_TARGET_MS = 500.0
HEARTBEAT_GAP_TARGET_MS = 50.0
HEARTBEAT_MS = 5


def benchmarks(quick: bool) -> Iterator[Figure]:
    import qasync
    from PySide6.QtWidgets import QApplication

    decided, waiting = (100_000, 10_000) if quick else (1_000_000, 100_000)
    keystrokes = 100 if quick else 300
    app = QApplication.instance() or QApplication([])
    # Each measured view is a top-level window; closing one must not end the event loop.
    app.setQuitOnLastWindowClosed(False)
    with tempfile.TemporaryDirectory(prefix="signoff-bench-queue-") as folder:
        db_path = Path(folder) / "queue.db"
        started = time.perf_counter()
        build_queue_database(db_path, decided=decided, waiting=waiting)
        build_s = time.perf_counter() - started
        size = f"{decided // 1000}k decided + {waiting // 1000}k waiting"
        yield Figure.at_most(f"queue: build the {size} database", build_s, "s", None)

        loop = qasync.QEventLoop(app, already_running=False)
        asyncio.set_event_loop(loop)
        try:
            figures = loop.run_until_complete(_run_all(db_path, size, keystrokes))
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            asyncio.set_event_loop(None)
        yield from figures


async def _run_all(db_path: Path, size: str, keystrokes: int) -> list[Figure]:
    from app.ui.garbage import freeze_startup_heap

    figures: list[Figure] = []
    await _warm_up(db_path)
    # As the app does once its first screen is up (app/ui/application.py): the long-lived startup heap leaves the
    # cyclic collector's full passes, which otherwise stall whichever moment they land in by ~100 ms.
    freeze_startup_heap()
    paint_ms, gap_ms = await _queue_open_and_scroll(db_path)
    naive_paint_ms, naive_gap_ms = await _naive_open_and_scroll(db_path)
    figures.append(
        Figure.at_most(
            f"queue: open with {size}, time to first paint", paint_ms, "ms", FIRST_PAINT_TARGET_MS, naive_paint_ms
        )
    )
    figures.append(
        Figure.at_most(
            f"queue: scroll {size}, largest 5 ms heartbeat gap", gap_ms, "ms", HEARTBEAT_GAP_TARGET_MS, naive_gap_ms
        )
    )
    p50, p99, durable_p50 = await _keystroke_to_next_item(db_path, keystrokes)
    figures.append(
        Figure.at_most(
            f"queue: keystroke -> durable -> next item painted, p50 ({size})", p50, "ms", KEYSTROKE_P50_TARGET_MS
        )
    )
    figures.append(
        Figure.at_most(
            f"queue: keystroke -> durable -> next item painted, p99 ({size})", p99, "ms", KEYSTROKE_P99_TARGET_MS
        )
    )
    figures.append(Figure.at_most("queue: keystroke -> decision durable (committed), p50", durable_p50, "ms", None))
    return figures


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
        self.last = 0.0
        self.largest = 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.largest * 1000


class _PaintWatch:
    """Records when a widget was last painted."""

    def __init__(self, widget, condition=lambda: True) -> None:
        from PySide6.QtCore import QEvent, QObject

        watch = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == QEvent.Type.Paint:
                    watch.painted_at = time.perf_counter()
                    if not watch.first_at and condition():
                        watch.first_at = watch.painted_at
                    if watch.waiter is not None and not watch.waiter.done():
                        watch.waiter.set_result(watch.painted_at)
                return False

        self.painted_at = 0.0
        self.first_at = 0.0
        self.waiter: asyncio.Future | None = None
        self._filter = Filter()
        widget.installEventFilter(self._filter)

    async def next_paint(self, timeout: float = 10.0) -> float:
        self.waiter = asyncio.get_running_loop().create_future()
        return await asyncio.wait_for(self.waiter, timeout)


async def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"benchmark waited {timeout} s for {predicate}")
        await asyncio.sleep(0.001)


async def _scroll(table, heartbeat: _Heartbeat, steps: int = 150) -> float:
    """Page down ``steps`` times as fast as the view keeps up (each page one event-loop turn), then back to the top."""
    bar = table.verticalScrollBar()
    heartbeat.start()
    for _step in range(steps):
        bar.setValue(bar.value() + bar.pageStep() * 3)
        await asyncio.sleep(0.005)
    for _ in range(20):
        bar.setValue(bar.value() - bar.pageStep() * 10)
        await asyncio.sleep(0.005)
    return heartbeat.stop()


def _context(db_path: Path, undo_seconds: float = 0.0):
    from app.services.api_key import ApiKeyStore
    from app.services.decision_wait import DecisionWaiter
    from app.services.endpoints import Endpoints
    from app.services.sessions import SessionManager
    from app.store.async_repository import AsyncRepository
    from app.store.db import open_database
    from app.store.repository import Repository

    database = open_database(str(db_path))
    repository = AsyncRepository(Repository(database))
    endpoints = Endpoints(ApiKeyStore().current)
    manager = SessionManager(repository, endpoints, waiter=DecisionWaiter(repository, undo_window_s=undo_seconds))
    return database, repository, endpoints, manager


async def _warm_up(db_path: Path) -> None:
    """Qt's first widgets load fonts and styles once per process; neither contender should be charged for that."""
    from app.ui.queue_view import QueueView

    database, repository, endpoints, manager = _context(db_path)
    try:
        view = QueueView(repository, manager, lambda: "bench")
        view.show()
        await asyncio.sleep(0.05)
        view.close()
        view.deleteLater()
        await asyncio.sleep(0.05)
    finally:
        await _shutdown(manager)
        endpoints.close()
        repository.close()
        database.close()


async def _queue_open_and_scroll(db_path: Path) -> tuple[float, float]:
    from app.ui.queue_view import QueueView

    database, repository, endpoints, manager = _context(db_path)
    heartbeat = _Heartbeat()
    try:
        started = time.perf_counter()
        view = QueueView(repository, manager, lambda: "bench")
        view.resize(1400, 900)
        watch = _PaintWatch(view.table.viewport(), lambda: view.model.rowCount() > 0)
        view.show()
        start_task = asyncio.ensure_future(view.start())
        await _until(lambda: watch.first_at)
        first_paint_ms = (watch.first_at - started) * 1000
        await start_task
        gap_ms = await _scroll(view.table, heartbeat)
        loaded = view.model.rowCount()
        assert loaded < 100_000, f"the queue loaded {loaded} rows; it must load lazily"
        view.stop()
        view.close()
        view.deleteLater()
        return first_paint_ms, gap_ms
    finally:
        await _shutdown(manager)
        endpoints.close()
        repository.close()
        database.close()


async def _naive_open_and_scroll(db_path: Path) -> tuple[float, float]:
    """The baseline: every waiting row read at once into a QStandardItemModel, as a straightforward list would."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView

    from app.store.db import open_database
    from app.store.repository import Repository

    database = open_database(str(db_path))
    heartbeat = _Heartbeat()
    try:
        started = time.perf_counter()
        table = QTableView()
        table.resize(1400, 900)
        watch = _PaintWatch(table.viewport(), lambda: table.model() is not None and table.model().rowCount() > 0)
        table.show()
        repository = Repository(database)
        rows = list_proposals(repository, statuses=["pending"], limit=10_000_000)
        model = QStandardItemModel(len(rows), 7)
        for number, proposal in enumerate(rows):
            for column, value in enumerate(
                (
                    "waiting",
                    str(proposal.created_at),
                    proposal.workspace_root,
                    proposal.task,
                    proposal.kind,
                    proposal.target,
                    f"+{proposal.lines_added} −{proposal.lines_removed}",
                )
            ):
                model.setItem(number, column, QStandardItem(value))
        table.setModel(model)
        await _until(lambda: watch.first_at)
        first_paint_ms = (watch.first_at - started) * 1000
        gap_ms = await _scroll(table, heartbeat)
        table.close()
        table.setModel(None)
        table.deleteLater()
        del model, rows
        gc.collect()
        return first_paint_ms, gap_ms
    finally:
        database.close()


async def _keystroke_to_next_item(db_path: Path, keystrokes: int) -> tuple[float, float, float]:
    """Press a on the current item; time until its decision is committed and the next item is painted as current."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.ui.queue_view import QueueView

    database, repository, endpoints, manager = _context(db_path)
    try:
        view = QueueView(repository, manager, lambda: "bench")
        view.resize(1400, 900)
        view.show()
        await view.start()
        table_watch = _PaintWatch(view.table.viewport())
        expected = [0]
        panel_watch = _PaintWatch(
            view.panel.diff_view.viewport(),
            lambda: view.panel.proposal is not None and view.panel.proposal.id == expected[0],
        )
        await _until(lambda: view.panel.proposal is not None)
        samples: list[float] = []
        durable_samples: list[float] = []
        stored: dict[int, float] = {}
        view.decided.connect(lambda pid: stored.__setitem__(pid, time.perf_counter()))
        for _ in range(keystrokes):
            current = view.current_item()
            await _until(
                lambda current=current: view.panel.proposal is not None and view.panel.proposal.id == current.id
            )
            paint = asyncio.ensure_future(table_watch.next_paint())
            following_row = view.model.row_of(current.id) + 1
            expected[0] = view.model.rows[following_row].id if following_row < len(view.model.rows) else -1
            panel_watch.first_at = 0.0
            await asyncio.sleep(0)
            pressed = time.perf_counter()
            QTest.keyClick(view.table, Qt.Key.Key_A)
            following = view.current_item()
            assert following is not None and following.id != current.id, "the next item is current at once"
            row_painted = await paint
            await _until(lambda current=current: current.id in stored, timeout=10)
            # The next item is on screen when its diff (or command) has been painted in the review pane too.
            assert following.id == expected[0]
            await _until(lambda: panel_watch.first_at, timeout=10)
            panel_painted = panel_watch.first_at
            samples.append((max(row_painted, panel_painted, stored[current.id]) - pressed) * 1000)
            durable_samples.append((stored[current.id] - pressed) * 1000)
        view.stop()
        view.close()
        view.deleteLater()
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        return statistics.median(samples), p99, statistics.median(durable_samples)
    finally:
        await _shutdown(manager)
        endpoints.close()
        repository.close()
        database.close()


async def _shutdown(manager) -> None:
    # The benchmark starts no session; gather() of nothing would look for a loop outside qasync's running one.
    if any(manager.is_running(session_id) for session_id in list(manager._tasks)):
        await manager.shutdown()
