"""The diff view's painting: visible rows only, cells, headers, verdict and fold marks, text runs with syntax colours,
badges, and the message and binary cards. A mixin of DiffView; it never imports the view."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QApplication

from app.domain.diff_types import FileDiff
from app.ui.diff_geometry import (
    BADGE_PAD,
    BAR_WIDTH,
    PAD,
    VERDICTS,
    Mode,
    Run,
)
from app.ui.diff_rows import (
    MAX_DISPLAY_CHARS,
    DisplayRow,
    LineKey,
    Row,
    RowKind,
    binary_card_lines,
    line_segments,
    reveal_hidden,
    wrap_runs,
)
from app.ui.palette import DiffPalette
from app.ui.syntax import decode_spans


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
    return next((key for key in VERDICTS if lowered.startswith(key)), None)


class DiffPainter:
    """Paints what the geometry places."""

    # --- painting -----------------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        colours = self._scheme
        painter.fillRect(event.rect(), colours.background)
        if self._mode is Mode.ROWS:
            self._paint_rows(painter, event.rect().top(), event.rect().bottom())
        elif self._mode is Mode.MESSAGE:
            self._paint_message(painter)
        elif self._mode is Mode.BINARY and self._binary is not None:
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
            painter.fillRect(QRectF(0, y, BAR_WIDTH, height), self._scheme.current_hunk)

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
                    cell = QRectF(left + column * self._number_width, y, self._number_width - PAD, self._row_height)
                    painter.drawText(cell, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(number))
            painter.setPen(QPen(colours.gutter_rule, 1))
            rule = left + self._gutter_width - 0.5
            painter.drawLine(QPointF(rule, y), QPointF(rule, y + height))
        if sign:
            painter.setPen(sign_colour)
            painter.drawText(QPointF(left + self._gutter_width + PAD / 2, baseline), sign)
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
                *(
                    part / 3 + 2 * plain_part / 3
                    for part, plain_part in zip(colour.getRgbF()[:3], plain.getRgbF()[:3], strict=False)
                )
            )
        return found

    def whitespace_only_row(self, index: int) -> bool:
        """Whether row ``index`` is a changed line that differs from its pair only in whitespace (drawn dimmed)."""
        if self._mode is not Mode.ROWS or not 0 <= index < len(self._rows):
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
        right = float(width - PAD)
        mark = _verdict_key(self._hunk_marks.get(row.hunk, "")) if row.hunk is not None else None
        if mark is not None:
            right = self._paint_verdict(painter, mark, right, y) - PAD
        if row.hunk is not None and self.hunk_count > 1:
            label = f"{row.hunk + 1}/{self.hunk_count}"
            painter.setFont(self._badge_font)
            painter.setPen(colours.muted)
            label_width = self._badge_metrics.horizontalAdvance(label)
            painter.drawText(QPointF(right - label_width, baseline), label)
            right -= label_width + PAD
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
        label = VERDICTS[mark]
        fill = {"approve": colours.approve_badge, "reject": colours.reject_badge, "edit": colours.edit_badge}[mark]
        width = self._badge_width(label) + 2 * BADGE_PAD
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
        x = self._gutter_width + PAD / 2 if not self._is_split() else self._number_width + PAD / 2
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
            pieces = self._wrapped_pieces(runs, left, right, y)
        else:
            pieces = self._unwrapped_pieces(runs, left, y, hidden_tail)

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

    def _wrapped_pieces(self, runs: list, left: float, right: float, y: int) -> list:
        """Where each run (or its part on each wrapped line) is painted: (kind, text, token type, highlighted, match,
        x, top, width)."""
        height = self._row_height
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
        return pieces

    def _unwrapped_pieces(self, runs: list, left: float, y: int, hidden_tail: int) -> list:
        """Where each run is painted on the one line, scrolled; the painted width is remembered for the scroll
        range."""
        metrics = self._metrics
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
        return pieces

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
    ) -> list[Run]:
        """A row's text as runs to paint: syntax, intraline and search runs, tabs and hidden characters apart.
        The last ``hidden_tail`` characters (before the display cut) are left out: they are off screen."""
        text = row.text[:MAX_DISPLAY_CHARS]
        if hidden_tail:
            text = text[:-hidden_tail]
        runs: list[Run] = []
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

    def _run_columns(self, run: Run) -> tuple[int, bool] | tuple[int, bool, str]:
        kind, text = run[0], run[1]
        if kind in ("text", "tab"):
            # The text goes along so wrapping can end lines between words.
            return len(text), True, text
        columns = math.ceil(self._badge_width(text) / self._char_width)
        return (columns + 1 if kind == "note" else columns), False

    def _badge_width(self, label: str) -> float:
        return self._badge_metrics.horizontalAdvance(label) + 2 * BADGE_PAD

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
        x = float(PAD)
        painter.drawText(QPointF(x, baseline), label)
        x += self._metrics.horizontalAdvance(label)
        shown = self._metrics.elidedText(cwd, Qt.TextElideMode.ElideMiddle, self.viewport().width() - x - PAD)
        painter.setPen(colours.foreground)
        painter.drawText(QPointF(x, baseline), shown)
        painter.setPen(QPen(colours.gutter_rule, 1))
        bottom = y + self._row_height - 0.5
        painter.drawLine(QPointF(0, bottom), QPointF(self.viewport().width(), bottom))

    def _paint_message(self, painter: QPainter) -> None:
        painter.setFont(QApplication.font())
        painter.setPen(self._scheme.muted)
        area = QRectF(self.viewport().rect()).adjusted(3 * PAD, 3 * PAD, -3 * PAD, -3 * PAD)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)

    def _paint_binary_card(self, painter: QPainter, diff: FileDiff) -> None:
        colours = self._scheme
        title, detail = binary_card_lines(diff)
        title_font = QFont(QApplication.font())
        title_font.setBold(True)
        width = min(self.viewport().width() - 4 * PAD, 640)
        card = QRectF(2 * PAD, 2 * PAD, width, 0)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        inner = card.adjusted(2 * PAD, 0, -2 * PAD, 0)
        title_rect = QFontMetricsF(title_font).boundingRect(QRectF(inner.x(), 0, inner.width(), 1e6), flags, title)
        detail_rect = QFontMetricsF(QApplication.font()).boundingRect(
            QRectF(inner.x(), 0, inner.width(), 1e6), flags, detail
        )
        card.setHeight(title_rect.height() + detail_rect.height() + 5 * PAD)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colours.card_border, 1))
        painter.setBrush(colours.card_background)
        painter.drawRoundedRect(card.adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.setFont(title_font)
        painter.setPen(colours.foreground)
        top = card.top() + 2 * PAD
        painter.drawText(QRectF(inner.x(), top, inner.width(), title_rect.height()), flags, title)
        painter.setFont(QApplication.font())
        painter.setPen(colours.muted)
        top += title_rect.height() + PAD
        painter.drawText(QRectF(inner.x(), top, inner.width(), detail_rect.height()), flags, detail)
        painter.restore()
