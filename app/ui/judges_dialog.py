"""The Judges dialog (Ctrl+Shift+J, and from Settings): per workspace, the verify command, its time limit and when it
runs, blind mode, and the owner's critic auto-approval (kappa threshold over the last N decisions, kinds, risk limit)
with where the critic's agreement stands now. Thin: validation is app.domain.judgments, storage the database (never
the workspace, which the agent can edit), reached through the window's repository on the database thread.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.domain.auto_approve import recent_agreement
from app.domain.judgments import (
    AUTO_APPROVE_KINDS,
    DEFAULT_AUTO_APPROVE_MAX_RISK,
    DEFAULT_AUTO_APPROVE_WINDOW,
    JudgeConfig,
    JudgeSettingsError,
    checked_config,
)
from app.store.errors import StoreError

log = logging.getLogger(__name__)

_BLIND = (("default", None), ("on", True), ("off", False))


class JudgesDialog(QDialog):
    """Edit one workspace's judge settings. ``save_requested`` carries (workspace root, JudgeConfig) once the input is
    valid; the controller stores it and calls ``saved`` or ``save_failed``. Open it with ``open()``."""

    save_requested = Signal(str, object)
    workspace_changed = Signal(str)

    def __init__(self, workspaces: list[str], current: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("judgesDialog")
        self.setWindowTitle("Machine judges")
        self.resize(640, 520)
        self.stored = JudgeConfig()
        intro = QLabel(
            "How the verifier and the critic work in this workspace. Kept in Signoff's database, where the agent "
            "cannot change them."
        )
        intro.setWordWrap(True)
        self.workspace = QComboBox()
        self.workspace.setObjectName("judgesWorkspace")
        self.workspace.setEditable(True)
        self.workspace.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.workspace.addItems(workspaces)
        if current:
            index = self.workspace.findText(current)
            if index < 0:
                self.workspace.insertItem(0, current)
                index = 0
            self.workspace.setCurrentIndex(index)
        self.workspace.currentTextChanged.connect(lambda text: text.strip() and self.workspace_changed.emit(text))

        self.verify_command = QLineEdit()
        self.verify_command.setObjectName("judgesVerifyCommand")
        self.verify_command.setPlaceholderText("Detected (pytest, unittest, npm test, cargo test, go test, make test)")
        self.verify_timeout = QSpinBox()
        self.verify_timeout.setRange(0, 24 * 3600)
        self.verify_timeout.setSpecialValueText("Settings' default")
        self.verify_timeout.setSuffix(" s")
        self.verify_on = QComboBox()
        for label, value in (
            ("Settings' default", None),
            ("every proposal", "proposal"),
            ("on request (v)", "request"),
        ):
            self.verify_on.addItem(label, value)
        self.blind = QComboBox()
        self.blind.setObjectName("judgesBlind")
        for label, value in (("default (on for a team queue)", None), ("on", True), ("off", False)):
            self.blind.addItem(label, value)

        self.auto_box = QGroupBox("Let the critic approve on its own")
        self.auto_box.setObjectName("judgesAutoApprove")
        self.auto_box.setCheckable(True)
        self.auto_box.setChecked(False)
        self.kappa = QDoubleSpinBox()
        self.kappa.setObjectName("judgesKappa")
        self.kappa.setRange(0.5, 1.0)
        self.kappa.setSingleStep(0.05)
        self.kappa.setValue(0.8)
        self.window_spin = QSpinBox()
        self.window_spin.setObjectName("judgesWindow")
        self.window_spin.setRange(10, 10_000)
        self.window_spin.setValue(DEFAULT_AUTO_APPROVE_WINDOW)
        self.window_spin.setSuffix(" decisions")
        self.kind_boxes: dict[str, QCheckBox] = {}
        kinds = QHBoxLayout()
        for kind in AUTO_APPROVE_KINDS:
            box = QCheckBox(kind)
            box.setObjectName(f"judgesKind_{kind}")
            box.setChecked(kind in ("edit", "create"))
            self.kind_boxes[kind] = box
            kinds.addWidget(box)
        kinds.addStretch(1)
        self.max_risk = QDoubleSpinBox()
        self.max_risk.setRange(0.0, 0.5)
        self.max_risk.setSingleStep(0.05)
        self.max_risk.setValue(DEFAULT_AUTO_APPROVE_MAX_RISK)
        self.agreement_label = QLabel("")
        self.agreement_label.setObjectName("judgesAgreement")
        self.agreement_label.setWordWrap(True)
        auto_form = QFormLayout(self.auto_box)
        auto_form.addRow("While Cohen's &κ is at least", self.kappa)
        auto_form.addRow("over the &last", self.window_spin)
        auto_form.addRow("for kinds", kinds)
        auto_form.addRow("and risk at &most", self.max_risk)
        auto_form.addRow(self.agreement_label)
        note = QLabel(
            "Recorded as reviewer “critic”, said in the status bar, marked in the queue, and taken back with u like "
            "any decision. Never for a flagged, red, two-review or riskier item."
        )
        note.setWordWrap(True)
        auto_form.addRow(note)

        self.error_label = QLabel("")
        self.error_label.setObjectName("judgesError")
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        form = QFormLayout()
        form.addRow("&Workspace", self.workspace)
        form.addRow("&Verify command", self.verify_command)
        form.addRow("&Time limit", self.verify_timeout)
        form.addRow("&Runs on", self.verify_on)
        form.addRow("&Blind mode", self.blind)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.auto_box)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def current_workspace(self) -> str:
        return self.workspace.currentText().strip()

    def show_config(self, config: JudgeConfig, agreement: str) -> None:
        self.stored = config
        self.verify_command.setText(config.verify_command or "")
        self.verify_timeout.setValue(int(config.verify_timeout_s or 0))
        self.verify_on.setCurrentIndex(max(0, self.verify_on.findData(config.verify_on)))
        self.blind.setCurrentIndex([value for _, value in _BLIND].index(config.critic_blind))
        self.auto_box.setChecked(config.auto_approve_on)
        if config.auto_approve_kappa is not None:
            self.kappa.setValue(config.auto_approve_kappa)
        self.window_spin.setValue(config.auto_approve_window or DEFAULT_AUTO_APPROVE_WINDOW)
        if config.auto_approve_kinds:
            for kind, box in self.kind_boxes.items():
                box.setChecked(kind in config.auto_approve_kinds)
        if config.auto_approve_max_risk is not None:
            self.max_risk.setValue(config.auto_approve_max_risk)
        self.agreement_label.setText(agreement)
        self.error_label.hide()

    def entered(self) -> JudgeConfig:
        """The settings as typed over the stored ones (rubric and sensitive paths kept); JudgeSettingsError if bad."""
        auto = self.auto_box.isChecked()
        kinds = tuple(kind for kind, box in self.kind_boxes.items() if box.isChecked())
        if auto and not kinds:
            raise JudgeSettingsError("Tick at least one kind the critic may approve, or turn auto-approval off.")
        return checked_config(
            replace(
                self.stored,
                verify_command=self.verify_command.text().strip() or None,
                verify_timeout_s=float(self.verify_timeout.value()) or None,
                verify_on=self.verify_on.currentData(),
                critic_blind=self.blind.currentData(),
                auto_approve_kappa=round(self.kappa.value(), 2) if auto else None,
                auto_approve_window=self.window_spin.value() if auto else None,
                auto_approve_kinds=kinds if auto else None,
                auto_approve_max_risk=round(self.max_risk.value(), 2) if auto else None,
            )
        )

    def submit(self) -> None:
        root = self.current_workspace()
        if not root:
            self.save_failed("Choose the workspace these settings are for.")
            return
        try:
            config = self.entered()
        except JudgeSettingsError as err:
            self.save_failed(str(err))  # the dialog stays open with the input as typed
            return
        self.buttons.setEnabled(False)
        self.save_requested.emit(root, config)

    def saved(self) -> None:
        self.buttons.setEnabled(True)
        self.accept()

    def save_failed(self, text: str) -> None:
        self.buttons.setEnabled(True)
        self.error_label.setText(text)
        self.error_label.show()


def agreement_text(config: JudgeConfig, pairs: list[tuple[str, str]]) -> str:
    """Where the critic's agreement with the people stands against the owner's threshold."""
    window = config.auto_approve_window or DEFAULT_AUTO_APPROVE_WINDOW
    kappa, items = recent_agreement(pairs, window)
    shown = "not defined yet" if kappa is None else f"{kappa:.2f}"
    text = f"Now: κ {shown} over the last {items} of {window} decisions"
    if not config.auto_approve_on:
        return text + "."
    active = items >= window and kappa is not None and kappa >= (config.auto_approve_kappa or 1)
    return text + (" — the critic approves on its own now." if active else " — not enough to approve on its own.")


def _read(store, root: str) -> tuple[JudgeConfig, list[tuple[str, str]]]:
    config = store.judgments.config(root)
    window = config.auto_approve_window or DEFAULT_AUTO_APPROVE_WINDOW
    pairs = [(human, critic) for *_, human, critic in store.judgments.human_and_critic(root, last=window)]
    return config, pairs


class JudgesSettingsController(QObject):
    """The window's Judges… action: opens the dialog on the workspace in view, loads and stores the settings."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: JudgesDialog | None = None

    def workspace_in_view(self) -> str | None:
        rules = getattr(self.window, "review_rules", None)
        return rules.workspace_in_view() if rules is not None else None

    def known_workspaces(self) -> list[str]:
        roots = {session.workspace_root for session in getattr(self.window, "sessions", {}).values()}
        return sorted(roots, key=lambda root: (Path(root).name.lower(), root))

    @asyncSlot()
    async def open_dialog(self) -> None:
        dialog = self.dialog = JudgesDialog(self.known_workspaces(), self.workspace_in_view(), parent=self.window)
        dialog.save_requested.connect(self._save)
        dialog.workspace_changed.connect(self._load)
        dialog.open()
        if dialog.current_workspace():
            await self._load(dialog.current_workspace())

    @asyncSlot(str)
    async def _load(self, root: str) -> None:
        dialog = self.dialog
        try:
            config, pairs = await self.window.repository.read(_read, root.strip())
        except StoreError as err:
            if dialog is not None:
                dialog.save_failed(f"The settings could not be read: {err}")
            return
        if dialog is not None and dialog.current_workspace() == root.strip():
            dialog.show_config(config, agreement_text(config, pairs))

    @asyncSlot(str, object)
    async def _save(self, root: str, config: JudgeConfig) -> None:
        dialog = self.dialog
        config = replace(config, updated_by=self.window.settings.reviewer_name or None)
        try:
            await self.window.repository.write(lambda store: store.judgments.set_config(root, config))
        except (JudgeSettingsError, StoreError) as err:
            if dialog is not None:
                dialog.save_failed(str(err))
            return
        auto = (
            f"the critic approves {', '.join(config.auto_approve_kinds or ())} on its own while κ ≥ "
            f"{config.auto_approve_kappa:.2f}"
            if config.auto_approve_on
            else "the critic never approves on its own"
        )
        self.window.statusBar().showMessage(f"Saved the judges' settings of {root}: {auto}.", 8000)
        if dialog is not None:
            dialog.saved()
