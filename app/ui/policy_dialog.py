"""The window side of workspace policies: the Policies dialog (list, add, remove, reorder rules), the offer to turn
repeated approvals into a rule, and "always allow this here". Thin: rules and matching are app.domain.policy,
the file app.services.policy_file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.domain import policy
from app.domain.policy import Policy, PolicyError, Rule, Suggestion
from app.domain.policy_preview import AllowPreview, preview_always_allow
from app.domain.wording import count
from app.services import policy_file
from app.ui.background import run_in_thread

log = logging.getLogger(__name__)
# How many recent sessions of a workspace are read to find repeated approvals.
HISTORY_SESSIONS = 100


REVIEW_WORDS = {
    "outside": "Changes outside what the rule or approval granted (recommended)",
    "always": "Every change a command makes",
    "never": "Nothing (changes land unseen)",
}


class PolicyDialog(QDialog):
    """Edit one workspace's rules; Save writes .signoff/policy.toml. Open it with ``open()`` (window-modal, async)."""

    saved = Signal(object)

    def __init__(self, workspace_root: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("policyDialog")
        self.setWindowTitle("Policies")
        self.resize(720, 460)
        self.workspace_root = workspace_root
        self.error: str | None = None
        loaded = Policy()
        try:
            loaded = policy_file.load_policy(workspace_root)
        except PolicyError as err:
            # Nothing is overwritten: the broken file stays as it is until it is fixed by hand.
            self.error = str(err)
        self.rules: list[Rule] = list(loaded.rules)
        rules = self.rules
        self.review_effects = loaded.review_effects
        # What the file held when the dialog opened: rules added elsewhere since (the CLI, "Always allow") are kept.
        self.loaded = Policy(tuple(rules))

        path = QLabel(
            f"{policy.policy_path(workspace_root)}\nThe first rule that matches decides. Without one, edits and "
            "commands wait for you; every part of a command line must be allowed for it to run unasked."
        )
        path.setWordWrap(True)
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label = QLabel(self.error or "")
        self.error_label.setObjectName("banner")
        self.error_label.setProperty("kind", "error")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(self.error is not None)

        self.rule_list = QListWidget()
        self.rule_list.setObjectName("ruleList")
        self.rule_list.currentRowChanged.connect(self._update_buttons)

        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.remove_button = QPushButton("Remove")
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.remove_button.clicked.connect(self.remove_selected)
        side = QVBoxLayout()
        for button in (self.up_button, self.down_button, self.remove_button):
            side.addWidget(button)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.rule_list, 1)
        middle.addLayout(side)

        self.action_box = QComboBox()
        self.action_box.addItems(list(policy.ACTIONS))
        self.kind_box = QComboBox()
        self.kind_box.addItems(list(policy.KINDS))
        self.match_box = QComboBox()
        self.match_box.addItems(["auto", *policy.MATCHES])
        self.match_box.setToolTip(
            "Commands: prefix (first words), exact (all words) or glob; auto picks glob for * ? ["
        )
        self.pattern_edit = QLineEdit()
        self.pattern_edit.setPlaceholderText("pytest -q   ·   src/**   ·   npm run *")
        self.pattern_edit.returnPressed.connect(self.add_from_fields)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_from_fields)
        self.kind_box.currentTextChanged.connect(lambda kind: self.match_box.setEnabled(kind == "command"))
        adder = QHBoxLayout()
        for widget in (self.action_box, self.kind_box, self.match_box):
            adder.addWidget(widget)
        adder.addWidget(self.pattern_edit, 1)
        adder.addWidget(self.add_button)
        self.grant_git_box = QCheckBox(".git writes")
        self.grant_git_box.setToolTip("Allow rules for commands: the command may write .git/ (git commit, git add)")
        self.grant_network_box = QCheckBox("network")
        self.grant_network_box.setToolTip("Allow rules for commands: the command may reach the network")
        grants = QHBoxLayout()
        grants.addWidget(QLabel("A new allow rule for commands grants:"))
        grants.addWidget(self.grant_git_box)
        grants.addWidget(self.grant_network_box)
        grants.addStretch(1)

        # Which part of a command line makes it ask (or what allows it), as the runner would decide it now.
        self.try_edit = QLineEdit()
        self.try_edit.setObjectName("tryCommand")
        self.try_edit.setPlaceholderText("Try a command: what would these rules do with it?")
        self.try_edit.textChanged.connect(self.explain)
        self.try_result = QLabel("")
        self.try_result.setObjectName("tryResult")
        self.try_result.setWordWrap(True)
        self.try_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.review_box = QComboBox()
        self.review_box.setObjectName("reviewEffects")
        for choice, words in REVIEW_WORDS.items():
            self.review_box.addItem(words, choice)
        self.review_box.setCurrentIndex(list(REVIEW_WORDS).index(self.review_effects))
        self.review_box.currentIndexChanged.connect(self._review_changed)
        self.review_warning = QLabel("")
        self.review_warning.setObjectName("reviewWarning")
        self.review_warning.setWordWrap(True)
        review_row = QHBoxLayout()
        review_row.addWidget(QLabel("Review what commands change:"))
        review_row.addWidget(self.review_box, 1)

        self.add_error = QLabel("")
        self.add_error.setObjectName("addError")
        self.add_error.setWordWrap(True)
        self.add_error.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(self.error is None)

        layout = QVBoxLayout(self)
        layout.addWidget(path)
        layout.addWidget(self.error_label)
        layout.addLayout(middle, 1)
        layout.addLayout(adder)
        layout.addLayout(grants)
        layout.addWidget(self.add_error)
        layout.addWidget(self.try_edit)
        layout.addWidget(self.try_result)
        layout.addLayout(review_row)
        layout.addWidget(self.review_warning)
        layout.addWidget(self.buttons)
        self._refill()
        self._review_changed()

    # -- explaining and review of effects ---------------------------------------------------------------------------

    def explain(self, command: str | None = None) -> str:
        """What the rules as edited here would do with ``command``, and which part of it decides."""
        command = self.try_edit.text() if command is None else command
        if not command.strip():
            self.try_result.setText("")
            return ""
        try:
            verdict = Policy(tuple(self.rules)).check_command(command, root=self.workspace_root)
        except PolicyError as err:
            text = str(err)
        else:
            granted = [w for w, on in ((".git writes", verdict.git_writes), ("network", verdict.network)) if on]
            text = f"{verdict.action}: {verdict.reason}" + (f" Grants {' and '.join(granted)}." if granted else "")
        self.try_result.setText(text)
        return text

    def _review_changed(self, *_args: Any) -> None:
        never = self.review_box.currentData() == "never"
        self.review_warning.setText(
            "Warning: with never, whatever a command changes in the workspace lands without anyone seeing it."
            if never
            else ""
        )
        self.review_warning.setVisible(never)

    # -- editing -------------------------------------------------------------------------------------------------------

    def _refill(self, select: int | None = None) -> None:
        self.rule_list.clear()
        for number, rule in enumerate(self.rules, start=1):
            item = QListWidgetItem(f"{number}. {rule.label}" + (f"  — {rule.note}" if rule.note else ""))
            item.setData(Qt.ItemDataRole.UserRole, rule)
            self.rule_list.addItem(item)
        if select is not None and 0 <= select < len(self.rules):
            self.rule_list.setCurrentRow(select)
        self._update_buttons()

    def _update_buttons(self, *_args: Any) -> None:
        row = self.rule_list.currentRow()
        editable = self.error is None
        self.remove_button.setEnabled(editable and row >= 0)
        self.up_button.setEnabled(editable and row > 0)
        self.down_button.setEnabled(editable and 0 <= row < len(self.rules) - 1)
        self.add_button.setEnabled(editable)

    def add_rule(self, rule: Rule) -> None:
        self.rules.append(rule)
        self._refill(select=len(self.rules) - 1)

    def add_from_fields(self) -> None:
        if self.error is not None:
            return
        kind = self.kind_box.currentText()
        pattern = self.pattern_edit.text().strip()
        try:
            if kind == "command":
                match = self.match_box.currentText()
                rule = Rule.for_command(
                    self.action_box.currentText(),
                    pattern,
                    None if match == "auto" else match,
                    git_writes=self.grant_git_box.isChecked(),
                    network=self.grant_network_box.isChecked(),
                )
            else:
                rule = Rule(self.action_box.currentText(), kind, pattern)
        except PolicyError as err:
            self.add_error.setText(str(err))
            self.add_error.show()
            return
        self.add_error.hide()
        self.pattern_edit.clear()
        self.add_rule(rule)

    def remove_selected(self) -> None:
        row = self.rule_list.currentRow()
        if row < 0 or self.error is not None:
            return
        del self.rules[row]
        self._refill(select=min(row, len(self.rules) - 1))

    def move_selected(self, step: int) -> None:
        row = self.rule_list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < len(self.rules) or self.error is not None:
            return
        self.rules[row], self.rules[target] = self.rules[target], self.rules[row]
        self._refill(select=target)

    def save(self) -> None:
        if self.error is not None:
            return
        try:
            policy_file.save_policy(self.workspace_root, Policy(tuple(self.rules)), loaded=self.loaded)
            chosen = self.review_box.currentData()
            if chosen != self.review_effects:
                policy_file.set_review_effects(self.workspace_root, chosen)
        except (PolicyError, OSError) as err:
            self.error_label.setText(f"The policy was not saved: {err}")
            self.error_label.show()
            return
        self.saved.emit(Policy(tuple(self.rules)))
        self.accept()


class RuleSuggestionBar(QFrame):
    """A quiet, non-modal offer in the review pane: "You approved X 5 times here. Always allow it?"."""

    accepted = Signal(object)
    dismissed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ruleSuggestion")
        self.suggestion: Suggestion | None = None
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.accept_button = QPushButton("Make it a rule")
        self.accept_button.setObjectName("acceptSuggestion")
        self.dismiss_button = QPushButton("Not now")
        for button in (self.accept_button, self.dismiss_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.accept_button.clicked.connect(self._accept)
        self.dismiss_button.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.accept_button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def offer(self, suggestion: Suggestion) -> None:
        self.suggestion = suggestion
        self.text.setText(f"{suggestion.text}  ({suggestion.rule.label})")
        self.show()

    def _accept(self) -> None:
        if self.suggestion is not None:
            self.accepted.emit(self.suggestion)
        self.hide()

    def _dismiss(self) -> None:
        if self.suggestion is not None:
            self.dismissed.emit(self.suggestion)
        self.hide()


def workspace_history(
    repository: Any, workspace_root: str, *, sessions: int = HISTORY_SESSIONS
) -> list[tuple[Any, Any]]:
    """(proposal, decision) pairs of the workspace's recent sessions, read on the database thread."""
    history: list[tuple[Any, Any]] = []
    for session in repository.sessions.recent(limit=1000):
        if session.workspace_root != workspace_root:
            continue
        history.extend(repository.proposals.decisions_for_session(session.id))
        sessions -= 1
        if sessions <= 0:
            break
    return history


class PolicyController(QObject):
    """Wires policies into the main window: the Policies… action, always-allow, and offers after decisions."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: PolicyDialog | None = None
        # The preview "always allow" shows before adding a rule (app.ui.allow_preview), while it is open.
        self.preview_dialog: Any = None
        # Offers the reviewer turned down in this run: never repeated until the app restarts.
        self.dismissed: set[tuple[str, str, str, str]] = set()
        panel = window.review_panel
        panel.always_allow_requested.connect(self.always_allow)
        # The Queue page's own review pane: the same preview, then its decision goes through that page.
        window.queue_view.panel.always_allow_requested.connect(self.always_allow_in_queue)
        panel.rule_suggestion.accepted.connect(self._accept_suggestion)
        panel.rule_suggestion.dismissed.connect(self._dismiss_suggestion)

    def workspace_root(self) -> str | None:
        proposal = self.window.review_panel.proposal
        if proposal is not None:
            return proposal.workspace_root
        session_id = self.window.selected_session_id()
        session = self.window.sessions.get(session_id) if session_id is not None else None
        if session is not None:
            return session.workspace_root
        last = self.window.settings.last_workspace
        return last if last and Path(last).is_dir() else None

    def open_dialog(self) -> None:
        root = self.workspace_root()
        if root is None:
            self.window.statusBar().showMessage(
                "Select a session (or start one) to edit its workspace's policies.", 8000
            )
            return
        self.dialog = PolicyDialog(root, parent=self.window)
        self.dialog.saved.connect(
            lambda p: self.window.statusBar().showMessage(f"Saved {count(len(p.rules), 'rule')} for {root}.", 8000)
        )
        self.dialog.open()

    @asyncSlot(object)
    async def always_allow(self, request: Any) -> None:
        await self._always_allow(self.window.review_panel, request)

    @asyncSlot(object)
    async def always_allow_in_queue(self, request: Any) -> None:
        await self._always_allow(self.window.queue_view.panel, request)

    async def _always_allow(self, panel: Any, request: Any) -> None:
        """Show the rules that would allow this proposal in its workspace and what they would have matched; on
        confirmation add exactly those rules, then approve it. Cancel adds and decides nothing."""
        proposal = panel.proposal
        if proposal is None or proposal.id != request.proposal_id or self.preview_dialog is not None:
            return
        rules = policy.rules_to_always_allow(proposal)
        if not rules:
            panel.show_banner(
                "No rule can allow this one (Signoff cannot be sure what it does, or it changes .git/ "
                "or .signoff/): decide it yourself.",
                kind="info",
            )
            return
        root = proposal.workspace_root
        try:
            history = await self.window.repository.read(workspace_history, root)
            current = await run_in_thread(policy_file.load_policy, root)
            preview = await run_in_thread(preview_always_allow, proposal, rules, current, history)
        except (PolicyError, OSError) as err:
            panel.show_banner(f"The rule was not added, and nothing was decided: {err}")
            return
        if not await self.confirm_rule(preview, panel):
            self.window.statusBar().showMessage("No rule added; nothing decided.", 8000)
            panel.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        if panel.proposal is None or panel.proposal.id != request.proposal_id:
            panel.show_banner(f"#{request.proposal_id} is no longer waiting; no rule was added.", kind="info")
            return
        try:
            await run_in_thread(policy_file.add_rules, root, list(preview.rules))
        except (PolicyError, OSError) as err:
            panel.show_banner(f"The rule was not added, and nothing was decided: {err}")
            return
        added = "; ".join(r.label for r in preview.rules) or "the rule was there already"
        self.window.statusBar().showMessage(f"Always allowed here: {added}", 10000)
        panel.setFocus(Qt.FocusReason.OtherFocusReason)
        panel.decision_requested.emit(request)

    async def confirm_rule(self, preview: AllowPreview, panel: Any = None) -> bool:
        """The one place that asks: the preview dialog, window-modal and awaited (never exec())."""
        from app.ui.allow_preview import AllowPreviewDialog

        self.preview_dialog = AllowPreviewDialog(preview, self.window)
        try:
            return await self.preview_dialog.ask()
        finally:
            self.preview_dialog.deleteLater()
            self.preview_dialog = None
            # Back to the keyboard where it was: the window and the review pane asked (a closed dialog may leave none
            # active).
            self.window.activateWindow()
            (panel or self.window.review_panel).setFocus(Qt.FocusReason.OtherFocusReason)

    @asyncSlot(object)
    async def after_decision(self, proposal: Any) -> None:
        """Offer a rule when the same kind of action has now been approved many times in this workspace."""
        if proposal is None:
            return
        root = proposal.workspace_root
        try:
            history = await self.window.repository.read(workspace_history, root)
            current = await run_in_thread(policy_file.load_policy, root)
        except (PolicyError, OSError, RuntimeError) as err:
            log.info("no rule offer for %s: %s", root, err)
            return
        except Exception as err:  # a store error must not break deciding
            log.warning("no rule offer for %s: %s", root, err)
            return
        offers = [s for s in policy.suggest_rules(history, current, root) if _key(root, s.rule) not in self.dismissed]
        if offers and not getattr(self.window, "_shutting_down", False):
            self._offered_root = root
            self.window.review_panel.rule_suggestion.offer(offers[0])

    @asyncSlot(object)
    async def _accept_suggestion(self, suggestion: Suggestion) -> None:
        root = getattr(self, "_offered_root", None)
        if root is None:
            return
        try:
            await run_in_thread(policy_file.add_rules, root, [suggestion.rule])
        except (PolicyError, OSError) as err:
            self.window.review_panel.show_banner(f"The rule was not added: {err}")
            return
        self.window.statusBar().showMessage(f"Added rule: {suggestion.rule.label}", 10000)

    def _dismiss_suggestion(self, suggestion: Suggestion) -> None:
        root = getattr(self, "_offered_root", None)
        if root is not None:
            self.dismissed.add(_key(root, suggestion.rule))


def _key(root: str, rule: Rule) -> tuple[str, str, str, str]:
    return (root, rule.kind, rule.pattern, rule.match)
