"""Compare mode in the review pane: the original proposal and its sampled alternatives, one diff each.

All side by side when each gets at least MIN_COLUMNS columns of code; otherwise the original beside (or, narrower,
above) the alternative being looked at, with a chooser for the rest. An alternative identical to an earlier one says
so. ←/→ choose, Enter picks, ↑/↓ and PgUp/PgDn scroll. The view only shows and asks (``pick_requested`` with a
position); the review pane turns that into a PickRequest and the window records it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSpinBox, QSplitter, QTabBar, QVBoxLayout, QWidget

from app.domain.diffing import compute_diff
from app.domain.records import AlternativeRecord, CompareRecord
from app.services import compare
from app.ui.compare_layout import MIN_COLUMNS, Arrangement, arrange, identical_to
from app.ui.diff_view import DiffView
from app.ui.theme import current_colours

# QWIDGETSIZE_MAX: no maximum height.
_NO_LIMIT = 16777215


def _display_text(content: bytes | None) -> str | None:
    if content is None or b"\x00" in content[:8000]:
        return None
    return content.decode("utf-8", errors="replace")


def _said(alternative: AlternativeRecord) -> str:
    text = "".join(
        block.get("text", "") for block in (alternative.content or []) if block.get("type") == "text"
    ).strip()
    return text if len(text) <= 400 else text[:399] + "…"


class ComparePane(QFrame):
    """One alternative: a header (which, what it changes, +/− lines, sampling), what the model said, and its diff."""

    clicked = Signal(int)

    def __init__(
        self, alternative: AlternativeRecord, parent: QWidget | None = None, *, same_as: str | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("comparePane")
        self.alternative = alternative
        # The label of an earlier alternative with the very same change, if any.
        self.same_as = same_as
        self.setProperty("selected", False)
        self.setProperty("nochange", not alternative.proposes_change)
        self.header = QLabel()
        self.header.setObjectName("comparePaneHeader")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        usage = alternative.usage or {}
        tokens = f" · {usage.get('output_tokens')} tokens out" if usage.get("output_tokens") else ""
        muted = current_colours()["muted"]
        same = f" &nbsp;<b>= same as {html.escape(same_as)}</b>" if same_as else ""
        self._details = (
            f"{html.escape(compare.target_text(alternative))}{same}",
            f"<span style='color:{muted}'>{html.escape(compare.sampling_text(alternative.sampling))}{tokens}</span>",
        )
        # Stacked (one pane above the other), the header takes one line and what the model said one line (all of
        # it in the tooltip), so the rows go to the code.
        self._compact = False
        self._selected = False
        self._show_header(False)
        self._said_text = _said(alternative)
        self.said = QLabel(self._said_text)
        self.said.setObjectName("comparePaneSaid")
        self.said.setWordWrap(True)
        self.said.setToolTip(self._said_text)
        self.said.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.view = DiffView(self)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # A line longer than the pane wraps instead of hiding behind a scroll bar (the pane is never under
        # MIN_COLUMNS wide, so nothing wraps a token a line).
        self.view.set_wrap(True)
        self._show()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.said)
        layout.addWidget(self.view, 1)
        # The view decides how many panes share a row (CompareView._arrange), so a pane never holds the window wide.
        self.setMinimumWidth(120)
        # Only once it has a parent: a parentless widget made visible is a window of its own.
        self.said.setVisible(bool(self.said.text()))

    def _show(self) -> None:
        a = self.alternative
        token = ("alternative", a.id)
        if a.kind == "command":
            self.view.show_command(a.command or "", a.cwd or ".", token=token)
        elif a.kind == compare.NO_CHANGE:
            self.view.show_message(a.note or "No change proposed.")
        else:
            diff = compute_diff(a.old_content, a.new_content, a.path or "")
            self.view.show_diff(
                diff, token=token, old_text=_display_text(a.old_content), new_text=_display_text(a.new_content)
            )

    def _show_header(self, selected: bool) -> None:
        a = self.alternative
        key = "Enter picks" if a.proposes_change or a.position == 0 else "cannot be picked"
        # The mark, not only the theme's border, says which pane Enter picks.
        mark = "▶ " if selected else ""
        muted = current_colours()["muted"]
        gap = " &nbsp;·&nbsp; " if self._compact else "<br>"
        self.header.setText(
            f"<b>{mark}{html.escape(a.label)}</b> &nbsp;<span style='color:{muted}'>[{key}]</span>{gap}"
            + gap.join(self._details)
        )

    def set_compact(self, compact: bool) -> None:
        """One line of header and one of what the model said (stacked), or all of both (side by side)."""
        if compact == self._compact:
            return
        self._compact = compact
        self._show_header(self._selected)
        # Still wrapped (a long line must not widen the pane), cut to its first line; the tooltip has it all.
        self.said.setMaximumHeight(self.said.fontMetrics().height() if compact else _NO_LIMIT)
        self._fit_said()

    def _fit_said(self) -> None:
        """Stacked: what the model said as one line that fits the pane, ending in "…" where there is more."""
        if not self._compact:
            self.said.setText(self._said_text)
            return
        first, _newline, rest = self._said_text.partition("\n")
        line = first + (" …" if rest.strip() else "")
        # A few pixels short of the label, so the wrapping label never breaks the one line it gets.
        width = max(self.said.contentsRect().width() - 8, 40)
        self.said.setText(self.said.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self._compact:
            self._fit_said()

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self._show_header(selected)
        self.setProperty("selected", selected)
        self.style().unpolish(self)
        self.style().polish(self)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.clicked.emit(self.alternative.position)
        super().mousePressEvent(event)

    def readable_width(self) -> int:
        """The narrowest this pane can be and still show MIN_COLUMNS columns of code beside its line numbers."""
        margins = self.layout().contentsMargins()
        return self.view.width_for_columns(MIN_COLUMNS) + margins.left() + margins.right() + 2 * self.frameWidth()

    def columns(self) -> int:
        """How many columns of code the pane shows now."""
        return self.view.columns_shown()


class CompareView(QFrame):
    """Every alternative of a compare, as many side by side as stay readable; keeps the focus while shown."""

    pick_requested = Signal(int)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.record: CompareRecord | None = None
        self.panes: list[ComparePane] = []
        self.selected = 0
        # The alternative shown beside the original when not all fit (the last one chosen other than the original).
        self._focus = 1
        self._first = 1
        self.arrangement = Arrangement((), stacked=False)
        self.hint = QLabel(
            "Compare: ←/→ choose, Enter picks (applied as an approval), R rejects all with a reason, "
            "C samples again, 1–5 rate, Esc goes back."
        )
        self.hint.setObjectName("compareHint")
        self.hint.setWordWrap(True)
        # Which alternatives there are, when not all are on screen; identical ones say so.
        self.chooser = QTabBar()
        self.chooser.setObjectName("compareChooser")
        self.chooser.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.chooser.setExpanding(False)
        self.chooser.setDrawBase(False)
        self.chooser.setUsesScrollButtons(True)
        self.chooser.tabBarClicked.connect(self.select)
        self.chooser.hide()
        self.row = QSplitter(Qt.Orientation.Horizontal)
        self.row.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.chooser)
        layout.addWidget(self.row, 1)

    def show_compare(self, record: CompareRecord) -> None:
        for pane in self.panes:
            pane.hide()
            pane.setParent(None)
            pane.deleteLater()
        self.record = record
        self.panes = []
        labels = {a.position: a.label for a in record.alternatives}
        same = identical_to(record.alternatives)
        while self.chooser.count():
            self.chooser.removeTab(0)
        for alternative in record.alternatives:
            same_as = labels.get(same[alternative.position]) if alternative.position in same else None
            pane = ComparePane(alternative, self.row, same_as=same_as)
            pane.clicked.connect(self.select)
            self.row.addWidget(pane)
            self.panes.append(pane)
            self.chooser.addTab(f"{alternative.label}  = {same_as}" if same_as else alternative.label)
            self.chooser.setTabToolTip(self.chooser.count() - 1, compare.target_text(alternative))
        # Start on the first sampled alternative that proposes a change; the original is one ← away.
        first = next((p.alternative.position for p in self.panes[1:] if p.alternative.proposes_change), 0)
        self._focus, self._first = max(1, first), 1
        self.arrangement = Arrangement((), stacked=False)
        self.select(first)

    def select(self, position: int) -> None:
        if not self.panes:
            return
        self.selected = max(0, min(len(self.panes) - 1, position))
        if self.selected:
            self._focus = self.selected
        for index, pane in enumerate(self.panes):
            pane.set_selected(index == self.selected)
        self.chooser.setCurrentIndex(self.selected)
        self._arrange()

    def visible_panes(self) -> list[ComparePane]:
        return [self.panes[position] for position in self.arrangement.positions]

    def _fits_side_by_side(self) -> int:
        readable = max(pane.readable_width() for pane in self.panes)
        handles = self.row.handleWidth()
        return max(1, (self.width() + handles) // (readable + handles))

    def _arrange(self) -> None:
        """Show the panes that fit at a readable width (see compare_layout.arrange); the chooser when some do not."""
        if not self.panes:
            return
        wanted = arrange(len(self.panes), self._fits_side_by_side(), self._focus, self._first)
        if len(wanted.positions) > 1 and wanted.positions[1] >= 1:
            self._first = wanted.positions[1]
        if wanted == self.arrangement:
            return
        self.arrangement = wanted
        self.row.setOrientation(Qt.Orientation.Vertical if wanted.stacked else Qt.Orientation.Horizontal)
        for position, pane in enumerate(self.panes):
            pane.set_compact(wanted.stacked)
            pane.setVisible(position in wanted.positions)
        # Children appear in order of position: the original first (left, or on top).
        self.row.setSizes([1000 if position in wanted.positions else 0 for position in range(len(self.panes))])
        self.chooser.setVisible(len(wanted.positions) < len(self.panes))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._arrange()

    @property
    def selected_alternative(self) -> AlternativeRecord | None:
        return self.panes[self.selected].alternative if self.panes else None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key = event.key()
        if key == Qt.Key.Key_Left:
            self.select(self.selected - 1)
        elif key == Qt.Key.Key_Right:
            self.select(self.selected + 1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.panes:
            self.pick_requested.emit(self.selected)
        elif key == Qt.Key.Key_Escape:
            self.closed.emit()
        elif (
            key
            in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End)
            and self.panes
        ):
            self.panes[self.selected].view.keyPressEvent(event)
        else:
            super().keyPressEvent(event)


class CompareBar(QFrame):
    """Asks how many alternatives to sample (2-4): a spin box, Enter samples, Esc cancels; then says it is sampling."""

    QUESTION = (
        "alternatives (2–4, ↑/↓) for this step and compare them side by side — Enter samples, "
        "L shows the last ones sampled, Esc cancels."
    )

    sample_requested = Signal(int)
    # L: show the alternatives sampled last time (in this window, another one, or by `signoff compare`).
    last_requested = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareBar")
        self.label = QLabel("Sample")
        self.count = QSpinBox()
        self.count.setRange(compare.MIN_ALTERNATIVES, compare.MAX_ALTERNATIVES)
        self.count.setValue(compare.DEFAULT_ALTERNATIVES)
        self.count.setObjectName("compareCount")
        self.count.installEventFilter(self)
        self.after = QLabel(self.QUESTION)
        self.after.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.count)
        layout.addWidget(self.after, 1)

    def ask(self) -> None:
        self.count.setEnabled(True)
        self.label.setText("Sample")
        self.after.setText(self.QUESTION)
        self.show()
        self.count.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.count.selectAll()

    def sampling(self, count: int) -> None:
        self.count.setEnabled(False)
        self.label.setText("Sampling")
        self.after.setText(f"alternatives… (the same request, {count} times; the proposal keeps waiting meanwhile)")

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if watched is self.count and event.type() == event.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.sample_requested.emit(self.count.value())
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.cancelled.emit()
                return True
            if event.key() == Qt.Key.Key_L:
                self.last_requested.emit()
                return True
        return super().eventFilter(watched, event)
