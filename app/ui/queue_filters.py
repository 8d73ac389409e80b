"""The queue's filter bar: text search (Ctrl+F), workspace, session, kind, path glob and flag. Emits a QueueFilter;
it never queries anything itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from app.services.queue import FLAG_LABELS, FLAG_NAMES, KINDS, QueueFilter

# Typing in a text box filters after this pause, so a 100k queue is not queried once per keystroke.
TYPING_PAUSE_MS = 250


class FilterEdit(QLineEdit):
    """Esc clears the box and hands the keyboard back to the list."""

    escaped = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Down):
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class FilterBar(QWidget):
    changed = Signal(object)
    # The reviewer is done typing (Esc, Enter, Down): focus goes back to the list.
    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = FilterEdit()
        self.search.setObjectName("queueSearch")
        self.search.setPlaceholderText("Search path, command, task…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.path_glob = FilterEdit()
        self.path_glob.setObjectName("queuePathGlob")
        self.path_glob.setPlaceholderText("Path glob, e.g. src/*.py")
        self.path_glob.setToolTip("Only paths matching this glob, e.g. src/*.py")
        self.path_glob.setMinimumWidth(self.path_glob.fontMetrics().horizontalAdvance("Path glob, e.g.") + 24)
        self.workspace = QComboBox()
        self.workspace.setObjectName("queueWorkspace")
        self.session = QComboBox()
        self.session.setObjectName("queueSession")
        self.kind = QComboBox()
        self.kind.setObjectName("queueKind")
        self.flag = QComboBox()
        self.flag.setObjectName("queueFlag")
        self.workspace.addItem("All workspaces", None)
        self.session.addItem("All sessions", None)
        self.kind.addItem("All kinds", None)
        for kind in KINDS:
            self.kind.addItem(kind, kind)
        self.flag.addItem("Any flags", None)
        for flag in FLAG_NAMES:
            self.flag.addItem(FLAG_LABELS[flag], flag)
        # Widths fixed by a character count, not by the choices: new workspaces or sessions must not move the bar.
        for combo, characters in ((self.workspace, 12), (self.session, 14), (self.kind, 9), (self.flag, 10)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(characters)
            combo.view().setTextElideMode(Qt.TextElideMode.ElideMiddle)
            combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            combo.currentIndexChanged.connect(self._emit)

        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._emit)
        for edit in (self.search, self.path_glob):
            edit.textChanged.connect(self._typing.start)
            edit.escaped.connect(self._finish_typing)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search, 3)
        layout.addWidget(self.workspace)
        layout.addWidget(self.session)
        layout.addWidget(self.kind)
        layout.addWidget(self.path_glob, 1)
        layout.addWidget(self.flag)
        self._last = QueueFilter()

    def current(self) -> QueueFilter:
        return QueueFilter(
            workspace=self.workspace.currentData(),
            kind=self.kind.currentData(),
            path_glob=self.path_glob.text().strip() or None,
            session_id=self.session.currentData(),
            flag=self.flag.currentData(),
            text=self.search.text().strip(),
        )

    def set_choices(self, workspaces: list[str], sessions: list[tuple[int, str]]) -> None:
        """Offer the workspaces and sessions that have waiting work; keeps the current choice."""
        _fill(self.workspace, "All workspaces", [(root, Path(root).name or root) for root in workspaces])
        _fill(self.session, "All sessions", [(sid, f"#{sid} {task[:40]}") for sid, task in sessions])

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _finish_typing(self) -> None:
        if self._typing.isActive():
            self._typing.stop()
            self._emit()
        self.done.emit()

    def _emit(self) -> None:
        value = self.current()
        if value != self._last:
            self._last = value
            self.changed.emit(value)


def _fill(combo: QComboBox, everything: str, choices: list[tuple[object, str]]) -> None:
    current = combo.currentData()
    wanted = [None, *[value for value, _ in choices]]
    if [combo.itemData(i) for i in range(combo.count())] == wanted:
        return
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(everything, None)
    for value, label in choices:
        combo.addItem(label, value)
        combo.setItemData(combo.count() - 1, str(value), Qt.ItemDataRole.ToolTipRole)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
    if index < 0 and current is not None:
        combo.currentIndexChanged.emit(0)
