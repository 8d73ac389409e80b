"""The review pane's diff view: instant at any size, colours from the lexing thread, stale colours dropped."""

from __future__ import annotations

import time

import pytest
from pygments.lexers import PythonLexer
from pygments.token import Keyword, Name, String
from PySide6.QtCore import QCoreApplication, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette, QWheelEvent

from app.domain.diffing import compute_diff
from app.ui.diff_rows import DiffRows, RowKind, expand_tabs, line_segments, reveal_hidden
from app.ui.diff_view import DiffView
from app.ui.palette import DARK, LIGHT
from app.ui.syntax import (
    Colouring,
    choose_lexer,
    colour_results,
    decode_spans,
    diff_documents,
    encode_spans,
    spans_by_line,
)

OLD_PY = b'''import os


def greet(name):
    """Say hello."""
    print("hello", name)
    return 1


class Greeter:
\tpass
'''

NEW_PY = b'''import os
import sys


def greet(name, loud=False):
    """Say hello."""
    print("hello, " + name)
    return 42


class Greeter:
\tpass
'''


@pytest.fixture
def view(qtbot) -> DiffView:
    widget = DiffView()
    qtbot.addWidget(widget)
    widget.resize(760, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def grab_image(view: DiffView, name: str) -> QImage:
    pixmap = view.grab()
    pixmap.save(f"/tmp/diffview_{name}.png")
    return pixmap.toImage()


def pixels_near(image: QImage, colour: QColor, area: QRect, tolerance: int = 40) -> int:
    """How many pixels in ``area`` are within ``tolerance`` (sum of channel differences) of ``colour``."""
    area = area.intersected(image.rect())
    count = 0
    for y in range(area.top(), area.bottom() + 1):
        for x in range(area.left(), area.right() + 1):
            pixel = image.pixelColor(x, y)
            red, green, blue = pixel.red() - colour.red(), pixel.green() - colour.green(), pixel.blue() - colour.blue()
            count += abs(red) + abs(green) + abs(blue) <= tolerance
    return count


def row_index(view: DiffView, kind: RowKind, text_start: str) -> int:
    return next(i for i, row in enumerate(view.rows) if row.kind is kind and row.text.startswith(text_start))


def row_area(view: DiffView, index: int) -> QRect:
    return view.row_rect(index).translated(view.viewport().pos())


def test_python_diff_paints_plain_text_first_and_syntax_colours_when_the_lexer_delivers(view, qtbot):
    diff = compute_diff(OLD_PY, NEW_PY, "greet.py")
    keyword = LIGHT.token_colour(Keyword)

    with qtbot.waitSignal(view.colours_ready, timeout=10_000) as arrived:
        view.show_diff(diff, token="greet")
        plain = grab_image(view, "python_plain")

    assert arrived.args == ["greet"]
    added_def = row_area(view, row_index(view, RowKind.ADDED, "def greet"))
    assert pixels_near(plain, keyword, added_def) == 0
    coloured = grab_image(view, "python_light")
    assert pixels_near(coloured, keyword, added_def) > 10
    assert pixels_near(coloured, LIGHT.token_colour(Name.Function), added_def) > 10


def test_colours_for_an_earlier_diff_are_dropped_once_a_later_one_is_shown(view, qtbot):
    delivered: list[object] = []
    view.colours_ready.connect(delivered.append)
    diff_a = compute_diff(b"x = 1\n", b"x = 2\n", "a.py")
    diff_b = compute_diff(OLD_PY, NEW_PY, "b.py")

    with qtbot.waitSignal(view.colours_ready, timeout=10_000, check_params_cb=lambda token: token == "b"):
        view.show_diff(diff_a, token="a")
        view.grab()  # A's plain text is painted, so its colouring request goes to the lexer
        view.show_diff(diff_b, token="b")
    assert delivered == ["b"]

    # A's colouring arriving late (as from a slow lexer) paints everything as a string: it must change nothing.
    before = grab_image(view, "stale_before")
    late_spans = {line: encode_spans([(0, 200, String)]) for line in range(1, 20)}
    late_colours = {"new": late_spans, "old": late_spans}
    colour_results().emit(Colouring(view.colourer, view.colourer.generation - 1, "a", late_colours))
    colour_results().emit(Colouring(view.colourer, view.colourer.generation, "a", late_colours))
    QCoreApplication.sendPostedEvents()

    assert delivered == ["b"]
    assert view.token == "b"
    assert grab_image(view, "stale_after") == before


def test_binary_diff_shows_a_summary_card_and_never_bytes(view):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    diff = compute_diff(png, png + b"\x00\x01", "assets/logo.png")
    assert diff.is_binary

    view.show_diff(diff, token="logo")

    image = grab_image(view, "binary")
    assert len(view.rows) == 0
    assert pixels_near(image, LIGHT.card_border, QRect(0, 0, image.width(), 120), tolerance=0) > 100
    assert view.verticalScrollBar().maximum() == 0


def test_command_view_shows_the_working_directory_above_the_highlighted_command(view, qtbot):
    command = 'cd build && echo "done: $HOME" | tee log.txt\nmake -j2 install'

    with qtbot.waitSignal(view.colours_ready, timeout=10_000):
        view.show_command(command, "/home/reviewer/project", token="cmd")

    assert [(row.kind, row.text) for row in view.rows] == [
        (RowKind.CWD, "/home/reviewer/project"),
        (RowKind.COMMAND, 'cd build && echo "done: $HOME" | tee log.txt'),
        (RowKind.COMMAND, "make -j2 install"),
    ]
    image = grab_image(view, "command")
    first_line = row_area(view, 1)
    assert pixels_near(image, LIGHT.token_colour(Name.Builtin), first_line) > 10
    assert pixels_near(image, LIGHT.token_colour(String), first_line) > 10
    assert pixels_near(image, LIGHT.foreground, row_area(view, 0)) > 10


def test_empty_states_show_their_message_and_clear_shows_nothing(view):
    view.show_message("Select an action to review it.")
    assert len(view.rows) == 0
    message = grab_image(view, "message")
    assert pixels_near(message, LIGHT.muted, message.rect(), tolerance=30) > 20

    view.show_diff(compute_diff(None, b"", "empty.txt"), token="empty")
    assert len(view.rows) == 0
    assert pixels_near(grab_image(view, "empty_file"), LIGHT.muted, message.rect(), tolerance=30) > 20

    view.clear()
    assert view.token is None
    assert pixels_near(grab_image(view, "cleared"), LIGHT.muted, message.rect(), tolerance=30) == 0


def test_new_file_shows_every_line_as_added(view):
    diff = compute_diff(None, b"one\ntwo\nthree\n", "new.txt")

    view.show_diff(diff, token="new")

    assert [row.kind for row in view.rows] == [RowKind.HUNK] + [RowKind.ADDED] * 3
    assert [row.new_lineno for row in view.rows][1:] == [1, 2, 3]
    image = grab_image(view, "new_file")
    assert pixels_near(image, LIGHT.added_background, row_area(view, 3), tolerance=0) > 1000


def test_crlf_endings_and_a_missing_final_newline_are_marked(view):
    diff = compute_diff(b"alpha\r\nbeta\r\n", b"alpha\r\ngamma", "notes.txt")

    view.show_diff(diff, token="crlf")

    rows = list(view.rows)
    assert [(row.kind, row.text, row.crlf, row.no_newline) for row in rows[1:]] == [
        (RowKind.CONTEXT, "alpha", True, False),
        (RowKind.REMOVED, "beta", True, False),
        (RowKind.ADDED, "gamma", False, True),
    ]
    image = grab_image(view, "crlf_no_newline")
    assert pixels_near(image, LIGHT.marker_background, row_area(view, 3), tolerance=0) > 100
    assert pixels_near(image, LIGHT.marker_background, row_area(view, 2), tolerance=0) == 0


def test_bidi_controls_and_escape_codes_show_as_labelled_marks_instead_of_acting(view):
    # U+202E would reverse what follows on screen (Trojan Source): the reviewer sees the mark, not the trick.
    diff = compute_diff(None, "access = 'user\u202e \u2066# admin'\nprint('\x1b[2J')\n".encode(), "sneaky.py")

    view.show_diff(diff, token="sneaky")

    image = grab_image(view, "hidden_chars")
    assert pixels_near(image, LIGHT.marker_background, row_area(view, 1), tolerance=0) > 100
    assert pixels_near(image, LIGHT.marker_background, row_area(view, 2), tolerance=0) > 50
    assert reveal_hidden("a\u202eb\x1b") == [("a", False), ("U+202E", True), ("b", False), ("^[", True)]
    assert reveal_hidden("plain\ttext") == [("plain\ttext", False)]


def test_paired_changed_lines_highlight_the_changed_words(view):
    diff = compute_diff(b"total = price * count\n", b"total = price * quantity\n", "calc.py")

    view.show_diff(diff, token="calc")

    removed, added = row_index(view, RowKind.REMOVED, "total"), row_index(view, RowKind.ADDED, "total")
    assert view.rows.highlights(removed) == ((16, 21),)
    assert view.rows.highlights(added) == ((16, 24),)
    image = grab_image(view, "intraline")
    assert pixels_near(image, LIGHT.removed_highlight, row_area(view, removed), tolerance=0) > 50
    assert pixels_near(image, LIGHT.added_highlight, row_area(view, added), tolerance=0) > 50


def test_a_refreshed_diff_for_the_same_token_keeps_the_scroll_position(view, big_diffs):
    diff = big_diffs["new_file"]
    view.show_diff(diff, token="proposal-7")
    view.verticalScrollBar().setValue(5_000)

    view.show_diff(diff, token="proposal-7")
    assert view.verticalScrollBar().value() == 5_000
    view.show_diff(compute_diff(None, b"x\n" * 20_000, "new_module.py"), token="proposal-7")
    assert view.verticalScrollBar().value() == 5_000
    view.show_diff(diff, token="proposal-8")
    assert view.verticalScrollBar().value() == 0


def test_a_dark_window_palette_switches_the_view_to_dark_colours(view, qtbot):
    with qtbot.waitSignal(view.colours_ready, timeout=10_000):
        view.show_diff(compute_diff(OLD_PY, NEW_PY, "greet.py"), token="dark")
    dark = QPalette(view.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))

    view.setPalette(dark)

    assert view.diff_palette is DARK
    image = grab_image(view, "python_dark")
    added_def = row_area(view, row_index(view, RowKind.ADDED, "def greet"))
    assert pixels_near(image, DARK.background, image.rect(), tolerance=0) > 10_000
    assert pixels_near(image, DARK.token_colour(Keyword), added_def) > 10
    view.setPalette(QPalette())
    assert view.diff_palette is LIGHT


def hundred_thousand_line_diffs():
    lines = [f"value_{number} = compute({number}, 'label {number}')  # row {number}\n" for number in range(100_000)]
    new_file = compute_diff(None, "".join(lines).encode(), "big/new_module.py")
    # Every other line of 66k changes: one hunk of 33k context, 33k removed and 33k added lines, all paired.
    old = lines[:66_000]
    new = [line.replace("compute", "recompute") if number % 2 else line for number, line in enumerate(old)]
    rewritten = compute_diff("".join(old).encode(), "".join(new).encode(), "big/rewritten.py")
    return {"new_file": new_file, "rewritten": rewritten}


@pytest.fixture(scope="module")
def big_diffs():
    return hundred_thousand_line_diffs()


@pytest.mark.parametrize("which", ["new_file", "rewritten"])
def test_a_100k_line_diff_opens_and_paints_in_well_under_a_second(view, big_diffs, which):
    diff = big_diffs[which]
    assert sum(len(hunk.lines) for hunk in diff.hunks) >= 99_000

    started = time.perf_counter()
    view.show_diff(diff, token=which)
    view.grab()
    elapsed = time.perf_counter() - started

    print(f"\n{which}: show_diff + first paint of {len(view.rows):,} rows took {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0


def test_scrolling_to_the_end_paints_the_last_line_numbers(view, big_diffs, qtbot):
    view.show_diff(big_diffs["new_file"], token="end")
    view.setFocus()

    qtbot.keyClick(view, Qt.Key.Key_End)
    started = time.perf_counter()
    image = grab_image(view, "scrolled_to_end")
    print(f"\npaint at the end: {(time.perf_counter() - started) * 1000:.1f} ms")

    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0
    last_visible = view.row_at(view.viewport().height() - 1)
    assert last_visible == len(view.rows) - 1
    assert view.rows[last_visible].new_lineno == 100_000
    # The last row is painted: its added background fills the bottom strip, gutter digits are drawn on it.
    last_row = row_area(view, last_visible)
    last_row_gutter = last_row.intersected(QRect(0, 0, 120, image.height()))
    assert pixels_near(image, LIGHT.added_background, last_row, tolerance=0) > 1000
    assert pixels_near(image, LIGHT.gutter_foreground, last_row_gutter, tolerance=60) > 10

    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert bar.value() == 0


def test_keys_and_wheel_scroll_smoothly_to_their_targets(view, big_diffs, qtbot):
    # Narrow enough that the widest line runs past the right edge, so there is something to scroll to sideways.
    view.resize(360, view.height())
    view.show_diff(big_diffs["new_file"], token="keys")
    # A big diff's widest line is measured between paints; the horizontal bar (and the page height) settle after.
    qtbot.waitUntil(lambda: not view.measuring)
    bar = view.verticalScrollBar()
    row_height = view.row_rect(0).height()

    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: bar.value() == 2 * row_height)

    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: bar.value() == 2 * row_height + view.viewport().height() - row_height)
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: bar.value() == 2 * row_height)

    notch = QWheelEvent(
        QPointF(50, 50),
        QPointF(view.mapToGlobal(QPoint(50, 50))),
        QPoint(),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QCoreApplication.sendEvent(view.viewport(), notch)
    qtbot.waitUntil(lambda: bar.value() > 2 * row_height)

    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.horizontalScrollBar().value() > 0


# --- the row model and lexing, without painting ---------------------------------------------------------------------


def test_rows_are_built_on_demand_with_a_header_per_hunk():
    old = "".join(f"line {n}\n" for n in range(1, 41)).encode()
    new = old.replace(b"line 5\n", b"line five\n").replace(b"line 30\n", b"line thirty\n")
    rows = DiffRows(compute_diff(old, new, "f.txt"))

    kinds = [row.kind for row in rows]
    assert kinds.count(RowKind.HUNK) == 2
    assert rows[0].text.startswith("@@ -2,7 +2,7 @@")
    removed = next(i for i, row in enumerate(rows) if row.text == "line 5")
    assert rows[removed].kind is RowKind.REMOVED and rows[removed].old_lineno == 5
    assert rows[rows.partner(removed)].text == "line five"
    assert rows.partner(rows.partner(removed)) == removed
    assert rows.partner(0) is None and rows.partner(1) is None
    assert rows.max_lineno == 33


def test_removed_lines_pair_in_order_with_the_added_lines_after_them():
    diff = compute_diff(b"keep\na\nb\nc\nkeep\n", b"keep\nA\nkeep\n", "pairs.txt")
    rows = DiffRows(diff)
    by_text = {row.text: i for i, row in enumerate(rows)}

    assert rows.partner(by_text["a"]) == by_text["A"]
    assert rows.partner(by_text["b"]) is None
    assert rows.partner(by_text["c"]) is None


def test_tabs_expand_to_the_next_stop_from_the_current_column():
    assert expand_tabs("\tpass", 0, 4) == ("    pass", 8)
    assert expand_tabs("ab\tc", 0, 4) == ("ab  c", 5)
    assert expand_tabs("\t", 2, 4) == ("  ", 4)
    assert expand_tabs("plain", 3, 4) == ("plain", 8)


def test_line_segments_merge_syntax_and_highlight_runs():
    segments = line_segments(12, [(0, 3, Keyword), (4, 9, Name.Function)], [(6, 12)])

    assert segments == [
        (0, 3, Keyword, False, 0),
        (3, 4, None, False, 0),
        (4, 6, Name.Function, False, 0),
        (6, 9, Name.Function, True, 0),
        (9, 12, None, True, 0),
    ]


def test_a_docstring_over_several_lines_is_coloured_on_each_of_them():
    lines = ["def f():", '    """One', '    two"""', "    return 1"]

    spans = [decode_spans(line_spans) for line_spans in spans_by_line(PythonLexer(), lines)]

    assert spans[0][0] == (0, 3, Keyword)
    assert any(start == 4 and end == 10 and token_type in String for start, end, token_type in spans[1])
    assert any(start == 0 and end == 10 and token_type in String for start, end, token_type in spans[2])
    assert spans[3][0] == (4, 10, Keyword)


def test_hunk_lines_rebuild_each_side_keyed_by_line_number():
    diff = compute_diff(OLD_PY, NEW_PY, "greet.py")

    documents = diff_documents(diff)

    old_lines, old_numbers = documents["old"]
    new_lines, new_numbers = documents["new"]
    assert dict(zip(old_numbers, old_lines, strict=False))[4] == "def greet(name):"
    assert dict(zip(new_numbers, new_lines, strict=False))[5] == "def greet(name, loud=False):"
    full = diff_documents(diff, new_text=NEW_PY.decode())
    assert full["new"][0][:2] == ["import os", "import sys"] and full["new"][1][:2] == [1, 2]


def test_lexer_comes_from_the_file_name_then_the_shebang_then_plain_text():
    assert choose_lexer("src/app.py", "").name == "Python"
    assert choose_lexer("bin/deploy", "#!/bin/bash\necho hi\n").name == "Bash"
    assert choose_lexer("NOTES", "").name == "Text only"
    assert choose_lexer("CHANGES", "* Fixed bug #12\n* Added a thing").name == "Text only"


def test_the_lexing_process_colours_exactly_as_lexing_here_and_stops_a_request_that_went_stale(caplog):
    from app.ui import syntax

    diff = compute_diff(OLD_PY, NEW_PY, "greet.py")
    here = syntax.colour_diff(diff)
    slices: list[dict] = []

    in_child = syntax.colour_diff(diff, deliver=lambda colours, final: slices.append(colours), lex=syntax.lex_in_child)

    assert in_child == here and in_child["new"]
    assert syntax._lex_process._process is not None and syntax._lex_process._process.poll() is None
    assert {key for piece in slices for key in piece.get("new", {})} == set(here["new"])
    # A long document, dropped after a few checks: the child stops it, and serves the next request at once.
    long_text = ("def f(x):\n    return x + 1\n" * 20_000).encode()
    long_diff = compute_diff(None, long_text, "long.py")
    checks = iter(range(1_000_000))
    assert syntax.colour_diff(long_diff, is_stale=lambda: next(checks) > 3, lex=syntax.lex_in_child) is None
    assert syntax.colour_diff(diff, lex=syntax.lex_in_child) == here
    assert "lexing process unavailable" not in caplog.text
