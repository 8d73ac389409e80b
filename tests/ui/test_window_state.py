"""The window remembers its size and last page across runs, and a second start raises the running window."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from app.ui.window_state import instance_name, listen_for_second_starts, raise_running_instance, restore_geometry
from tests.support.window_harness import WindowDriver


def test_the_window_opens_again_at_the_size_and_page_it_was_closed_with(qtbot, qasync_loop, tmp_path):
    async def scenario() -> None:
        first = WindowDriver(qtbot, tmp_path / "signoff.db")
        await first.open()
        first.window.resize(900, 640)
        first.window.show_queue()
        closed_size = (first.window.width(), first.window.height())
        await first.close()
        first.database.close()

        second = WindowDriver(qtbot, tmp_path / "signoff.db")
        await second.open()
        assert second.window.pages.currentWidget() is second.window.queue_view
        # WindowDriver sizes every window it makes; a plain MainWindow starts with the saved size.
        assert abs(second.window.width() - closed_size[0]) > 100
        restore_geometry(second.window)
        # Restoring fits the width to the screen (the offscreen platform's is 800 px), as it does for any window, but
        # never below the window's minimum: exactly what a bare window restored from the same file gets, or the minimum.
        bare = QMainWindow()
        restore_geometry(bare)
        expected_width = max(min(bare.width(), closed_size[0]), second.window.minimumWidth())
        assert abs(second.window.width() - expected_width) <= 2
        assert second.window.height() == closed_size[1]
        await second.close()
        second.database.close()

    qasync_loop.run_until_complete(scenario())


def test_a_second_start_asks_the_running_one_to_raise_its_window(qtbot):
    raised = []
    server = listen_for_second_starts(lambda: raised.append(True))
    assert server is not None and server.serverName() == instance_name()
    try:
        assert raise_running_instance()
        qtbot.waitUntil(lambda: raised == [True], timeout=5000)
    finally:
        server.close()
    assert not raise_running_instance()
