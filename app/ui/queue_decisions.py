"""The queue page's decisions: shown at once, moved on from at once and stored meanwhile through the one decision
path (SessionManager.decide / pick, app.ui.operations.run_op); bulk decisions and u, through app.ui.undo_trail."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget

from app.domain.judgments import CRITIC_REVIEWER
from app.domain.lifecycle import ProposalStatus
from app.domain.records import DecisionRecord, QueueItemRecord
from app.services import compare, decisions, review
from app.store.errors import StoreError
from app.store.models import utcnow
from app.ui.operations import run_op
from app.ui.queue_model import LOCAL_REVIEW_WORDS, UNDOABLE, LocalState
from app.ui.undo_trail import UndoTrail

if TYPE_CHECKING:
    from app.ui.queue_view import QueueView


class BulkDialog(QDialog):
    """Lists exactly the proposals a bulk decision covers; a bulk rejection also asks for the one reason."""

    def __init__(self, verdict: str, items: list[QueueItemRecord], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verdict = verdict
        self.items = items
        word = "Approve" if verdict == "approve" else "Reject"
        self.setWindowTitle(f"{word} {len(items)} proposals")
        self.setObjectName("bulkDialog")
        layout = QVBoxLayout(self)
        heading = QLabel(f"<b>{word} these {len(items)} proposals?</b> Each gets its own decision, with your name.")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.list = QListWidget()
        for item in items:
            self.list.addItem(
                f"#{item.id} · {item.kind} · {item.target.splitlines()[0][:120] if item.target else ''}"
                f" · session #{item.session_id} · {Path(item.workspace_root).name}"
            )
        layout.addWidget(self.list, 1)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason sent to the agent with every rejection")
        self.reason.setVisible(verdict == "reject")
        layout.addWidget(self.reason)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(f"{word} {len(items)}")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(640, 360)
        if verdict == "reject":
            self.reason.setFocus()

    @property
    def proposal_ids(self) -> list[int]:
        return [item.id for item in self.items]

    def _accept(self) -> None:
        if self.verdict == "reject" and not self.reason.text().strip():
            self.reason.setPlaceholderText("Type a reason first: the agent revises from it.")
            self.reason.setFocus()
            return
        self.accept()


class QueueDecisions:
    """Decides, in bulk and one at a time, and takes decisions back, for one queue page."""

    def __init__(self, view: QueueView) -> None:
        self.view = view
        # The one undo mechanism of both pages (app.ui.undo_trail).
        self.undo_trail = UndoTrail(view.manager, self.actor)
        self.bulk_dialog: BulkDialog | None = None

    def actor(self) -> decisions.Actor:
        """Who decides on this page (app.services.decisions fills it into each request)."""
        return decisions.Actor.window(self.view.reviewer())

    # -- one decision --------------------------------------------------------------------------------------------------

    def pick(self, request: compare.PickRequest) -> None:
        """Show the pick at once, move on at once, and store it meanwhile (the runner carries it out)."""
        view = self.view
        pid = request.proposal_id
        verdict = "reject" if request.position is None else "approve"
        view.model.set_local(pid, LocalState("deciding", verdict))
        view.detail.commit_started()
        view.spawn(self._persist(pid, view.manager.pick(request, self.actor())))
        self.advance_from(pid)
        view.message_label.hide()
        QTimer.singleShot(0, view.focus_list)

    def panel_decision(self, request: review.DecisionRequest) -> None:
        self.submit(request)
        # The pane refocuses itself after a reason or an edit; the keyboard belongs to the list.
        QTimer.singleShot(0, self.view.focus_list)

    def submit(self, request: review.DecisionRequest, *, advance: bool = True) -> asyncio.Task:
        """Show the decision at once, move to the next waiting item at once, and store the decision meanwhile."""
        view = self.view
        view.model.set_local(request.proposal_id, LocalState("deciding", request.verdict))
        # Queued on the database thread before the read-ahead of the next items; counted at once, so moving on
        # below knows a commit is under way.
        view.detail.commit_started()
        task = view.spawn(self._persist(request.proposal_id, view.manager.decide(request, self.actor())))
        if advance:
            self.advance_from(request.proposal_id)
        view.message_label.hide()
        return task

    def advance_from(self, proposal_id: int) -> None:
        view = self.view
        row = view.model.row_of(proposal_id)
        if row is None:
            return
        following = view.table.first_waiting_row(row + 1)
        if following is None:
            following = view.table.first_waiting_row(row - 1, -1)
        if following is None:
            if view.model.canFetchMore():
                view.model.fetchMore()
            view.panel.show_proposal(None)
            return
        view.table.select_row(following)

    async def _persist(self, pid: int, action: Awaitable[DecisionRecord]) -> None:
        """Store one decision (or pick) made on ``pid`` and show what became of it."""
        view = self.view

        def failed(failure: decisions.Failure) -> None:
            if failure.gone:
                view.model.remove(pid)
            else:
                view.model.set_local(pid, None)
            view.show_message(failure.message)
            view.changed.emit()

        decision = await run_op(
            action, pid, on_success=lambda _: None, on_failure=failed, on_done=view.detail.commit_finished
        )
        if decision is None:
            return
        state = LocalState(ProposalStatus.DECIDED, decision.verdict, decision.decided_at)
        if decision.review_stage in ("first", "second"):
            # One of two reviews: whether it decided anything (agreement) or not (first, dispute) is the store's word.
            try:
                status = (await view.repository.read(lambda store: store.queue.states([pid])))[pid].status
            except (StoreError, KeyError):
                status = ProposalStatus.DECIDED
            if status in LOCAL_REVIEW_WORDS:
                state = replace(state, status=status, final_since=time.monotonic())
        view.model.set_local(pid, state)
        if decision.proposal_id == pid:
            # A picked alternative is decided as a proposal of its own; its pick is taken back on the Sessions page.
            self.undo_trail.push(decision)
        view.polling.stats_due = True
        view.decided.emit(pid)
        view.changed.emit()

    # -- several at once -----------------------------------------------------------------------------------------------

    def open_bulk(self, verdict: str, items: list[QueueItemRecord]) -> BulkDialog:
        self.bulk_dialog = BulkDialog(verdict, items, self.view)
        self.bulk_dialog.accepted.connect(self._bulk_accepted)
        self.bulk_dialog.open()
        return self.bulk_dialog

    def _bulk_accepted(self) -> None:
        dialog = self.bulk_dialog
        reason = dialog.reason.text().strip() or None
        for item in dialog.items:
            if not self.view.model.is_waiting(item.id):
                continue
            request = review.DecisionRequest(
                item.id,
                dialog.verdict,
                "",
                reason=reason if dialog.verdict == "reject" else None,
                time_on_screen_ms=None,
                shown_at=None,
            )
            self.submit(request, advance=False)
        last = dialog.items[-1].id
        self.advance_from(last)
        self.view.focus_list()

    # -- taking back ---------------------------------------------------------------------------------------------------

    async def undo_last(self) -> None:
        """Take back the newest decision made here that is still inside its undo window."""
        view = self.view
        model = view.model
        entry = self.undo_trail.take(
            lambda e: (s := model.local.get(e.proposal_id)) is not None and s.status in UNDOABLE
        )
        if entry is None:
            view.show_message("There is no decision to undo.")
            return
        pid = entry.proposal_id
        state = model.local[pid]
        model.set_local(pid, replace(state, status="undoing"))

        def refused(failure: decisions.Failure) -> None:
            model.set_local(pid, state)
            view.show_message(failure.message)
            view.changed.emit()

        record = await self.undo_trail.undo(entry, refused)
        if record is None:
            return
        view.detail.remember(record)
        model.set_local(pid, None)
        row = model.row_of(pid)
        if row is not None:
            view.table.select_row(row)
            view.detail.show(record)
        view.show_message(f"Undone: #{pid} waits again.", kind="info")
        view.changed.emit()

    def mark_auto_approved(self, proposal_id: int, notice: str, decided_at: dt.datetime | None = None) -> None:
        """The critic approved a proposal on its own: its row shows the marker and the countdown like a decision
        made here, ``u`` takes it back, and the notice says so."""
        view = self.view
        decided_at = decided_at or utcnow()
        view.model.set_local(proposal_id, LocalState(ProposalStatus.DECIDED, "approve", decided_at, by=CRITIC_REVIEWER))
        self.undo_trail.remember(proposal_id, "approve", decided_at)
        view.show_message(notice, kind="info")
        view.changed.emit()
