"""A person at the window running a changeset-mode session: the switch in the new-session form, the whole changeset in
the review pane as one diff judged hunk by hunk across its files from the keyboard, and exactly the approved hunks
merged into the workspace. Real window, stand-in API over HTTP, real SDK, real SQLite, real git."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.standin.scenario import text_turn, tool_turn
from tests.services.test_changeset_mode import ORIGINAL, create, edit, make_repo
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import decisions_in, record_events, session_finished

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def test_a_changeset_is_reviewed_hunk_by_hunk_across_files_and_only_approved_hunks_merge(
    qtbot, qasync_loop, stack_factory, tmp_path
):
    stack = stack_factory(
        [
            tool_turn(edit("a.txt", "line 2\n", "line two\n"), edit("a.txt", "line 29\n", "line twenty-nine\n")),
            tool_turn(create("docs/notes.md", "# Notes\n")),
            text_turn("Done: a.txt tidied, notes added."),
        ],
        files={"a.txt": ORIGINAL},
    )
    make_repo(stack.workspace)
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        window = await driver.open()
        window.show_composer()
        composer = window.composer
        composer.workspace_edit.setText(str(stack.workspace))
        composer.max_turns.setValue(2)
        QTest.keyClicks(composer.task_edit, "Tidy a.txt and add notes.")
        composer.changeset_box.setFocus()
        QTest.keyClick(composer.changeset_box, Qt.Key.Key_Space)
        assert composer.changeset_box.isChecked()
        QTest.keyClick(composer.task_edit, Qt.Key.Key_Return, CTRL)

        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the changeset on screen")
        assert panel.proposal.kind == "changeset"
        assert panel.title.text().startswith(f"#{panel.proposal.id} · Changeset: 2 files")
        assert panel.title.text().endswith("a.txt, docs/notes.md")
        assert panel.hunk_count == 3 and not panel.edit_button.isEnabled()
        assert not panel.always_allow_button.isEnabled() and not panel.compare_button.isEnabled()
        QTest.keyClick(panel, Qt.Key.Key_C)
        assert "not resampled" in panel.banner.text()
        assert (stack.workspace / "a.txt").read_text() == ORIGINAL, "nothing merged before the review"
        assert "a.txt · @@" in panel.hunk_list.toolTip()

        QTest.keyClick(panel, Qt.Key.Key_A, SHIFT)
        QTest.keyClick(panel, Qt.Key.Key_R, SHIFT)
        QTest.keyClicks(panel.reason_box, "Keep 29 numeric.")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Return)
        assert panel.current_hunk == 2 and "docs/notes.md" in panel.hunk_list.toolTip()
        QTest.keyClick(panel, Qt.Key.Key_A, SHIFT)
        assert panel.diff_view.hunk_marks == {0: "approve", 1: "reject", 2: "approve"}
        window.resize(1200, 800)
        assert window.grab().save(str(tmp_path / "changeset-review.png"))
        QTest.keyClick(panel, Qt.Key.Key_Return, CTRL)
        await driver.until(lambda: session_finished(window), timeout=30, what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n")
    assert (stack.workspace / "docs" / "notes.md").read_text() == "# Notes\n"
    (decision,) = decisions_in(stack.db_path)
    assert decision.verdict == "edit" and decision.channel == "window"
    assert [(v["hunk"], v["verdict"]) for v in decision.hunk_verdicts] == [
        (0, "approve"),
        (1, "reject"),
        (2, "approve"),
    ]
    assert "Keep 29 numeric." in decision.reason


def test_a_changeset_the_workspace_changed_under_is_refused_with_a_conflict_view_and_nothing_written(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory(
        [tool_turn(edit("a.txt", "line 3\n", "line three\n")), text_turn("Done."), text_turn("I will redo it.")],
        files={"a.txt": ORIGINAL},
    )
    make_repo(stack.workspace)
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)
    edited_by_person = ORIGINAL.replace("line 10\n", "line 10, edited by the person\n")

    async def scenario():
        window = await driver.open()
        window.show_composer()
        window.composer.workspace_edit.setText(str(stack.workspace))
        window.composer.max_turns.setValue(2)
        window.composer.changeset_box.setChecked(True)
        QTest.keyClicks(window.composer.task_edit, "Spell out line 3.")
        QTest.keyClick(window.composer.task_edit, Qt.Key.Key_Return, CTRL)
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the changeset on screen")
        (stack.workspace / "a.txt").write_text(edited_by_person)
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: panel.notice.isVisible(), timeout=30, what="the conflict view")
        notice = panel.notice.text()
        await driver.until(lambda: session_finished(window), timeout=30, what="the session to finish")
        await driver.close()
        return notice

    notice = qasync_loop.run_until_complete(scenario())
    assert "workspace changed under" in notice and "a.txt was changed in the workspace" in notice
    assert "+line 10, edited by the person" in notice and "+line three" in notice  # now vs proposed, from the base
    assert (stack.workspace / "a.txt").read_text() == edited_by_person
