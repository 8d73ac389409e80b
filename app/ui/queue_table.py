"""The queue page's list widget: its columns and selection set up once, the single-key commands of QUEUE_KEYS turned
into ``command`` names, and moving the current row; what a command does is app.ui.queue_commands' concern."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QKeyCombination, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from app.domain.records import QueueItemRecord
from app.store.models import Proposal
from app.ui.queue_model import COLUMN, QueueModel
from app.ui.review_keys import QUEUE_KEYS

# Ctrl+Shift+A: always allow the current item here (after the rule's preview), as on the Sessions page.
ALWAYS_ALLOW = QKeyCombination(Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier, Qt.Key.Key_A)

# Starting widths of the columns (the path or command stretches).
COLUMN_WIDTHS = {
    "state": 210,
    "age": 60,
    "workspace": 120,
    "session": 220,
    "kind": 70,
    "target": 320,
    "lines": 80,
    "flags": 110,
    "tests": 70,
    "risk": 50,
    "claimed": 90,
}


class QueueTable(QTableView):
    """The list, with single-key commands; anything else (arrows, Page Down, Ctrl+A) keeps its usual meaning."""

    command = Signal(str)

    # Plain keys of QUEUE_KEYS (the shortcut sheet and the hint strip read the same table).
    _KEYS = {
        QKeySequence(key)[0].key(): binding.action
        for binding in QUEUE_KEYS
        if binding.action not in ("extend", "search")
        for key in binding.keys
        if "+" not in key  # Ctrl+Z (undo) and Ctrl+Shift+A are matched in keyPressEvent
    }

    def show_model(self, model: QueueModel) -> None:
        """Show ``model`` with the queue's selection, row height, column widths and oldest-first sort."""
        self._queue_model = model
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setTabKeyNavigation(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        for name, width in COLUMN_WIDTHS.items():
            self.setColumnWidth(COLUMN[name], width)
        header.setSectionResizeMode(COLUMN["target"], QHeaderView.ResizeMode.Stretch)
        # Team mode's claims, when the schema has them.
        self.setColumnHidden(COLUMN["claimed"], not hasattr(Proposal, "claimed_by"))
        header.setSortIndicator(COLUMN["age"], Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)

    # -- keys ----------------------------------------------------------------------------------------------------------

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.matches(QKeySequence.StandardKey.Undo):
            self.command.emit("undo")
            event.accept()
            return
        if event.keyCombination() == ALWAYS_ALLOW:
            self.command.emit("always-allow")
            event.accept()
            return
        self._single_key(event)

    def _single_key(self, event) -> None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        name = self._KEYS.get(Qt.Key(event.key()))
        if name is not None and modifiers == Qt.KeyboardModifier.NoModifier:
            self.command.emit(name)
            event.accept()
            return
        if name in ("next", "previous") and modifiers == Qt.KeyboardModifier.ShiftModifier:
            self.command.emit(f"extend-{name}")
            event.accept()
            return
        super().keyPressEvent(event)

    # -- rows ----------------------------------------------------------------------------------------------------------

    def current_row(self) -> int:
        """The current row, or -1."""
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def current_item(self) -> QueueItemRecord | None:
        index = self.currentIndex()
        return self._queue_model.item(index.row()) if index.isValid() else None

    def visible_rows(self) -> tuple[int, int]:
        """The first and last row on screen."""
        viewport = self.viewport()
        first = self.rowAt(0)
        last = self.rowAt(viewport.height() - 1)
        if first < 0:
            first = 0
        if last < 0:
            last = max(first, self._queue_model.rowCount() - 1)
        return first, last

    def first_waiting_row(self, start: int, step: int = 1) -> int | None:
        """The first row from ``start`` on (``step`` -1: backwards) whose item still waits for a decision."""
        model = self._queue_model
        row = start
        while 0 <= row < len(model.rows):
            if model.is_waiting(model.rows[row].id):
                return row
            row += step
        return None

    def select_row(self, row: int, *, extend: bool = False) -> None:
        index = self._queue_model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.Rows
        if extend:
            flags |= QItemSelectionModel.SelectionFlag.Select
        else:
            flags |= QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.selectionModel().setCurrentIndex(index, flags)
        self.scrollTo(index)

    def selected_waiting_items(self) -> list[QueueItemRecord]:
        model = self._queue_model
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        items = [model.rows[row] for row in rows if row < len(model.rows)]
        return [item for item in items if model.is_waiting(item.id)]
