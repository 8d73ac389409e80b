"""Ctrl+Shift+A shows what it would add before adding a permanent rule: the exact rule text and the past proposals of
the workspace it would have matched. Cancel adds no rule and decides nothing; confirm adds exactly the previewed rule
and approves."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.policy import Rule, policy_path, rule_text
from app.services.policy_file import load_policy
from app.standin.scenario import text_turn, tool_turn
from tests.support.window_harness import WindowDriver
from tests.ui.test_policy_window import command
from tests.ui.test_window_review import decisions_in, record_events, session_finished, start_task

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def test_the_preview_names_the_rule_and_its_past_matches_cancel_adds_nothing_and_confirm_adds_exactly_it(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory(
        [
            tool_turn(command("touch one")),
            tool_turn(command("touch two")),
            tool_turn(command("touch one")),
            text_turn("Done."),
        ]
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)
    expected_rule = Rule.for_command("allow", "touch one", "exact")

    async def scenario():
        await start_task(driver, stack.workspace, "Touch things.")
        window = driver.window
        panel = window.review_panel
        policies = window.policies
        await driver.until(lambda: panel.proposal is not None and not panel.is_busy, what="the first command")
        first = panel.proposal.id
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id != first, what="the second")
        second = panel.proposal.id
        QTest.keyClick(panel, Qt.Key.Key_R)
        QTest.keyClicks(panel.reason_box, "Not two.")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Return)
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id != second, what="the third")
        third = panel.proposal.id

        QTest.keyClick(panel, Qt.Key.Key_A, CTRL_SHIFT)
        await driver.until(lambda: policies.preview_dialog is not None, what="the preview")
        dialog = policies.preview_dialog
        await driver.until(dialog.isVisible, what="the preview on screen")
        assert dialog.rule_text.toPlainText() == rule_text(expected_rule)
        assert [dialog.matches.item(i).text() for i in range(dialog.matches.count())] == [
            f"#{first} · $ touch one · approved by ada"
        ], "the earlier `touch one` matches; the rejected `touch two` does not"
        assert dialog.summary.text() == "It would have matched 1 of 2 earlier decided proposals here:"
        dialog.grab().save("/tmp/always_allow_preview.png")
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        await driver.until(lambda: policies.preview_dialog is None, what="the preview closed")
        assert not policy_path(stack.workspace).exists(), "cancel adds no rule"
        assert panel.proposal is not None and panel.proposal.id == third, "and decides nothing"
        assert [d.proposal_id for d in decisions_in(stack.db_path)] == [first, second]

        QTest.keyClick(panel, Qt.Key.Key_A, CTRL_SHIFT)
        await driver.until(lambda: policies.preview_dialog is not None, what="the preview again")
        previewed = policies.preview_dialog.preview.rules
        QTest.keyClick(policies.preview_dialog, Qt.Key.Key_Return)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()
        return previewed, third

    previewed, third = qasync_loop.run_until_complete(scenario())
    assert previewed == (expected_rule,)
    assert load_policy(stack.workspace).rules == previewed, "exactly the previewed rule"
    last = decisions_in(stack.db_path)[-1]
    assert (last.proposal_id, last.verdict, last.reviewer) == (third, "approve", "ada")


def test_ctrl_shift_a_on_the_queue_page_previews_the_rule_and_confirm_adds_it_and_approves_the_current_item(
    qtbot, qasync_loop, stack_factory
):
    from tests.ui.test_queue_window import waiting_rows

    stack = stack_factory([tool_turn(command("touch one")), text_turn("Done.")])
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)
    expected_rule = Rule.for_command("allow", "touch one", "exact")

    async def scenario():
        await start_task(driver, stack.workspace, "Touch things.")
        window = driver.window
        policies = window.policies
        window.show_queue()
        view = window.queue_view
        await driver.until(lambda: waiting_rows(view) and view.panel.proposal is not None, what="the command listed")
        pid = view.current_item().id
        view.table.setFocus()
        QTest.keyClick(view.table, Qt.Key.Key_A, CTRL_SHIFT)
        await driver.until(lambda: policies.preview_dialog is not None, what="the preview from the queue")
        dialog = policies.preview_dialog
        assert dialog.rule_text.toPlainText() == rule_text(expected_rule)
        QTest.keyClick(dialog, Qt.Key.Key_Return)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()
        return pid

    pid = qasync_loop.run_until_complete(scenario())
    assert load_policy(stack.workspace).rules == (expected_rule,)
    last = decisions_in(stack.db_path)[-1]
    assert (last.proposal_id, last.verdict) == (pid, "approve")
