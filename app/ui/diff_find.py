"""The diff view's search: the find bar's query, its matches, and moving between them. A mixin of DiffView; it never
imports the view (the find bar widget lives in diff_search, the matching in diff_rows)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.diff_geometry import (
    Mode,
)
from app.ui.diff_rows import (
    MAX_MATCHES,
    DiffRows,
    LineKey,
    Match,
)


class DiffFind:
    """Search in the shown rows."""

    # --- search --------------------------------------------------------------------------------------------------

    def open_find(self) -> None:
        if not self.find_bar.isVisible():
            focused = QApplication.focusWidget()
            self._focus_before_find = focused if focused is not self.find_bar.edit else None
            self.find_bar.show()
            self._place_children()
        self.find_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_bar.edit.selectAll()

    def close_find(self) -> None:
        if not self.find_bar.isVisible():
            return
        self.find_bar.hide()
        self._matches, self._matches_by_key, self._match_index = [], {}, -1
        self._query = ""
        self._place_children()
        self.viewport().update()
        back = self._focus_before_find
        self._focus_before_find = None
        if back is not None and back.isVisible():
            back.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def matches(self) -> list[Match]:
        return list(self._matches)

    @property
    def current_match(self) -> int:
        return self._match_index

    def set_search(self, query: str) -> None:
        """Find ``query`` in every line (folded ones too) and go to the first hit at or after the top of the view."""
        self._query = query
        rows = self._rows
        if self._mode is not Mode.ROWS or not rows or not query:
            self._matches, self._matches_by_key, self._match_index = [], {}, -1
            self.find_bar.show_count(-1, 0)
            self.viewport().update()
            return
        self._matches = rows.search(query)  # type: ignore[union-attr]
        by_key: dict[LineKey, list[tuple[int, int, int]]] = {}
        for number, (key, start, end) in enumerate(self._matches):
            by_key.setdefault(key, []).append((start, end, number))
        self._matches_by_key = by_key
        if not self._matches:
            self._match_index = -1
            self.find_bar.show_count(-1, 0)
            self.viewport().update()
            return
        top = self.row_at(0)
        start_at = 0
        if top is not None and isinstance(rows, DiffRows):
            top_key = next((key for key in rows.entry(top).keys if key is not None), None)
            if top_key is not None:
                start_at = next((n for n, match in enumerate(self._matches) if match[0] >= top_key), 0)
        self._go_to_match(start_at)

    def _refresh_search(self) -> None:
        if self.find_bar.isVisible() and self.find_bar.query:
            self.set_search(self.find_bar.query)

    def find_next(self) -> None:
        self._step_match(1)

    def find_previous(self) -> None:
        self._step_match(-1)

    def _step_match(self, step: int) -> None:
        if not self._matches:
            if self.find_bar.query and self.find_bar.query != self._query:
                self.set_search(self.find_bar.query)
            elif not self.find_bar.isVisible():
                self.open_find()
            return
        self._go_to_match((self._match_index + step) % len(self._matches))

    def _go_to_match(self, number: int) -> None:
        self._match_index = number
        key, start, _ = self._matches[number]
        rows = self._rows
        index = rows.display_index(key)  # type: ignore[union-attr]
        if index is None and isinstance(rows, DiffRows):
            gap = rows.gap_of(key)
            if gap is not None:
                rows.expand(gap)
                self._relayout(None)
            index = rows.display_index(key)
        if index is not None:
            rect = self.row_rect(index)
            if rect.top() < 0 or rect.bottom() >= self.viewport().height():
                self.scroll_to_row(index, margin_rows=max(1, self._visible_row_count() // 3))
            self._reveal_column(start)
            hunk = rows.hunk_at(index)  # type: ignore[union-attr]
            if hunk is not None and hunk != self._current_hunk:
                self.set_current_hunk(hunk, scroll=False)
        self.find_bar.show_count(number, len(self._matches), capped=len(self._matches) >= MAX_MATCHES)
        self.viewport().update()

    def _reveal_column(self, column: int) -> None:
        if self._wrap:
            return
        bar = self.horizontalScrollBar()
        x = column * self._char_width
        area = self._text_area_width()
        if x < bar.value() or x > bar.value() + area - 4 * self._char_width:
            bar.setValue(max(0, round(x - area / 3)))
