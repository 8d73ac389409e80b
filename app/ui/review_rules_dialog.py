"""The Review rules dialog: per workspace, which proposals need two independent reviews (kinds, path globs) and who may
adjudicate a disagreement. Thin: validation is app.domain.review_rules, storage the database (never the workspace, which
the agent can edit), reached through the window's repository on the database thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.domain.review_rules import KINDS, NO_RULES, ReviewRules, ReviewRulesError, checked
from app.store.errors import StoreError

log = logging.getLogger(__name__)


class ReviewRulesDialog(QDialog):
    """Edit one workspace's two-review rules. ``save_requested`` carries (workspace root, ReviewRules) once the input
    is valid; the controller stores them and calls ``saved`` or ``show_error``. Open it with ``open()`` (async)."""

    save_requested = Signal(str, object)
    # The workspace shown changed: the controller loads its stored rules into the dialog.
    workspace_changed = Signal(str)

    def __init__(self, workspaces: list[str], current: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewRulesDialog")
        self.setWindowTitle("Review rules")
        self.resize(620, 420)
        intro = QLabel(
            "Proposals matching these rules need two independent reviews: the second reviewer does not see the first "
            "verdict, and a disagreement waits for an adjudicator. Kept in Signoff's database, where the agent cannot "
            "change them."
        )
        intro.setWordWrap(True)
        self.workspace = QComboBox()
        self.workspace.setObjectName("rulesWorkspace")
        self.workspace.setEditable(True)
        self.workspace.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for root in workspaces:
            self.workspace.addItem(root)
        if current:
            index = self.workspace.findText(current)
            if index < 0:
                self.workspace.insertItem(0, current)
                index = 0
            self.workspace.setCurrentIndex(index)
        self.workspace.currentTextChanged.connect(self._workspace_changed)

        self.kind_boxes: dict[str, QCheckBox] = {}
        kinds = QHBoxLayout()
        for kind in KINDS:
            box = QCheckBox(kind)
            box.setObjectName(f"rulesKind_{kind}")
            self.kind_boxes[kind] = box
            kinds.addWidget(box)
        kinds.addStretch(1)
        self.globs = QPlainTextEdit()
        self.globs.setObjectName("rulesGlobs")
        self.globs.setPlaceholderText("One path glob per line, from the workspace root:\nmigrations/**\n*.sql")
        self.globs.setTabChangesFocus(True)
        self.adjudicators = QLineEdit()
        self.adjudicators.setObjectName("rulesAdjudicators")
        self.adjudicators.setPlaceholderText("Names, comma-separated (empty: anyone but the two reviewers)")
        self.error_label = QLabel("")
        self.error_label.setObjectName("rulesError")
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.status_label = QLabel("")
        self.status_label.setObjectName("rulesStatus")

        form = QFormLayout()
        form.addRow("&Workspace", self.workspace)
        form.addRow("Two reviews for kinds", kinds)
        form.addRow("…and for &paths", self.globs)
        form.addRow("&Adjudicators", self.adjudicators)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)

    # -- what it shows -------------------------------------------------------------------------------------------------

    def current_workspace(self) -> str:
        return self.workspace.currentText().strip()

    def show_rules(self, rules: ReviewRules, updated: str = "") -> None:
        for kind, box in self.kind_boxes.items():
            box.setChecked(kind in rules.kinds)
        self.globs.setPlainText("\n".join(rules.path_globs))
        self.adjudicators.setText(", ".join(rules.adjudicators))
        self.status_label.setText(updated or ("One review decides everything here." if rules.is_empty else ""))
        self.error_label.hide()

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def entered(self) -> ReviewRules:
        """The rules as typed, cleaned; raises ReviewRulesError naming the first bad entry."""
        kinds = [kind for kind, box in self.kind_boxes.items() if box.isChecked()]
        globs = self.globs.toPlainText().splitlines()
        people = self.adjudicators.text().split(",")
        return checked(kinds, globs, people)

    # -- actions -------------------------------------------------------------------------------------------------------

    def submit(self) -> None:
        root = self.current_workspace()
        if not root:
            self.show_error("Choose the workspace these rules are for.")
            return
        try:
            rules = self.entered()
        except ReviewRulesError as err:
            # Nothing typed is lost: the dialog stays open with the input as it was.
            self.show_error(str(err))
            return
        self.buttons.setEnabled(False)
        self.save_requested.emit(root, rules)

    def saved(self) -> None:
        self.buttons.setEnabled(True)
        self.accept()

    def save_failed(self, text: str) -> None:
        self.buttons.setEnabled(True)
        self.show_error(text)

    def _workspace_changed(self, text: str) -> None:
        if text.strip():
            self.workspace_changed.emit(text.strip())


class ReviewRulesController(QObject):
    """The window's Review rules… action: opens the dialog on the workspace in view, loads and stores the rules."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: ReviewRulesDialog | None = None

    def workspace_in_view(self) -> str | None:
        window = self.window
        queue_view = getattr(window, "queue_view", None)
        pages = getattr(window, "pages", None)
        if queue_view is not None and pages is not None and pages.currentWidget() is queue_view:
            item = queue_view.current_item()
            if item is not None:
                return item.workspace_root
        policies = getattr(window, "policies", None)
        return policies.workspace_root() if policies is not None else None

    def known_workspaces(self) -> list[str]:
        roots = {session.workspace_root for session in getattr(self.window, "sessions", {}).values()}
        return sorted(roots, key=lambda root: (Path(root).name.lower(), root))

    @asyncSlot()
    async def open_dialog(self) -> None:
        current = self.workspace_in_view()
        dialog = self.dialog = ReviewRulesDialog(self.known_workspaces(), current, parent=self.window)
        dialog.save_requested.connect(self._save)
        dialog.workspace_changed.connect(self._load)
        dialog.open()
        if dialog.current_workspace():
            await self._load(dialog.current_workspace())

    @asyncSlot(str)
    async def _load(self, root: str) -> None:
        dialog = self.dialog
        try:
            rules = await self.window.repository.read(lambda store: store.reviews.rules(root))
        except StoreError as err:
            if dialog is not None:
                dialog.show_error(f"The rules could not be read: {err}")
            return
        if dialog is not None and dialog.current_workspace() == root:
            dialog.show_rules(rules or NO_RULES)

    @asyncSlot(str, object)
    async def _save(self, root: str, rules: ReviewRules) -> None:
        dialog = self.dialog
        updated_by = self.window.settings.reviewer_name or None
        try:
            await self.window.repository.write(
                lambda store: store.reviews.set_rules(
                    root,
                    kinds=rules.kinds,
                    path_globs=rules.path_globs,
                    adjudicators=rules.adjudicators,
                    updated_by=updated_by,
                )
            )
        except (ReviewRulesError, StoreError) as err:
            if dialog is not None:
                dialog.save_failed(str(err))
            return
        what = "one review decides everything" if rules.is_empty else "two reviews where the rules match"
        self.window.statusBar().showMessage(f"Saved the review rules of {root}: {what}.", 8000)
        if dialog is not None:
            dialog.saved()
