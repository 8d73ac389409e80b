"""Policies in the window: the Policies dialog edits the rule file, Ctrl+Shift+A previews, adds a rule and approves,
and repeated approvals lead to a quiet offer in the review pane, never to a rule nobody asked for."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from app.domain.policy import Policy, Rule, policy_path
from app.domain.tools import COMMAND_TOOL_NAME
from app.services.policy_file import add_rules, load_policy, save_policy
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.ui.policy_dialog import PolicyDialog
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import decisions_in, record_events, session_finished, start_task


def command(text: str):
    return tool_use_block(COMMAND_TOOL_NAME, {"command": text})


def test_the_dialog_lists_adds_reorders_removes_and_saves_rules(qtbot, tmp_path: Path) -> None:
    save_policy(tmp_path, Policy((Rule.for_command("allow", "pytest -q"), Rule("deny", "edit", "*.lock"))))
    dialog = PolicyDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.open()
    assert [dialog.rule_list.item(i).text() for i in range(2)] == [
        "1. allow command `pytest -q`",
        "2. deny edits of `*.lock`",
    ]
    dialog.kind_box.setCurrentText("command")
    dialog.action_box.setCurrentText("deny")
    QTest.keyClicks(dialog.pattern_edit, "git push")
    QTest.keyClick(dialog.pattern_edit, Qt.Key.Key_Return)
    assert dialog.rule_list.count() == 3 and dialog.rule_list.currentRow() == 2
    dialog.up_button.click()
    dialog.up_button.click()
    assert dialog.rule_list.item(0).text() == "1. deny command `git push`"
    dialog.rule_list.setCurrentRow(2)
    dialog.remove_button.click()
    dialog.pattern_edit.setText('echo "open')
    dialog.add_button.click()
    assert not dialog.add_error.isHidden() and "cannot be split" in dialog.add_error.text(), dialog.add_error.text()
    dialog.grab().save("/tmp/policy-dialog.png")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert load_policy(tmp_path).rules == (Rule.for_command("deny", "git push"), Rule.for_command("allow", "pytest -q"))


def test_a_broken_policy_file_is_shown_and_never_overwritten_by_the_dialog(qtbot, tmp_path: Path) -> None:
    policy_path(tmp_path).parent.mkdir()
    policy_path(tmp_path).write_text("[[rule]\n", encoding="utf-8")
    dialog = PolicyDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.open()
    assert not dialog.error_label.isHidden() and "not valid TOML" in dialog.error_label.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    assert not dialog.add_button.isEnabled()
    dialog.save()
    assert policy_path(tmp_path).read_text(encoding="utf-8") == "[[rule]\n"


def test_a_misspelt_table_is_shown_by_the_dialog_with_its_line_and_the_right_name(qtbot, tmp_path: Path) -> None:
    text = '# ours\nversion = 1\n\n[[rules]]\naction = "allow"\nkind = "command"\npattern = "ls"\n'
    policy_path(tmp_path).parent.mkdir()
    policy_path(tmp_path).write_text(text, encoding="utf-8")
    dialog = PolicyDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.open()
    shown = dialog.error_label.text()
    assert not dialog.error_label.isHidden() and "line 4" in shown and "did you mean [[rule]]" in shown, shown
    dialog.save()
    assert policy_path(tmp_path).read_text(encoding="utf-8") == text


def test_saving_the_dialog_keeps_a_rule_the_cli_added_while_it_was_open(qtbot, tmp_path: Path) -> None:
    save_policy(tmp_path, Policy((Rule.for_command("allow", "pytest -q"),)))
    dialog = PolicyDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.open()
    add_rules(tmp_path, [Rule("deny", "edit", "*.lock")])  # another process, while the dialog is open
    dialog.rule_list.setCurrentRow(0)
    dialog.remove_button.click()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert load_policy(tmp_path).rules == (Rule("deny", "edit", "*.lock"),)


def test_ctrl_shift_a_adds_a_rule_then_approves_so_the_same_command_runs_unasked_next_time(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([tool_turn(command("touch one")), tool_turn(command("touch one")), text_turn("Done.")])
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace, "Touch things.")
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the first command on screen")
        QTest.keyClick(panel, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        policies = driver.window.policies
        await driver.until(lambda: policies.preview_dialog is not None, what="the rule's preview")
        QTest.keyClick(policies.preview_dialog, Qt.Key.Key_Return)
        await driver.until(lambda: session_finished(driver.window), what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert load_policy(stack.workspace).rules == (Rule.for_command("allow", "touch one", "exact"),)
    decisions = decisions_in(stack.db_path)
    assert [(d.reviewer, d.channel) for d in decisions] == [
        ("ada", "window"),
        ("policy:allow command `touch one` (exactly)", "policy"),
    ]


def test_five_identical_approvals_bring_an_offer_which_becomes_a_rule_only_when_accepted(
    qtbot, qasync_loop, stack_factory
):
    turns = [tool_turn(command("make lint")) for _ in range(5)] + [text_turn("Done.")]
    stack = stack_factory(turns)
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace, "Lint five times.")
        window = driver.window
        panel = window.review_panel
        for round_number in range(5):
            await driver.until(
                lambda: panel.proposal is not None and not panel.is_busy, what=f"proposal {round_number + 1}"
            )
            assert panel.rule_suggestion.isHidden(), "no offer before the fifth approval"
            QTest.keyClick(panel, Qt.Key.Key_A)
            await driver.until(
                lambda round_number=round_number: panel.proposal is None or panel.proposal.id != round_number + 1,
                what="the next proposal",
            )
        await driver.until(lambda: not panel.rule_suggestion.isHidden(), what="the offer")
        assert "You approved `make lint` 5 times here" in panel.rule_suggestion.text.text()
        assert not policy_path(stack.workspace).exists(), "an offer is never a rule by itself"
        window.grab().save("/tmp/policy-offer.png")
        panel.rule_suggestion.accept_button.click()
        await driver.until(lambda: policy_path(stack.workspace).exists(), what="the rule file")
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert load_policy(stack.workspace).rules == (Rule.for_command("allow", "make lint", "exact"),)


def test_the_policies_action_opens_the_dialog_for_the_shown_workspace_without_blocking(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([tool_turn(command("ls")), text_turn("Done.")])
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario():
        await start_task(driver, stack.workspace, "List.")
        window = driver.window
        await driver.until(lambda: window.review_panel.proposal is not None)
        window.policies_action.trigger()
        dialog = window.policies.dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.workspace_root == str(stack.workspace.resolve())
        dialog.reject()
        await driver.close()

    qasync_loop.run_until_complete(scenario())


def test_the_dialog_says_which_part_of_a_command_makes_it_ask_and_sets_effect_review(qtbot, tmp_path: Path) -> None:
    save_policy(tmp_path, Policy((Rule.for_command("allow", "ls"), Rule.for_command("allow", "git log"))))
    dialog = PolicyDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.open()
    QTest.keyClicks(dialog.try_edit, "ls && git log --output=.git/config")
    said = dialog.try_result.text()
    assert said.startswith("ask: `git log --output=.git/config`") and "--output" in said
    dialog.try_edit.setText("ls -la")
    assert dialog.try_result.text().startswith("allow: Every part is allowed")
    dialog.kind_box.setCurrentText("command")
    dialog.grant_git_box.setChecked(True)
    QTest.keyClicks(dialog.pattern_edit, "git commit")
    QTest.keyClick(dialog.pattern_edit, Qt.Key.Key_Return)
    dialog.try_edit.setText("git commit -m done")
    assert "Grants .git writes" in dialog.try_result.text()
    dialog.review_box.setCurrentIndex(dialog.review_box.findData("never"))
    assert not dialog.review_warning.isHidden() and "without anyone seeing it" in dialog.review_warning.text()
    dialog.grab().save(str(tmp_path / "policy_dialog.png"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    saved = load_policy(tmp_path)
    assert saved.review_effects == "never" and saved.rules[-1] == Rule.for_command(
        "allow", "git commit", git_writes=True
    )
