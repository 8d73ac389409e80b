"""The diff view's reading tools: unified/side-by-side, folds, hunk navigation, search, wrap, whitespace, keys."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.domain.diffing import compute_diff
from app.ui.diff_rows import DiffRows, RowKind, wrap_runs, wrapped_line_count
from app.ui.diff_view import DiffView
from app.ui.palette import LIGHT
from tests.ui.test_diff_view import grab_image, pixels_near, row_area


def numbered_file(count: int) -> str:
    return "".join(f"value_{number} = compute({number})\n" for number in range(1, count + 1))


def edited(text: str, replacements: dict[int, str]) -> str:
    lines = text.splitlines(keepends=True)
    for number, line in replacements.items():
        lines[number - 1] = line
    return "".join(lines)


# Four hunks far apart in a 400-line file: gaps of hundreds of unchanged lines between them.
OLD = numbered_file(400)
NEW = edited(
    OLD,
    {
        20: "value_20 = recompute(20)\n",
        120: "value_120 = compute(120, strict=True)\n",
        121: "value_121 = compute(121)  # checked\n",
        250: "\tvalue_250  =  compute(250)\n",
        390: "value_390 = compute(390)\nextra_line = 1\n",
    },
)


@pytest.fixture
def view(qtbot) -> DiffView:
    widget = DiffView()
    qtbot.addWidget(widget)
    widget.resize(900, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def four_hunks(view) -> DiffView:
    view.show_diff(compute_diff(OLD.encode(), NEW.encode(), "values.py"), token="four", old_text=OLD, new_text=NEW)
    return view


def header_visible(view: DiffView, hunk: int) -> bool:
    rect = view.row_rect(view.rows.hunk_row(hunk))
    return rect.top() >= 0 and rect.bottom() < view.viewport().height()


def focus_and_wait(qtbot, widget: QWidget) -> None:
    widget.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: widget.hasFocus())


# --- side by side -------------------------------------------------------------------------------------------------


def test_side_by_side_puts_each_removed_line_beside_the_added_line_it_became():
    old = "keep 1\nold a\nold b\nold c\nkeep 2\nkeep 3\n"
    new = "keep 1\nnew a\nkeep 2\nkeep 3\nadded x\nadded y\n"
    rows = DiffRows(compute_diff(old.encode(), new.encode(), "pairs.txt"), split=True)

    cells = [
        tuple(None if cell is None else (cell.kind, cell.text) for cell in rows.entry(index).cells)
        for index in range(len(rows))
    ]

    assert cells[0][0][0] is RowKind.HUNK and len(cells[0]) == 1
    assert cells[1:] == [
        ((RowKind.CONTEXT, "keep 1"), (RowKind.CONTEXT, "keep 1")),
        ((RowKind.REMOVED, "old a"), (RowKind.ADDED, "new a")),
        ((RowKind.REMOVED, "old b"), None),
        ((RowKind.REMOVED, "old c"), None),
        ((RowKind.CONTEXT, "keep 2"), (RowKind.CONTEXT, "keep 2")),
        ((RowKind.CONTEXT, "keep 3"), (RowKind.CONTEXT, "keep 3")),
        (None, (RowKind.ADDED, "added x")),
        (None, (RowKind.ADDED, "added y")),
    ]
    # Every line of the unified view has exactly one place in the split view, and back.
    rows.set_split(False)
    unified_keys = [key for index in range(len(rows)) for key in rows.entry(index).keys if key is not None]
    rows.set_split(True)
    assert [rows.display_index(key) for key in unified_keys] == [1, 2, 3, 4, 2, 5, 6, 7, 8]


def test_t_toggles_side_by_side_and_back_keeping_the_current_hunk_in_view(four_hunks, qtbot):
    view = four_hunks
    focus_and_wait(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_N)
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert view.current_hunk == 2 and header_visible(view, 2)
    unified = grab_image(view, "mode_unified")

    with qtbot.waitSignal(view.mode_changed) as changed:
        qtbot.keyClick(view, Qt.Key.Key_T)

    assert changed.args == ["split"] and view.mode == "split"
    assert header_visible(view, 2)
    split = grab_image(view, "mode_split")
    grab_image(view, "split").save("/tmp/dv_split.png")
    # Line 250 changed: old on the left half, new on the right half of the same row.
    row = view.rows.display_index((5, 3))
    entry = view.rows.entry(row)
    assert [cell.kind for cell in entry.cells] == [RowKind.REMOVED, RowKind.ADDED]
    assert entry.cells[0].old_lineno == 250 and entry.cells[1].new_lineno == 250
    area = row_area(view, row)
    left, right = (
        QRect(area.left(), area.top(), area.width() // 2, area.height()),
        area.adjusted(area.width() // 2, 0, 0, 0),
    )
    # Line 250 only changed its whitespace (a tab, doubled spaces), so both halves are drawn dimmed.
    assert view.whitespace_only_row(row)
    assert pixels_near(split, view._faded(LIGHT.removed_background), left, tolerance=0) > 500
    assert pixels_near(split, view._faded(LIGHT.added_background), right, tolerance=0) > 500
    assert split != unified

    view.set_mode("unified")
    assert view.mode == "unified" and header_visible(view, 2)
    with pytest.raises(ValueError, match="unified"):
        view.set_mode("sideways")


# --- folds ------------------------------------------------------------------------------------------------------------


def test_unchanged_regions_fold_and_expand_by_x_by_click_and_all_at_once(four_hunks, qtbot):
    view = four_hunks
    rows = view.rows
    assert rows.folds() == [0, 1, 2, 3, 4]
    fold_rows = [rows.entry(rows.fold_row(gap)).cells[0] for gap in rows.folds()]
    assert [row.text for row in fold_rows] == [
        "⋯ 16 unchanged lines",
        "⋯ 93 unchanged lines",
        "⋯ 122 unchanged lines",
        "⋯ 134 unchanged lines",
        "⋯ 7 unchanged lines",
    ]
    image = grab_image(view, "folds")
    image.save("/tmp/dv_folds.png")
    assert pixels_near(image, LIGHT.fold_background, row_area(view, rows.fold_row(0)), tolerance=0) > 1000
    count_before = len(rows)

    focus_and_wait(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_X)  # the fold above the current (first) hunk

    assert rows.folds() == [1, 2, 3, 4] and len(rows) == count_before - 1 + 16
    assert [rows[index].old_lineno for index in range(16)] == list(range(1, 17))
    assert rows[0].kind is RowKind.CONTEXT and rows[0].text == "value_1 = compute(1)"

    fold = rows.fold_row(1)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(200, view.row_rect(fold).center().y()))
    assert rows.folds() == [2, 3, 4]
    assert rows[fold].old_lineno == 24 and rows[fold].new_lineno == 24

    qtbot.keyClick(view, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)
    assert rows.folds() == []
    assert len(rows) == 4 + 401 + 4  # headers, every line of the new file, and the four removed lines
    assert rows[len(rows) - 1].new_lineno == 401


# --- hunk navigation -----------------------------------------------------------------------------------------------


def test_n_and_p_move_between_hunks_scroll_them_into_view_and_mark_the_current_one(four_hunks, qtbot):
    view = four_hunks
    view.resize(900, 200)
    seen: list[int] = []
    view.current_hunk_changed.connect(seen.append)
    focus_and_wait(qtbot, view)
    assert view.hunk_count == 4 and view.current_hunk == 0

    for _ in range(5):
        qtbot.keyClick(view, Qt.Key.Key_N)
    assert seen == [1, 2, 3] and view.current_hunk == 3 and header_visible(view, 3)
    image = grab_image(view, "current_hunk")
    header = row_area(view, view.rows.hunk_row(3))
    bar = QRect(header.left(), header.top(), 3, header.height())
    assert pixels_near(image, LIGHT.current_hunk, bar, tolerance=0) >= 3 * (header.height() - 1)

    qtbot.keyClick(view, Qt.Key.Key_P)
    assert view.current_hunk == 2 and header_visible(view, 2)

    # Scrolled away by hand: n goes to the next hunk after what is on screen, not after the old marker.
    view.verticalScrollBar().setValue(0)
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert view.current_hunk == 0 or header_visible(view, view.current_hunk)
    assert view.current_hunk in (0, 1)


def test_hunk_marks_draw_a_verdict_badge_on_each_judged_header(four_hunks):
    view = four_hunks
    view.set_hunk_marks({0: "approve", 1: "rejected", 3: "bogus"})

    image = grab_image(view, "hunk_marks")
    image.save("/tmp/dv_hunk_marks.png")
    first = row_area(view, view.rows.hunk_row(0))
    second = row_area(view, view.rows.hunk_row(1))
    assert pixels_near(image, LIGHT.approve_badge, first, tolerance=0) > 100
    assert pixels_near(image, LIGHT.reject_badge, first, tolerance=0) == 0
    assert pixels_near(image, LIGHT.reject_badge, second, tolerance=0) > 100
    assert view.hunk_marks == {0: "approve", 1: "rejected", 3: "bogus"}


# --- search --------------------------------------------------------------------------------------------------------


def test_slash_opens_find_enter_walks_matches_even_inside_folds_and_esc_closes(four_hunks, qtbot):
    view = four_hunks
    focus_and_wait(qtbot, view)

    qtbot.keyClick(view, Qt.Key.Key_Slash)
    assert view.find_bar.isVisible() and view.find_bar.edit.hasFocus()
    qtbot.keyClicks(view.find_bar.edit, "compute(33")  # lines 33 and 330..339, all in folds

    assert [match[0] for match in view.matches][:1] and len(view.matches) == 11
    key, start, end = view.matches[view.current_match]
    index = view.rows.display_index(key)
    assert index is not None and view.rows[index].old_lineno == 33
    assert 0 <= view.row_rect(index).top() < view.viewport().height()
    assert view.find_bar.count.text() == "1 of 11"
    image = grab_image(view, "search")
    image.save("/tmp/dv_search.png")
    assert pixels_near(image, LIGHT.search_current, row_area(view, index), tolerance=0) > 50

    qtbot.keyClick(view.find_bar.edit, Qt.Key.Key_Return)
    assert view.current_match == 1 and view.find_bar.count.text() == "2 of 11"
    second = view.rows.display_index(view.matches[1][0])
    assert view.rows[second].old_lineno == 330
    assert 0 <= view.row_rect(second).top() < view.viewport().height()
    qtbot.keyClick(view.find_bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert view.current_match == 0
    qtbot.keyClick(view.find_bar.edit, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert view.current_match == 10

    qtbot.keyClick(view.find_bar.edit, Qt.Key.Key_Escape)
    assert not view.find_bar.isVisible() and view.matches == []
    assert view.hasFocus()

    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert view.find_bar.isVisible()
    view.find_bar.edit.setText("no such text anywhere")
    assert view.matches == [] and view.find_bar.count.text() == "no matches"


def test_search_is_case_sensitive_only_when_the_query_has_capitals(four_hunks):
    view = four_hunks
    view.set_search("VALUE_20 ")
    assert view.matches == []
    view.set_search("value_20 ")
    assert len(view.matches) == 2  # the removed and the added line


# --- wrap and whitespace ------------------------------------------------------------------------------------------


def test_w_wraps_long_lines_inside_the_view_and_back(view, qtbot):
    long_line = "payload = [" + ", ".join(f"'item {n}'" for n in range(60)) + "]"
    old = "first = 1\nsecond = 2\n"
    new = f"first = 1\n{long_line}\nsecond = 2\n"
    view.show_diff(compute_diff(old.encode(), new.encode(), "long.py"), token="long")
    added = next(index for index in range(len(view.rows)) if view.rows[index].kind is RowKind.ADDED)
    one_line = view.row_rect(added).height()
    assert view.horizontalScrollBar().maximum() > 0
    focus_and_wait(qtbot, view)

    qtbot.keyClick(view, Qt.Key.Key_W)

    assert view.wrap
    columns = int((view.viewport().width() - view._text_left) // view._char_width)
    # Lines end between words, so a few columns at the end of some lines stay empty.
    expected_lines = wrapped_line_count([(len(long_line), True, long_line)], columns)
    assert expected_lines >= -(-len(long_line) // columns) > 1
    assert view.row_rect(added).height() == one_line * expected_lines
    assert view.row_rect(added + 1).top() == view.row_rect(added).bottom() + 1
    assert view.horizontalScrollBar().maximum() == 0
    image = grab_image(view, "wrapped")
    image.save("/tmp/dv_wrap.png")
    assert pixels_near(image, LIGHT.added_background, row_area(view, added), tolerance=0) > 3 * 1000

    qtbot.keyClick(view, Qt.Key.Key_W)
    assert not view.wrap and view.row_rect(added).height() == one_line


def test_wrapped_rows_are_measured_only_when_painted_even_at_100k_lines(view):
    text = "".join(f"line {n} " + "x" * (n % 300) + "\n" for n in range(100_000))
    view.show_diff(compute_diff(None, text.encode(), "wide.txt"), token="wide")

    started = time.perf_counter()
    view.set_wrap(True)
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    view.grab()
    elapsed = time.perf_counter() - started

    assert len(view._wrapped_lines) < 500
    last = view.row_rect(len(view.rows) - 1)
    assert last.height() > view.row_rect(0).height() and 0 <= last.top() and last.bottom() < view.viewport().height()
    assert elapsed < 3.0


def test_wrap_runs_split_text_anywhere_and_move_badges_whole():
    assert wrap_runs([(5, True), (4, False), (7, True)], 8) == [
        (0, 0, 5, 0, 0),
        (1, 0, 4, 1, 0),
        (2, 0, 4, 1, 4),
        (2, 4, 7, 2, 0),
    ]
    assert wrapped_line_count([(8, True)], 8) == 1
    assert wrapped_line_count([(8, True), (1, False)], 8) == 2


def test_wrap_ends_lines_between_words_and_cuts_only_words_longer_than_a_line():
    text = "result = self.compute(record, deadline=self.clock.now()) " + "x" * 30
    placed = wrap_runs([(len(text), True, text)], 24)
    lines: dict[int, str] = {}
    for _, first, end, line, _ in placed:
        lines[line] = lines.get(line, "") + text[first:end]

    assert "".join(lines.values()) == text
    assert list(lines.values()) == [
        "result = self.compute",
        "(record, deadline=self.",
        "clock.now()) ",
        "x" * 24,
        "x" * 6,
    ]
    assert all(len(piece) <= 24 for piece in lines.values())


def test_wrap_keeps_a_word_whole_across_syntax_runs_and_moves_badges_to_a_word_boundary():
    # "self" "." "compute" arrive as three coloured runs: the break still falls at the word boundary, not inside.
    runs = [(6, True, "value "), (4, True, "self"), (1, True, "."), (7, True, "compute"), (4, False), (3, True, "end")]
    placed = wrap_runs(runs, 14)

    by_line: dict[int, list[tuple[int, int, int]]] = {}
    for run, first, end, line, _column in placed:
        by_line.setdefault(line, []).append((run, first, end))
    assert by_line[0] == [(0, 0, 6), (1, 0, 4), (2, 0, 1)]
    assert by_line[1] == [(3, 0, 7), (4, 0, 4), (5, 0, 3)]
    assert wrapped_line_count(runs, 14) == 2


def test_w_wraps_a_line_of_words_at_spaces_in_the_painted_view(view, qtbot):
    words = " ".join(f"word{n:02d}" for n in range(80))
    old = "first = 1\n"
    new = f"first = 1\ntext = '{words}'\n"
    view.show_diff(compute_diff(old.encode(), new.encode(), "words.py"), token="words")
    added = next(index for index in range(len(view.rows)) if view.rows[index].kind is RowKind.ADDED)
    view.set_wrap(True)

    columns = int(view._text_area_width() // view._char_width)
    line = view.rows[added].text
    placed = wrap_runs([(len(line), True, line)], columns)
    starts = [first for _, first, _, _, column in placed if column == 0][1:]
    assert starts and all(line[start - 1] == " " or line[start] in "([{+" for start in starts)
    assert all(not line[start:].startswith("ord") for start in starts)
    assert view.row_rect(added).height() == view.row_rect(0).height() * (placed[-1][3] + 1)
    grab_image(view, "wrapped_words").save("/tmp/dv_wrap_words.png")


def test_shift_w_marks_spaces_and_tabs_on_changed_lines_only(four_hunks, qtbot):
    view = four_hunks
    view.set_current_hunk(2)
    row = view.rows.display_index((5, 4))  # the added line "\tvalue_250  =  compute(250)"
    context = view.rows.display_index((5, 0))
    plain = grab_image(view, "whitespace_off")
    focus_and_wait(qtbot, view)

    qtbot.keyClick(view, Qt.Key.Key_W, Qt.KeyboardModifier.ShiftModifier)

    assert view.show_whitespace
    marked = grab_image(view, "whitespace_on")
    marked.save("/tmp/dv_whitespace.png")

    def changed_pixels(index: int) -> int:
        area = row_area(view, index).adjusted(int(view._text_left), 0, 0, 0)
        return sum(
            plain.pixel(x, y) != marked.pixel(x, y)
            for y in range(area.top(), area.bottom() + 1)
            for x in range(area.left(), area.right() + 1)
        )

    assert changed_pixels(row) > 10  # a tab arrow and four dots
    assert changed_pixels(context) == 0


def test_a_whitespace_only_change_is_dimmed_and_shift_w_still_shows_its_whitespace(view, qtbot):
    old = "def f():\n    return 1\nvalue = 2\nname = 'a'\nlast = 3\n"
    new = "def f():\n\treturn 1\nvalue = 2   \nname = 'b'\nlast = 3\n"
    view.show_diff(compute_diff(old.encode(), new.encode(), "spaces.py"), token="spaces")

    def row_of(kind: RowKind, text: str) -> int:
        rows = view.rows
        return next(index for index in range(len(rows)) if rows[index].kind is kind and rows[index].text == text)

    reindented = (row_of(RowKind.REMOVED, "    return 1"), row_of(RowKind.ADDED, "\treturn 1"))
    trailing = (row_of(RowKind.REMOVED, "value = 2"), row_of(RowKind.ADDED, "value = 2   "))
    edited_line = (row_of(RowKind.REMOVED, "name = 'a'"), row_of(RowKind.ADDED, "name = 'b'"))
    assert all(view.whitespace_only_row(index) for index in reindented + trailing)
    assert not any(view.whitespace_only_row(index) for index in edited_line)
    assert not view.whitespace_only_row(row_of(RowKind.CONTEXT, "def f():"))

    plain = grab_image(view, "whitespace_only_dimmed")
    plain.save("/tmp/dv_whitespace_dimmed.png")
    text_area = lambda index: row_area(view, index).adjusted(int(view._text_left), 0, 0, 0)  # noqa: E731
    # The real edit keeps the full green; the re-indented line is drawn in a faded green and grey text.
    assert pixels_near(plain, LIGHT.added_background, text_area(edited_line[1]), tolerance=0) > 1000
    assert pixels_near(plain, LIGHT.added_background, text_area(reindented[1]), tolerance=0) == 0
    assert pixels_near(plain, view._faded(LIGHT.added_background), text_area(reindented[1]), tolerance=0) > 1000
    assert pixels_near(plain, LIGHT.muted, text_area(reindented[1]), tolerance=30) > 5

    # Split mode pairs the same lines side by side: the row is dimmed there too.
    view.set_mode("split")
    split_row = next(
        index
        for index in range(len(view.rows))
        if view.rows.entry(index).cells[0] is not None and view.rows.entry(index).cells[0].text == "    return 1"
    )
    assert view.whitespace_only_row(split_row)
    view.set_mode("unified")

    focus_and_wait(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_W, Qt.KeyboardModifier.ShiftModifier)
    assert view.show_whitespace
    shown = grab_image(view, "whitespace_only_shown")
    shown.save("/tmp/dv_whitespace_dimmed_shown.png")
    assert pixels_near(shown, LIGHT.whitespace_mark, text_area(trailing[1]), tolerance=60) > pixels_near(
        plain, LIGHT.whitespace_mark, text_area(trailing[1]), tolerance=60
    )
    assert view.whitespace_only_row(trailing[1])


# --- keys on an owner ------------------------------------------------------------------------------------------------


def test_installed_keys_work_while_the_owner_keeps_focus_and_never_take_a_r_or_e(qtbot):
    owner = QWidget()
    owner.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view = DiffView(owner)
    view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    QVBoxLayout(owner).addWidget(view)
    view.install_keys(owner)
    qtbot.addWidget(owner)
    owner.resize(800, 400)
    owner.show()
    qtbot.waitExposed(owner)
    view.show_diff(compute_diff(OLD.encode(), NEW.encode(), "values.py"), token="owned", old_text=OLD, new_text=NEW)
    focus_and_wait(qtbot, owner)

    qtbot.keyClick(owner, Qt.Key.Key_N)
    qtbot.keyClick(owner, Qt.Key.Key_T)
    assert view.current_hunk == 1 and view.mode == "split"
    # Clicking into the view and typing there reaches the same keys, once (no ambiguous duplicates).
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert view.current_hunk == 2

    sequences = {shortcut.key().toString() for shortcut in view._shortcuts}
    assert not sequences & {"A", "R", "E", "Shift+A", "Shift+R", "Shift+E"}
    assert {"T", "N", "P", "X", "Shift+X", "W", "Shift+W", "/", "Ctrl+F", "F3", "Shift+F3"} <= sequences
    assert "n/p hunk" in view.legend.text() and "side by side" in view.legend.text()


# --- size -------------------------------------------------------------------------------------------------------------


def test_a_100k_line_diff_opens_and_paints_fast_in_split_mode(view):
    lines = [f"value_{number} = compute({number})\n" for number in range(100_000)]
    new_lines = [
        line.replace("compute", "recompute") if number % 500 == 0 else line for number, line in enumerate(lines)
    ]
    old, new = "".join(lines), "".join(new_lines)
    diff = compute_diff(old.encode(), new.encode(), "big.py", context_lines=200_000)
    view.set_mode("split")

    started = time.perf_counter()
    view.show_diff(diff, token="big-split")
    view.grab()
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    image = grab_image(view, "big_split_end")
    elapsed = time.perf_counter() - started

    assert len(view.rows) == 100_001
    last = view.rows.entry(len(view.rows) - 1)
    assert last.cells[0].old_lineno == 100_000 and last.cells[1].new_lineno == 100_000
    assert pixels_near(image, LIGHT.gutter_foreground, row_area(view, len(view.rows) - 1), tolerance=60) > 10
    assert elapsed < 3.0
