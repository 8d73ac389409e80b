"""The Sessions page after a decision: the pane moves on at once and counts the undo window down, u and Ctrl+Z take the
decision back there (the Queue page's mechanism); with no undo window nothing waits. The window is in Settings."""

from __future__ import annotations

import contextlib
import json
import sqlite3

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from app.services import events
from app.services.settings import Settings, settings_path
from app.standin.scenario import text_turn, tool_turn
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import GREET, edit, record_events, session_finished, start_task, window_events


def stored_status(db_path, proposal_id: int) -> tuple[str, object]:
    database = open_database(str(db_path))
    try:
        repository = Repository(database)
        return repository.proposals.get(proposal_id).status, repository.proposals.latest_decision(proposal_id)
    finally:
        database.close()


def test_after_approving_the_pane_moves_on_at_once_counts_down_and_u_then_ctrl_z_take_it_back(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([tool_turn(edit("'hi '", "'Hello, '")), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=60.0))
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the proposal")
        pid = panel.proposal.id
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: panel.proposal is None, what="the pane moving on")
        assert panel.undo_strip.isVisible()
        countdown = panel.undo_strip.text()
        assert f"Approved #{pid}" in countdown and "applies in 60 s" in countdown and "u or Ctrl+Z to undo" in countdown
        assert panel.title.text().startswith("Nothing waiting")
        window.grab().save("/tmp/sessions_countdown.png")
        assert (stack.workspace / "greet.py").read_text() == GREET, "nothing applied inside the undo window"

        QTest.keyClick(panel, Qt.Key.Key_U)
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id == pid, what="the proposal back")
        assert "Undone" in panel.banner.text() and not panel.undo_strip.isVisible()
        assert stored_status(stack.db_path, pid) == ("pending", None)

        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: panel.proposal is None, what="the pane moving on again")
        QTest.keyClick(panel, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id == pid, what="back after Ctrl+Z")
        assert stored_status(stack.db_path, pid) == ("pending", None)
        assert window.manager.is_running(panel.proposal.session_id), "the runner still waits for a decision"
        window.stop_selected()
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == GREET


def test_with_no_undo_window_nothing_waits_and_no_countdown_shows(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([tool_turn(edit("'hi '", "'Hello, '")), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the proposal")
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: "Hello, " in (stack.workspace / "greet.py").read_text(), timeout=3, what="applied")
        assert not panel.undo_strip.isVisible()
        await driver.until(lambda: session_finished(window), what="the session to finish")
        QTest.keyClick(panel, Qt.Key.Key_U)
        await driver.until(lambda: panel.banner.isVisible(), what="an answer to u")
        assert panel.banner.text() == "There is no decision to undo."
        await driver.close()

    qasync_loop.run_until_complete(scenario())


def test_the_undo_window_is_set_in_settings_saved_with_them_and_used_at_once(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "s.db", settings=Settings(reviewer="ada", undo_seconds=5.0))

    async def scenario():
        window = await driver.open()
        window.open_settings()
        await driver.until(lambda: getattr(window, "settings_dialog", None) is not None, what="the dialog")
        dialog = window.settings_dialog
        await driver.until(dialog.isVisible, what="the dialog shown")
        field = dialog.undo_seconds
        assert field.value() == 5.0
        field.selectAll()
        QTest.keyClicks(field, "0")
        field.interpretText()
        assert field.value() == 0.0 and field.specialValueText() == "none: decisions take effect at once"
        field.selectAll()
        QTest.keyClicks(field, "12")
        dialog.grab().save("/tmp/settings_undo_window.png")
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
        await driver.until(lambda: window.manager.waiter.undo_window_s == 12.0, what="the new window in use")
        assert window.queue_view.model.undo_window_s == 12.0
        await driver.until(settings_path().is_file, what="settings saved")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert json.loads(settings_path().read_text())["undo_seconds"] == 12.0


def test_on_the_queue_page_ctrl_z_takes_a_decision_back_as_u_does(qtbot, qasync_loop, stack_factory):
    from tests.ui.test_queue_window import edit_block, key, routed_scenario, session_spec, waiting_rows

    scenario = routed_scenario({"Alpha": [tool_turn(edit_block("greet.py", "'hi '", "'Hello, '")), text_turn("Done.")]})
    stack = stack_factory(scenario, files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=60.0))

    async def scenario_run():
        window = await driver.open()
        view = window.queue_view
        session = await window.manager.start(session_spec(stack.workspace, "Alpha: greet politely"))
        window.show_queue()
        await driver.until(lambda: waiting_rows(view) and view.panel.proposal is not None, what="the edit on screen")
        pid = view.current_item().id
        key(view.table, Qt.Key.Key_A)
        await driver.until(lambda: view.model.local.get(pid) and view.model.local[pid].status == "decided")
        key(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        await driver.until(lambda: view.model.is_waiting(pid), what="the item waiting again")
        assert stored_status(stack.db_path, pid) == ("pending", None)
        window.manager.stop(session.id)
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())
    assert (stack.workspace / "greet.py").read_text() == GREET


def stored_session_status(db_path, session_id: int) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        return connection.execute("SELECT status FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]


def test_after_a_restart_a_decision_taken_back_leaves_its_session_waiting_not_running(
    qtbot, qasync_loop, stack_factory
):
    # Found under Xvfb: the window restarted, the waiting proposal approved (resuming its session), then u: the
    # proposal waited again but the sidebar, the agents table and `signoff sessions` said "running" / "thinking".
    stack = stack_factory([tool_turn(edit("'hi '", "'Hello, '")), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    first = WindowDriver(qtbot, stack.db_path)

    async def before_restart():
        await start_task(first, stack.workspace)
        await first.until(lambda: first.window.review_panel.proposal is not None, what="the proposal")
        await first.close()

    qasync_loop.run_until_complete(before_restart())
    second = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=60.0))
    record_events(second.window)

    async def after_restart():
        window = await second.open()
        panel = window.review_panel
        await second.until(lambda: panel.proposal is not None, what="the waiting proposal")
        pid, sid = panel.proposal.id, panel.proposal.session_id
        window.select_session(sid)
        QTest.keyClick(panel, Qt.Key.Key_A)
        await second.until(lambda: panel.proposal is None, what="the pane moving on")
        await second.until(lambda: window.manager.is_running(sid), what="the session resumed by the decision")

        def said() -> list[str]:
            return [
                e.status for e in window_events(window) if isinstance(e, events.StatusChanged) and e.session_id == sid
            ]

        # The resumed runner says "running", then "waiting" while the decision can still be taken back.
        await second.until(lambda: said()[-1:] == ["waiting"], what="the runner saying it waits")
        stored = lambda: stored_session_status(stack.db_path, sid)  # noqa: E731
        assert stored() == "waiting"
        QTest.keyClick(panel, Qt.Key.Key_U)
        await second.until(lambda: panel.proposal is not None and panel.proposal.id == pid, what="the proposal back")
        await second.until(lambda: stored() == "waiting", what="stored as waiting again")
        assert said()[-1] == "waiting"
        await second.until(lambda: window.sessions[sid].status == "waiting", what="the window saying so")
        assert window.session_list.currentItem().text().endswith("· waiting")
        window.stop_selected()
        await second.close()

    qasync_loop.run_until_complete(after_restart())
    assert (stack.workspace / "greet.py").read_text() == GREET
