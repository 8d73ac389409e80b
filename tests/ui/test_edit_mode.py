"""Edit mode is an editor, not a bare text box: the diff's syntax colours (lexed off the UI thread), line numbers, and
a live diff of the edit against the proposal before anything is applied."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from app.domain.tools import EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.ui.palette import palette_from
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import record_events, session_finished, start_task

GREET = "import sys\n\n\ndef greet(name):\n    return 'hi ' + name\n"


def polite():
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'Hello, '"}
    )


def test_e_opens_a_coloured_numbered_editor_and_shows_what_the_edit_changes_before_ctrl_enter_applies_it(
    qtbot, qasync_loop, stack_factory, monkeypatch
):
    stack = stack_factory([tool_turn(polite()), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)
    # Colours and diffs are computed off the UI thread: record where the diff runs.
    import app.ui.edit_view as edit_view

    diff_threads: list[bool] = []
    real_compute = edit_view.compute_diff

    def recording(old, new, path, **kwargs):
        if old != new:
            diff_threads.append(threading.current_thread() is threading.main_thread())
        return real_compute(old, new, path, **kwargs)

    monkeypatch.setattr(edit_view, "compute_diff", recording)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the edit waiting")
        QTest.keyClick(panel, Qt.Key.Key_E)
        editor = panel.edit_box
        assert editor.isVisible() and editor.hasFocus() and editor.live_diff.isVisible()
        await driver.until(lambda: "no change yet" in editor.live_diff.title.text(), what="the live diff, empty")
        # Colours: 'import' and 'def' in the keyword colour, as the diff paints them.
        keyword = palette_from(editor.palette()).token_colour(__import__("pygments.token").token.Keyword)
        await driver.until(lambda: editor.token_colour_at(4, 0) == keyword, what="the lexer's colours in the editor")
        assert editor.token_colour_at(1, 0) == keyword
        assert editor.shown_line_numbers()[:5] == [1, 2, 3, 4, 5] and editor.number_width() > 0
        # Type a change: the live diff shows it (after the pause), nothing is applied yet.
        cursor = editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        editor.setTextCursor(cursor)
        QTest.keyClicks(editor, "print(greet('ada'))")
        await driver.until(lambda: "+1 −0" in editor.live_diff.title.text(), what="the live diff of the typed line")
        assert editor.live_diff.view.rows and (stack.workspace / "greet.py").read_text() == GREET
        window.grab().save("/tmp/edit-mode.png")
        # The new line is coloured too once lexed ('print' is a builtin).
        builtin = palette_from(editor.palette()).token_colour(__import__("pygments.token").token.Name.Builtin)
        await driver.until(lambda: editor.token_colour_at(6, 0) == builtin, what="the typed line coloured")
        QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == (
        "import sys\n\n\ndef greet(name):\n    return 'Hello, ' + name\nprint(greet('ada'))"
    )
    assert diff_threads and not any(diff_threads), "the live diff is computed off the UI thread"
