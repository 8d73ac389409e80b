"""Driving the real main window under the qasync loop in tests, without sleeps or blocking waits.

The window, the agent loop and the database thread all run on one qasync loop; a test is one coroutine run to
completion on it. ``until`` wakes on the window's own signals (and a short timer for database polling), never on a
fixed delay.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QApplication

from app.services.settings import Settings
from app.store.db import open_database
from app.ui.main_window import MainWindow, WindowContext

# Windows of the running test that were not closed (a test that failed half way): the loop fixture closes them, so
# their timers cannot fire into the next test's loop.
_unclosed: list[WindowDriver] = []


class WindowDriver:
    def __init__(self, qtbot, db_path: Path, *, settings: Settings | None = None, demo: bool = False) -> None:
        self.qtbot = qtbot
        self.database = open_database(str(db_path))
        self.context = WindowContext.create(
            self.database, settings=settings or Settings(reviewer="ada", undo_seconds=0.0)
        )
        self.window = MainWindow(self.context, demo=demo)
        self.window.resize(1200, 800)
        self.closed = False
        _unclosed.append(self)

    async def open(self) -> MainWindow:
        self.window.show()
        self.window.activateWindow()
        await self.window.start()
        return self.window

    async def until(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
        wake = asyncio.Event()
        window = self.window
        signals = (window.session_event, window.pending_changed)
        for signal in signals:
            signal.connect(wake.set)
        timer = QTimer()
        timer.setInterval(50)  # catches state that changes without a signal, e.g. a database poll in flight
        timer.timeout.connect(wake.set)
        timer.start()
        try:

            async def wait() -> Any:
                while True:
                    wake.clear()
                    value = predicate()
                    if value:
                        return value
                    await wake.wait()

            try:
                return await asyncio.wait_for(wait(), timeout)
            except TimeoutError:
                raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}") from None
        finally:
            timer.stop()
            for signal in signals:
                signal.disconnect(wake.set)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.window.close()
        await self.window.shutdown()
        self.window.deleteLater()


@pytest.fixture
def qasync_loop(qapp: QApplication):
    """A qasync loop for one test; everything scheduled on it is finished or cancelled before the next test."""
    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    while _unclosed:
        driver = _unclosed.pop()
        if not driver.closed:
            try:
                loop.run_until_complete(asyncio.wait_for(driver.close(), 30))
            except Exception as err:  # the test has failed already; its report says why
                print(f"closing a window the test left open failed: {err!r}")
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)
    # Delete what deleteLater() scheduled, then collect this test's Qt objects (qasync's timers among them) here, on
    # the GUI thread: a collection that happens to run later on a worker thread would destroy them there, which Qt
    # reports as "Timers cannot be stopped from another thread" and which can crash.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
