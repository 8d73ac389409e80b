"""The review pane: one waiting proposal as a diff or command, and the keys to judge it.

A approves, R opens a reason box (Enter submits, Esc cancels), E opens an editor on the proposed content or command
(Ctrl+Enter approves the edited version, Esc cancels). The pane only asks; the window records the decision.
"""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import review
from app.core.diffing import compute_diff
from app.store.records import ProposalRecord
from app.ui.diff_view import DiffView


def proposal_title(proposal: ProposalRecord) -> str:
    if proposal.kind == "command":
        where = proposal.cwd if proposal.cwd not in (None, "", ".") else "the workspace root"
        what = f"Run command in {where}"
    elif proposal.kind == "create":
        what = f"New file {proposal.path}  (+{proposal.lines_added})"
    else:
        what = f"Edit {proposal.path}  (+{proposal.lines_added} −{proposal.lines_removed})"
    return f"#{proposal.id} · {what}"


class ReasonBox(QLineEdit):
    cancelled = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class EditBox(QPlainTextEdit):
    submitted = Signal()
    cancelled = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ReviewPanel(QFrame):
    """Shows ``proposal`` and emits ``decision_requested`` with a DecisionRequest (reviewer filled by the window)."""

    decision_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.proposal: ProposalRecord | None = None
        self._shown_at: dt.datetime | None = None
        self._shown_clock = 0.0
        self._busy = False

        self.title = QLabel("Nothing waiting for a decision.")
        self.title.setObjectName("proposalTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("proposalSubtitle")
        self.subtitle.setWordWrap(True)
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()

        self.diff_view = DiffView(self)
        self.diff_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.diff_view.setFocusProxy(None)

        self.reason_box = ReasonBox()
        self.reason_box.setPlaceholderText("Why reject? The agent revises from this. Enter submits, Esc cancels.")
        self.reason_box.hide()
        self.reason_box.returnPressed.connect(self._submit_reject)
        self.reason_box.cancelled.connect(self._close_inputs)

        self.edit_box = EditBox()
        self.edit_box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.edit_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.edit_box.hide()
        self.edit_box.submitted.connect(self._submit_edit)
        self.edit_box.cancelled.connect(self._close_inputs)
        self.edit_hint = QLabel("Editing: Ctrl+Enter approves your version, Esc cancels.")
        self.edit_hint.setObjectName("editHint")
        self.edit_hint.hide()

        self.approve_button = QPushButton("Approve  [A]")
        self.approve_button.setObjectName("approveButton")
        self.reject_button = QPushButton("Reject…  [R]")
        self.reject_button.setObjectName("rejectButton")
        self.edit_button = QPushButton("Edit…  [E]")
        self.edit_button.setObjectName("editButton")
        self.approve_button.clicked.connect(self.approve)
        self.reject_button.clicked.connect(self.start_reject)
        self.edit_button.clicked.connect(self.start_edit)

        # Shown instead of the three verdicts while a reason or an edit is being typed.
        self.confirm_button = QPushButton("")
        self.confirm_button.setObjectName("confirmButton")
        self.confirm_button.clicked.connect(self._confirm)
        self.cancel_button = QPushButton("Cancel  [Esc]")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self._close_inputs)
        for button in (self.approve_button, self.reject_button, self.edit_button, self.confirm_button, self.cancel_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.confirm_button.hide()
        self.cancel_button.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.notice)
        layout.addWidget(self.banner)
        layout.addWidget(self.diff_view, 1)
        layout.addWidget(self.edit_hint)
        layout.addWidget(self.edit_box, 1)
        layout.addWidget(self.reason_box)
        layout.addLayout(buttons)

        # Single keys, live while the pane (or a child) has focus; text boxes swallow printable keys first.
        for key, slot in (("A", self.approve), ("R", self.start_reject), ("E", self.start_edit)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._set_enabled(False)

    # -- showing -------------------------------------------------------------------------------------------------------

    def show_proposal(self, proposal: ProposalRecord | None) -> None:
        if proposal is not None and self.proposal is not None and proposal.id == self.proposal.id:
            return
        self._close_inputs(refocus=False)
        self.proposal = proposal
        self._busy = False
        self.banner.hide()
        if proposal is None:
            self.title.setText("Nothing waiting for a decision.")
            self.subtitle.setText("")
            self.diff_view.show_message("When the agent proposes a change, it appears here.")
            self._set_enabled(False)
            return
        self.title.setText(proposal_title(proposal))
        self.subtitle.setText(f"Session {proposal.session_id} · {proposal.task[:140]} · {proposal.workspace_root}")
        if proposal.kind == "command":
            self.diff_view.show_command(proposal.command or "", proposal.cwd or ".", token=proposal.id)
        else:
            diff = compute_diff(proposal.old_content, proposal.new_content, proposal.path or "")
            self.diff_view.show_diff(diff, token=proposal.id)
        self._shown_at = dt.datetime.now(dt.timezone.utc)
        self._shown_clock = time.monotonic()
        self._set_enabled(True)
        self.edit_button.setEnabled(proposal.kind == "command" or _is_text(proposal.new_content))

    def show_banner(self, text: str, *, kind: str = "error") -> None:
        self.banner.setProperty("kind", kind)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.setText(text)
        self.banner.show()

    @property
    def is_busy(self) -> bool:
        return self._busy

    def show_notice(self, text: str) -> None:
        """Something about an earlier decision (e.g. approved but not applied: a conflict). Stays until the next
        decision, whatever proposal is shown meanwhile."""
        self.notice.setText(text)
        self.notice.show()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._set_enabled(not busy and self.proposal is not None)

    def _set_enabled(self, enabled: bool) -> None:
        for button in (self.approve_button, self.reject_button, self.edit_button):
            button.setEnabled(enabled)

    # -- actions -------------------------------------------------------------------------------------------------------

    def _ready(self) -> bool:
        return self.proposal is not None and not self._busy

    def _request(self, request: review.DecisionRequest) -> None:
        self.notice.hide()
        self.decision_requested.emit(request)

    def _context(self) -> dict:
        return {
            "time_on_screen_ms": int((time.monotonic() - self._shown_clock) * 1000),
            "shown_at": self._shown_at,
        }

    def approve(self) -> None:
        if not self._ready():
            return
        self._request(review.approve(self.proposal.id, "", **self._context()))

    def start_reject(self) -> None:
        if not self._ready():
            return
        self._close_inputs(refocus=False)
        self.reason_box.clear()
        self.reason_box.show()
        self._input_mode("Reject with this reason  [Enter]", "reject")
        self.reason_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _submit_reject(self) -> None:
        reason = self.reason_box.text().strip()
        if not self._ready():
            return
        if not reason:
            self.show_banner("Type a reason: the agent revises from it.", kind="info")
            return
        self._request(review.reject(self.proposal.id, "", reason, **self._context()))
        self._close_inputs()

    def start_edit(self) -> None:
        if not self._ready() or not self.edit_button.isEnabled():
            return
        self._close_inputs(refocus=False)
        proposal = self.proposal
        text = proposal.command if proposal.kind == "command" else (proposal.new_content or b"").decode("utf-8")
        self.edit_box.setPlainText(text or "")
        self.diff_view.hide()
        self.edit_box.show()
        self.edit_hint.show()
        self._input_mode("Approve my version  [Ctrl+Enter]", "approve")
        self.edit_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _submit_edit(self) -> None:
        if not self._ready():
            return
        text = self.edit_box.toPlainText()
        if self.proposal.kind != "command" and b"\r\n" in (self.proposal.new_content or b""):
            # The editor shows lines without their endings; a CRLF file keeps CRLF.
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        edited = text.encode("utf-8")
        self._request(review.edit(self.proposal.id, "", edited, **self._context()))
        self._close_inputs()

    def _input_mode(self, confirm_text: str, kind: str) -> None:
        for button in (self.approve_button, self.reject_button, self.edit_button):
            button.hide()
        self.confirm_button.setProperty("kind", kind)
        self.confirm_button.style().unpolish(self.confirm_button)
        self.confirm_button.style().polish(self.confirm_button)
        self.confirm_button.setText(confirm_text)
        self.confirm_button.show()
        self.cancel_button.show()

    def _confirm(self) -> None:
        if self.reason_box.isVisible():
            self._submit_reject()
        elif self.edit_box.isVisible():
            self._submit_edit()

    def _close_inputs(self, refocus: bool = True) -> None:
        for button in (self.approve_button, self.reject_button, self.edit_button):
            button.show()
        self.confirm_button.hide()
        self.cancel_button.hide()
        self.reason_box.hide()
        self.edit_box.hide()
        self.edit_hint.hide()
        self.diff_view.show()
        if refocus:
            self.setFocus(Qt.FocusReason.OtherFocusReason)


def _is_text(content: bytes | None) -> bool:
    if content is None or b"\x00" in content[:8000]:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
