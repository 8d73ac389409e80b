"""Compare mode at the window, from the keyboard: C asks for alternatives, they appear side by side as diffs, ←/→ and
Enter pick one (applied as the agent's own call), R rejects them all with a reason."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.tools import EDITOR_TOOL_NAME
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.scripted_scenario import Alternatives
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import record_events, session_finished, start_task

GREET = "def greet(name):\n    return 'hi ' + name\n"


def edit(new: str, id: str):
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": new}, id
    )


def alternatives():
    return Alternatives(
        tool_turn(text_block("Politer."), edit("'Hello, '", "toolu_original")),
        tool_turn(text_block("Warmer."), edit("'Welcome, '", "toolu_alt1")),
        tool_turn(text_block("Formal."), edit("'Good day, '", "toolu_alt2")),
        text_turn("Which greeting do you want?"),
    )


def stored_decisions(db_path):
    database = open_database(str(db_path))
    try:
        repository = Repository(database)
        return [
            (p, d) for s in repository.sessions.recent() for p, d in repository.proposals.decisions_for_session(s.id)
        ]
    finally:
        database.close()


def test_c_samples_alternatives_side_by_side_and_enter_picks_the_chosen_one(
    qtbot, qasync_loop, stack_factory, tmp_path
):
    stack = stack_factory([alternatives(), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="a proposal on screen")
        assert panel.compare_button.isVisible() and "[C]" in panel.compare_button.text()
        QTest.keyClick(panel, Qt.Key.Key_C)
        assert panel.compare_bar.isVisible() and panel.compare_bar.count.value() == 3
        window.grab().save(str(tmp_path / "compare-bar.png"))
        assert panel.compare_bar.count.hasFocus()
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_Return)
        await driver.until(lambda: panel.comparing, what="the alternatives side by side")
        view = panel.compare_view
        assert len(view.panes) == 4 and view.hasFocus()
        assert [pane.alternative.label for pane in view.panes] == [
            "Original",
            "Alternative 1",
            "Alternative 2",
            "Alternative 3",
        ]
        # Four panes do not fit side by side at a readable width here: the original and the chosen one are on screen,
        # each with at least 80 columns of code, and the chooser names all four.
        assert view.chooser.isVisible() and view.chooser.count() == 4 and panel.diff_view.isHidden()
        shown = view.visible_panes()
        assert shown[0] is view.panes[0] and view.panes[view.selected] in shown
        assert all(pane.isVisible() and pane.columns() >= 80 for pane in shown)
        assert "Original" in view.panes[0].header.text() and "+1 −1" in view.panes[0].header.text()
        words = next(p for p in view.panes if not p.alternative.proposes_change)
        assert "no change proposed" in words.header.text()
        formal = next(p for p in view.panes if "Good day" in json.dumps(p.alternative.content))
        window.grab().save(str(tmp_path / "compare.png"))
        # A and E do nothing while comparing; the strength keys still rate the pick.
        QTest.keyClick(view, Qt.Key.Key_A)
        QTest.keyClick(view, Qt.Key.Key_4)
        assert panel.strength == 4 and panel.comparing
        # An answer without a change cannot be picked: a clear message, nothing lost.
        view.select(words.alternative.position)
        QTest.keyClick(view, Qt.Key.Key_Return)
        assert "proposes no change" in panel.banner.text() and panel.comparing
        # ← / → move the choice; Enter picks.
        view.select(0)
        for _ in range(formal.alternative.position):
            QTest.keyClick(view, Qt.Key.Key_Right)
        assert view.selected_alternative is formal.alternative
        assert formal.property("selected") is True
        QTest.keyClick(view, Qt.Key.Key_Return)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        transcript = window.transcripts[window.selected_session_id()].plain_text()
        await driver.close()
        return formal.alternative, transcript

    picked, transcript = qasync_loop.run_until_complete(scenario())
    assert (tmp_path / "compare.png").stat().st_size > 0
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Good day, ' + name\n"
    ((proposal, decision),) = stored_decisions(stack.db_path)
    assert proposal.tool_use_id == "toolu_alt2" and proposal.status == "applied"
    assert decision.verdict == "approve" and decision.strength == 4 and decision.reviewer == "ada"
    assert "replaced by the alternative the reviewer picked" in transcript
    # The transcript shows the step as it now stands: the picked answer, not the original.
    assert "Formal." in transcript and "Politer." not in transcript
    last = stack.server.message_bodies[-1]["messages"]
    assert [b["id"] for b in last[1]["content"] if b["type"] == "tool_use"] == ["toolu_alt2"]


def test_r_in_compare_rejects_every_alternative_with_the_typed_reason(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([alternatives(), text_turn("Understood.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="a proposal on screen")
        QTest.keyClick(panel, Qt.Key.Key_C)
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_L)
        await driver.until(lambda: panel.banner.isVisible(), what="the message that nothing was sampled yet")
        assert "No alternatives were sampled for proposal #1 yet" in panel.banner.text() and not panel.comparing
        QTest.keyClick(panel, Qt.Key.Key_C)
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_Down)  # 3 -> 2 alternatives
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_Return)
        await driver.until(lambda: panel.comparing, what="the alternatives side by side")
        assert len(panel.compare_view.panes) == 3
        # Esc leaves the compare and comes back to the proposal alone; C then L shows the same ones, not sampled again.
        QTest.keyClick(panel.compare_view, Qt.Key.Key_Escape)
        assert not panel.comparing and panel.diff_view.isVisible()
        QTest.keyClick(panel, Qt.Key.Key_C)
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_L)
        await driver.until(lambda: panel.comparing, what="the alternatives sampled last time")
        assert len(panel.compare_view.panes) == 3 and len(stack.server.message_bodies) == 3
        QTest.keyClick(panel.compare_view, Qt.Key.Key_R)
        assert panel.reason_box.hasFocus()
        QTest.keyClicks(panel.reason_box, "Keep the old greeting.")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Return)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == GREET
    ((proposal, decision),) = stored_decisions(stack.db_path)
    assert decision.verdict == "reject" and decision.reason == "Keep the old greeting."
    (result,) = [b for b in stack.server.message_bodies[-1]["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert result["is_error"] and "Keep the old greeting." in result["content"]


def test_the_offline_demo_can_be_compared_from_the_keyboard(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "demo.db")
    record_events(driver.window)

    async def scenario():
        window = await driver.open()
        assert window.demo_mode
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the demo's fix")
        QTest.keyClick(panel, Qt.Key.Key_C)
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_Return)
        await driver.until(lambda: panel.comparing, timeout=30, what="the demo's alternatives")
        panes = panel.compare_view.panes
        kinds = sorted(pane.alternative.kind for pane in panes)
        title = next(pane for pane in panes if "title()" in json.dumps(pane.alternative.content))
        panel.compare_view.select(title.alternative.position)
        QTest.keyClick(panel.compare_view, Qt.Key.Key_Return)
        await driver.until(
            lambda: panel.proposal is not None and panel.proposal.kind == "create",
            timeout=30,
            what="the demo's next step after the pick",
        )
        session = window.sessions[window.selected_session_id()]
        await driver.close()
        return kinds, session

    kinds, session = qasync_loop.run_until_complete(scenario())
    assert kinds == ["edit", "edit", "edit", "none"]
    from pathlib import Path

    assert "raw.strip().title()" in (Path(session.workspace_root) / "greet.py").read_text()


def test_the_queue_pane_compares_too_c_then_enter_picks_and_the_queue_moves_on(
    qtbot, qasync_loop, stack_factory, tmp_path
):
    from PySide6.QtWidgets import QLabel

    from app.services.settings import Settings
    from tests.ui.test_queue_window import waiting_rows

    stack = stack_factory([alternatives(), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        await driver.until(lambda: window.review_panel.proposal is not None, what="the edit waiting")
        window.show_queue()
        view = window.queue_view
        panel = view.panel
        await driver.until(lambda: waiting_rows(view) and panel.proposal is not None, what="the edit in the queue")
        assert view.table.isVisible()
        pid = view.current_item().id
        assert panel.compare_button.isVisibleTo(panel) and "c compare" in view.findChild(QLabel, "queueHint").text()
        QTest.keyClick(view.table, Qt.Key.Key_C)
        assert panel.compare_bar.isVisibleTo(panel) and panel.compare_bar.count.value() == 3
        QTest.keyClick(panel.compare_bar.count, Qt.Key.Key_Return)
        await driver.until(lambda: panel.comparing, what="the alternatives side by side in the queue pane")
        compare_view = panel.compare_view
        warm = next(p for p in compare_view.panes if "Welcome" in json.dumps(p.alternative.content))
        view.grab().save(str(tmp_path / "queue-compare.png"))
        compare_view.select(warm.alternative.position)
        QTest.keyClick(compare_view, Qt.Key.Key_Return)
        await driver.until(
            lambda: view.model.local.get(pid) and view.model.local[pid].status != "deciding", what="the pick stored"
        )
        assert view.model.local[pid].verdict == "approve"
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Welcome, ' + name\n"
    ((proposal, decision),) = stored_decisions(stack.db_path)
    assert proposal.tool_use_id == "toolu_alt1" and proposal.status == "applied"
    assert decision.verdict == "approve" and decision.reviewer == "ada"
