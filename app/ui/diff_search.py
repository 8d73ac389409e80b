"""The diff view's find bar and key legend: a small line edit with a hit counter, and the text listing the view's keys.
Widgets only; the search itself runs in diff_rows (over row texts) and the view decides what to scroll to."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


@dataclass(frozen=True)
class ViewKey:
    """One key of the diff view: the QShortcut sequence, the DiffView method it runs, the legend's short words (empty:
    folded into a neighbour's), the shortcut sheet's words, and whether it does anything on a command proposal."""

    sequence: str
    method: str
    legend: str
    help: str
    on_command: bool = False


# None of these may be A, R or E, with or without Shift: the review panel owns those (whole-proposal and per-hunk
# verdicts). The legend under the diff, the shortcut sheet and the View menu are all read from this table.
VIEW_KEYS: tuple[ViewKey, ...] = (
    ViewKey("T", "toggle_mode", "t unified/split", "Unified or side by side"),
    ViewKey("N", "next_hunk", "n/p hunk", "Next hunk"),
    ViewKey("P", "previous_hunk", "", "Previous hunk"),
    ViewKey("X", "expand_current_fold", "x/⇧X expand", "Expand the fold near the current hunk"),
    ViewKey("Shift+X", "expand_all_folds", "", "Expand every fold"),
    ViewKey("Ctrl+F", "open_find", "/ find", "Find in the diff or command", on_command=True),
    ViewKey("/", "open_find", "", "Find in the diff or command", on_command=True),
    ViewKey("F3", "find_next", "", "Next match", on_command=True),
    ViewKey("Shift+F3", "find_previous", "", "Previous match", on_command=True),
    ViewKey("W", "toggle_wrap", "w wrap", "Wrap long lines", on_command=True),
    ViewKey("Shift+W", "toggle_whitespace", "⇧W whitespace", "Show spaces and tabs on changed lines"),
)


def key_legend(*, command: bool = False) -> str:
    """The strip under the view: only the keys that do something on what is shown (no hunk keys on a command)."""
    return " · ".join(key.legend for key in VIEW_KEYS if key.legend and (key.on_command or not command))


KEY_LEGEND = key_legend()

KEY_HELP = "Diff view keys\n" + "\n".join(f"{key.sequence}  {key.help}" for key in VIEW_KEYS)


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
