"""The diff view's geometry: font measures, columns, wrapped row heights, scroll bars, row rectangles, and the
constants every part of the view shares. A mixin of DiffView; it never imports the view."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator

from PySide6.QtCore import QRect
from PySide6.QtGui import (
    QFont,
    QFontInfo,
    QFontMetricsF,
)
from PySide6.QtWidgets import QApplication

from app.ui.diff_rows import (
    CommandRows,
    DiffRows,
    Row,
    RowKind,
    wrapped_line_count,
)
from app.ui.diff_search import key_legend


class Mode(enum.Enum):
    EMPTY = enum.auto()
    MESSAGE = enum.auto()
    BINARY = enum.auto()
    ROWS = enum.auto()


PAD = 8
BADGE_PAD = 4
SCROLL_MS = 110
BAR_WIDTH = 3
# Lines lexed first around the visible ones, so a scroll right after opening still lands on colour.
WINDOW_MARGIN_ROWS = 60
# How far row_rect walks through wrapped rows before it settles for an estimate.
WRAP_WALK_LIMIT = 2000


# Verdict badges on hunk headers, by the first letters of the mark the review panel sets.
VERDICTS = {"approve": "✓ approved", "reject": "✕ rejected", "edit": "✎ edited"}

# Lines to lex first: side -> (line key, text), in line order.
Window = dict[str, list[tuple[int, str]]]

# A text run to paint: (kind, text, token type, intraline highlight?, search match 0/1/2). Kinds: "text",
# "tab" (text is the padding), "badge" (a hidden character's label), "note" (CRLF and the like, after the text).
Run = tuple[str, str, object, bool, int]


class DiffGeometry:
    """Where each row lies on screen, and how far the view scrolls."""

    # --- geometry -----------------------------------------------------------------------------------------------

    def _measure_font(self) -> None:
        metrics = self._metrics = QFontMetricsF(self.font())
        self._char_width = metrics.horizontalAdvance("0")
        # With a fixed-pitch font an ASCII run is len × char width: no text measuring per run while painting.
        self._fixed_pitch = QFontInfo(self.font()).fixedPitch()
        self._ascent = metrics.ascent()
        self._row_height = math.ceil(metrics.height()) + 4
        self._badge_font = QFont(self.font())
        self._badge_font.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.8))
        self._badge_metrics = QFontMetricsF(self._badge_font)
        self._wrapped_lines = {}
        self._layout_columns()

    def _layout_columns(self) -> None:
        """Per cell: line-number columns (two in unified, one per side in split, none for commands), sign, text."""
        if isinstance(self._rows, CommandRows):
            self._number_width = 0.0
            self._numbers_per_cell = 0
        else:
            digits = max(3, len(str(getattr(self._rows, "max_lineno", 0))))
            self._number_width = digits * self._char_width + 2 * PAD
            self._numbers_per_cell = 1 if self._is_split() else 2
        self._gutter_width = self._numbers_per_cell * self._number_width
        self._sign_width = 2 * self._char_width + PAD
        self._text_left = self._gutter_width + self._sign_width
        self._update_scrollbars()

    def _is_split(self) -> bool:
        return self._split and isinstance(self._rows, DiffRows)

    def _cells(self) -> list[tuple[float, float]]:
        """(left, width) of each side's cell in the viewport."""
        width = self.viewport().width()
        if self._is_split():
            half = width // 2
            return [(0.0, float(half)), (float(half), float(width - half))]
        return [(0.0, float(width))]

    def _text_area_width(self) -> float:
        return max(self._char_width, min(width for _, width in self._cells()) - self._text_left)

    def width_for_columns(self, columns: int) -> int:
        """The view's width that shows ``columns`` columns of text beside the line numbers (and the scroll bar)."""
        frame = 2 * self.frameWidth()
        bar = self.verticalScrollBar().sizeHint().width()
        return math.ceil(self._text_left + columns * self._char_width) + bar + frame

    def columns_shown(self) -> int:
        """How many columns of text the narrowest side shows now."""
        return int(self._text_area_width() // self._char_width)

    def _update_scrollbars(self) -> None:
        viewport = self.viewport()
        vertical = self.verticalScrollBar()
        horizontal = self.horizontalScrollBar()
        count = len(self._rows) if self._mode is Mode.ROWS else 0
        if self._wrap:
            vertical.setRange(0, self._last_top_row(count))
            vertical.setPageStep(max(1, self._visible_row_count()))
            vertical.setSingleStep(1)
            horizontal.setRange(0, 0)
            return
        vertical.setRange(0, max(0, count * self._row_height - viewport.height()))
        vertical.setPageStep(viewport.height())
        vertical.setSingleStep(self._row_height)
        text_area = self._text_area_width()
        # A little room past the widest line; a line painted wider (a CRLF or no-newline badge, wide characters)
        # grows the range after its paint (_paint_rows), so a short diff never shows a scroll bar for nothing.
        content_width = max(self._content_columns * self._char_width, self._widest_painted) + 2 * self._char_width
        horizontal.setRange(0, max(0, math.ceil(content_width - text_area)) if count else 0)
        horizontal.setPageStep(round(text_area))
        horizontal.setSingleStep(round(4 * self._char_width))

    def _visible_row_count(self) -> int:
        return max(1, self.viewport().height() // self._row_height)

    def _last_top_row(self, count: int) -> int:
        """In wrap mode, the highest top row that still fills the viewport (measures only the last screenful)."""
        room = self.viewport().height()
        top = count
        used = 0
        while top > 0:
            height = self._row_lines(top - 1) * self._row_height
            if used + height > room:
                break
            used += height
            top -= 1
        return max(0, min(top, count - 1))

    def _row_lines(self, index: int) -> int:
        """Visual lines of a row: 1 unless wrapping; measured when first needed, then cached until a relayout."""
        if not self._wrap:
            return 1
        found = self._wrapped_lines.get(index)
        if found is None:
            entry = self._rows.entry(index)  # type: ignore[union-attr]
            found = 1
            if not entry.spans_both or entry.cells[0].kind not in (RowKind.HUNK, RowKind.FOLD, RowKind.CWD):  # type: ignore[union-attr]
                columns = max(1, int(self._text_area_width() // self._char_width))
                for cell in entry.cells:
                    if cell is not None:
                        found = max(found, self._cell_lines(cell, columns))
            self._wrapped_lines[index] = found
        return found

    def _cell_lines(self, row: Row, columns: int) -> int:
        if len(row.text) < columns - 1 and "\t" not in row.text and not row.crlf and not row.no_newline:
            return 1
        runs = self._text_runs(row, (), (), ())
        return wrapped_line_count([self._run_columns(run) for run in runs], columns)

    def _rows_in(self, top: int, bottom: int) -> Iterator[tuple[int, int, int]]:
        """(index, y, height) of each row that meets viewport pixels top..bottom."""
        if self._mode is not Mode.ROWS:
            return
        count = len(self._rows)
        height = self._row_height
        if not self._wrap:
            scroll_y = self.verticalScrollBar().value()
            first = max(0, (scroll_y + top) // height)
            last = min(count, (scroll_y + bottom) // height + 1)
            for index in range(first, last):
                yield index, index * height - scroll_y, height
            return
        index = self.verticalScrollBar().value()
        y = 0
        while index < count and y <= bottom:
            row_height = self._row_lines(index) * height
            if y + row_height > top:
                yield index, y, row_height
            y += row_height
            index += 1

    def row_rect(self, index: int) -> QRect:
        """Where row ``index`` is (or would be) painted, in viewport coordinates."""
        width = self.viewport().width()
        if not self._wrap:
            top = index * self._row_height - self.verticalScrollBar().value()
            return QRect(0, top, width, self._row_height)
        first = self.verticalScrollBar().value()
        y = 0
        if index >= first:
            walk = range(first, min(index, first + WRAP_WALK_LIMIT))
            y = sum(self._row_lines(row) for row in walk) * self._row_height
            y += max(0, index - first - WRAP_WALK_LIMIT) * self._row_height
        else:
            walk = range(max(index, first - WRAP_WALK_LIMIT), first)
            y = -sum(self._row_lines(row) for row in walk) * self._row_height
            y -= max(0, first - WRAP_WALK_LIMIT - index) * self._row_height
        return QRect(0, y, width, self._row_lines(index) * self._row_height)

    def row_at(self, y: int) -> int | None:
        if self._mode is not Mode.ROWS:
            return None
        if not self._wrap:
            index = (self.verticalScrollBar().value() + y) // self._row_height
            return index if 0 <= index < len(self._rows) else None
        for index, top, height in self._rows_in(y, y):
            if top <= y < top + height:
                return index
        return None

    def scroll_to_row(self, index: int, *, margin_rows: int = 1) -> None:
        """Put row ``index`` near the top, ``margin_rows`` below it (clamped at the ends)."""
        self._scroller.stop()
        bar = self.verticalScrollBar()
        if self._wrap:
            bar.setValue(max(0, index - margin_rows))
        else:
            bar.setValue(max(0, (index - margin_rows) * self._row_height))

    def _place_children(self) -> None:
        """The find bar above the viewport, the key legend below it; the viewport gives up room for each."""
        find_height = self.find_bar.sizeHint().height() if self.find_bar.isVisible() else 0
        legend_height = self.legend.sizeHint().height() if self.legend.isVisible() else 0
        self.setViewportMargins(0, find_height, 0, legend_height)
        area = self.viewport().geometry()
        self.find_bar.setGeometry(area.left(), area.top() - find_height, area.width(), find_height)
        self.legend.setGeometry(area.left(), area.bottom() + 1, area.width(), legend_height)
        self._wrapped_lines = {}
        self._update_scrollbars()

    def _update_legend(self) -> None:
        show = self._mode is Mode.ROWS
        if show:
            parts = []
            if isinstance(self._rows, DiffRows):
                parts.append("side by side" if self._split else "unified")
                if self.hunk_count:
                    parts.append(f"hunk {self._current_hunk + 1} of {self.hunk_count}")
                folds = len(self._rows.folds())
                if folds:
                    parts.append(f"{folds} fold{'s' if folds != 1 else ''}")
            if self._wrap:
                parts.append("wrapped")
            if self._show_whitespace:
                parts.append("whitespace shown")
            legend = key_legend(command=not isinstance(self._rows, DiffRows))
            self.legend.setText("   ".join([" · ".join(parts), legend]) if parts else legend)
        if show != self.legend.isVisible():
            self.legend.setVisible(show)
            self._place_children()

    def _style_legend(self) -> None:
        colours = self._scheme
        self.legend.setStyleSheet(
            f"QLabel#diffKeyLegend {{ color: {colours.muted.name()}; background: {colours.gutter_background.name()};"
            f" border-top: 1px solid {colours.gutter_rule.name()}; }}"
        )
        font = QFont(QApplication.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        self.legend.setFont(font)
