"""The review pane: one waiting proposal as a diff or command, and the keys to judge it.

A approves, R opens a reason box (Enter submits, Esc cancels), E opens an editor on the proposed content or command
(Ctrl+Enter approves the edited version, Esc cancels). Hunk by hunk: Shift+A / Shift+R / Shift+E judge the diff view's
current hunk, Ctrl+Enter submits every hunk's verdict as one decision. C asks for 2-4 alternatives to the step and
shows them side by side (app.ui.compare_view): Enter picks one, R / Shift+R rejects all. The pane only asks; the
window records it.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
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

from app.domain import hunks, proposal_warnings
from app.domain.diff_types import FileDiff
from app.domain.diffing import compute_diff
from app.domain.records import ProposalRecord
from app.services import compare, review
from app.services.endpoints import NoApiKeyError
from app.store.errors import StoreError
from app.ui.compare_view import CompareBar, CompareView
from app.ui.diff_view import DiffView
from app.ui.policy_dialog import RuleSuggestionBar


def proposal_title(proposal: ProposalRecord) -> str:
    if proposal.kind == "command":
        where = proposal.cwd if proposal.cwd not in (None, "", ".") else "the workspace root"
        what = f"Run command in {where}"
    elif proposal.kind == "create":
        what = f"New file {proposal.path}  (+{proposal.lines_added})"
    else:
        what = f"Edit {proposal.path}  (+{proposal.lines_added} −{proposal.lines_removed})"
    return f"#{proposal.id} · {what}"


HUNK_MARKS = {hunks.APPROVE: "✓", hunks.REJECT: "✗", hunks.EDIT: "✎"}
UNDECIDED_MARK = "○"


class DeceptiveScanner(QObject):
    """Finds hidden or deceptive characters in proposals' added text, once per proposal: inline when small, on a
    short-lived worker thread when large; ``found`` reports each proposal's findings (possibly empty)."""

    found = Signal(int, object)
    # Emitted from the worker thread; queued to the scanner's own thread, where results are stored.
    _worker_done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker_done.connect(self._on_worker_done, Qt.ConnectionType.QueuedConnection)
        self.results: dict[int, list[proposal_warnings.LocatedFinding]] = {}
        self._running: set[int] = set()

    def scan(
        self, proposal: ProposalRecord, diff: FileDiff | None = None
    ) -> list[proposal_warnings.LocatedFinding] | None:
        """The findings now if known or cheap; otherwise None, and ``found`` follows when the worker is done."""
        if proposal.id in self.results:
            return self.results[proposal.id]
        if proposal.id in self._running:
            return None
        size = len(proposal.command or "") if proposal.kind == "command" else len(proposal.new_content or b"")
        if size <= proposal_warnings.LARGE_SCAN_BYTES:
            return self._store(proposal.id, _findings_of(proposal, diff))
        self._running.add(proposal.id)
        worker = threading.Thread(
            target=self._scan_in_worker, args=(proposal,), name=f"deceptive-scan-{proposal.id}", daemon=True
        )
        worker.start()
        return None

    def _scan_in_worker(self, proposal: ProposalRecord) -> None:
        try:
            findings = _findings_of(proposal, None)
        except Exception:  # a scan that fails must not leave the proposal marked as being scanned forever
            findings = []
        self._worker_done.emit(proposal.id, findings)

    def _on_worker_done(self, proposal_id: int, findings: list) -> None:
        self._running.discard(proposal_id)
        self._store(proposal_id, findings)

    def _store(self, proposal_id: int, findings: list) -> list:
        self.results[proposal_id] = findings
        self.found.emit(proposal_id, findings)
        return findings


def _findings_of(proposal: ProposalRecord, diff: FileDiff | None) -> list[proposal_warnings.LocatedFinding]:
    if proposal.kind == "command":
        return proposal_warnings.command_findings(proposal.command or "")
    if proposal.new_content is None:
        return []
    diff = diff or compute_diff(proposal.old_content, proposal.new_content, proposal.path or "file")
    return proposal_warnings.added_line_findings(diff)


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
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ReviewPanel(QFrame):
    """Shows ``proposal`` and emits ``decision_requested`` with a DecisionRequest (reviewer filled by the window)."""

    decision_requested = Signal(object)
    # "Always allow this here": approve, after the window has added rules allowing it (app.ui.policy_dialog).
    always_allow_requested = Signal(object)
    # Compare mode: (proposal id, how many alternatives) to sample; then a compare.PickRequest (reviewer filled by the
    # window) for the pick or the rejection of all.
    compare_requested = Signal(int, int)
    # The alternatives sampled last time for this proposal (the window answers with show_compare or compare_failed).
    last_compare_requested = Signal(int)
    pick_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.proposal: ProposalRecord | None = None
        self._shown_at: dt.datetime | None = None
        self._shown_clock = 0.0
        self._busy = False
        # Per-hunk review of a file proposal: its diff, the verdicts so far, and what the open input is for
        # (None: the whole proposal; an int: that hunk).
        self.diff: FileDiff | None = None
        self.hunk_verdicts: dict[int, hunks.HunkVerdict] = {}
        self._input_hunk: int | None = None
        self.scanner = DeceptiveScanner(self)
        self.scanner.found.connect(self._on_scanned)

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
        self.deceptive_banner = QLabel("")
        self.deceptive_banner.setObjectName("deceptiveBanner")
        self.deceptive_banner.setWordWrap(True)
        self.deceptive_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.deceptive_banner.hide()
        self.hunk_list = QLabel("")
        self.hunk_list.setObjectName("hunkList")
        self.hunk_list.setWordWrap(True)
        self.hunk_list.setTextFormat(Qt.TextFormat.RichText)
        self.hunk_list.hide()
        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()

        self.diff_view = DiffView(self)
        self.diff_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.diff_view.setFocusProxy(None)

        self.compare_bar = CompareBar()
        self.compare_bar.hide()
        self.compare_bar.sample_requested.connect(self._sample)
        self.compare_bar.cancelled.connect(self._cancel_compare_bar)
        self.compare_bar.last_requested.connect(self._show_last)
        self.compare_view = CompareView()
        self.compare_view.hide()
        self.compare_view.pick_requested.connect(self.pick)
        self.compare_view.closed.connect(self.leave_compare)
        # The compare on screen, and whether the reason box is for rejecting all of its alternatives.
        self._rejecting_all = False
        # The proposal whose alternatives are being sampled now (a late answer for another one is dropped).
        self._sampling_for: int | None = None
        # Set by an owner that handles compare_requested and pick_requested (the main window); else C only explains.
        self.compare_enabled = False

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
        self.always_allow_button = QPushButton("Always allow here  [Ctrl+Shift+A]")
        self.always_allow_button.setObjectName("alwaysAllowButton")
        self.always_allow_button.setToolTip(
            "Approve, and add a rule to this workspace's policy so the same action runs unasked"
        )
        self.always_allow_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.always_allow_button.clicked.connect(self.always_allow)
        self.compare_button = QPushButton("Compare…  [C]")
        self.compare_button.setObjectName("compareButton")
        self.compare_button.setToolTip("Sample 2-4 alternatives for this step and pick the best side by side (C)")
        self.compare_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.compare_button.clicked.connect(self.start_compare)
        self.compare_button.hide()
        self.pick_button = QPushButton("Pick  [Enter]")
        self.pick_button.setObjectName("pickButton")
        self.reject_all_button = QPushButton("Reject all…  [R]")
        self.reject_all_button.setObjectName("rejectAllButton")
        self.leave_compare_button = QPushButton("Back  [Esc]")
        self.leave_compare_button.setObjectName("leaveCompareButton")
        self.pick_button.clicked.connect(lambda: self.pick(self.compare_view.selected))
        self.reject_all_button.clicked.connect(self.start_reject_all)
        self.leave_compare_button.clicked.connect(self.leave_compare)
        self.compare_buttons = (self.pick_button, self.reject_all_button, self.leave_compare_button)
        for button in self.compare_buttons:
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.hide()
        self.rule_suggestion = RuleSuggestionBar(self)

        # Shown instead of the three verdicts while a reason or an edit is being typed.
        self.confirm_button = QPushButton("")
        self.confirm_button.setObjectName("confirmButton")
        self.confirm_button.clicked.connect(self._confirm)
        self.cancel_button = QPushButton("Cancel  [Esc]")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self._close_inputs)
        for button in (
            self.approve_button,
            self.reject_button,
            self.edit_button,
            self.confirm_button,
            self.cancel_button,
        ):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.confirm_button.hide()
        self.cancel_button.hide()

        self.previous_hunk_button = QPushButton("◀")
        self.previous_hunk_button.setToolTip("Previous hunk  [P]")
        self.next_hunk_button = QPushButton("▶")
        self.next_hunk_button.setToolTip("Next hunk  [N]")
        self.hunk_position = QLabel("")
        self.hunk_position.setObjectName("hunkPosition")
        for arrow in (self.previous_hunk_button, self.next_hunk_button):
            arrow.setFixedWidth(34)
        self.approve_hunk_button = QPushButton("Approve hunk  [⇧A]")
        self.approve_hunk_button.setObjectName("approveHunkButton")
        self.reject_hunk_button = QPushButton("Reject hunk…  [⇧R]")
        self.reject_hunk_button.setObjectName("rejectHunkButton")
        self.edit_hunk_button = QPushButton("Edit hunk…  [⇧E]")
        self.edit_hunk_button.setObjectName("editHunkButton")
        self.submit_hunks_button = QPushButton("Submit hunks  [Ctrl+Enter]")
        self.submit_hunks_button.setObjectName("submitHunksButton")
        self.approve_hunk_button.setToolTip("Approve the current hunk (Shift+A)")
        self.reject_hunk_button.setToolTip("Reject the current hunk with a reason (Shift+R)")
        self.edit_hunk_button.setToolTip("Rewrite the current hunk's new lines (Shift+E)")
        self.submit_hunks_button.setToolTip("Send every hunk's verdict as one decision (Ctrl+Enter)")
        self.previous_hunk_button.clicked.connect(lambda: self.move_hunk(-1))
        self.next_hunk_button.clicked.connect(lambda: self.move_hunk(1))
        self.approve_hunk_button.clicked.connect(self.approve_hunk)
        self.reject_hunk_button.clicked.connect(self.start_reject_hunk)
        self.edit_hunk_button.clicked.connect(self.start_edit_hunk)
        self.submit_hunks_button.clicked.connect(self.submit_hunks)
        self.hunk_buttons = (
            self.previous_hunk_button,
            self.next_hunk_button,
            self.approve_hunk_button,
            self.reject_hunk_button,
            self.edit_hunk_button,
            self.submit_hunks_button,
        )
        for button in self.hunk_buttons:
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hunk_row = QWidget()
        hunk_layout = QHBoxLayout(self.hunk_row)
        hunk_layout.setContentsMargins(0, 0, 0, 0)
        hunk_layout.addWidget(self.previous_hunk_button)
        hunk_layout.addWidget(self.hunk_position)
        hunk_layout.addWidget(self.next_hunk_button)
        hunk_layout.addSpacing(8)
        for button in self.hunk_buttons[2:]:
            hunk_layout.addWidget(button)
        hunk_layout.addStretch(1)
        self.hunk_row.hide()

        # The reviewer's optional 1-5 confidence in the next decision (keys 1..5; the same key again clears it).
        self.strength: int | None = None
        self.strength_label = QLabel("")
        self.strength_label.setObjectName("strengthLabel")
        self.strength_label.setToolTip(
            "How sure are you? Press 1 (weak) to 5 (strong) before deciding; again to clear."
        )

        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.always_allow_button)
        buttons.addWidget(self.compare_button)
        for button in self.compare_buttons:
            buttons.addWidget(button)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.strength_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.hunk_list)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.notice)
        layout.addWidget(self.banner)
        layout.addWidget(self.deceptive_banner)
        layout.addWidget(self.diff_view, 1)
        layout.addWidget(self.compare_view, 1)
        layout.addWidget(self.compare_bar)
        layout.addWidget(self.edit_hint)
        layout.addWidget(self.edit_box, 1)
        layout.addWidget(self.reason_box)
        layout.addLayout(buttons)
        layout.addWidget(self.rule_suggestion)
        layout.addWidget(self.hunk_row)

        # Single keys, live while the pane (or a child) has focus; text boxes swallow printable keys first.
        for key, slot in (
            ("A", self.approve),
            ("R", self.start_reject),
            ("E", self.start_edit),
            ("C", self.start_compare),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        always_allow_key = QShortcut(QKeySequence("Ctrl+Shift+A"), self)
        always_allow_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        always_allow_key.activated.connect(self.always_allow)
        for value in range(1, 6):
            shortcut = QShortcut(QKeySequence(str(value)), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda value=value: self.set_strength(value))
        hunk_keys = [
            ("Shift+A", self.approve_hunk),
            ("Shift+R", self.start_reject_hunk),
            ("Shift+E", self.start_edit_hunk),
            ("Ctrl+Return", self._ctrl_enter),
            ("Ctrl+Enter", self._ctrl_enter),
        ]
        for key, slot in hunk_keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.diff_view.current_hunk_changed.connect(self._on_view_hunk_changed)
        # The pane keeps focus, so the view's own keys (n/p between hunks, t, /, ...) must live on it too.
        self.diff_view.install_keys(self)
        self._set_enabled(False)

    # -- showing -------------------------------------------------------------------------------------------------------

    def show_proposal(self, proposal: ProposalRecord | None) -> None:
        if proposal is not None and self.proposal is not None and proposal.id == self.proposal.id:
            return
        self._close_inputs(refocus=False)
        self._leave_compare_quietly()
        self.proposal = proposal
        self._busy = False
        self._show_strength(None)
        self.banner.hide()
        self.deceptive_banner.hide()
        self.diff = None
        self.hunk_verdicts = {}
        self._show_hunk_state()
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
            self.diff_view.show_diff(
                diff,
                token=proposal.id,
                old_text=_display_text(proposal.old_content),
                new_text=_display_text(proposal.new_content),
            )
            try:
                hunks.check_diff(diff)
                self.diff = diff
            except hunks.HunkError:
                self.diff = None
        self._shown_at = dt.datetime.now(dt.UTC)
        self._shown_clock = time.monotonic()
        self._set_enabled(True)
        self.edit_button.setEnabled(proposal.kind == "command" or _is_text(proposal.new_content))
        self._show_hunk_state()
        findings = self.scanner.scan(proposal, self.diff)
        if findings is not None:
            self._on_scanned(proposal.id, findings)

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
        if self.diff is not None:
            self._show_hunk_state()

    def _set_enabled(self, enabled: bool) -> None:
        for button in (
            self.approve_button,
            self.reject_button,
            self.edit_button,
            self.always_allow_button,
            self.compare_button,
            *self.compare_buttons,
            *self.hunk_buttons,
        ):
            button.setEnabled(enabled)

    # -- actions -------------------------------------------------------------------------------------------------------

    def _ready(self) -> bool:
        """Whether the single-proposal keys (A, R, E, hunks) act now: not while alternatives are on screen."""
        return self.proposal is not None and not self._busy and not self.comparing

    @property
    def comparing(self) -> bool:
        return self.compare_view.record is not None and not self.compare_view.isHidden()

    def _request(self, request: review.DecisionRequest) -> None:
        self.notice.hide()
        self.decision_requested.emit(request)

    def _context(self) -> dict:
        return {
            "time_on_screen_ms": int((time.monotonic() - self._shown_clock) * 1000),
            "shown_at": self._shown_at,
            "strength": self.strength,
        }

    def set_strength(self, value: int) -> None:
        """Rate the shown proposal's decision 1-5; the same value again clears the rating."""
        if self.proposal is None or self._busy:
            return
        self._show_strength(None if self.strength == value else value)

    def _show_strength(self, value: int | None) -> None:
        self.strength = value
        if value is None:
            self.strength_label.setText("Strength –  [1–5]" if self.proposal is not None else "")
        else:
            self.strength_label.setText(f"Strength {value}/5 {'●' * value}{'○' * (5 - value)}")

    def approve(self) -> None:
        if not self._ready():
            return
        self._request(review.approve(self.proposal.id, "", **self._context()))

    def always_allow(self) -> None:
        if not self._ready():
            return
        self.rule_suggestion.hide()
        self.always_allow_requested.emit(review.approve(self.proposal.id, "", **self._context()))

    def start_reject(self) -> None:
        if self.comparing:
            self.start_reject_all()
            return
        if not self._ready():
            return
        self._close_inputs(refocus=False)
        self.reason_box.clear()
        self.reason_box.setPlaceholderText("Why reject? The agent revises from this. Enter submits, Esc cancels.")
        self.reason_box.show()
        self._input_mode("Reject with this reason  [Enter]", "reject")
        self.reason_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _submit_reject(self) -> None:
        reason = self.reason_box.text().strip()
        if self.proposal is None or self._busy:
            return
        if not reason:
            self.show_banner("Type a reason: the agent revises from it.", kind="info")
            return
        if self._input_hunk is not None:
            self._judge_hunk(hunks.HunkVerdict(self._input_hunk, hunks.REJECT, reason=reason))
            self._close_inputs()
            return
        if self._rejecting_all:
            self._request_pick(None, reason)
            self._close_inputs()
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
        if self._input_hunk is not None and self.diff is not None:
            edited = hunks.edited_bytes(self.diff.hunks[self._input_hunk], text)
            self._judge_hunk(hunks.HunkVerdict(self._input_hunk, hunks.EDIT, edited=edited))
            self._close_inputs()
            return
        if self.proposal.kind != "command" and b"\r\n" in (self.proposal.new_content or b""):
            # The editor shows lines without their endings; a CRLF file keeps CRLF.
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        edited = text.encode("utf-8")
        self._request(review.edit(self.proposal.id, "", edited, **self._context()))
        self._close_inputs()

    def _input_mode(self, confirm_text: str, kind: str) -> None:
        for button in (
            self.approve_button,
            self.reject_button,
            self.edit_button,
            self.compare_button,
            *self.compare_buttons,
        ):
            button.hide()
        self.hunk_row.hide()
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
        self._input_hunk = None
        self._rejecting_all = False
        if self.comparing:
            self.confirm_button.hide()
            self.cancel_button.hide()
            self.reason_box.hide()
            self._show_compare_buttons(True)
            if refocus:
                self.compare_view.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        for button in (self.approve_button, self.reject_button, self.edit_button):
            button.show()
        self.compare_button.setVisible(self.compare_enabled)
        self.hunk_row.setVisible(self.diff is not None)
        self.edit_hint.setText("Editing: Ctrl+Enter approves your version, Esc cancels.")
        self.confirm_button.hide()
        self.cancel_button.hide()
        self.reason_box.hide()
        self.edit_box.hide()
        self.edit_hint.hide()
        self.diff_view.show()
        if refocus:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- hunk by hunk --------------------------------------------------------------------------------------------------

    @property
    def hunk_count(self) -> int:
        return len(self.diff.hunks) if self.diff is not None else 0

    @property
    def current_hunk(self) -> int:
        """The hunk the keys judge: the diff view's current hunk (n/p move it)."""
        index = self.diff_view.current_hunk
        return index if 0 <= index < self.hunk_count else 0

    def move_hunk(self, step: int) -> None:
        if self.diff is not None:
            self._go_to_hunk(self.current_hunk + step)

    def _go_to_hunk(self, index: int) -> None:
        self.diff_view.set_current_hunk(max(0, min(self.hunk_count - 1, index)))
        self._show_hunk_state()

    def _on_view_hunk_changed(self, _index: int) -> None:
        self._show_hunk_state()

    def _hunk_ready(self) -> bool:
        if not self._ready():
            return False
        if self.diff is None:
            self.show_banner(
                "This proposal can only be judged as a whole: A approves, R rejects, E edits.", kind="info"
            )
            return False
        return True

    def approve_hunk(self) -> None:
        if not self._hunk_ready():
            return
        self._judge_hunk(hunks.HunkVerdict(self.current_hunk, hunks.APPROVE))

    def start_reject_hunk(self) -> None:
        if self.comparing:
            self.start_reject_all()
            return
        if not self._hunk_ready():
            return
        index = self.current_hunk
        self._close_inputs(refocus=False)
        self._input_hunk = index
        earlier = self.hunk_verdicts.get(index)
        self.reason_box.setText((earlier.reason or "") if earlier and earlier.verdict == hunks.REJECT else "")
        self.reason_box.setPlaceholderText(
            f"Why reject hunk {index + 1} of {self.hunk_count}? Enter keeps the reason for this hunk, Esc cancels."
        )
        self.reason_box.show()
        self._input_mode(f"Reject hunk {index + 1}  [Enter]", "reject")
        self.reason_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def start_edit_hunk(self) -> None:
        if not self._hunk_ready():
            return
        index = self.current_hunk
        hunk = self.diff.hunks[index]
        if not all(_is_text(line.raw) for line in hunk.lines):
            self.show_banner(
                f"Hunk {index + 1} holds bytes that are not UTF-8 text: approve or reject it instead.", kind="info"
            )
            return
        self._close_inputs(refocus=False)
        self._input_hunk = index
        earlier = self.hunk_verdicts.get(index)
        if earlier is not None and earlier.verdict == hunks.EDIT and earlier.edited is not None:
            text = earlier.edited.decode("utf-8").replace("\r\n", "\n")
            text = text[:-1] if text.endswith("\n") else text
        else:
            text = hunks.edit_text(hunk)
        self.edit_box.setPlainText(text)
        self.diff_view.hide()
        self.edit_box.show()
        self.edit_hint.setText(
            f"Editing {hunks.hunk_title(self.diff, index)}: these lines replace the hunk. "
            "Ctrl+Enter keeps your version for this hunk, Esc cancels."
        )
        self.edit_hint.show()
        self._input_mode(f"Use my version of hunk {index + 1}  [Ctrl+Enter]", "approve")
        self.edit_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _judge_hunk(self, verdict: hunks.HunkVerdict) -> None:
        self.hunk_verdicts[verdict.hunk] = verdict
        self.banner.hide()
        undecided_after = [i for i in range(verdict.hunk + 1, self.hunk_count) if i not in self.hunk_verdicts]
        if undecided_after:
            # Straight on to the next hunk that still needs a verdict, as a reviewer reads down the diff.
            self._go_to_hunk(undecided_after[0])
        else:
            self._show_hunk_state()

    def _ctrl_enter(self) -> None:
        if self.edit_box.isVisible():
            self._submit_edit()
        elif not self.reason_box.isVisible():
            self.submit_hunks()

    def submit_hunks(self) -> None:
        """Send every hunk's verdict as one decision; undecided hunks block it with a message saying which."""
        if not self._hunk_ready():
            return
        undecided = [i + 1 for i in range(self.hunk_count) if i not in self.hunk_verdicts]
        if undecided:
            listed = ", ".join(str(number) for number in undecided)
            plural = len(undecided) > 1
            self.show_banner(
                f"Hunk{'s' if plural else ''} {listed} of {self.hunk_count} {'are' if plural else 'is'} still undecided: "
                "judge each hunk (Shift+A approve, Shift+R reject, Shift+E edit) before submitting — "
                "or judge the whole proposal with A / R / E.",
                kind="info",
            )
            self._go_to_hunk(undecided[0] - 1)
            return
        try:
            request = review.by_hunk(self.proposal.id, "", list(self.hunk_verdicts.values()), **self._context())
        except review.ReviewError as err:
            self.show_banner(str(err))
            return
        self._request(request)

    def hunk_marks(self) -> dict[int, str]:
        """Each judged hunk's verdict ("approve" / "reject" / "edit"), for the badges on the diff view's hunk headers."""
        return {index: verdict.verdict for index, verdict in self.hunk_verdicts.items()}

    def _show_hunk_state(self) -> None:
        splittable = self.diff is not None
        self.hunk_list.setVisible(splittable)
        self.hunk_row.setVisible(splittable and self.confirm_button.isHidden())
        self.diff_view.set_hunk_marks(self.hunk_marks() if splittable else {})
        if not splittable:
            self.hunk_list.clear()
            return
        current = self.current_hunk
        parts = []
        for index in range(self.hunk_count):
            verdict = self.hunk_verdicts.get(index)
            mark = HUNK_MARKS[verdict.verdict] if verdict else UNDECIDED_MARK
            text = f"Hunk {index + 1} {mark}"
            if verdict is not None and verdict.verdict == hunks.REJECT and verdict.reason:
                reason = verdict.reason if len(verdict.reason) <= 60 else verdict.reason[:59] + "…"
                text += f" ({reason})"
            text = html.escape(text)
            if verdict is not None:
                colour = {hunks.APPROVE: "#1a7f37", hunks.REJECT: "#cf222e", hunks.EDIT: "#9a6700"}[verdict.verdict]
                text = f'<span style="color:{colour}">{text}</span>'
            if index == current:
                text = f"<b>▸ {text}</b>"
            parts.append(text)
        decided = len(self.hunk_verdicts)
        if decided == self.hunk_count:
            progress = f"all {decided} judged: Ctrl+Enter submits"
        else:
            progress = f"{decided} of {self.hunk_count} judged; n / p move"
        self.hunk_list.setText(" · ".join(parts) + f'<span style="color:#6e7781">  —  {progress}</span>')
        self.hunk_position.setText(f"Hunk {current + 1} of {self.hunk_count}")
        self.hunk_list.setToolTip(hunks.hunk_title(self.diff, current))
        self.previous_hunk_button.setEnabled(not self._busy and current > 0)
        self.next_hunk_button.setEnabled(not self._busy and current < self.hunk_count - 1)

    # -- compare mode --------------------------------------------------------------------------------------------------

    def start_compare(self) -> None:
        """C: ask how many alternatives to sample; while they are on screen, sample again."""
        if self.proposal is None or self._busy or self._sampling_for is not None:
            return
        if not self.compare_enabled:
            self.show_banner(
                "Compare works on the Sessions page (Ctrl+2): press C there to sample alternatives.", kind="info"
            )
            return
        if not self.comparing:
            self._close_inputs(refocus=False)
        self.banner.hide()
        self.compare_bar.ask()

    def _sample(self, count: int) -> None:
        if self.proposal is None:
            return
        self._sampling_for = self.proposal.id
        self.compare_bar.sampling(count)
        (self.compare_view if self.comparing else self).setFocus(Qt.FocusReason.OtherFocusReason)
        self.compare_requested.emit(self.proposal.id, count)

    def _show_last(self) -> None:
        if self.proposal is None:
            return
        self._sampling_for = self.proposal.id
        self.last_compare_requested.emit(self.proposal.id)

    def _cancel_compare_bar(self) -> None:
        self.compare_bar.hide()
        if self.comparing:
            self.compare_view.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_compare(self, record) -> None:
        """Show a compare's alternatives side by side (dropped if the pane moved on to another proposal)."""
        if self.proposal is None or record.proposal_id != self.proposal.id:
            return
        self._sampling_for = None
        self.compare_bar.hide()
        self._close_inputs(refocus=False)
        self.diff_view.hide()
        self.hunk_row.hide()
        self.hunk_list.hide()
        self.compare_view.show_compare(record)
        self.compare_view.show()
        self._show_compare_buttons(True)
        self.compare_view.setFocus(Qt.FocusReason.OtherFocusReason)

    def compare_failed(self, proposal_id: int, message: str) -> None:
        if self._sampling_for != proposal_id:
            return
        self._sampling_for = None
        self.compare_bar.hide()
        self.show_banner(message)

    async def sample_from(
        self, manager, proposal_id: int, count: int, requested_by: str, alive: Callable[[], bool] = lambda: True
    ) -> bool:
        """Sample ``count`` alternatives through the session manager and show them, or say why not (the owner's
        answer to compare_requested). ``alive`` is False once the owner is shutting down: nothing is shown then."""
        try:
            record = await manager.compare(proposal_id, count, requested_by=requested_by)
        except (compare.CompareError, NoApiKeyError, StoreError, ValueError) as err:
            if alive():
                self.compare_failed(proposal_id, f"No alternatives: {err}")
            return False
        if not alive():
            return False
        self.show_compare(record)
        return True

    async def show_last_from(self, repository, proposal_id: int, alive: Callable[[], bool] = lambda: True) -> None:
        """Show the alternatives sampled last time for ``proposal_id`` (the answer to last_compare_requested)."""
        try:
            record = await repository.read(lambda store: store.compares.latest(proposal_id))
        except StoreError as err:
            record, problem = None, str(err)
        else:
            problem = f"No alternatives were sampled for proposal #{proposal_id} yet: press C, then Enter."
        if not alive():
            return
        if record is None:
            self.compare_failed(proposal_id, problem)
        else:
            self.show_compare(record)

    def _show_compare_buttons(self, comparing: bool) -> None:
        for button in (self.approve_button, self.reject_button, self.edit_button, self.always_allow_button):
            button.setVisible(not comparing)
        self.compare_button.setVisible(self.compare_enabled and not comparing)
        for button in self.compare_buttons:
            button.setVisible(comparing)

    def leave_compare(self) -> None:
        """Esc: back to the proposal alone (its alternatives stay stored)."""
        if not self.comparing:
            return
        self._leave_compare_quietly()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _leave_compare_quietly(self) -> None:
        self._sampling_for = None
        self.compare_bar.hide()
        was_comparing = self.comparing
        self.compare_view.hide()
        self.compare_view.record = None
        self.reason_box.hide()
        self.confirm_button.hide()
        self.cancel_button.hide()
        self._rejecting_all = False
        self._show_compare_buttons(False)
        if was_comparing:
            self.diff_view.show()
            self._show_hunk_state()

    def pick(self, position: int) -> None:
        """Enter: pick the chosen pane (the original, or an alternative that proposes a change)."""
        if not self.comparing or self._busy or self.proposal is None:
            return
        alternative = self.compare_view.record.alternatives[position]
        if position != 0 and not alternative.proposes_change:
            self.show_banner(
                f"{alternative.label} proposes no change, so there is nothing to apply: pick another, or R to reject all.",
                kind="info",
            )
            return
        self._request_pick(position, None)

    def start_reject_all(self) -> None:
        if not self.comparing or self._busy:
            return
        self.reason_box.clear()
        self.reason_box.setPlaceholderText(
            "Why reject every alternative? The agent revises from this. Enter submits, Esc cancels."
        )
        self.reason_box.show()
        self._input_mode("Reject all with this reason  [Enter]", "reject")
        self._rejecting_all = True
        self.reason_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _request_pick(self, position: int | None, reason: str | None) -> None:
        context = self._context()
        self.notice.hide()
        self.pick_requested.emit(
            compare.PickRequest(
                self.proposal.id,
                self.compare_view.record.id,
                position,
                "",
                reason=reason,
                time_on_screen_ms=context["time_on_screen_ms"],
                shown_at=context["shown_at"],
                strength=context["strength"],
            )
        )

    # -- deceptive characters ------------------------------------------------------------------------------------------

    def _on_scanned(self, proposal_id: int, findings: list) -> None:
        if self.proposal is None or self.proposal.id != proposal_id:
            return
        text = proposal_warnings.summary(findings, command=self.proposal.kind == "command")
        self.deceptive_banner.setText(f"⚠ {text} Check what these lines really do before approving." if text else "")
        self.deceptive_banner.setToolTip("\n".join(f"line {f.line}: {f.finding.message}" for f in findings[:50]))
        self.deceptive_banner.setVisible(bool(text))


def _display_text(content: bytes | None) -> str | None:
    """The whole file for the view's folds and lexing; None for binary content (the view shows a summary)."""
    if content is None or b"\x00" in content[:8000]:
        return None
    return content.decode("utf-8", errors="replace")


def _is_text(content: bytes | None) -> bool:
    if content is None or b"\x00" in content[:8000]:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
