"""The diff view's layout state: unified or split, wrap, whitespace marks, the anchor kept across a relayout, hunk
navigation and verdict marks, and folds. A mixin of DiffView; it never imports the view."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.diff_geometry import (
    Mode,
)
from app.ui.diff_rows import (
    DiffRows,
)


class DiffFolds:
    """Modes, hunks and folds of the shown diff."""

    # --- modes and toggles ----------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return "split" if self._split else "unified"

    def set_mode(self, mode: str) -> None:
        """ "unified" or "split" (side by side); the current hunk (or what is at the top) stays where it was."""
        if mode not in ("unified", "split"):
            raise ValueError(f"set_mode: mode must be 'unified' or 'split', got {mode!r}")
        split = mode == "split"
        if split == self._split:
            return
        anchor = self._anchor(prefer_current_hunk=True)
        self._split = split
        if isinstance(self._rows, DiffRows):
            self._rows.set_split(split)
        self._fit_sides()
        self._relayout(anchor)
        self.mode_changed.emit(self.mode)

    def toggle_mode(self) -> None:
        self.set_mode("unified" if self._split else "split")

    @property
    def wrap(self) -> bool:
        return self._wrap

    def set_wrap(self, wrap: bool) -> None:
        """Wrap long lines inside the viewport; scrolling then counts rows, so only painted rows are measured. A
        choice made here (W, or an owner's) holds from now on: side by side no longer wraps on its own."""
        self._wrap_chosen = True
        if wrap == self._wrap:
            return
        anchor = self._anchor()
        self._apply_wrap(wrap)
        self._relayout(anchor)

    def _apply_wrap(self, wrap: bool) -> None:
        self._wrap = wrap
        self._wrapped_lines = {}
        # A wrapped view never scrolls sideways: no empty scroll bar under it.
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if wrap else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )

    def _fit_sides(self) -> None:
        """Side by side, a line wider than its half wraps inside the half instead of running out of sight (until W
        or an owner chooses); back in unified, the view unwraps if only this wrapped it. No relayout here."""
        if self._wrap_chosen:
            return
        self._layout_columns()
        too_wide = self._content_columns * self._char_width > self._text_area_width()
        wrap = self._is_split() and too_wide
        if wrap != self._wrap:
            self._apply_wrap(wrap)
            self._update_scrollbars()

    def toggle_wrap(self) -> None:
        self.set_wrap(not self._wrap)

    @property
    def show_whitespace(self) -> bool:
        return self._show_whitespace

    def set_show_whitespace(self, show: bool) -> None:
        """Mark spaces (·) and tabs (→) on changed lines, where a whitespace-only change would otherwise hide."""
        self._show_whitespace = show
        self._update_legend()
        self.viewport().update()

    def toggle_whitespace(self) -> None:
        self.set_show_whitespace(not self._show_whitespace)

    def _relayout(self, anchor: tuple[object, int] | None) -> None:
        self._wrapped_lines = {}
        self._layout_columns()
        if anchor is not None:
            self._restore_anchor(anchor)
        self._update_legend()
        self.viewport().update()

    def _anchor(self, *, prefer_current_hunk: bool = False) -> tuple[object, int] | None:
        """What to keep in place across a relayout: the current hunk's header if on screen, else the top row."""
        if self._mode is not Mode.ROWS or not isinstance(self._rows, DiffRows) or not len(self._rows):
            return None
        if prefer_current_hunk and 0 <= self._current_hunk < self._rows.hunk_count:
            header = self._rows.hunk_row(self._current_hunk)
            top = self.row_rect(header).top()
            if 0 <= top < self.viewport().height():
                return ("hunk", self._current_hunk), top
        index = self.row_at(0)
        if index is None:
            return None
        return self._identity(index), self.row_rect(index).top()

    def _identity(self, index: int) -> object:
        entry = self._rows.entry(index)  # type: ignore[union-attr]
        key = next((key for key in entry.keys if key is not None), None)
        if key is not None:
            return ("line", key)
        if entry.fold is not None:
            return ("fold", entry.fold)
        return ("hunk", entry.hunk)

    def _resolve(self, identity: object) -> int | None:
        rows = self._rows
        if not isinstance(rows, DiffRows):
            return None
        kind, value = identity  # type: ignore[misc]
        if kind == "hunk":
            return rows.hunk_row(value)
        if kind == "fold":
            found = rows.fold_row(value)
            return found if found is not None else rows.display_index((2 * value, 0))
        return rows.display_index(value)

    def _restore_anchor(self, anchor: tuple[object, int]) -> None:
        identity, offset = anchor
        index = self._resolve(identity)
        if index is None:
            return
        self._scroller.stop()
        bar = self.verticalScrollBar()
        if self._wrap:
            bar.setValue(max(0, index - round(offset / self._row_height)))
        else:
            bar.setValue(index * self._row_height - offset)

    # --- hunks ---------------------------------------------------------------------------------------------------

    @property
    def hunk_count(self) -> int:
        return self._rows.hunk_count if self._mode is Mode.ROWS and isinstance(self._rows, DiffRows) else 0

    @property
    def current_hunk(self) -> int:
        """Index of the current hunk (n/p move it; the review panel judges it); -1 when no diff is shown."""
        return self._current_hunk

    def set_current_hunk(self, index: int, *, scroll: bool = True) -> None:
        count = self.hunk_count
        if not count:
            return
        index = max(0, min(count - 1, index))
        changed = index != self._current_hunk
        self._current_hunk = index
        if scroll:
            self.scroll_to_row(self._rows.hunk_row(index))  # type: ignore[union-attr]
        self.viewport().update()
        self._update_legend()
        if changed:
            self.current_hunk_changed.emit(index)

    def next_hunk(self) -> None:
        self._step_hunk(1)

    def previous_hunk(self) -> None:
        self._step_hunk(-1)

    def _step_hunk(self, step: int) -> None:
        count = self.hunk_count
        if not count:
            return
        rows: DiffRows = self._rows  # type: ignore[assignment]
        if self._hunk_on_screen(self._current_hunk):
            target = self._current_hunk + step
        else:
            # The reader scrolled away: move relative to what is on screen, not to where the marker was left.
            top = self.row_at(0) or 0
            headers = [rows.hunk_row(index) for index in range(count)]
            if step > 0:
                target = next((index for index, row in enumerate(headers) if row > top), count - 1)
            else:
                target = next((index for index in range(count - 1, -1, -1) if headers[index] < top), 0)
        self.set_current_hunk(target)

    def _hunk_on_screen(self, index: int) -> bool:
        if not 0 <= index < self.hunk_count:
            return False
        first, last = self._rows.hunk_span(index)  # type: ignore[union-attr]
        height = self.viewport().height()
        return self.row_rect(first).top() < height and self.row_rect(last).bottom() >= 0

    def set_hunk_marks(self, marks: dict[int, str]) -> None:
        """Verdict badges on hunk headers: hunk index -> "approve" / "reject" / "edit" (other marks are ignored)."""
        self._hunk_marks = dict(marks)
        self.viewport().update()

    @property
    def hunk_marks(self) -> dict[int, str]:
        return dict(self._hunk_marks)

    # --- folds ---------------------------------------------------------------------------------------------------

    def expand_fold(self, gap: int) -> bool:
        """Show the unchanged lines of one fold; what is at the top of the view stays put."""
        rows = self._rows
        if self._mode is not Mode.ROWS or not isinstance(rows, DiffRows) or not rows.is_folded(gap):
            return False
        anchor = self._anchor()
        if anchor is not None and anchor[0] == ("fold", gap):
            anchor = (("line", (2 * gap, 0)), anchor[1])
        rows.expand(gap)
        self._relayout(anchor)
        return True

    def expand_current_fold(self) -> bool:
        """The fold right above the current hunk, else right below it, else the first fold on screen."""
        rows = self._rows
        if self._mode is not Mode.ROWS or not isinstance(rows, DiffRows):
            return False
        folds = rows.folds()
        if not folds:
            return False
        height = self.viewport().height()
        on_screen = [gap for gap in folds if 0 <= self.row_rect(rows.fold_row(gap)).top() < height]  # type: ignore[arg-type]
        near = [gap for gap in (self._current_hunk, self._current_hunk + 1) if gap in folds]
        for gap in [gap for gap in near if gap in on_screen] + on_screen + near:
            return self.expand_fold(gap)
        return False

    def expand_all_folds(self) -> bool:
        rows = self._rows
        if self._mode is not Mode.ROWS or not isinstance(rows, DiffRows) or not rows.folds():
            return False
        anchor = self._anchor()
        if anchor is not None and anchor[0][0] == "fold":  # type: ignore[index]
            anchor = (("line", (2 * anchor[0][1], 0)), anchor[1])  # type: ignore[index]
        rows.expand_all()
        self._relayout(anchor)
        return True
