"""The review pane's diff and command view: paints only the visible rows, so any size opens instantly.
It must never lex (syntax.py does, off the UI thread) nor lay out the whole text (no QTextDocument)."""

from __future__ import annotations

import enum
import gc
import math
from collections.abc import Callable, Iterator
from functools import partial

from PySide6.QtCore import QEasingCurve, QEvent, QPointF, QRect, QRectF, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QFontDatabase,
    QFontInfo,
    QFontMetricsF,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QWidget

from app.domain.diff_types import FileDiff
from app.ui.diff_rows import (
    MAX_DISPLAY_CHARS,
    MAX_MATCHES,
    TAB_WIDTH,
    CommandRows,
    DiffRows,
    DisplayRow,
    LineKey,
    Match,
    Row,
    RowKind,
    binary_card_lines,
    empty_diff_message,
    line_segments,
    reveal_hidden,
    wrap_runs,
    wrapped_line_count,
)
from app.ui.diff_search import KEY_HELP, KEY_LEGEND, VIEW_KEYS, FindBar
from app.ui.palette import DiffPalette, palette_from
from app.ui.syntax import Colouring, SideColours, SyntaxColourer, colour_results, decode_spans


class _Mode(enum.Enum):
    EMPTY = enum.auto()
    MESSAGE = enum.auto()
    BINARY = enum.auto()
    ROWS = enum.auto()


_PAD = 8
_BADGE_PAD = 4
_SCROLL_MS = 110
_BAR_WIDTH = 3
# Lines lexed first around the visible ones, so a scroll right after opening still lands on colour.
_WINDOW_MARGIN_ROWS = 60
# How far row_rect walks through wrapped rows before it settles for an estimate.
_WRAP_WALK_LIMIT = 2000

# From this many diff lines up, the diff is kept out of the garbage collector's full passes while shown.
_BIG_DIFF_LINES = 20_000
# Views showing a big diff: the collector's freeze is process-wide, so it lifts only when none is left.
_views_holding_a_freeze: set[int] = set()

# Verdict badges on hunk headers, by the first letters of the mark the review panel sets.
_VERDICTS = {"approve": "✓ approved", "reject": "✕ rejected", "edit": "✎ edited"}

# Lines to lex first: side -> (line key, text), in line order.
_Window = dict[str, list[tuple[int, str]]]

# A text run to paint: (kind, text, token type, intraline highlight?, search match 0/1/2). Kinds: "text",
# "tab" (text is the padding), "badge" (a hidden character's label), "note" (CRLF and the like, after the text).
_Run = tuple[str, str, object, bool, int]


def _row_style(row: Row, colours: DiffPalette) -> tuple[QColor, QColor, str, QColor]:
    """(background, gutter background, sign, sign colour) of a row."""
    kind = row.kind
    if kind is RowKind.ADDED:
        return colours.added_background, colours.added_gutter, "+", colours.added_sign
    if kind is RowKind.REMOVED:
        return colours.removed_background, colours.removed_gutter, "-", colours.removed_sign
    if kind is RowKind.HUNK:
        return colours.hunk_background, colours.hunk_background, "", colours.hunk_foreground
    if kind is RowKind.CWD:
        return colours.gutter_background, colours.gutter_background, "", colours.muted
    if kind is RowKind.COMMAND:
        # A prompt on the first line; continuation lines get a quieter mark so a multi-line command reads as one.
        return colours.background, colours.background, "$" if row.syntax_line == 0 else "›", colours.muted
    return colours.background, colours.gutter_background, "", colours.foreground


def _verdict_key(mark: str) -> str | None:
    lowered = mark.lower()
    return next((key for key in _VERDICTS if lowered.startswith(key)), None)


class DiffView(QAbstractScrollArea):
    """Unified or side-by-side diff (or a command), with folds, hunk navigation, search, wrap and whitespace marks.

    Keys (see diff_search.VIEW_KEYS) live on the view, or on the widget given to ``install_keys``.
    """

    # Emitted with the token once all syntax colours for the shown diff or command have arrived (not for cards).
    colours_ready = Signal(object)
    # Emitted with the token when the first colours (those of the visible lines) have arrived.
    visible_colours_ready = Signal(object)
    current_hunk_changed = Signal(int)
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.tab_width = TAB_WIDTH
        self._mode = _Mode.EMPTY
        self._rows: DiffRows | CommandRows | tuple[()] = ()
        self._message = ""
        self._binary: FileDiff | None = None
        self._shown_diff: FileDiff | None = None
        self._token: object = None
        self._syntax_colours: SideColours = {}
        self._some_colours_arrived = False
        self._content_columns = 0
        self._widest_pending = False
        self._widest_steps: Iterator[int] | None = None
        self._widest_timer = QTimer(self)
        self._widest_timer.setSingleShot(True)
        self._widest_timer.setInterval(1)
        self._widest_timer.timeout.connect(self._measure_widest)
        # Children of the view, so a pending update dies with it instead of reaching a deleted widget.
        self._scrollbar_timer = QTimer(self)
        self._scrollbar_timer.setSingleShot(True)
        self._scrollbar_timer.setInterval(0)
        self._scrollbar_timer.timeout.connect(self._update_scrollbars)
        self._widest_painted = 0.0
        self._split = False
        self._wrap = False
        self._show_whitespace = False
        self._current_hunk = -1
        self._hunk_marks: dict[int, str] = {}
        self._wrapped_lines: dict[int, int] = {}
        self._wrap_scroll_rest = 0.0
        self._query = ""
        self._matches: list[Match] = []
        self._matches_by_key: dict[LineKey, list[tuple[int, int, int]]] = {}
        self._match_index = -1
        self._focus_before_find: QWidget | None = None
        self._scheme = palette_from(self.palette())
        self._faded_colours: dict[tuple[str, int], QColor] = {}
        self._colourer = SyntaxColourer()
        # The colouring still owed for what is shown; sent to the lexer only once the plain text is painted.
        self._colour_request: Callable[[tuple[_Window, _Window]], int] | None = None
        self._colour_request_sent = False
        colour_results().connect(self._on_colouring, Qt.ConnectionType.QueuedConnection)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._pick_palette)
        self._scroller = QVariantAnimation(self)
        self._scroller.setDuration(_SCROLL_MS)
        self._scroller.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._scroller.valueChanged.connect(self._follow_scroller)

        self.find_bar = FindBar(self)
        self.find_bar.hide()
        self.find_bar.query_changed.connect(self.set_search)
        self.find_bar.next_requested.connect(self.find_next)
        self.find_bar.previous_requested.connect(self.find_previous)
        self.find_bar.closed.connect(self.close_find)
        self.legend = QLabel(self)
        self.legend.setObjectName("diffKeyLegend")
        self.legend.setToolTip(KEY_HELP)
        self.legend.setContentsMargins(_PAD, 1, _PAD, 1)
        self.legend.hide()
        self._shortcuts: list[QShortcut] = []
        self._make_shortcuts(self)

        self._measure_font()
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._style_legend()

    # --- keys -----------------------------------------------------------------------------------------------------

    def install_keys(self, owner: QWidget) -> None:
        """Move the view's keys onto ``owner`` (e.g. the review panel, which keeps focus), live for it and its
        children; the view's own copies go, or Qt would call every key ambiguous while the view has focus."""
        for shortcut in self._shortcuts:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self._shortcuts = []
        self._make_shortcuts(owner)

    def _make_shortcuts(self, owner: QWidget) -> None:
        for sequence, method, _ in VIEW_KEYS:
            shortcut = QShortcut(QKeySequence(sequence), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(getattr(self, method))
            self._shortcuts.append(shortcut)

    # --- what to show -------------------------------------------------------------------------------------------

    @property
    def token(self) -> object:
        return self._token

    @property
    def rows(self) -> DiffRows | CommandRows | tuple[()]:
        return self._rows

    @property
    def diff_palette(self) -> DiffPalette:
        return self._scheme

    @property
    def colourer(self) -> SyntaxColourer:
        return self._colourer

    def show_diff(
        self, diff: FileDiff, *, token: object, old_text: str | None = None, new_text: str | None = None
    ) -> None:
        """Show a file's diff now in plain text; colours follow when the lexer is done (``colours_ready``).

        With ``old_text``/``new_text`` (whole files) the unchanged regions between hunks show as folds that expand.
        Showing the same diff for the same token again changes nothing; a new diff for the same token (a refresh)
        keeps the scroll position, the current hunk and the hunk marks.
        """
        if token == self._token and self._shown_diff is diff:
            return
        refresh = token is not None and token == self._token
        if diff.is_binary:
            self._show(_Mode.BINARY, token=token)
            self._binary = diff
        elif not diff.hunks:
            self._show(_Mode.MESSAGE, token=token)
            self._message = empty_diff_message(diff)
        else:
            rows = DiffRows(diff, old_text=old_text, new_text=new_text, split=self._split)
            current = self._current_hunk if refresh and 0 <= self._current_hunk < rows.hunk_count else 0
            marks = self._hunk_marks if refresh else {}
            self._show(_Mode.ROWS, token=token, rows=rows)
            self._current_hunk = current
            self._hunk_marks = marks
            self._request_colours(partial(self._request_diff_colours, token, diff, old_text, new_text))
        self._shown_diff = diff
        self._hold_out_of_gc(sum(len(hunk.lines) for hunk in diff.hunks) >= _BIG_DIFF_LINES)
        self.current_hunk_changed.emit(self._current_hunk)
        self._refresh_search()
        self._update_legend()
        self.viewport().update()

    def _hold_out_of_gc(self, hold: bool) -> None:
        """Keep a big diff's objects out of full collections while it is shown.

        A 100k-line diff is 100k+ tracked objects; every full collection walks them all, 80-120 ms on the UI thread
        in the middle of scrolling. They form no cycles (they die by reference count), so freezing them is safe;
        the freeze lifts when no view shows a big diff any more, and the collector then sees everything again.
        """
        if hold:
            gc.freeze()
            _views_holding_a_freeze.add(id(self))
        elif id(self) in _views_holding_a_freeze:
            _views_holding_a_freeze.discard(id(self))
            if not _views_holding_a_freeze:
                gc.unfreeze()

    def _request_diff_colours(self, token, diff, old_text, new_text, windows) -> int:
        window, margin = windows
        return self._colourer.request_diff(token, diff, old_text, new_text, window=window, margin=margin)

    def show_command(self, command: str, cwd: str, *, token: object) -> None:
        """Show a shell command with its working directory above it, highlighted as Bash when the lexer is done."""
        self._show(_Mode.ROWS, token=token, rows=CommandRows(command, cwd))
        self._hold_out_of_gc(False)
        self._request_colours(lambda windows: self._colourer.request_command(token, command))
        self.current_hunk_changed.emit(-1)
        self._refresh_search()
        self._update_legend()
        self.viewport().update()

    def show_message(self, text: str) -> None:
        """A note in place of a diff: nothing selected, nothing to show, and the like."""
        self._show(_Mode.MESSAGE, token=None)
        self._hold_out_of_gc(False)
        self._message = text
        self._update_legend()
        self.current_hunk_changed.emit(-1)
        self.viewport().update()

    def clear(self) -> None:
        self._show(_Mode.EMPTY, token=None)
        self._hold_out_of_gc(False)
        self._update_legend()
        self.current_hunk_changed.emit(-1)
        self.viewport().update()

    def _show(self, mode: _Mode, *, token: object, rows: DiffRows | CommandRows | tuple[()] = ()) -> None:
        refresh = token is not None and token == self._token
        scroll_to = (self.horizontalScrollBar().value(), self.verticalScrollBar().value()) if refresh else (0, 0)
        self._shown_diff = None
        self._colourer.cancel()
        self._colour_request = None
        self._some_colours_arrived = False
        self._scroller.stop()
        self._mode = mode
        self._token = token
        self._rows = rows
        self._syntax_colours = {}
        self._binary = None
        self._message = ""
        self._current_hunk = -1
        self._hunk_marks = {}
        self._wrapped_lines = {}
        self._matches, self._matches_by_key, self._match_index = [], {}, -1
        # A big diff's widest line costs a pass over every line: measured after the first paint, not before it.
        line_count = sum(len(hunk.lines) for hunk in rows.diff.hunks) if isinstance(rows, DiffRows) else 0
        self._widest_pending = bool(rows) and line_count >= _BIG_DIFF_LINES
        self._widest_steps = None
        self._content_columns = rows.widest_columns(self.tab_width) if rows and not self._widest_pending else 0
        if self._widest_pending:
            # Until the whole diff is measured, the first screenful sets the horizontal range: the scroll bar then
            # appears before the first paint, not after it (which would shrink the viewport and paint it all again).
            self._content_columns = self._widest_of_first_rows(rows)  # type: ignore[arg-type]
        self._widest_painted = 0.0
        self._layout_columns()
        self.horizontalScrollBar().setValue(scroll_to[0])
        self.verticalScrollBar().setValue(scroll_to[1])

    def _widest_of_first_rows(self, rows: DiffRows) -> int:
        screenful = min(len(rows), self.viewport().height() // max(1, self._row_height) + 1)
        texts = [
            cell.text
            for index in range(screenful)
            for cell in rows.entry(index).cells
            if cell is not None and cell.kind in (RowKind.CONTEXT, RowKind.ADDED, RowKind.REMOVED)
        ]
        return min(MAX_DISPLAY_CHARS, max((len(text.expandtabs(self.tab_width)) for text in texts), default=0))

    def _request_colours(self, request: Callable[[tuple[_Window, _Window]], int]) -> None:
        self._colour_request = request
        self._colour_request_sent = False

    def _send_colour_request(self) -> None:
        if self._colour_request is not None and not self._colour_request_sent:
            self._colour_request_sent = True
            self._colour_request(self._visible_lines_by_side())

    def _visible_lines_by_side(self) -> tuple[_Window, _Window]:
        """The lines on screen, then a margin around them, per lexed side, in line order: the lexer's first two
        jobs. Apart, so the screen's colours do not wait for the margin's (pygments does ~1 MB/s)."""
        if self._mode is not _Mode.ROWS or not isinstance(self._rows, DiffRows):
            return {}, {}
        indices = [index for index, _, _ in self._rows_in(0, self.viewport().height())]
        if not indices:
            return {}, {}
        first = max(0, indices[0] - _WINDOW_MARGIN_ROWS)
        last = min(len(self._rows), indices[-1] + 1 + _WINDOW_MARGIN_ROWS)

        def lines_by_side(index_range: range) -> _Window:
            by_side: dict[str, dict[int, str]] = {}
            for index in index_range:
                for cell in self._rows.entry(index).cells:  # type: ignore[union-attr]
                    if cell is not None and cell.syntax_side and cell.syntax_line is not None:
                        by_side.setdefault(cell.syntax_side, {})[cell.syntax_line] = cell.text
            return {side: sorted(lines.items()) for side, lines in by_side.items()}

        window = lines_by_side(range(indices[0], indices[-1] + 1))
        margin = lines_by_side(range(first, last))
        for side, items in window.items():
            shown = {key for key, _ in items}
            margin[side] = [item for item in margin.get(side, []) if item[0] not in shown]
        return window, {side: items for side, items in margin.items() if items}

    def _on_colouring(self, colouring: Colouring) -> None:
        # Results for an earlier diff (or an earlier showing of this one) are dropped, like git-cola's token guard.
        if colouring.client is not self._colourer or not colouring.is_current or colouring.token != self._token:
            return
        if colouring.final:
            self._syntax_colours = colouring.colours
            self._colour_request = None
        else:
            for side, spans in colouring.colours.items():
                self._syntax_colours.setdefault(side, {}).update(spans)
        self.viewport().update()
        if not self._some_colours_arrived:
            self._some_colours_arrived = True
            self.visible_colours_ready.emit(colouring.token)
        if colouring.final:
            self.colours_ready.emit(colouring.token)

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
        self._relayout(anchor)
        self.mode_changed.emit(self.mode)

    def toggle_mode(self) -> None:
        self.set_mode("unified" if self._split else "split")

    @property
    def wrap(self) -> bool:
        return self._wrap

    def set_wrap(self, wrap: bool) -> None:
        """Wrap long lines inside the viewport; scrolling then counts rows, so only painted rows are measured."""
        if wrap == self._wrap:
            return
        anchor = self._anchor()
        self._wrap = wrap
        # A wrapped view never scrolls sideways: no empty scroll bar under it.
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if wrap else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        self._relayout(anchor)

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
        if self._mode is not _Mode.ROWS or not isinstance(self._rows, DiffRows) or not len(self._rows):
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
        return self._rows.hunk_count if self._mode is _Mode.ROWS and isinstance(self._rows, DiffRows) else 0

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
        if self._mode is not _Mode.ROWS or not isinstance(rows, DiffRows) or not rows.is_folded(gap):
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
        if self._mode is not _Mode.ROWS or not isinstance(rows, DiffRows):
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
        if self._mode is not _Mode.ROWS or not isinstance(rows, DiffRows) or not rows.folds():
            return False
        anchor = self._anchor()
        if anchor is not None and anchor[0][0] == "fold":  # type: ignore[index]
            anchor = (("line", (2 * anchor[0][1], 0)), anchor[1])  # type: ignore[index]
        rows.expand_all()
        self._relayout(anchor)
        return True

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
        if self._mode is not _Mode.ROWS or not rows or not query:
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
            self._number_width = digits * self._char_width + 2 * _PAD
            self._numbers_per_cell = 1 if self._is_split() else 2
        self._gutter_width = self._numbers_per_cell * self._number_width
        self._sign_width = 2 * self._char_width + _PAD
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

    def _update_scrollbars(self) -> None:
        viewport = self.viewport()
        vertical = self.verticalScrollBar()
        horizontal = self.horizontalScrollBar()
        count = len(self._rows) if self._mode is _Mode.ROWS else 0
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
        # Room past the widest line for the CRLF / no-newline badges.
        content_width = max(self._content_columns * self._char_width, self._widest_painted) + 30 * self._char_width
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
        if self._mode is not _Mode.ROWS:
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
            walk = range(first, min(index, first + _WRAP_WALK_LIMIT))
            y = sum(self._row_lines(row) for row in walk) * self._row_height
            y += max(0, index - first - _WRAP_WALK_LIMIT) * self._row_height
        else:
            walk = range(max(index, first - _WRAP_WALK_LIMIT), first)
            y = -sum(self._row_lines(row) for row in walk) * self._row_height
            y -= max(0, first - _WRAP_WALK_LIMIT - index) * self._row_height
        return QRect(0, y, width, self._row_lines(index) * self._row_height)

    def row_at(self, y: int) -> int | None:
        if self._mode is not _Mode.ROWS:
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
        show = self._mode is _Mode.ROWS
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
            self.legend.setText("   ".join([" · ".join(parts), KEY_LEGEND]) if parts else KEY_LEGEND)
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

    # --- events -------------------------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_children()

    def closeEvent(self, event: QCloseEvent) -> None:
        # A closed view should not keep the lexer busy (or alive) for colours nobody sees; its next paint asks again.
        self._colourer.cancel()
        self._colour_request_sent = False
        super().closeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._measure_font()
            self.viewport().update()
        elif event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._pick_palette()

    def _pick_palette(self) -> None:
        self._scheme = palette_from(self.palette())
        self._style_legend()
        self.viewport().update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # Vertical moves blit and paint only the exposed strip; horizontal ones must keep the gutter still, and
        # wrapped rows have no fixed height to blit by.
        if dx or self._wrap:
            self.viewport().update()
        else:
            self.viewport().scroll(0, dy)

    def wheelEvent(self, event: QWheelEvent) -> None:
        pixels, angle = event.pixelDelta(), event.angleDelta()
        horizontal_wheel = angle.x() or (angle.y() if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0)
        if horizontal_wheel or pixels.x():
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - (pixels.x() or round(horizontal_wheel / 120 * 3 * self._char_width * 4)))
        elif not pixels.isNull():
            # Touchpads already send smooth pixel deltas: follow them exactly.
            self._scroller.stop()
            self.scroll_by(-pixels.y(), animate=False)
        elif angle.y():
            lines = QApplication.wheelScrollLines() * angle.y() / 120
            self.scroll_by(-round(lines * self._row_height))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        page = max(self._row_height, self.viewport().height() - self._row_height)
        vertical = self.verticalScrollBar()
        key = event.key()
        if key == Qt.Key.Key_Down:
            self.scroll_by(self._row_height)
        elif key == Qt.Key.Key_Up:
            self.scroll_by(-self._row_height)
        elif key == Qt.Key.Key_PageDown:
            self.scroll_by(page)
        elif key == Qt.Key.Key_PageUp:
            self.scroll_by(-page)
        elif key == Qt.Key.Key_Home:
            self._scroller.stop()
            vertical.setValue(0)
        elif key == Qt.Key.Key_End:
            self._scroller.stop()
            vertical.setValue(vertical.maximum())
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = self.horizontalScrollBar().singleStep()
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() + (step if key == Qt.Key.Key_Right else -step))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # Not a shortcut: Enter belongs to whatever text box has focus (the reject reason, the find bar).
            self.expand_current_fold()
        elif key == Qt.Key.Key_Escape and self.find_bar.isVisible():
            self.close_find()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.row_at(round(event.position().y())) if event.button() == Qt.MouseButton.LeftButton else None
        if index is not None and isinstance(self._rows, DiffRows):
            entry = self._rows.entry(index)
            if entry.fold is not None:
                self.expand_fold(entry.fold)
            elif entry.hunk is not None and entry.hunk != self._current_hunk:
                self.set_current_hunk(entry.hunk, scroll=False)
        if self.focusPolicy() & Qt.FocusPolicy.ClickFocus:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        event.accept()

    def _follow_scroller(self, value: float) -> None:
        self.verticalScrollBar().setValue(round(value))

    def scroll_by(self, dy: int, *, animate: bool = True) -> None:
        """Scroll by ``dy`` pixels, smoothly; repeated presses add up from where the running animation is heading.
        When wrapping, the bar counts rows: the move rounds to whole rows (at least one)."""
        bar = self.verticalScrollBar()
        if self._wrap:
            # Touchpads send a few pixels at a time: keep the remainder until it adds up to a row.
            self._wrap_scroll_rest += dy
            rows = int(self._wrap_scroll_rest / self._row_height)
            self._wrap_scroll_rest -= rows * self._row_height
            if rows:
                bar.setValue(bar.value() + rows)
            return
        running = self._scroller.state() == QVariantAnimation.State.Running
        base = int(self._scroller.endValue()) if running else bar.value()
        target = max(bar.minimum(), min(bar.maximum(), base + dy))
        self._scroller.stop()
        if target == bar.value():
            return
        if not animate:
            bar.setValue(target)
            return
        self._scroller.setStartValue(float(bar.value()))
        self._scroller.setEndValue(float(target))
        self._scroller.start()

    # --- painting -----------------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        colours = self._scheme
        painter.fillRect(event.rect(), colours.background)
        if self._mode is _Mode.ROWS:
            self._paint_rows(painter, event.rect().top(), event.rect().bottom())
        elif self._mode is _Mode.MESSAGE:
            self._paint_message(painter)
        elif self._mode is _Mode.BINARY and self._binary is not None:
            self._paint_binary_card(painter, self._binary)
        painter.end()
        # Only now: the lexer competes with this thread for the GIL, and the plain text should be on screen first.
        self._send_colour_request()
        if self._widest_pending:
            self._widest_pending = False
            self._widest_steps = self._rows.widest_columns_in_steps(self.tab_width)  # type: ignore[union-attr]
            self._widest_timer.start()

    @property
    def measuring(self) -> bool:
        """True while a big diff's widest line is still being measured (the horizontal range may still grow)."""
        return self._widest_pending or self._widest_steps is not None

    def _measure_widest(self) -> None:
        """One step of measuring a big diff's widest line; the next waits for the event loop (paints go first)."""
        widest = next(self._widest_steps, None) if self._widest_steps is not None else None
        if widest is None:
            self._widest_steps = None
            self._update_scrollbars()
            return
        self._content_columns = widest
        self._widest_timer.start()

    def _paint_rows(self, painter: QPainter, top: int, bottom: int) -> None:
        painter.setFont(self.font())
        widest_before = self._widest_painted
        painted_bottom = top
        for index, y, height in self._rows_in(top, bottom):
            self._paint_entry(painter, index, self._rows.entry(index), y, height)  # type: ignore[union-attr]
            painted_bottom = y + height
        rule_bottom = min(bottom + 1, painted_bottom)
        painter.setPen(QPen(self._scheme.gutter_rule, 1))
        if self._is_split():
            middle = self._cells()[1][0] - 0.5
            painter.drawLine(QPointF(middle, top), QPointF(middle, rule_bottom))
        if self._widest_painted > widest_before:
            # A line wider than the estimate (wide characters, badges): grow the range after this paint.
            self._scrollbar_timer.start()

    def _paint_entry(self, painter: QPainter, index: int, entry: DisplayRow, y: int, height: int) -> None:
        width = self.viewport().width()
        first = entry.cells[0]
        if entry.spans_both and first is not None and first.kind in (RowKind.HUNK, RowKind.FOLD, RowKind.CWD):
            if first.kind is RowKind.HUNK:
                self._paint_header(painter, first, y, width)
            elif first.kind is RowKind.FOLD:
                self._paint_fold(painter, first, y, width)
            else:
                painter.fillRect(QRectF(0, y, width, height), self._scheme.gutter_background)
                self._paint_cwd(painter, first.text, y, y + 2 + self._ascent)
        else:
            for cell_index, (left, cell_width) in enumerate(self._cells()):
                row = entry.cells[cell_index] if cell_index < len(entry.cells) else None
                key = entry.keys[cell_index] if cell_index < len(entry.keys) else None
                self._paint_cell(painter, row, key, cell_index, left, cell_width, y, height)
        if entry.hunk is not None and entry.hunk == self._current_hunk:
            painter.fillRect(QRectF(0, y, _BAR_WIDTH, height), self._scheme.current_hunk)

    def _paint_cell(
        self,
        painter: QPainter,
        row: Row | None,
        key: LineKey | None,
        cell_index: int,
        left: float,
        width: float,
        y: int,
        height: int,
    ) -> None:
        colours = self._scheme
        if row is None:
            # The other side has nothing here (a pure addition or removal): a quiet filler, like a blank page.
            painter.fillRect(QRectF(left, y, width, height), colours.gutter_background)
            return
        background, gutter, sign, sign_colour = _row_style(row, colours)
        if self._dimmed(row, key):
            background, gutter, sign_colour = self._faded(background), self._faded(gutter), colours.muted
        painter.fillRect(QRectF(left, y, width, height), background)
        baseline = y + 2 + self._ascent
        if self._numbers_per_cell:
            painter.fillRect(QRectF(left, y, self._gutter_width, height), gutter)
            painter.setPen(colours.gutter_foreground)
            if self._numbers_per_cell == 2:
                numbers = (row.old_lineno, row.new_lineno)
            else:
                numbers = (row.old_lineno if cell_index == 0 else row.new_lineno,)
            for column, number in enumerate(numbers):
                if number is not None:
                    cell = QRectF(left + column * self._number_width, y, self._number_width - _PAD, self._row_height)
                    painter.drawText(cell, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(number))
            painter.setPen(QPen(colours.gutter_rule, 1))
            rule = left + self._gutter_width - 0.5
            painter.drawLine(QPointF(rule, y), QPointF(rule, y + height))
        if sign:
            painter.setPen(sign_colour)
            painter.drawText(QPointF(left + self._gutter_width + _PAD / 2, baseline), sign)
        painter.save()
        text_left = left + self._text_left
        painter.setClipRect(QRectF(text_left, y, left + width - text_left, height))
        self._paint_text(painter, row, key, text_left, left + width, y, baseline)
        painter.restore()

    def _dimmed(self, row: Row, key: LineKey | None) -> bool:
        changed = row.kind in (RowKind.ADDED, RowKind.REMOVED)
        return changed and self._rows.whitespace_only(key)  # type: ignore[union-attr]

    def _faded(self, colour: QColor) -> QColor:
        """``colour`` two thirds of the way to the plain background: the row still reads as changed, quietly."""
        key = (self._scheme.name, colour.rgba())
        found = self._faded_colours.get(key)
        if found is None:
            plain = self._scheme.background
            found = self._faded_colours[key] = QColor.fromRgbF(
                *(part / 3 + 2 * plain_part / 3 for part, plain_part in zip(colour.getRgbF()[:3], plain.getRgbF()[:3]))
            )
        return found

    def whitespace_only_row(self, index: int) -> bool:
        """Whether row ``index`` is a changed line that differs from its pair only in whitespace (drawn dimmed)."""
        if self._mode is not _Mode.ROWS or not 0 <= index < len(self._rows):
            return False
        entry = self._rows.entry(index)  # type: ignore[union-attr]
        return any(
            cell is not None and self._dimmed(cell, key) for cell, key in zip(entry.cells, entry.keys, strict=False)
        )

    def _paint_header(self, painter: QPainter, row: Row, y: int, width: int) -> None:
        colours = self._scheme
        height = self._row_height
        painter.fillRect(QRectF(0, y, width, height), colours.hunk_background)
        baseline = y + 2 + self._ascent
        right = float(width - _PAD)
        mark = _verdict_key(self._hunk_marks.get(row.hunk, "")) if row.hunk is not None else None
        if mark is not None:
            right = self._paint_verdict(painter, mark, right, y) - _PAD
        if row.hunk is not None and self.hunk_count > 1:
            label = f"{row.hunk + 1}/{self.hunk_count}"
            painter.setFont(self._badge_font)
            painter.setPen(colours.muted)
            label_width = self._badge_metrics.horizontalAdvance(label)
            painter.drawText(QPointF(right - label_width, baseline), label)
            right -= label_width + _PAD
            painter.setFont(self.font())
        painter.save()
        painter.setClipRect(QRectF(self._text_left, y, max(0.0, right - self._text_left), height))
        painter.setPen(colours.hunk_foreground)
        scroll_x = 0 if self._wrap else self.horizontalScrollBar().value()
        painter.drawText(QPointF(self._text_left - scroll_x, baseline), row.text)
        painter.restore()

    def _paint_verdict(self, painter: QPainter, mark: str, right: float, y: int) -> float:
        """A filled verdict badge ending at ``right``; returns its left edge."""
        colours = self._scheme
        label = _VERDICTS[mark]
        fill = {"approve": colours.approve_badge, "reject": colours.reject_badge, "edit": colours.edit_badge}[mark]
        width = self._badge_width(label) + 2 * _BADGE_PAD
        box = QRectF(right - width, y + 2, width, self._row_height - 4)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 4, 4)
        painter.setFont(self._badge_font)
        painter.setPen(colours.badge_text)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()
        return box.left()

    def _paint_fold(self, painter: QPainter, row: Row, y: int, width: int) -> None:
        colours = self._scheme
        height = self._row_height
        painter.fillRect(QRectF(0, y, width, height), colours.fold_background)
        painter.setPen(QPen(colours.gutter_rule, 1))
        painter.drawLine(QPointF(0, y + 0.5), QPointF(width, y + 0.5))
        painter.drawLine(QPointF(0, y + height - 0.5), QPointF(width, y + height - 0.5))
        baseline = y + 2 + self._ascent
        painter.setPen(colours.fold_foreground)
        x = self._gutter_width + _PAD / 2 if not self._is_split() else self._number_width + _PAD / 2
        painter.drawText(QPointF(x, baseline), row.text)
        x += self._metrics.horizontalAdvance(row.text) + 2 * self._char_width
        painter.setFont(self._badge_font)
        painter.setPen(colours.muted)
        painter.drawText(QPointF(x, baseline), "click, Enter or x to expand · ⇧X expands all")
        painter.setFont(self.font())

    def _paint_text(
        self, painter: QPainter, row: Row, key: LineKey | None, left: float, right: float, y: int, baseline: float
    ) -> None:
        colours = self._scheme
        metrics = self._metrics
        syntax_spans = decode_spans(self._syntax_colours.get(row.syntax_side or "", {}).get(row.syntax_line or 0, ()))
        dimmed = self._dimmed(row, key)
        # A whitespace-only change shows where the whitespace changed only when whitespace is shown (Shift+W).
        highlights = (
            self._rows.key_highlights(key)  # type: ignore[union-attr]
            if key is not None and (not dimmed or self._show_whitespace)
            else ()
        )
        matches = (
            [
                (start, end, 2 if number == self._match_index else 1)
                for start, end, number in self._matches_by_key.get(key, ())  # type: ignore[arg-type]
            ]
            if key is not None and self._matches_by_key
            else []
        )
        # Not wrapping, what lies past the right edge is only measured, never cut into runs: a 10 MB diff of wide
        # lines would otherwise spend most of each paint on runs nobody sees.
        hidden_tail = 0
        if not self._wrap and self._fixed_pitch:
            cut = int((self.horizontalScrollBar().value() + right - left) / self._char_width) + 2
            tail = row.text[cut:MAX_DISPLAY_CHARS]
            # Only a printable ASCII tail has a known width (one column a character), and only an ASCII head
            # guarantees the tail starts past the edge (no zero-width characters before it).
            if tail and tail.isascii() and tail.isprintable() and row.text[:cut].isascii():
                hidden_tail = len(tail)
        runs = self._text_runs(row, syntax_spans, highlights, matches, hidden_tail)
        changed = row.kind in (RowKind.ADDED, RowKind.REMOVED)
        mark_whitespace = self._show_whitespace and changed
        highlight = colours.removed_highlight if row.kind is RowKind.REMOVED else colours.added_highlight
        height = self._row_height

        if self._wrap:
            columns = max(1, int((right - left) // self._char_width))
            placements = wrap_runs([self._run_columns(run) for run in runs], columns)
            pieces = []
            for run_index, first, end, line, column in placements:
                kind, text, token_type, highlighted, match = runs[run_index]
                part = text[first:end] if kind in ("text", "tab") else text
                x = left + column * self._char_width
                width = (end - first) * self._char_width
                if kind == "note":
                    x += self._char_width
                    width = self._badge_width(text)
                elif kind == "badge":
                    width = self._badge_width(text)
                pieces.append((kind, part, token_type, highlighted, match, x, y + line * height, width))
        else:
            x = left - self.horizontalScrollBar().value()
            pieces = []
            char_width = self._char_width
            fixed_ascii = self._fixed_pitch
            for kind, text, token_type, highlighted, match in runs:
                if kind == "note":
                    x += char_width + hidden_tail * char_width
                    hidden_tail = 0
                width = (
                    self._badge_width(text)
                    if kind in ("badge", "note")
                    else len(text) * char_width
                    if kind == "tab" or (fixed_ascii and text.isascii())
                    else metrics.horizontalAdvance(text)
                )
                pieces.append((kind, text, token_type, highlighted, match, x, y, width))
                x += width
            x += hidden_tail * char_width
            self._widest_painted = max(self._widest_painted, x + self.horizontalScrollBar().value() - left)

        for kind, text, token_type, highlighted, match, x, top, width in pieces:
            if x + width < left or x > right:
                continue
            line_baseline = baseline + (top - y)
            if highlighted:
                painter.fillRect(QRectF(x, top + 1, width, height - 2), highlight)
            if match:
                painter.fillRect(
                    QRectF(x, top + 1, width, height - 2),
                    colours.search_current if match == 2 else colours.search_match,
                )
            if kind in ("badge", "note"):
                self._paint_badge(painter, text, x, top, quiet=kind == "note" and text == "CRLF")
            elif kind == "tab":
                if mark_whitespace:
                    painter.setPen(colours.whitespace_mark)
                    painter.drawText(QPointF(x, line_baseline), "→")
            else:
                painter.setPen(
                    colours.muted if dimmed else (token_type and colours.token_colour(token_type)) or colours.foreground
                )
                painter.drawText(QPointF(x, line_baseline), text)
                if mark_whitespace and " " in text:
                    self._paint_spaces(painter, text, x, line_baseline)

    def _paint_spaces(self, painter: QPainter, text: str, x: float, baseline: float) -> None:
        painter.setPen(self._scheme.whitespace_mark)
        monospace = text.isascii()
        for position, char in enumerate(text):
            if char == " ":
                offset = position * self._char_width if monospace else self._metrics.horizontalAdvance(text[:position])
                painter.drawText(QPointF(x + offset, baseline), "·")

    def _text_runs(
        self,
        row: Row,
        syntax_spans,
        highlights,
        matches,
        hidden_tail: int = 0,
    ) -> list[_Run]:
        """A row's text as runs to paint: syntax, intraline and search runs, tabs and hidden characters apart.
        The last ``hidden_tail`` characters (before the display cut) are left out: they are off screen."""
        text = row.text[:MAX_DISPLAY_CHARS]
        if hidden_tail:
            text = text[:-hidden_tail]
        runs: list[_Run] = []
        column = 0
        tab_width = self.tab_width
        for start, end, token_type, highlighted, match in line_segments(len(text), syntax_spans, highlights, matches):
            for number, part in enumerate(text[start:end].split("\t")):
                if number:
                    pad = tab_width - column % tab_width
                    runs.append(("tab", " " * pad, token_type, highlighted, match))
                    column += pad
                if part:
                    for piece, hidden in reveal_hidden(part):
                        runs.append(("badge" if hidden else "text", piece, token_type, highlighted, match))
                    column += len(part)
        # Every line of a CRLF file carries the mark, so it stays quiet; the rarer notes stand out.
        if len(row.text) > MAX_DISPLAY_CHARS:
            runs.append(("note", f"… {len(row.text) - MAX_DISPLAY_CHARS:,} more characters", None, False, 0))
        if row.crlf:
            runs.append(("note", "CRLF", None, False, 0))
        if row.no_newline:
            runs.append(("note", "No newline at end of file", None, False, 0))
        return runs

    def _run_columns(self, run: _Run) -> tuple[int, bool] | tuple[int, bool, str]:
        kind, text = run[0], run[1]
        if kind in ("text", "tab"):
            # The text goes along so wrapping can end lines between words.
            return len(text), True, text
        columns = math.ceil(self._badge_width(text) / self._char_width)
        return (columns + 1 if kind == "note" else columns), False

    def _badge_width(self, label: str) -> float:
        return self._badge_metrics.horizontalAdvance(label) + 2 * _BADGE_PAD

    def _paint_badge(self, painter: QPainter, label: str, x: float, y: int, *, quiet: bool = False) -> float:
        colours = self._scheme
        width = self._badge_width(label)
        box = QRectF(x, y + 2, width, self._row_height - 4)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not quiet:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colours.marker_background)
            painter.drawRoundedRect(box, 3, 3)
        painter.setFont(self._badge_font)
        painter.setPen(colours.gutter_foreground if quiet else colours.marker_foreground)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()
        return x + width

    def _paint_cwd(self, painter: QPainter, cwd: str, y: int, baseline: float) -> None:
        colours = self._scheme
        label = "in "
        painter.setPen(colours.muted)
        x = float(_PAD)
        painter.drawText(QPointF(x, baseline), label)
        x += self._metrics.horizontalAdvance(label)
        shown = self._metrics.elidedText(cwd, Qt.TextElideMode.ElideMiddle, self.viewport().width() - x - _PAD)
        painter.setPen(colours.foreground)
        painter.drawText(QPointF(x, baseline), shown)
        painter.setPen(QPen(colours.gutter_rule, 1))
        bottom = y + self._row_height - 0.5
        painter.drawLine(QPointF(0, bottom), QPointF(self.viewport().width(), bottom))

    def _paint_message(self, painter: QPainter) -> None:
        painter.setFont(QApplication.font())
        painter.setPen(self._scheme.muted)
        area = QRectF(self.viewport().rect()).adjusted(3 * _PAD, 3 * _PAD, -3 * _PAD, -3 * _PAD)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)

    def _paint_binary_card(self, painter: QPainter, diff: FileDiff) -> None:
        colours = self._scheme
        title, detail = binary_card_lines(diff)
        title_font = QFont(QApplication.font())
        title_font.setBold(True)
        width = min(self.viewport().width() - 4 * _PAD, 640)
        card = QRectF(2 * _PAD, 2 * _PAD, width, 0)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        inner = card.adjusted(2 * _PAD, 0, -2 * _PAD, 0)
        title_rect = QFontMetricsF(title_font).boundingRect(QRectF(inner.x(), 0, inner.width(), 1e6), flags, title)
        detail_rect = QFontMetricsF(QApplication.font()).boundingRect(
            QRectF(inner.x(), 0, inner.width(), 1e6), flags, detail
        )
        card.setHeight(title_rect.height() + detail_rect.height() + 5 * _PAD)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colours.card_border, 1))
        painter.setBrush(colours.card_background)
        painter.drawRoundedRect(card.adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.setFont(title_font)
        painter.setPen(colours.foreground)
        top = card.top() + 2 * _PAD
        painter.drawText(QRectF(inner.x(), top, inner.width(), title_rect.height()), flags, title)
        painter.setFont(QApplication.font())
        painter.setPen(colours.muted)
        top += title_rect.height() + _PAD
        painter.drawText(QRectF(inner.x(), top, inner.width(), detail_rect.height()), flags, detail)
        painter.restore()
