"""The Sessions page's review pane flow: which waiting proposal it shows, Ctrl+J, storing a decision or a pick made
in it, compare mode, and the window title that counts what waits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QTextEdit
from qasync import asyncSlot

from app.domain.records import ProposalRecord
from app.services import decisions, review
from app.services.compare import PickRequest
from app.ui.operations import run_op


def _typing_somewhere() -> bool:
    widget = QApplication.focusWidget()
    if isinstance(widget, QLineEdit):
        return True
    if isinstance(widget, (QPlainTextEdit, QTextEdit)) and not widget.isReadOnly():
        return True
    return False


class ReviewFlow(QObject):
    """Moves the review pane from one waiting proposal to the next; decisions go through the one service path."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        # The transcript/pane split as it was before comparing began (given back on Esc).
        self._split_before_compare: list[int] | None = None

    def flagged_sessions(self) -> set[int]:
        """Sessions with a waiting proposal that adds hidden or deceptive characters."""
        results = self.window.review_panel.scanner.results
        return {p.session_id for p in self.window.pending.values() if results.get(p.id)}

    def update_title(self) -> None:
        waiting = len(self.window.pending)
        flagged = self.flagged_sessions()
        title = f"Signoff — {waiting} waiting" if waiting else "Signoff"
        if flagged:
            title += f" — ⚠ deceptive characters in session {', '.join(f'#{i}' for i in sorted(flagged))}"
        self.window.setWindowTitle(title)

    def on_deceptive_scan(self, proposal_id: int, findings: list) -> None:
        proposal = self.window.pending.get(proposal_id)
        if proposal is None or self.window.is_closing:
            return
        session = self.window.sessions.get(proposal.session_id)
        if session is not None:
            self.window.sessions_page.upsert(session)
        self.update_title()

    def next_proposal(self) -> ProposalRecord | None:
        """The selected session's oldest waiting proposal (never another session's: the pane sits under its
        transcript)."""
        return self.window.pending.to_show(self.window.sessions_page.selected_id(), None, keep=False)

    def show_next(self, *, force: bool = False, prefer: ProposalRecord | None = None) -> None:
        shown = self.window.review_panel.proposal
        selected = self.window.sessions_page.selected_id()
        mine = shown is not None and (selected is None or self.window.pending.belongs(shown.session_id, selected))
        if not force and mine and self.window.review_panel.is_busy:
            return  # its decision is being stored
        # Kept while it waits and belongs to the selected session; else that session's next one, else nothing.
        proposal = self.window.pending.to_show(selected, prefer or shown, keep=prefer is not None or not force)
        changed = proposal is not None and (shown is None or shown.id != proposal.id)
        self.window.review_panel.show_proposal(proposal)
        if proposal is None:
            elsewhere = len(self.window.pending.elsewhere(selected))
            if selected is not None and elsewhere:
                self.window.review_panel.title.setText(
                    f"Nothing waiting in session #{selected} · {elsewhere} waiting in other sessions (Ctrl+J)."
                )
        self.window.judges.shown(proposal)
        if changed and not _typing_somewhere():
            self.window.review_panel.setFocus(Qt.FocusReason.OtherFocusReason)
        self.window.team_mode.shown_changed()

    def focus_review(self) -> None:
        """Ctrl+J: the selected session's waiting proposal, else the oldest one elsewhere with its session."""
        self.window.show_sessions()
        selected = self.window.sessions_page.selected_id()
        if not self.window.pending.of_session(selected):
            elsewhere = self.window.pending.elsewhere(selected)
            if elsewhere:
                self.window.sessions_page.select(elsewhere[0].session_id)
        self.show_next()
        self.window.review_panel.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def actor(self) -> decisions.Actor:
        """Who decides in this window: the reviewer of Settings (filled into every request by the service)."""
        return decisions.Actor.window(self.window.settings.reviewer_name)

    @asyncSlot(object)
    async def decide(self, request: review.DecisionRequest) -> None:
        decided = await self.store_decision(request.proposal_id, self.window.manager.decide(request, self.actor()))
        if decided is not None:
            self.window.judges.after_decision(request.proposal_id, request.verdict)
        if decided is not None and request.verdict == "approve":
            self.window.policies.after_decision(decided)

    async def store_decision(self, proposal_id: int, action) -> ProposalRecord | None:
        """Run a decision (or a pick) made in the review pane, then move the pane on; on failure say why there.
        Returns the waiting proposal it settled (if stored and the window listed it)."""
        self.window.review_panel.set_busy(True)
        settled: list[ProposalRecord | None] = []

        def failed(failure: decisions.Failure) -> None:
            self.window.review_panel.show_banner(failure.message)
            if failure.gone:
                self.window.pending.pop(proposal_id, None)

        def stored(decision) -> None:
            self.window.undo.decided(decision)
            decided = self.window.pending.pop(proposal_id, None)
            settled.append(decided)
            self.show_next(force=True)
            if decided is not None and decided.session_id in self.window.sessions:
                self.window.sessions_page.upsert(self.window.sessions[decided.session_id])
            self.update_title()
            self.window.pending_changed.emit()

        await run_op(
            action,
            proposal_id,
            on_success=stored,
            on_failure=failed,
            on_done=lambda: self.window.review_panel.set_busy(False),
        )
        return settled[0] if settled else None

    def waits_again(self, record: ProposalRecord) -> None:
        """An undo put ``record`` back: on screen again, with its session."""
        self.window.pending.add(record)
        self.window.sessions_page.select(record.session_id)
        self.show_next(force=True, prefer=record)
        self.window.review_panel.show_banner(f"Undone: #{record.id} waits again.", kind="info")
        self.window.review_panel.setFocus(Qt.FocusReason.OtherFocusReason)
        self.update_title()
        self.window.pending_changed.emit()

    @asyncSlot(int, int)
    async def sample_alternatives(self, proposal_id: int, count: int) -> None:
        """Sample alternatives for a waiting proposal with its session's endpoint, then show them side by side."""
        alive = lambda: not self.window.is_closing  # noqa: E731
        if await self.window.review_panel.sample_from(
            self.window.manager, proposal_id, count, self.window.settings.reviewer_name, alive
        ):
            self.window.statusBar().showMessage(f"Proposal #{proposal_id}: {count} alternatives sampled.", 5000)

    def make_room_to_compare(self, comparing: bool) -> None:
        """While alternatives are compared the transcript keeps a few lines and the panes get the rest of the height;
        back at the proposal, the transcript gets its height again."""
        window = self.window
        if comparing and self._split_before_compare is None:
            self._split_before_compare = window.review_split.sizes()
            kept = 4 * window.fontMetrics().lineSpacing()
            # The stack's own minimum is its tallest page's (the new-session form), not the transcript's.
            window.stack.setMinimumHeight(kept)
            window.review_split.setSizes([kept, sum(self._split_before_compare) - kept])
        elif not comparing and self._split_before_compare is not None:
            window.stack.setMinimumHeight(0)
            window.review_split.setSizes(self._split_before_compare)
            self._split_before_compare = None

    @asyncSlot(int)
    async def show_last_compare(self, proposal_id: int) -> None:
        await self.window.review_panel.show_last_from(
            self.window.repository, proposal_id, lambda: not self.window.is_closing
        )

    @asyncSlot(object)
    async def pick(self, request: PickRequest) -> None:
        """Record the pick among compared alternatives (or the rejection of all); the runner carries it out."""
        await self.store_decision(request.proposal_id, self.window.manager.pick(request, self.actor()))
