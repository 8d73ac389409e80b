"""The diff gets most of the window: at the default size it has over half the review area's height and nearly all its
width; a short diff shows no horizontal scroll bar; side by side never hides the end of a long line."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from app.domain.diffing import compute_diff
from app.domain.tools import EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.ui.diff_rows import RowKind
from app.ui.diff_view import DiffView
from app.ui.main_window import DEFAULT_SIZE
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import start_task

# About a hundred columns: the longest line of a typical short diff (the demo's docstring is 98).
DOCSTRING = '    """Trim the spaces and start each word with a capital: \'  ada lovelace \' -> \'Ada Lovelace\'."""\n'
OLD = "def tidy_name(raw: str) -> str:\n" + DOCSTRING + "    return raw.strip().capitalize()\n"
NEW = (
    "def tidy_name(raw: str) -> str:\n" + DOCSTRING + '    return " ".join(word.capitalize() for word in raw.split())\n'
)
LONG_OLD = "x = compute(" + ", ".join(f"arg_{n}" for n in range(40)) + ")  # END_OLD\n"
LONG_NEW = "x = compute(" + ", ".join(f"argument_{n}" for n in range(40)) + ")  # END_NEW\n"


@pytest.fixture
def view(qtbot) -> DiffView:
    widget = DiffView()
    qtbot.addWidget(widget)
    widget.resize(900, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_at_the_default_size_the_diff_gets_over_half_the_review_area_and_no_scroll_bar(
    qtbot, qasync_loop, stack_factory
):
    change = tool_use_block(
        EDITOR_TOOL_NAME,
        {
            "command": "str_replace",
            "path": "names.py",
            "old_str": "raw.strip().capitalize()",
            "new_str": NEW.split("\n")[2].strip()[7:],
        },
    )
    stack = stack_factory([tool_turn(change), text_turn("Done.")], files={"names.py": OLD})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    driver.window.resize(*DEFAULT_SIZE)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the edit waiting")
        window.grab().save("/tmp/layout-default.png")
        area = panel.parentWidget()  # the splitter of transcript and review pane
        diff = panel.diff_view
        shares = (diff.height() / area.height(), diff.width() / window.pages.width())
        scroll_bar = diff.horizontalScrollBar().isVisible()
        await driver.close()
        return shares, scroll_bar

    (height_share, width_share), scroll_bar = qasync_loop.run_until_complete(scenario())
    assert height_share >= 0.5, f"the diff has {height_share:.0%} of the review area's height"
    assert width_share >= 0.6, f"the diff has {width_share:.0%} of the window's width"
    assert not scroll_bar, "a diff whose lines fit shows no horizontal scroll bar"


def test_a_short_diff_whose_lines_fit_has_nothing_to_scroll_sideways(view):
    view.show_diff(compute_diff(OLD.encode(), NEW.encode(), "names.py"), token="short", old_text=OLD, new_text=NEW)
    view.grab()
    QApplication.processEvents()
    assert view._text_area_width() > len(DOCSTRING) * view._char_width, "the lines fit"
    assert view.horizontalScrollBar().maximum() == 0 and not view.horizontalScrollBar().isVisible()


def test_a_line_wider_than_the_view_still_scrolls_to_its_end(view):
    view.show_diff(compute_diff(LONG_OLD.encode(), LONG_NEW.encode(), "long.py"), token="long")
    bar = view.horizontalScrollBar()
    assert bar.maximum() + view._text_area_width() >= len(LONG_NEW.rstrip()) * view._char_width


def test_side_by_side_wraps_a_line_too_long_for_its_half_and_unified_unwraps_it(view):
    view.show_diff(compute_diff(LONG_OLD.encode(), LONG_NEW.encode(), "long.py"), token="long")
    assert not view.wrap
    view.set_mode("split")
    assert view.wrap, "side by side, each half wraps its long lines"
    changed = next(
        i
        for i in range(len(view.rows))
        if any(cell is not None and cell.kind is RowKind.ADDED for cell in view.rows.entry(i).cells)
    )
    one_line = view.row_rect(0).height()
    half_columns = int(view._text_area_width() // view._char_width)
    assert view.row_rect(changed).height() >= one_line * -(-len(LONG_NEW.rstrip()) // half_columns)
    view.grab().save("/tmp/layout-split-wrapped.png")
    view.set_mode("unified")
    assert not view.wrap


def test_after_w_side_by_side_keeps_lines_whole_and_scrolls_to_their_end(view):
    view.show_diff(compute_diff(LONG_OLD.encode(), LONG_NEW.encode(), "long.py"), token="long")
    view.set_mode("split")
    view.toggle_wrap()
    assert not view.wrap
    bar = view.horizontalScrollBar()
    assert bar.maximum() + view._text_area_width() >= len(LONG_NEW.rstrip()) * view._char_width
    view.set_mode("unified")
    view.set_mode("split")
    assert not view.wrap, "the person's choice holds"
