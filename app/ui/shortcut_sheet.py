"""The shortcut sheet (F1 or ?): every key of the window, the review pane, the diff and the queue list in one table,
with a filter field. Its rows are read from the same tables the menus and shortcuts are built from."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.diff_search import VIEW_KEYS
from app.ui.review_keys import QUEUE_KEYS, REVIEW_KEYS
from app.ui.window_commands import WINDOW_COMMANDS


@dataclass(frozen=True)
class KeyRow:
    keys: str
    what: str
    where: str


def key_text(key: str) -> str:
    """A key as people read it on this platform ("Ctrl+Shift+E", "Shift+A", "?")."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText) or key


def key_rows() -> list[KeyRow]:
    rows = [
        KeyRow(", ".join(key_text(k) for k in entry.keys), entry.label.rstrip("…"), f"Window · {entry.menu} menu")
        for entry in WINDOW_COMMANDS
        if entry.keys
    ]
    rows += [
        KeyRow(", ".join(key_text(k) for k in binding.keys), binding.label, "Review pane") for binding in REVIEW_KEYS
    ]
    rows += [KeyRow(key_text(key.sequence), key.help, "Diff") for key in VIEW_KEYS]
    rows += [
        KeyRow(", ".join(key_text(k) for k in binding.keys), binding.label, "Queue list") for binding in QUEUE_KEYS
    ]
    return rows


class FilterField(QLineEdit):
    """Down moves into the table; Esc clears the field, or closes the sheet when it is empty."""

    def __init__(self, sheet: ShortcutSheet) -> None:
        super().__init__(sheet)
        self.sheet = sheet

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Down:
            self.sheet.table.setFocus(Qt.FocusReason.TabFocusReason)
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class ShortcutSheet(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = key_rows()
        self.filter = FilterField(self)
        self.filter.setObjectName("shortcutFilter")
        self.filter.setPlaceholderText("Filter: type a key or a word, e.g. reject, Ctrl, hunk")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.table = QTableWidget(len(self.rows), 3, self)
        self.table.setObjectName("shortcutTable")
        self.table.setHorizontalHeaderLabels(("Key", "Does", "Where"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        for number, row in enumerate(self.rows):
            for column, text in enumerate((row.keys, row.what, row.where)):
                self.table.setItem(number, column, QTableWidgetItem(text))
        self.count = QLabel("")
        self.count.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        self.resize(680, 560)
        self.apply_filter("")

    def apply_filter(self, text: str) -> None:
        words = text.lower().split()
        shown = 0
        for number, row in enumerate(self.rows):
            haystack = f"{row.keys} {row.what} {row.where}".lower()
            visible = all(word in haystack for word in words)
            self.table.setRowHidden(number, not visible)
            shown += visible
        self.count.setText(
            f"{shown} of {len(self.rows)} keys" if words else "Single keys act while the review pane or list has focus."
        )

    def visible_rows(self) -> list[KeyRow]:
        return [row for number, row in enumerate(self.rows) if not self.table.isRowHidden(number)]

    def open_filtered(self, text: str = "") -> None:
        self.filter.setText(text)
        if self.isVisible():
            self.raise_()  # open behind the window: bring it forward (a new one opens on top)
        self.show()
        self.activateWindow()
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()
