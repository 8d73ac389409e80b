"""Starting the window: QApplication, the qasync event loop, the database, and an excepthook that shows and logs.

Errors before the loop runs (a database that cannot be opened) are shown in a dialog and end the app cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import traceback

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app.paths import data_dir, resources_dir
from app.ui.garbage import MainThreadGarbageCollector, freeze_startup_heap

log = logging.getLogger(__name__)


def _configure_logging() -> None:
    log_path = data_dir() / "signoff.log"
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(log_path, encoding="utf-8")],
    )


def install_excepthook(app: QApplication) -> None:
    """Unhandled errors (also from @asyncSlot coroutines) are logged and shown, never silently lost."""

    def hook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("unhandled error\n%s", text)
        sys.__stderr__.write(text)
        window = app.activeWindow()
        box = QMessageBox(
            QMessageBox.Icon.Critical, "Signoff: unexpected error", f"{kind.__name__}: {value}", parent=window
        )
        box.setDetailedText(text)
        box.setModal(False)
        box.open()

    sys.excepthook = hook


class FirstPaintReporter(QObject):
    """Writes the wall-clock time (time.time()) at which the window finished its first paint to ``path``: the cold
    start benchmark (tests/benchmarks/bench_cold_start.py) sets SIGNOFF_FIRST_PAINT_FILE and compares it with the
    moment it spawned the process."""

    def __init__(self, window, path: str) -> None:
        super().__init__(window)
        self.path = path
        self.window = window
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.window.removeEventFilter(self)
            # After this paint event has been handled: the frame is drawn.
            QTimer.singleShot(0, self._write)
        return False

    def _write(self) -> None:
        try:
            with open(self.path, "w", encoding="utf-8") as out:
                out.write(repr(time.time()))
        except OSError as err:
            log.error("could not write the first-paint time to %s: %s", self.path, err)


def _raise(window) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()


def run_window(*, db_url: str | None = None, demo: bool = False, screenshot: str | None = None) -> int:
    """Open the window until it is closed. With ``screenshot``, save a PNG of the window once it has started and
    close it (the bundle's smoke test and documentation use it; it works with the offscreen platform)."""
    import qasync

    from app.services.runtime import open_store
    from app.services.settings import load_settings
    from app.store.errors import StoreError

    _configure_logging()
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Signoff")
    app.setOrganizationName("Signoff")
    app.setDesktopFileName("signoff")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "signoff.svg")))
    install_excepthook(app)
    from app.ui.window_state import listen_for_second_starts, raise_running_instance

    if not screenshot and raise_running_instance():
        print("Signoff is already running: its window was raised.")
        return 0
    collector = MainThreadGarbageCollector(app)

    settings = load_settings()
    from app.ui.theme import apply_theme

    apply_theme(app, settings.theme)
    try:
        database = open_store(db_url, settings)
    except StoreError as err:
        QMessageBox.critical(None, "Signoff cannot open its database", str(err))
        return 1

    from app.ui.main_window import MainWindow, WindowContext

    # The window's close ends the session loop; Qt must not quit underneath the running coroutines first.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def main() -> None:
        closed = asyncio.Event()
        context = WindowContext.create(database, settings=settings)
        window = MainWindow(context, demo=demo)
        window.closed.connect(closed.set)
        if os.environ.get("SIGNOFF_FIRST_PAINT_FILE"):
            FirstPaintReporter(window, os.environ["SIGNOFF_FIRST_PAINT_FILE"])
        server = None if screenshot else listen_for_second_starts(lambda: _raise(window))
        window.show()
        await window.start()
        freeze_startup_heap()
        if screenshot:
            # One turn of the loop so the started window has laid out and painted before it is grabbed.
            await asyncio.sleep(0)
            if not window.grab().save(screenshot, "PNG"):
                log.error("could not save the screenshot to %s", screenshot)
            window.close()
        await closed.wait()
        if server is not None:
            server.close()
        await window.shutdown()

    with loop:
        loop.run_until_complete(main())
    collector.stop()
    return 0
