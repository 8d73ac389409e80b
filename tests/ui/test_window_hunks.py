"""A person at the window judging one proposal hunk by hunk from the keyboard, and the warning for text that lies."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.tools import EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.store_queries import pending_proposals
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import decisions_in, record_events, session_finished, start_task

ORIGINAL = "".join(f"line {i}\n" for i in range(1, 31))
REWRITTEN = (
    ORIGINAL.replace("line 2\n", "line two\n").replace("line 15\n", "line fifteen\n").replace("line 28\n", "line 28!\n")
)
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def rewrite(text: str):
    return tool_turn(tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "notes.txt", "file_text": text}))


def test_shift_a_shift_r_and_ctrl_enter_apply_only_the_approved_hunks(qtbot, qasync_loop, stack_factory, tmp_path):
    stack = stack_factory(
        [rewrite(REWRITTEN), text_turn("Continuing from the file as it is.")], files={"notes.txt": ORIGINAL}
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="a proposal on screen")
        assert panel.hunk_count == 3 and panel.current_hunk == 0
        assert panel.hunk_row.isVisible() and panel.submit_hunks_button.isVisible()
        assert "Hunk 1 ○" in panel.hunk_list.text()

        QTest.keyClick(panel, Qt.Key.Key_A, SHIFT)
        assert panel.hunk_verdicts[0].verdict == "approve" and panel.current_hunk == 1, "moves on to the next hunk"
        QTest.keyClick(panel, Qt.Key.Key_R, SHIFT)
        assert panel.reason_box.isVisible() and panel.reason_box.hasFocus()
        assert "hunk 2 of 3" in panel.reason_box.placeholderText()
        QTest.keyClicks(panel.reason_box, "Keep the digits here.")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Return)
        assert not panel.reason_box.isVisible() and panel.hasFocus()
        assert panel.hunk_verdicts[1].reason == "Keep the digits here." and panel.current_hunk == 2

        # One hunk still undecided: Ctrl+Enter explains and records nothing.
        QTest.keyClick(panel, Qt.Key.Key_Return, CTRL)
        assert panel.banner.isVisible() and "Hunk 3 of 3 is still undecided" in panel.banner.text()
        assert [p.id for p in await driver.context.repository.read(pending_proposals)] == [panel.proposal.id]

        QTest.keyClick(panel, Qt.Key.Key_A, SHIFT)
        text = panel.hunk_list.text()
        assert "Hunk 1 ✓" in text and "Hunk 2 ✗ (Keep the digits here.)" in text and "Hunk 3 ✓" in text
        assert panel.diff_view.hunk_marks == {0: "approve", 1: "reject", 2: "approve"}, "badges on the hunk headers"
        panel.resize(1000, 560)
        assert panel.grab().save(str(tmp_path / "mixed-hunks.png"))
        QTest.keyClick(panel, Qt.Key.Key_Return, CTRL)
        await driver.until(lambda: session_finished(driver.window), what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "notes.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n").replace(
        "line 28\n", "line 28!\n"
    )
    (decision,) = decisions_in(stack.db_path)
    assert decision.verdict == "edit" and decision.channel == "window" and decision.reviewer == "ada"
    assert [(v["hunk"], v["verdict"], v["reason"]) for v in decision.hunk_verdicts] == [
        (0, "approve", None),
        (1, "reject", "Keep the digits here."),
        (2, "approve", None),
    ]
    (result,) = stack.last_request_tool_results()
    assert "2 of 3 hunks applied, 1 not applied" in result["content"]
    assert "NOT applied. Reason: Keep the digits here." in result["content"]


def test_shift_e_edits_the_current_hunk_and_plain_a_still_judges_the_whole(qtbot, qasync_loop, stack_factory):
    stack = stack_factory(
        [rewrite(REWRITTEN), rewrite(REWRITTEN.replace("line 1\n", "line one\n")), text_turn("ok")],
        files={"notes.txt": ORIGINAL},
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        first = panel.proposal.id
        QTest.keyClick(panel, Qt.Key.Key_N)  # the diff view's key, live on the pane
        assert panel.current_hunk == 1 and panel.diff_view.current_hunk == 1
        QTest.keyClick(panel, Qt.Key.Key_E, SHIFT)
        assert panel.edit_box.isVisible() and panel.edit_box.hasFocus()
        assert panel.edit_box.toPlainText().splitlines()[3] == "line fifteen"
        assert "Hunk 2 of 3" in panel.edit_hint.text()
        panel.edit_box.setPlainText(panel.edit_box.toPlainText().replace("line fifteen", "line 15 (kept)"))
        QTest.keyClick(panel.edit_box, Qt.Key.Key_Return, CTRL)
        assert not panel.edit_box.isVisible() and panel.hunk_verdicts[1].verdict == "edit"
        assert "Hunk 2 ✎" in panel.hunk_list.text()
        panel.approve_hunk_button.click()  # hunk 3 (the pane moved on), by button this time
        QTest.keyClick(panel, Qt.Key.Key_P)
        QTest.keyClick(panel, Qt.Key.Key_P)
        assert panel.current_hunk == 0
        panel.approve_hunk_button.click()
        panel.submit_hunks_button.click()
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id != first, what="the next proposal")
        assert panel.hunk_verdicts == {} and "Hunk 1 ○" in panel.hunk_list.text()
        QTest.keyClick(panel, Qt.Key.Key_A)  # plain A: the whole proposal
        await driver.until(lambda: session_finished(driver.window))
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "notes.txt").read_text() == REWRITTEN.replace("line 1\n", "line one\n")
    first, second = decisions_in(stack.db_path)
    assert first.verdict == "edit" and first.hunk_verdicts[1]["edited"].startswith("line 12\n")
    assert "line 15 (kept)\n" in first.edited_content.decode()
    assert second.verdict == "approve" and second.hunk_verdicts is None


def test_hidden_characters_show_a_banner_and_flag_the_session_while_it_waits(qtbot, qasync_loop, stack_factory):
    sneaky = ORIGINAL.replace("line 14\n", "line 14 \u202e// admin\n")
    stack = stack_factory([rewrite(sneaky), text_turn("ok")], files={"notes.txt": ORIGINAL})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        session_id = panel.proposal.session_id
        assert panel.deceptive_banner.isVisible()
        assert (
            "1 hidden or deceptive character: U+202E RIGHT-TO-LEFT OVERRIDE at line 14" in panel.deceptive_banner.text()
        )
        await driver.until(lambda: window._session_item(session_id).text().startswith("⚠"), what="the session flag")
        assert "⚠" in window.windowTitle()
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: session_finished(window))
        await driver.until(lambda: not window._session_item(session_id).text().startswith("⚠"), what="the flag to go")
        assert "⚠" not in window.windowTitle()
        await driver.close()

    qasync_loop.run_until_complete(scenario())


def test_a_large_proposal_is_scanned_off_the_ui_thread_and_the_banner_follows(qtbot, qasync_loop, stack_factory):
    big = "".join(f"row {i}\n" for i in range(40_000))
    assert len(big) > 200 * 1024
    stack = stack_factory(
        [rewrite(big.replace("row 30000\n", "row\u200b30000\n")), text_turn("ok")], files={"notes.txt": big}
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        await driver.until(lambda: panel.deceptive_banner.isVisible(), what="the banner after the worker's scan")
        assert "U+200B ZERO WIDTH SPACE at line 30001" in panel.deceptive_banner.text()
        driver.window.stop_selected()
        await driver.close()

    qasync_loop.run_until_complete(scenario())
