"""The new-session form: workspace folder, task, model and limits. Ctrl+Enter starts."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.sessions import NewSession


class TaskBox(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    start_requested = Signal(object)  # NewSession

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.endpoint = "anthropic"
        self.workspace_edit = QLineEdit()
        self.workspace_edit.setPlaceholderText("Folder the agent works in")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.workspace_edit, 1)
        row.addWidget(browse)

        self.task_edit = TaskBox()
        self.task_edit.setPlaceholderText("What should the agent do? (Ctrl+Enter starts)")
        self.task_edit.setTabChangesFocus(True)
        self.task_edit.setMaximumHeight(110)
        self.task_edit.submitted.connect(self._submit)

        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        # Wide enough for "claude-sonnet-4-5" and narrow enough that the window, stylesheet and all, fits in 900 px
        # (the new-session form is the widest thing under the sidebar; it grows with the window).
        self.model_combo.setMinimumWidth(200)
        self.max_turns = QSpinBox()
        self.max_turns.setRange(1, 500)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(256, 128_000)
        self.max_tokens.setSingleStep(1024)
        limits = QHBoxLayout()
        limits.addWidget(self.model_combo, 1)
        limits.addWidget(QLabel("Max turns"))
        limits.addWidget(self.max_turns)
        limits.addWidget(QLabel("Max tokens"))
        limits.addWidget(self.max_tokens)

        # Plan mode (issue 15): the agent only reads until you approve the plan it proposes.
        self.plan_check = QCheckBox("&Plan first")
        self.plan_check.setObjectName("planFirst")
        self.plan_check.setToolTip(
            "The agent only reads and proposes a plan; it acts once you approve (or edit) the plan"
        )
        # Changeset mode (issue 15): edits apply at once in the agent's own worktree; everything is reviewed at once.
        self.changeset_box = QCheckBox("&Changeset mode")
        self.changeset_box.setToolTip(
            "Its edits and sandboxed commands apply at once in a git worktree (or a private copy); when it ends its "
            "turn you review the whole changeset hunk by hunk, and approved hunks are merged into the workspace."
        )

        self.start_button = QPushButton("Start  [Ctrl+Enter]")
        self.start_button.setObjectName("startButton")
        self.start_button.clicked.connect(self._submit)
        self.error_label = QLabel("")
        self.error_label.setObjectName("composerError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("modeLabel")
        self.mode_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Workspace", row)
        form.addRow("Task", self.task_edit)
        form.addRow("Model", limits)
        modes = QHBoxLayout()
        modes.addWidget(self.plan_check)
        modes.addWidget(self.changeset_box)
        modes.addStretch(1)
        form.addRow("Mode", modes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.mode_label)
        layout.addLayout(form)
        bottom = QHBoxLayout()
        bottom.addWidget(self.error_label, 1)
        bottom.addWidget(self.start_button)
        layout.addLayout(bottom)

    def set_models(self, model_ids: list[str], preferred: str) -> None:
        current = self.model_combo.currentText() or preferred
        self.model_combo.clear()
        self.model_combo.addItems(model_ids)
        if current and current not in model_ids:
            self.model_combo.insertItem(0, current)
        self.model_combo.setCurrentText(current if current else (model_ids[0] if model_ids else ""))

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Choose the workspace folder", self.workspace_edit.text())
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.workspace_edit.setText)
        dialog.open()

    def spec(self) -> NewSession:
        return NewSession(
            workspace_root=self.workspace_edit.text().strip(),
            task=self.task_edit.toPlainText().strip(),
            model=self.model_combo.currentText().strip(),
            max_turns=self.max_turns.value(),
            max_tokens=self.max_tokens.value(),
            endpoint=self.endpoint,
            plan=self.plan_check.isChecked(),
            changeset=self.changeset_box.isChecked(),
        )

    def _submit(self) -> None:
        spec = self.spec()
        if not spec.workspace_root:
            self.show_error("Choose a workspace folder first.")
            self.workspace_edit.setFocus()
            return
        if not spec.task:
            self.show_error("Type a task for the agent first.")
            self.task_edit.setFocus()
            return
        if not spec.model:
            self.show_error("Choose a model.")
            return
        self.show_error("")
        self.start_requested.emit(spec)
