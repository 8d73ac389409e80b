"""The diff view's find bar and key legend: a small line edit with a hit counter, and the text listing the view's keys.
Widgets only; the search itself runs in diff_rows (over row texts) and the view decides what to scroll to."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

# (key sequence for QShortcut, DiffView method, what the legend says). None of these may be A, R or E, with or
# without Shift: the review panel owns those (whole-proposal and per-hunk verdicts).
VIEW_KEYS: tuple[tuple[str, str, str], ...] = (
    ("T", "toggle_mode", "t unified/split"),
    ("N", "next_hunk", "n/p hunk"),
    ("P", "previous_hunk", ""),
    ("X", "expand_current_fold", "x/⇧X expand"),
    ("Shift+X", "expand_all_folds", ""),
    ("Ctrl+F", "open_find", "/ find"),
    ("/", "open_find", ""),
    ("F3", "find_next", ""),
    ("Shift+F3", "find_previous", ""),
    ("W", "toggle_wrap", "w wrap"),
    ("Shift+W", "toggle_whitespace", "⇧W whitespace"),
)

KEY_LEGEND = " · ".join(label for _, _, label in VIEW_KEYS if label)

KEY_HELP = (
    "Diff view keys\n"
    "t  unified / side by side\n"
    "n / p  next / previous hunk\n"
    "x  expand the fold near the current hunk (Enter, or click a fold)\n"
    "Shift+X  expand every fold\n"
    "/ or Ctrl+F  find; Enter / F3 next, Shift+Enter / Shift+F3 previous, Esc closes\n"
    "w  wrap long lines\n"
    "Shift+W  show spaces and tabs on changed lines"
)


class _FindEdit(QLineEdit):
    next_requested = Signal()
    previous_requested = Signal()
    closed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F3):
            (self.previous_requested if shift else self.next_requested).emit()
        elif key == Qt.Key.Key_Escape:
            self.closed.emit()
        else:
            super().keyPressEvent(event)


class FindBar(QFrame):
    """A query box and an "n of m" counter; says what the person asks for, never searches itself."""

    query_changed = Signal(str)
    next_requested = Signal()
    previous_requested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffFindBar")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        self.edit = _FindEdit(self)
        self.edit.setObjectName("diffFindEdit")
        self.edit.setPlaceholderText("Find in diff  (Enter next, Shift+Enter previous, Esc closes)")
        self.edit.setClearButtonEnabled(True)
        self.count = QLabel("", self)
        self.count.setObjectName("diffFindCount")
        self.count.setMinimumWidth(90)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.setToolTip("Close (Esc)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(6)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.count)
        layout.addWidget(close)
        self.edit.textChanged.connect(self.query_changed)
        self.edit.next_requested.connect(self.next_requested)
        self.edit.previous_requested.connect(self.previous_requested)
        self.edit.closed.connect(self.closed)
        close.clicked.connect(self.closed)

    @property
    def query(self) -> str:
        return self.edit.text()

    def show_count(self, current: int, total: int, *, capped: bool = False) -> None:
        if not self.edit.text():
            self.count.setText("")
        elif total == 0:
            self.count.setText("no matches")
        else:
            self.count.setText(f"{current + 1:,} of {total:,}{'+' if capped else ''}")
