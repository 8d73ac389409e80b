"""The review pane's diff and command view: paints only the visible rows, so any size opens instantly. Its parts:
diff_geometry (placing rows), diff_folds (modes, hunks, folds), diff_find (search), diff_painter (painting).
It must never lex (syntax.py does, off the UI thread) nor lay out the whole text (no QTextDocument)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from functools import partial

from PySide6.QtCore import QEasingCurve, QEvent, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFontDatabase,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QResizeEvent,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QWidget

from app.domain.diff_types import FileDiff
from app.ui.diff_find import DiffFind
from app.ui.diff_folds import DiffFolds
from app.ui.diff_geometry import (
    PAD,
    SCROLL_MS,
    WINDOW_MARGIN_ROWS,
    DiffGeometry,
    Mode,
    Window,
)
from app.ui.diff_painter import DiffPainter
from app.ui.diff_rows import (
    MAX_DISPLAY_CHARS,
    TAB_WIDTH,
    CommandRows,
    DiffRows,
    LineKey,
    Match,
    RowKind,
    empty_diff_message,
)
from app.ui.diff_search import KEY_HELP, VIEW_KEYS, FindBar
from app.ui.palette import DiffPalette, palette_from
from app.ui.syntax import Colouring, SideColours, SyntaxColourer, colour_results

# From this many diff lines up, the diff is kept out of the garbage collector's full passes while shown.
_BIG_DIFF_LINES = 20_000
# Views showing a big diff: the collector's freeze is process-wide, so it lifts only when none is left.
_views_holding_a_freeze: set[int] = set()


class DiffView(DiffPainter, DiffGeometry, DiffFolds, DiffFind, QAbstractScrollArea):
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
        self._mode = Mode.EMPTY
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
        # Whether wrapping was chosen (W, or an owner's set_wrap); until then side by side wraps lines too wide for
        # their half (diff_folds._fit_sides).
        self._wrap_chosen = False
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
        self._colour_request: Callable[[tuple[Window, Window]], int] | None = None
        self._colour_request_sent = False
        colour_results().connect(self._on_colouring, Qt.ConnectionType.QueuedConnection)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._pick_palette)
        self._scroller = QVariantAnimation(self)
        self._scroller.setDuration(SCROLL_MS)
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
        self.legend.setContentsMargins(PAD, 1, PAD, 1)
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
        for key in VIEW_KEYS:
            shortcut = QShortcut(QKeySequence(key.sequence), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(getattr(self, key.method))
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
            self._show(Mode.BINARY, token=token)
            self._binary = diff
        elif not diff.hunks:
            self._show(Mode.MESSAGE, token=token)
            self._message = empty_diff_message(diff)
        else:
            rows = DiffRows(diff, old_text=old_text, new_text=new_text, split=self._split)
            current = self._current_hunk if refresh and 0 <= self._current_hunk < rows.hunk_count else 0
            marks = self._hunk_marks if refresh else {}
            self._show(Mode.ROWS, token=token, rows=rows)
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
        self._show(Mode.ROWS, token=token, rows=CommandRows(command, cwd))
        self._hold_out_of_gc(False)
        self._request_colours(lambda windows: self._colourer.request_command(token, command))
        self.current_hunk_changed.emit(-1)
        self._refresh_search()
        self._update_legend()
        self.viewport().update()

    def show_message(self, text: str) -> None:
        """A note in place of a diff: nothing selected, nothing to show, and the like."""
        self._show(Mode.MESSAGE, token=None)
        self._hold_out_of_gc(False)
        self._message = text
        self._update_legend()
        self.current_hunk_changed.emit(-1)
        self.viewport().update()

    def clear(self) -> None:
        self._show(Mode.EMPTY, token=None)
        self._hold_out_of_gc(False)
        self._update_legend()
        self.current_hunk_changed.emit(-1)
        self.viewport().update()

    def _show(self, mode: Mode, *, token: object, rows: DiffRows | CommandRows | tuple[()] = ()) -> None:
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
        self._fit_sides()
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

    def _request_colours(self, request: Callable[[tuple[Window, Window]], int]) -> None:
        self._colour_request = request
        self._colour_request_sent = False

    def _send_colour_request(self) -> None:
        if self._colour_request is not None and not self._colour_request_sent:
            self._colour_request_sent = True
            self._colour_request(self._visible_lines_by_side())

    def _visible_lines_by_side(self) -> tuple[Window, Window]:
        """The lines on screen, then a margin around them, per lexed side, in line order: the lexer's first two
        jobs. Apart, so the screen's colours do not wait for the margin's (pygments does ~1 MB/s)."""
        if self._mode is not Mode.ROWS or not isinstance(self._rows, DiffRows):
            return {}, {}
        indices = [index for index, _, _ in self._rows_in(0, self.viewport().height())]
        if not indices:
            return {}, {}
        first = max(0, indices[0] - WINDOW_MARGIN_ROWS)
        last = min(len(self._rows), indices[-1] + 1 + WINDOW_MARGIN_ROWS)

        def lines_by_side(index_range: range) -> Window:
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
