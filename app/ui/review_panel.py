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
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QWidget,
)

from app.domain import hunks, plans, proposal_warnings
from app.domain.diff_types import FileDiff
from app.domain.diffing import proposal_diff
from app.domain.lifecycle import ProposalStatus
from app.domain.records import ProposalRecord
from app.services import review
from app.ui.background import LoadTokens
from app.ui.review_builders import ReviewPanelBuilders
from app.ui.review_compare import ReviewCompare
from app.ui.review_hunks import ReviewHunks
from app.ui.review_parts import (
    DeceptiveScanner,
    changeset_diff,
    display_text,
    is_text,
    proposal_title,
)

# Proposals that are not a change to a file or a command: shown as rendered Markdown (issue 15).
PLAN_KINDS = ("plan", "delegate")


def plan_html(proposal: ProposalRecord) -> str:
    """A plan as a rendered numbered list (title, each step with its detail and files, the open questions); a
    delegation as its text. Everything the agent wrote is escaped."""
    if proposal.kind != "plan" or proposal.new_content is None:
        return f"<pre>{html.escape(proposal.shown_text)}</pre>"
    try:
        plan = plans.plan_from_bytes(proposal.new_content)
    except plans.PlanError as err:
        return f"<p>This plan cannot be shown: {html.escape(str(err))}</p><pre>{html.escape(proposal.shown_text)}</pre>"
    items = []
    for step in plan.steps:
        parts = [f"<b>{html.escape(step.title)}</b>"]
        if step.detail:
            parts.append(html.escape(step.detail).replace("\n", "<br/>"))
        if step.files:
            parts.append("<i>Files: " + ", ".join(f"<code>{html.escape(f)}</code>" for f in step.files) + "</i>")
        items.append("<li>" + "<br/>".join(parts) + "</li>")
    text = f"<h2>{html.escape(plan.title)}</h2><ol>{''.join(items)}</ol>"
    if plan.open_questions:
        questions = "".join(f"<li>{html.escape(q)}</li>" for q in plan.open_questions)
        text += f"<h3>Open questions</h3><ul>{questions}</ul>"
    return text


class ReviewPanel(ReviewPanelBuilders, ReviewHunks, ReviewCompare, QFrame):
    """Shows ``proposal`` and emits ``decision_requested`` with a DecisionRequest (app.services.decisions fills in the
    reviewer). Built by ReviewPanelBuilders; hunk-by-hunk review in ReviewHunks, compare mode in ReviewCompare."""

    decision_requested = Signal(object)
    # "Always allow this here": approve, after the window has added rules allowing it (app.ui.policy_dialog).
    always_allow_requested = Signal(object)
    # Compare mode: (proposal id, how many alternatives) to sample; then a compare.PickRequest (reviewer filled by the
    # window) for the pick or the rejection of all.
    compare_requested = Signal(int, int)
    # The alternatives sampled last time for this proposal (the window answers with show_compare or compare_failed).
    last_compare_requested = Signal(int)
    pick_requested = Signal(object)
    # True when alternatives come on screen, False when the pane goes back to the proposal (the window makes room).
    comparing_changed = Signal(bool)
    # u / Ctrl+Z: take back the page's newest decision while its undo window is open (app.ui.undo_trail).
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Compare loads carry a token naming their proposal; a late answer for another one is dropped.
        self.loads = LoadTokens()
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

        self._build_labels()
        self._build_views()
        self._build_inputs()
        self._build_verdict_buttons()
        self._build_hunk_row()
        self._build_layout()
        self._install_keys()
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
        self.protocol_banner.hide()
        self.diff = None
        self.hunk_verdicts = {}
        self._show_hunk_state()
        if proposal is None:
            self.plan_view.hide()
            self.diff_view.show()
            self.title.setText("Nothing waiting for a decision.")
            self.subtitle.setText("")
            self.diff_view.show_message("When the agent proposes a change, it appears here.")
            self.grant_row.hide()
            self._set_enabled(False)
            return
        self.title.setText(proposal_title(proposal))
        for button in (self.grant_git_button, self.grant_network_button):
            button.setChecked(False)
        self.grant_row.setVisible(proposal.kind == "command")
        self.subtitle.setText(f"Session {proposal.session_id} · {proposal.task[:140]} · {proposal.workspace_root}")
        self._show_protocol_limits(proposal)
        self.plan_view.setVisible(proposal.kind in PLAN_KINDS)
        self.diff_view.setVisible(proposal.kind not in PLAN_KINDS)
        if proposal.kind in PLAN_KINDS:
            # The numbered steps rendered from the plan's Markdown; the diff view stays hidden (nothing to diff).
            self.plan_view.setHtml(plan_html(proposal))
            self.diff_view.show_message("")
        elif proposal.kind == "command":
            self.diff_view.show_command(proposal.command or "", proposal.cwd or ".", token=proposal.id)
        elif proposal.kind == "changeset":
            # Every file as one diff whose hunks (numbered across files, headers naming each file) are judged one by
            # one with the same keys as a single file's.
            self.diff = changeset_diff(proposal)
            self.diff_view.show_diff(self.diff, token=proposal.id)
        else:
            diff = proposal_diff(proposal.id, proposal.old_content, proposal.new_content, proposal.path or "file")
            self.diff_view.show_diff(
                diff,
                token=proposal.id,
                old_text=display_text(proposal.old_content),
                new_text=display_text(proposal.new_content),
            )
            try:
                hunks.check_diff(diff)
                self.diff = diff
            except hunks.HunkError:
                self.diff = None
        self._shown_at = dt.datetime.now(dt.UTC)
        self._shown_clock = time.monotonic()
        self._set_enabled(True)
        if proposal.kind in PLAN_KINDS:
            for button in (self.always_allow_button, self.compare_button):
                button.setEnabled(False)
        self.edit_button.setEnabled(
            proposal.kind == "plan"
            or (
                proposal.kind not in PLAN_KINDS
                and proposal.kind != "changeset"
                and (proposal.kind == "command" or is_text(proposal.new_content))
            )
        )
        self._show_hunk_state()
        findings = self.scanner.scan(proposal, self.diff)
        if findings is not None:
            self._on_scanned(proposal.id, findings)

    def _show_protocol_limits(self, proposal: ProposalRecord) -> None:
        """An external agent's proposal: what its protocol cannot carry, and why it no longer waits if withdrawn."""
        if proposal.protocol_note:
            self.protocol_banner.setText(f"Before you decide: {proposal.protocol_note}")
            self.protocol_banner.show()
        if proposal.status == ProposalStatus.CANCELLED and proposal.withdrawn_reason:
            self.show_banner(f"Withdrawn: {proposal.withdrawn_reason}.", kind="info")

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
            self.grant_git_button,
            self.grant_network_button,
            *self.compare_buttons,
            *self.hunk_buttons,
        ):
            button.setEnabled(enabled)
        if self.proposal is not None and self.proposal.kind == "changeset":
            # A changeset is judged whole or hunk by hunk: no whole-file edit, no policy rule, no resampling.
            for button in (self.edit_button, self.always_allow_button, self.compare_button):
                button.setEnabled(False)

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
        context = {
            "time_on_screen_ms": int((time.monotonic() - self._shown_clock) * 1000),
            "shown_at": self._shown_at,
            "strength": self.strength,
        }
        if self.proposal is not None and self.proposal.kind == "command":
            context["grants"] = review.grants(
                git_writes=self.grant_git_button.isChecked(), network=self.grant_network_button.isChecked()
            )
        return context

    def toggle_grant_git(self) -> None:
        if self._ready() and self.grant_git_button.isVisible():
            self.grant_git_button.toggle()

    def toggle_grant_network(self) -> None:
        if self._ready() and self.grant_network_button.isVisible():
            self.grant_network_button.toggle()

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

    def request_undo(self) -> None:
        self.undo_requested.emit()

    def show_countdown(self, text: str | None) -> None:
        """The newest decision's undo countdown ('Approved #8 · applies in 4 s — u or Ctrl+Z to undo'); None hides it.
        Stays while the pane shows other proposals."""
        if not text:
            self.undo_strip.hide()
            return
        self.undo_strip.setText(text)
        self.undo_strip.show()

    def approve(self) -> None:
        if not self._ready():
            return
        self._request(review.approve(self.proposal.id, "", **self._context()))

    def always_allow(self) -> None:
        if not self._ready() or self.proposal.kind in PLAN_KINDS:
            return
        if self.proposal.kind == "changeset":
            self.show_banner(
                "A changeset is always reviewed by a person: approve it (A) or judge its hunks.", kind="info"
            )
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
        if proposal.kind == "plan":
            # The plan as a numbered Markdown list: reorder, remove, reword or add steps (app.domain.plans reads it).
            text = proposal.shown_text
            self.edit_hint.setText(
                "Editing the plan: reorder, remove, reword or add numbered steps. Ctrl+Enter approves your version, "
                "Esc cancels."
            )
        else:
            text = proposal.command if proposal.kind == "command" else (proposal.new_content or b"").decode("utf-8")
        self.edit_box.setPlainText(text or "")
        self.diff_view.hide()
        self.plan_view.hide()
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
        if self.proposal.kind not in ("command", "plan") and b"\r\n" in (self.proposal.new_content or b""):
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
        showing_plan = self.proposal is not None and self.proposal.kind in PLAN_KINDS
        self.plan_view.setVisible(showing_plan)
        self.diff_view.setVisible(not showing_plan)
        if refocus:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- deceptive characters ------------------------------------------------------------------------------------------

    def _on_scanned(self, proposal_id: int, findings: list) -> None:
        if self.proposal is None or self.proposal.id != proposal_id:
            return
        text = proposal_warnings.summary(findings, command=self.proposal.kind == "command")
        self.deceptive_banner.setText(f"⚠ {text} Check what these lines really do before approving." if text else "")
        self.deceptive_banner.setToolTip("\n".join(f"line {f.line}: {f.finding.message}" for f in findings[:50]))
        self.deceptive_banner.setVisible(bool(text))
