"""The Settings dialog: API key (kept in the OS keyring only), model, reviewer name, limits, the undo window, theme,
desktop notifications, database location, the critic (on or off, its model, blind mode where a workspace says
nothing) and each workspace's judges.

Opened with ``open()`` (never a blocking ``exec()`` under the async loop); the window applies the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.settings import THEMES, Settings, default_reviewer
from app.ui.theme import THEME_WORDS

MAX_UNDO_SECONDS = 120.0


@dataclass(frozen=True)
class SettingsResult:
    settings: Settings
    # None: leave the key as it is; "": forget it; otherwise the new key to save in the keyring.
    new_api_key: str | None


class SettingsDialog(QDialog):
    # "Workspace judges…": the window opens the Judges dialog (verify command, auto-approval) over this one.
    judges_requested = Signal()

    def __init__(
        self, settings: Settings, *, key_status: str, model_ids: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Signoff Settings")
        self.setObjectName("settingsDialog")
        self._settings = settings
        self._forget = False

        self.api_key_edit = QLineEdit()
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setPlaceholderText("sk-ant-… (leave empty to keep the current key)")
        self.key_status = QLabel(key_status)
        self.key_status.setObjectName("keyStatus")
        self.key_status.setWordWrap(True)
        forget = QPushButton("Forget saved key")
        forget.clicked.connect(self._forget_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key_edit, 1)
        key_row.addWidget(forget)

        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.addItems(model_ids)
        self.model_combo.setCurrentText(settings.model)

        self.reviewer_edit = QLineEdit(settings.reviewer)
        self.reviewer_edit.setPlaceholderText(default_reviewer())

        self.max_turns = QSpinBox()
        self.max_turns.setRange(1, 500)
        self.max_turns.setValue(settings.max_turns)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(256, 128_000)
        self.max_tokens.setSingleStep(1024)
        self.max_tokens.setValue(settings.max_tokens)

        self.theme_combo = QComboBox()
        self.theme_combo.setObjectName("themeCombo")
        for theme in THEMES:
            self.theme_combo.addItem(THEME_WORDS[theme], theme)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(settings.theme)))

        # Seconds a decision can be taken back (u / Ctrl+Z on either page, `signoff undo`) before it takes effect.
        self.undo_seconds = QDoubleSpinBox()
        self.undo_seconds.setObjectName("undoSeconds")
        self.undo_seconds.setRange(0.0, MAX_UNDO_SECONDS)
        self.undo_seconds.setDecimals(0)
        self.undo_seconds.setSuffix(" s")
        self.undo_seconds.setSpecialValueText("none: decisions take effect at once")
        self.undo_seconds.setValue(min(max(settings.undo_seconds, 0.0), MAX_UNDO_SECONDS))
        self.undo_seconds.setToolTip(
            "How long u or Ctrl+Z (either page) and `signoff undo` can take a decision back before the agent's change "
            "is applied or its command runs. 0: no undo, nothing waits."
        )

        self.database_edit = QLineEdit(settings.database)
        self.database_edit.setPlaceholderText(
            "SQLite in the data folder (default), a file path, or postgresql+psycopg://…"
        )
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_database)
        db_row = QHBoxLayout()
        db_row.addWidget(self.database_edit, 1)
        db_row.addWidget(browse)

        self.notifications_box = QCheckBox("Tell me when new proposals wait while Signoff is not in front")
        self.notifications_box.setChecked(settings.desktop_notifications)
        self.notifications_box.setToolTip("Through the desktop's notification service, else the tray icon")
        self.critic_enabled = QCheckBox("A critic model reads each proposal beside you")
        self.critic_enabled.setObjectName("criticEnabled")
        self.critic_enabled.setChecked(settings.critic_enabled)
        self.critic_model = QComboBox()
        self.critic_model.setObjectName("criticModel")
        self.critic_model.setEditable(True)
        self.critic_model.addItems(model_ids)
        self.critic_model.setCurrentText(settings.critic_model)
        self.critic_blind = QCheckBox("Blind: show its verdict only after I decide (always on for a team queue)")
        self.critic_blind.setObjectName("criticBlind")
        self.critic_blind.setChecked(settings.critic_blind)
        judges = QPushButton("Workspace judges…")
        judges.setObjectName("openJudges")
        judges.setToolTip("Verify command, time limit, blind mode and the critic's auto-approval, per workspace")
        judges.clicked.connect(self.judges_requested.emit)

        form = QFormLayout()
        form.addRow("API key", key_row)
        form.addRow("", self.key_status)
        form.addRow("Model", self.model_combo)
        form.addRow("Reviewer name", self.reviewer_edit)
        form.addRow("Max turns per session", self.max_turns)
        form.addRow("Max tokens per turn", self.max_tokens)
        form.addRow("Notifications", self.notifications_box)
        form.addRow("Undo window", self.undo_seconds)
        form.addRow("Theme", self.theme_combo)
        form.addRow("Database", db_row)
        form.addRow("", QLabel("A new database location takes effect when Signoff starts again."))
        form.addRow("Critic", self.critic_enabled)
        form.addRow("Critic model", self.critic_model)
        form.addRow("", self.critic_blind)
        form.addRow("", judges)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _forget_key(self) -> None:
        self._forget = True
        self.api_key_edit.clear()
        self.key_status.setText("The saved key will be forgotten when you save.")

    def _browse_database(self) -> None:
        dialog = QFileDialog(self, "Database file", self.database_edit.text(), "SQLite database (*.db *.sqlite)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self.database_edit.setText)
        dialog.open()

    def result_value(self) -> SettingsResult:
        settings = replace(
            self._settings,
            model=self.model_combo.currentText().strip() or self._settings.model,
            reviewer=self.reviewer_edit.text().strip(),
            max_turns=self.max_turns.value(),
            max_tokens=self.max_tokens.value(),
            undo_seconds=float(self.undo_seconds.value()),
            database=self.database_edit.text().strip(),
            desktop_notifications=self.notifications_box.isChecked(),
            theme=self.theme_combo.currentData(),
            critic_enabled=self.critic_enabled.isChecked(),
            critic_model=self.critic_model.currentText().strip() or self._settings.critic_model,
            critic_blind=self.critic_blind.isChecked(),
        )
        typed = self.api_key_edit.text().strip()
        new_key = typed if typed else ("" if self._forget else None)
        return SettingsResult(settings, new_key)
