"""The transcript opens in place: each tool call is a disclosure link (click or keyboard) showing its whole input and
output up to a cap with "show all"; the agent's Markdown is rendered without HTML or remote loads; the reviewer's
reason stays exactly as typed; colours follow the palette."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QFont, QImage, QPalette, QTextCursor, QTextDocument
from PySide6.QtTest import QTest

from app.domain.records import MessageRecord
from app.domain.tool_results import rejected
from app.domain.tools import COMMAND_TOOL_NAME
from app.services import events
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.ui.transcript_items import SHOWN_LINES
from app.ui.transcript_view import TranscriptView
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import record_events, session_finished, start_task

TEST_OUTPUT = "\n".join(f"test_case_{n} (test_greet.GreetTest) ... ok" for n in range(1, 61)) + "\nOK"


def message(seq: int, role: str, *blocks: dict) -> MessageRecord:
    return MessageRecord(seq=seq, role=role, content=list(blocks), stop_reason=None, usage=None)


def command_session() -> list[MessageRecord]:
    return [
        message(0, "user", {"type": "text", "text": "Run the tests."}),
        message(
            1,
            "assistant",
            {"type": "text", "text": "Running the **unit tests** now."},
            {
                "type": "tool_use",
                "id": "toolu_run",
                "name": "run_command",
                "input": {"command": "python3 -m unittest -v", "cwd": "."},
            },
        ),
        message(2, "user", {"type": "tool_result", "tool_use_id": "toolu_run", "content": TEST_OUTPUT}),
    ]


def shown_view(qtbot, width: int = 900, height: int = 600) -> TranscriptView:
    view = TranscriptView(1)
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view


def link_point(view: TranscriptView, text: str) -> QPoint:
    """Where on the viewport the link reading ``text`` is drawn (scrolled into view first)."""
    block = view.document().begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().isAnchor() and text in fragment.text():
                cursor = QTextCursor(view.document())
                cursor.setPosition(fragment.position() + min(2, fragment.length() - 1))
                view.setTextCursor(cursor)
                view.ensureCursorVisible()
                return view.cursorRect(cursor).center() + QPoint(2, 0)
            fragments += 1
        block = block.next()
    raise AssertionError(f"no link reading {text!r} in:\n{view.plain_text()}")


def click_link(qtbot, view: TranscriptView, text: str) -> None:
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, link_point(view, text))


def test_clicking_a_command_link_shows_its_whole_input_and_output_and_clicking_again_folds_it(qtbot):
    view = shown_view(qtbot)
    view.load("", command_session())
    assert "▸ $ python3 -m unittest -v" in view.plain_text()
    assert "test_case_60" not in view.plain_text(), "collapsed, a result shows its first lines only"
    click_link(qtbot, view, "$ python3 -m unittest -v")
    text = view.plain_text()
    assert "▾ $ python3 -m unittest -v" in text
    assert "command:\npython3 -m unittest -v" in text and "cwd: ." in text, "the call's whole input"
    assert "test_case_60 (test_greet.GreetTest) ... ok\nOK" in text, "the command's whole output"
    view.grab().save("/tmp/transcript-open.png")
    click_link(qtbot, view, "$ python3 -m unittest -v")
    assert "test_case_60" not in view.plain_text() and "▸ $ python3 -m unittest -v" in view.plain_text()


def test_a_result_link_opens_the_same_call_and_tab_then_enter_works_without_a_mouse(qtbot):
    view = shown_view(qtbot)
    view.load("", command_session())
    click_link(qtbot, view, "whole output (61 lines)")
    assert "test_case_60" in view.plain_text()
    view.disclosure.expanded.clear()
    view._render_from(0)
    view.setFocus()
    view.moveCursor(QTextCursor.MoveOperation.Start)
    # Tab walks the links (the first is the command's); Enter opens the one selected.
    QTest.keyClick(view, Qt.Key.Key_Tab)
    assert view.textCursor().selectedText().startswith("▸ $ python3")
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert "test_case_60" in view.plain_text()
    assert view.textCursor().selectedText().startswith("▾ $ python3"), "the selection stays on the link"
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert "test_case_60" not in view.plain_text()


def test_a_huge_output_is_capped_until_show_all_is_clicked(qtbot):
    huge = "\n".join(f"line {n}" for n in range(1, 5001))
    view = shown_view(qtbot)
    view.add_tool_call(COMMAND_TOOL_NAME, {"command": "seq 5000"}, "toolu_seq")
    view.add_tool_result(huge, False, "applied", "toolu_seq")
    click_link(qtbot, view, "$ seq 5000")
    text = view.plain_text()
    assert f"line {SHOWN_LINES}\n" in text and f"line {SHOWN_LINES + 1}\n" not in text
    assert f"show all ({5000 - SHOWN_LINES:,} more lines)" in text
    click_link(qtbot, view, "show all")
    assert "line 5000" in view.plain_text() and "show all" not in view.plain_text()


def test_the_agents_markdown_is_rendered_but_its_html_stays_text_and_nothing_is_loaded(qtbot, tmp_path):
    picture = tmp_path / "red.png"
    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    image.save(str(picture))
    markdown = (
        "Found it: **tidy_name** uses `str.capitalize()`.\n\n"
        "- first\n- second\n\n"
        f"<b>not bold</b> <img src='file:///etc/passwd'> ![local]({picture.as_uri()}) ![web](http://example.invalid/x.png)"
    )
    view = shown_view(qtbot)
    view.load(
        "",
        [
            message(0, "user", {"type": "text", "text": "t"}),
            message(1, "assistant", {"type": "text", "text": markdown}),
        ],
    )
    view.grab()  # paint, which is when images are asked for
    text = view.plain_text()
    assert "**" not in text and "Found it: tidy_name uses str.capitalize()." in text
    assert "<b>not bold</b>" in text and "<img src='file:///etc/passwd'>" in text
    assert view.document().find("tidy_name").charFormat().fontWeight() == QFont.Weight.Bold
    assert view.document().find("first").currentList() is not None
    for url in (QUrl(picture.as_uri()), QUrl("http://example.invalid/x.png")):
        loaded = view.document().resource(QTextDocument.ResourceType.ImageResource.value, url)
        assert loaded is None or loaded.isNull(), f"{url.toString()} was loaded"


def test_a_link_in_the_agents_text_cannot_open_or_toggle_anything(qtbot):
    view = shown_view(qtbot)
    view.load("", command_session())
    scheme = view._scheme
    view.add_tool_call("str_replace_based_edit_tool", {"command": "view", "path": "a.py"}, "toolu_a")
    view._message_done([{"type": "text", "text": f"[open me]({scheme}:toggle/0) and [web](https://example.com)"}])
    click_link(qtbot, view, "web")
    assert not view.disclosure.expanded


def test_the_reviewers_reason_keeps_its_spaces_and_line_breaks_and_is_not_read_as_html(qtbot):
    reason = "also test   inner  spaces\n    like 'ada  lovelace'\n<i>literally</i> & more"
    view = shown_view(qtbot)
    view.add_tool_call("str_replace_based_edit_tool", {"command": "str_replace", "path": "greet.py"}, "toolu_1")
    view.on_event(
        events.ToolResultSent(1, "toolu_1", "str_replace_based_edit_tool", rejected("edit", "greet.py", reason), True)
    )
    assert "Reason: also test   inner  spaces\n    like 'ada  lovelace'" in view.plain_text()
    click_link(qtbot, view, "str_replace greet.py")
    assert reason in view.plain_text()


def test_streamed_text_becomes_markdown_when_the_message_is_complete_and_its_calls_open(qtbot):
    view = shown_view(qtbot)
    view.add_task("Fix it.")
    for piece in ("Let me **read", "** greet.py."):
        view.on_event(events.TextDelta(1, piece))
    assert "Let me **read** greet.py." in view.plain_text()
    call = {
        "type": "tool_use",
        "id": "toolu_v",
        "name": "str_replace_based_edit_tool",
        "input": {"command": "view", "path": "greet.py"},
    }
    view.on_event(
        events.AssistantMessageDone(1, 1, [{"type": "text", "text": "Let me **read** greet.py."}, call], "tool_use")
    )
    view.on_event(
        events.ToolResultSent(
            1, "toolu_v", "str_replace_based_edit_tool", "1\tdef greet():\n2\t    pass\n3\t\n4\t# end", False
        )
    )
    text = view.plain_text()
    assert text.count("Let me read greet.py.") == 1 and "**" not in text
    click_link(qtbot, view, "view greet.py")
    assert "path: greet.py" in view.plain_text() and "4\t# end" in view.plain_text()


def test_links_and_text_take_their_colours_from_a_dark_palette(qtbot):
    view = shown_view(qtbot)
    dark = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#1e1e1e"),
        (QPalette.ColorRole.Base, "#121212"),
        (QPalette.ColorRole.Text, "#e8e8e8"),
        (QPalette.ColorRole.Link, "#8ab4f8"),
        (QPalette.ColorRole.PlaceholderText, "#a0a0a0"),
        (QPalette.ColorRole.AlternateBase, "#262626"),
    ):
        dark.setColor(role, QColor(colour))
    view.setPalette(dark)
    view.load("", command_session())
    link = view.document().find("$ python3 -m unittest -v")
    assert link.charFormat().foreground().color() == QColor("#8ab4f8")
    output = view.document().find("test_case_1 ")
    assert output.charFormat().foreground().color().lightness() > 160, "light text on the dark base"
    view.add_tool_result("The reviewer rejected this change. Reason: no", True, "rejected")
    error = view.document().find("Reason: no").charFormat().foreground().color()
    assert error.lightness() > 110, "reject text readable on a dark base"
    view.grab().save("/tmp/transcript-dark.png")


def test_in_the_window_a_command_link_shows_the_whole_output_of_the_approved_command(qtbot, qasync_loop, stack_factory):
    script = "for i in $(seq 1 40); do echo checked line $i; done"
    stack = stack_factory(
        [tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": script})), text_turn("All **40** checked.")]
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace, "Check the lines.")
        window = driver.window
        await driver.until(lambda: window.review_panel.proposal is not None, what="the command waiting")
        window.review_panel.approve_button.click()
        await driver.until(lambda: session_finished(window), what="the session to finish")
        view = window.transcripts[window.selected_session_id()]
        assert "checked line 40" not in view.plain_text()
        click_link(qtbot, view, f"$ {script}")
        window.grab().save("/tmp/transcript-window.png")
        text = view.plain_text()
        await driver.close()
        return text

    text = qasync_loop.run_until_complete(scenario())
    assert "checked line 1\n" in text and "checked line 40" in text and "All 40 checked." in text


def test_a_transcript_that_showed_its_end_still_shows_it_after_narrowing_rewraps_the_text(qtbot):
    # Under a real X server the sidebar takes back its width when a command proposal is decided: the transcript gets
    # narrower just as the agent's last words arrive, and the wrapped lines pushed them out of sight.
    view = shown_view(qtbot, width=1100, height=240)
    view.load("", command_session())
    for n in range(12):
        view.add_status(f"Step {n}: " + "the agent explains what it did and why, at some length. " * 3)
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum(), "following the end"
    view.resize(700, 240)
    qtbot.waitUntil(lambda: bar.maximum() > 0 and view.width() == 700)
    assert bar.value() == bar.maximum(), "the last words stay on screen after the rewrap"
    view.resize(1300, 240)
    qtbot.waitUntil(lambda: view.width() == 1300)
    assert bar.value() == bar.maximum()


def test_a_transcript_scrolled_back_by_the_reader_stays_where_it_is_when_resized(qtbot):
    view = shown_view(qtbot, width=1100, height=240)
    view.load("", command_session())
    for n in range(12):
        view.add_status(f"Step {n}: " + "the agent explains what it did and why, at some length. " * 3)
    bar = view.verticalScrollBar()
    bar.setValue(0)
    view.resize(700, 240)
    qtbot.waitUntil(lambda: view.width() == 700)
    assert bar.value() == 0
