"""The review pane's diff and command view: paints only the visible rows, so any size opens instantly.
It must never lex (syntax.py does, off the UI thread) nor lay out the whole text (no QTextDocument)."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QEasingCurve, QEvent, QPointF, QRect, QRectF, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QCloseEvent,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget

from app.core.diff_types import FileDiff
from app.ui.diff_rows import (
    MAX_DISPLAY_CHARS,
    TAB_WIDTH,
    CommandRows,
    DiffRows,
    Row,
    RowKind,
    binary_card_lines,
    empty_diff_message,
    expand_tabs,
    line_segments,
    reveal_hidden,
)
from app.ui.palette import DiffPalette, palette_from
from app.ui.syntax import Colouring, SideColours, SyntaxColourer, colour_results


class _Mode(enum.Enum):
    EMPTY = enum.auto()
    MESSAGE = enum.auto()
    BINARY = enum.auto()
    ROWS = enum.auto()


_PAD = 8
_BADGE_PAD = 4
_SCROLL_MS = 110


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


class DiffView(QAbstractScrollArea):
    # Emitted with the token once syntax colours for the shown diff or command are painted (not for cards/messages).
    colours_ready = Signal(object)

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
        self._content_columns = 0
        self._widest_painted = 0.0
        self._scheme = palette_from(self.palette())
        self._colourer = SyntaxColourer()
        # The colouring still owed for what is shown; sent to the lexer only once the plain text is painted.
        self._colour_request: Callable[[], int] | None = None
        self._colour_request_sent = False
        colour_results().connect(self._on_colouring, Qt.ConnectionType.QueuedConnection)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._pick_palette)
        self._scroller = QVariantAnimation(self)
        self._scroller.setDuration(_SCROLL_MS)
        self._scroller.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._scroller.valueChanged.connect(self._follow_scroller)
        self._measure_font()
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

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

        Showing the same diff for the same token again changes nothing; a new diff for the same token (a refresh)
        keeps the scroll position.
        """
        if token == self._token and self._shown_diff is diff:
            return
        if diff.is_binary:
            self._show(_Mode.BINARY, token=token)
            self._binary = diff
        elif not diff.hunks:
            self._show(_Mode.MESSAGE, token=token)
            self._message = empty_diff_message(diff)
        else:
            self._show(_Mode.ROWS, token=token, rows=DiffRows(diff))
            self._request_colours(partial(self._colourer.request_diff, token, diff, old_text, new_text))
        self._shown_diff = diff
        self.viewport().update()

    def show_command(self, command: str, cwd: str, *, token: object) -> None:
        """Show a shell command with its working directory above it, highlighted as Bash when the lexer is done."""
        self._show(_Mode.ROWS, token=token, rows=CommandRows(command, cwd))
        self._request_colours(partial(self._colourer.request_command, token, command))
        self.viewport().update()

    def show_message(self, text: str) -> None:
        """A note in place of a diff: nothing selected, nothing to show, and the like."""
        self._show(_Mode.MESSAGE, token=None)
        self._message = text
        self.viewport().update()

    def clear(self) -> None:
        self._show(_Mode.EMPTY, token=None)
        self.viewport().update()

    def _show(self, mode: _Mode, *, token: object, rows: DiffRows | CommandRows | tuple[()] = ()) -> None:
        refresh = token is not None and token == self._token
        scroll_to = (self.horizontalScrollBar().value(), self.verticalScrollBar().value()) if refresh else (0, 0)
        self._shown_diff = None
        self._colourer.cancel()
        self._colour_request = None
        self._scroller.stop()
        self._mode = mode
        self._token = token
        self._rows = rows
        self._syntax_colours = {}
        self._binary = None
        self._message = ""
        self._content_columns = rows.widest_columns(self.tab_width) if rows else 0
        self._widest_painted = 0.0
        self._layout_columns()
        self.horizontalScrollBar().setValue(scroll_to[0])
        self.verticalScrollBar().setValue(scroll_to[1])

    def _request_colours(self, request: Callable[[], int]) -> None:
        self._colour_request = request
        self._colour_request_sent = False

    def _send_colour_request(self) -> None:
        if self._colour_request is not None and not self._colour_request_sent:
            self._colour_request_sent = True
            self._colour_request()

    def _on_colouring(self, colouring: Colouring) -> None:
        # Results for an earlier diff (or an earlier showing of this one) are dropped, like git-cola's token guard.
        if colouring.client is not self._colourer or not colouring.is_current or colouring.token != self._token:
            return
        self._syntax_colours = colouring.colours
        self._colour_request = None
        self.viewport().update()
        self.colours_ready.emit(colouring.token)

    # --- geometry -----------------------------------------------------------------------------------------------

    def _measure_font(self) -> None:
        metrics = self._metrics = QFontMetricsF(self.font())
        self._char_width = metrics.horizontalAdvance("0")
        self._ascent = metrics.ascent()
        self._row_height = math.ceil(metrics.height()) + 4
        self._badge_font = QFont(self.font())
        self._badge_font.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.8))
        self._badge_metrics = QFontMetricsF(self._badge_font)
        self._layout_columns()

    def _layout_columns(self) -> None:
        """Gutter columns: two line-number columns for diffs, a prompt column for commands."""
        if isinstance(self._rows, CommandRows):
            self._number_width = 0.0
            self._gutter_width = 0.0
        else:
            digits = max(3, len(str(getattr(self._rows, "max_lineno", 0))))
            self._number_width = digits * self._char_width + 2 * _PAD
            self._gutter_width = 2 * self._number_width
        self._sign_width = 2 * self._char_width + _PAD
        self._text_left = self._gutter_width + self._sign_width
        self._update_scrollbars()

    def _update_scrollbars(self) -> None:
        viewport = self.viewport()
        content_height = len(self._rows) * self._row_height if self._mode is _Mode.ROWS else 0
        vertical = self.verticalScrollBar()
        vertical.setRange(0, max(0, content_height - viewport.height()))
        vertical.setPageStep(viewport.height())
        vertical.setSingleStep(self._row_height)
        text_area = max(1.0, viewport.width() - self._text_left)
        # Room past the widest line for the CRLF / no-newline badges.
        content_width = max(self._content_columns * self._char_width, self._widest_painted) + 30 * self._char_width
        horizontal = self.horizontalScrollBar()
        horizontal.setRange(0, max(0, math.ceil(content_width - text_area)) if self._mode is _Mode.ROWS else 0)
        horizontal.setPageStep(round(text_area))
        horizontal.setSingleStep(round(4 * self._char_width))

    def row_rect(self, index: int) -> QRect:
        """Where row ``index`` is (or would be) painted, in viewport coordinates."""
        top = index * self._row_height - self.verticalScrollBar().value()
        return QRect(0, top, self.viewport().width(), self._row_height)

    def row_at(self, y: int) -> int | None:
        index = (self.verticalScrollBar().value() + y) // self._row_height
        return index if self._mode is _Mode.ROWS and 0 <= index < len(self._rows) else None

    # --- events -------------------------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_scrollbars()

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
        self.viewport().update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # Vertical moves blit and paint only the exposed strip; horizontal ones must keep the gutter still.
        if dx:
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
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - pixels.y())
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
        else:
            super().keyPressEvent(event)

    def _follow_scroller(self, value: float) -> None:
        self.verticalScrollBar().setValue(round(value))

    def scroll_by(self, dy: int) -> None:
        """Scroll smoothly; repeated presses add up from where the running animation is heading."""
        bar = self.verticalScrollBar()
        running = self._scroller.state() == QVariantAnimation.State.Running
        base = int(self._scroller.endValue()) if running else bar.value()
        target = max(bar.minimum(), min(bar.maximum(), base + dy))
        self._scroller.stop()
        if target == bar.value():
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

    def _paint_rows(self, painter: QPainter, top: int, bottom: int) -> None:
        scroll_y = self.verticalScrollBar().value()
        first = (scroll_y + top) // self._row_height
        last = min(len(self._rows), (scroll_y + bottom) // self._row_height + 1)
        painter.setFont(self.font())
        widest_before = self._widest_painted
        for index in range(first, last):
            self._paint_row(painter, index, self._rows[index], index * self._row_height - scroll_y)
        if self._gutter_width:
            rule_bottom = min(bottom + 1, last * self._row_height - scroll_y)
            painter.setPen(QPen(self._scheme.gutter_rule, 1))
            painter.drawLine(QPointF(self._gutter_width - 0.5, top), QPointF(self._gutter_width - 0.5, rule_bottom))
        if self._widest_painted > widest_before:
            # A line wider than the estimate (wide characters, badges): grow the range after this paint.
            QTimer.singleShot(0, self._update_scrollbars)

    def _paint_row(self, painter: QPainter, index: int, row: Row, y: int) -> None:
        colours = self._scheme
        width = self.viewport().width()
        height = self._row_height
        kind = row.kind
        background, gutter, sign, sign_colour = _row_style(row, colours)
        painter.fillRect(QRectF(0, y, width, height), background)
        baseline = y + 2 + self._ascent

        if kind is RowKind.CWD:
            self._paint_cwd(painter, row.text, y, baseline)
            return
        if self._gutter_width:
            painter.fillRect(QRectF(0, y, self._gutter_width, height), gutter)
            painter.setPen(colours.gutter_foreground)
            for column, number in enumerate((row.old_lineno, row.new_lineno)):
                if number is not None:
                    cell = QRectF(column * self._number_width, y, self._number_width - _PAD, height)
                    painter.drawText(cell, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(number))
        if sign:
            painter.setPen(sign_colour)
            painter.drawText(QPointF(self._gutter_width + _PAD / 2, baseline), sign)

        painter.save()
        painter.setClipRect(QRectF(self._text_left, y, width - self._text_left, height))
        if kind is RowKind.HUNK:
            painter.setPen(colours.hunk_foreground)
            painter.drawText(QPointF(self._text_left - self.horizontalScrollBar().value(), baseline), row.text)
        else:
            self._paint_text(painter, index, row, y, baseline)
        painter.restore()

    def _paint_text(self, painter: QPainter, index: int, row: Row, y: int, baseline: float) -> None:
        colours = self._scheme
        metrics = self._metrics
        text = row.text[:MAX_DISPLAY_CHARS]
        syntax_spans = self._syntax_colours.get(row.syntax_side or "", {}).get(row.syntax_line or 0, ())
        highlight = colours.removed_highlight if row.kind is RowKind.REMOVED else colours.added_highlight
        highlights = self._rows.highlights(index)
        right_edge = self.viewport().width()
        x = self._text_left - self.horizontalScrollBar().value()
        column = 0
        for start, end, token_type, highlighted in line_segments(len(text), syntax_spans, highlights):
            expanded, column = expand_tabs(text[start:end], column, self.tab_width)
            for piece, hidden in reveal_hidden(expanded):
                advance = self._badge_width(piece) if hidden else metrics.horizontalAdvance(piece)
                if x + advance >= self._text_left and x <= right_edge:
                    if highlighted:
                        painter.fillRect(QRectF(x, y + 1, advance, self._row_height - 2), highlight)
                    if hidden:
                        self._paint_badge(painter, piece, x, y)
                    else:
                        painter.setPen((token_type and colours.token_colour(token_type)) or colours.foreground)
                        painter.drawText(QPointF(x, baseline), piece)
                x += advance
        # Every line of a CRLF file carries the mark, so it stays quiet; the rarer notes stand out.
        badges = []
        if len(row.text) > MAX_DISPLAY_CHARS:
            badges.append((f"… {len(row.text) - MAX_DISPLAY_CHARS:,} more characters", False))
        if row.crlf:
            badges.append(("CRLF", True))
        if row.no_newline:
            badges.append(("No newline at end of file", False))
        for label, quiet in badges:
            x += self._char_width
            x = self._paint_badge(painter, label, x, y, quiet=quiet)
        self._widest_painted = max(self._widest_painted, x + self.horizontalScrollBar().value() - self._text_left)

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

