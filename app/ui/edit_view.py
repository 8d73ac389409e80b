"""Edit mode's editor: the proposed text with line numbers and the diff's syntax colours (lexed off the UI thread by
app.ui.syntax), and below it a live diff of the edit against the proposal, debounced and computed on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPainter, QPalette, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QFrame, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.domain.diffing import compute_diff
from app.ui.background import start_worker
from app.ui.diff_view import DiffView
from app.ui.palette import palette_from
from app.ui.review_parts import EditBox
from app.ui.syntax import Colouring, LineSpans, SyntaxColourer, colour_results, decode_spans

# How long typing pauses before the colours and the diff catch up.
DEBOUNCE_MS = 250


class SpanHighlighter(QSyntaxHighlighter):
    """Paints the lexer's spans on the lines they were lexed for; a line edited since stays plain until the next
    answer (so a stale span never lands on the wrong characters)."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__(editor.document())
        self.editor = editor
        # line number (1-based) -> (the line's text when lexed, its spans)
        self.lines: dict[int, tuple[str, LineSpans]] = {}

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        found = self.lines.get(self.currentBlock().blockNumber() + 1)
        if found is None or found[0] != text:
            return
        scheme = palette_from(self.editor.palette())
        for start, end, token_type in decode_spans(found[1]):
            colour = scheme.token_colour(token_type)
            if colour is not None:
                fmt = QTextCharFormat()
                fmt.setForeground(colour)
                self.setFormat(start, end - start, fmt)


class _LineNumbers(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.editor.number_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.editor.paint_numbers(self, event)


class _DiffDone(QObject):
    # (generation, the diff, the proposed text, the edited text), from the worker thread to the UI thread.
    done = Signal(int, object, str, str)


class CodeEditor(EditBox):
    """The edit box: line numbers, syntax colours, and ``live_diff`` (shown with it) comparing it to the proposal."""

    def __init__(self, path_of: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path_of = path_of
        self.proposed = ""
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = SpanHighlighter(self)
        self._colourer = SyntaxColourer()
        self._colour_generation = 0
        colour_results().connect(self._on_colouring, Qt.ConnectionType.QueuedConnection)
        self.numbers = _LineNumbers(self)
        self.blockCountChanged.connect(self._fit_numbers)
        self.updateRequest.connect(self._scroll_numbers)
        self._fit_numbers()
        self.live_diff = LiveDiff()
        self._diff_generation = 0
        self._diff_done = _DiffDone(self)
        self._diff_done.done.connect(self._show_diff, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        self.textChanged.connect(self._timer.start)

    # -- the text ------------------------------------------------------------------------------------------------

    def setPlainText(self, text: str) -> None:  # noqa: N802 (Qt override)
        """Start editing ``text`` (the proposal's, or a hunk's): the live diff compares against it."""
        self.proposed = text
        self.highlighter.lines = {}
        super().setPlainText(text)
        self.refresh()

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt override)
        super().setVisible(visible)
        self.live_diff.setVisible(visible)
        if not visible:
            self._timer.stop()
            self._colourer.cancel()

    def refresh(self) -> None:
        """Colour the text and diff it against the proposal, now (typing calls this after a pause)."""
        self._timer.stop()
        text = self.toPlainText()
        path = self._path_of()
        self._colour_generation = self._colourer.request_diff(
            ("edit", id(self)), compute_diff(b"", b"", path or "text"), None, text
        )
        self._request_lines = text.split("\n")
        self._diff_generation += 1
        start_worker(self._diff_in_worker, self._diff_generation, self.proposed, text, path, name="edit-live-diff")

    def _diff_in_worker(self, generation: int, proposed: str, edited: str, path: str) -> None:
        try:
            diff = compute_diff(proposed.encode("utf-8"), edited.encode("utf-8"), path or "text")
        except Exception as error:  # a diff that fails must still answer, or the pane would wait for ever
            diff = error
        self._diff_done.done.emit(generation, diff, proposed, edited)

    def _show_diff(self, generation: int, diff: object, proposed: str, edited: str) -> None:
        if generation == self._diff_generation:
            self.live_diff.show_edit(diff, proposed, edited, generation)

    def _on_colouring(self, colouring: Colouring) -> None:
        if colouring.client is not self._colourer or not colouring.is_current:
            return
        lines = self._request_lines
        for number, spans in colouring.colours.get("new", {}).items():
            if 0 < number <= len(lines):
                self.highlighter.lines[number] = (lines[number - 1], spans)
        self.highlighter.rehighlight()

    # -- line numbers --------------------------------------------------------------------------------------------

    def number_width(self) -> int:
        digits = max(3, len(str(self.blockCount())))
        return 12 + self.fontMetrics().horizontalAdvance("9") * digits

    def _fit_numbers(self, _count: int = 0) -> None:
        self.setViewportMargins(self.number_width(), 0, 0, 0)

    def _scroll_numbers(self, rect: QRect, dy: int) -> None:
        if dy:
            self.numbers.scroll(0, dy)
        else:
            self.numbers.update(0, rect.y(), self.numbers.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        area = self.contentsRect()
        self.numbers.setGeometry(QRect(area.left(), area.top(), self.number_width(), area.height()))

    def paint_numbers(self, widget: QWidget, event) -> None:
        scheme = palette_from(self.palette())
        painter = QPainter(widget)
        painter.fillRect(event.rect(), scheme.gutter_background)
        painter.setPen(scheme.gutter_foreground)
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible():
                painter.drawText(
                    0, top, widget.width() - 6, height, int(Qt.AlignmentFlag.AlignRight), str(block.blockNumber() + 1)
                )
            top += round(self.blockBoundingRect(block).height())
            block = block.next()
        painter.end()

    def shown_line_numbers(self) -> list[int]:
        """The numbers the gutter shows now (for tests)."""
        block = self.firstVisibleBlock()
        numbers = []
        bottom = self.viewport().height()
        while block.isValid() and self.blockBoundingGeometry(block).translated(self.contentOffset()).top() <= bottom:
            numbers.append(block.blockNumber() + 1)
            block = block.next()
        return numbers

    def token_colour_at(self, line: int, column: int) -> QColor | None:
        """The colour painted on one character of the editor (for tests); None when plain."""
        block = self.document().findBlockByNumber(line - 1)
        for piece in block.layout().formats():
            if piece.start <= column < piece.start + piece.length:
                return piece.format.foreground().color()
        return None


class LiveDiff(QFrame):
    """What the edit changes against the proposal: a title with the count of lines, and the diff."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveDiff")
        self.title = QLabel("")
        self.title.setObjectName("liveDiffTitle")
        self.view = DiffView(self)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.hide()

    def show_edit(self, diff: object, proposed: str, edited: str, generation: int) -> None:
        self.generation = generation
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        self.title.setStyleSheet(f"color: {muted.name()}")
        if isinstance(diff, Exception):
            self.title.setText(f"Cannot diff the edit: {diff}")
            self.view.show_message("")
        elif not diff.hunks:  # type: ignore[attr-defined]
            self.title.setText("Your edit against the proposal: no change yet.")
            self.view.show_message("Type to change the proposal; what you change shows here.")
        else:
            added = sum(1 for h in diff.hunks for line in h.lines if line.origin == "+")  # type: ignore[attr-defined]
            removed = sum(1 for h in diff.hunks for line in h.lines if line.origin == "-")  # type: ignore[attr-defined]
            self.title.setText(f"Your edit against the proposal: +{added} −{removed}")
            self.view.show_diff(diff, token=("live edit", generation), old_text=proposed, new_text=edited)  # type: ignore[arg-type]
