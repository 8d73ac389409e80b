"""How the window learns of waiting work: its own runners' events, a poll for proposals of other processes, and
decisions made elsewhere on sessions nobody runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QTimer
from qasync import asyncSlot

from app.domain.lifecycle import ProposalStatus
from app.services import events
from app.services.decision_watch import UnownedDecisionWatcher
from app.store.errors import StoreError

POLL_INTERVAL_MS = 1000


class PendingFeed(QObject):
    """Keeps the window's PendingBook, session rows and title current."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._refreshing = False
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_INTERVAL_MS)
        self.poll_timer.timeout.connect(self.refresh)
        # Decisions made elsewhere (`signoff approve`, another window) on sessions nobody runs are carried out here.
        self.decision_watch = UnownedDecisionWatcher(
            window.repository, window.manager, say=lambda text: window.statusBar().showMessage(text, 15000)
        )

    def on_session_event(self, event: events.SessionEvent) -> None:
        if self.window.is_closing:
            return
        view = self.window.transcripts.get(event.session_id) or self.window.sessions_page.transcript_for(
            event.session_id
        )
        view.on_event(event)
        if isinstance(event, events.ProposalWaiting):
            self.window.pending.add(event.proposal)
            self.window.review_panel.scanner.scan(event.proposal)
            self.window.review_flow.show_next()
            self.window.review_flow.update_title()
            self.window.pending_changed.emit()
        elif isinstance(event, events.ToolResultSent) and event.proposal_id is not None:
            self.window.pending.pop(event.proposal_id, None)
            if event.proposal_status in (ProposalStatus.CONFLICT, ProposalStatus.FAILED):
                # Not applied (the file changed, the disk is full or read-only, a command was cut off by a crash).
                self.window.review_panel.show_notice(f"Proposal #{event.proposal_id}: {event.text}")
            self.window.review_flow.show_next()
            self.window.review_flow.update_title()
            self.window.pending_changed.emit()
        elif isinstance(event, events.StatusChanged):
            self.window.sessions_page.refresh_soon(event.session_id)
            if event.status == "picked":
                # The step's assistant message is now the picked alternative: show the transcript as stored.
                self.window.sessions_page.reload_transcript(event.session_id, event.detail)
            if event.status == "stopped":
                self.drop_pending_of(event.session_id)
            if event.status == "retrying":
                # Stays until the session moves on: the SDK is waiting out a 429/529/5xx/timeout before retrying.
                self.window.statusBar().showMessage(f"Session {event.session_id}: {event.detail}")
            elif self.window.statusBar().currentMessage().startswith(f"Session {event.session_id}: "):
                self.window.statusBar().clearMessage()
        elif isinstance(event, events.UsageUpdated):
            session = self.window.sessions.get(event.session_id)
            if session is not None:
                session = replace(
                    session,
                    input_tokens=event.input_tokens,
                    output_tokens=event.output_tokens,
                    cache_creation_input_tokens=event.cache_creation_input_tokens,
                    cache_read_input_tokens=event.cache_read_input_tokens,
                )
                self.window.sessions[event.session_id] = session
                if self.window.sessions_page.selected_id() == event.session_id:
                    self.window.sessions_page.update_usage(session)
        self.window.session_event.emit(event)

    def drop_pending_of(self, session_id: int) -> None:
        self.window.pending.drop_session(session_id)
        self.window.review_flow.show_next(force=True)
        self.window.pending_changed.emit()

    @asyncSlot()
    async def refresh(self) -> None:
        """Pick up proposals made by other processes (``signoff run`` elsewhere) and decisions made elsewhere."""
        if self._refreshing or self.window.is_closing:
            return
        self._refreshing = True
        try:
            # Waiting proposals and second reviews of others' first reviews (team mode), never one's own first review.
            # Read beside the database thread, so a decision never queues behind the poll; a snapshot read before a
            # change made here (a decision, an undo, a runner's event) is stale and dropped (PendingBook.replace).
            token = self.window.pending.snapshot_token()
            pending = await self.window.repository.read_beside(
                lambda store, reviewer: store.reviews.reviewable_proposals(reviewer), self.window.settings.reviewer_name
            )
            if self.window.is_closing or not self.window.pending.replace(token, pending):
                return
            known_sessions = set(self.window.sessions)
            for session_id in {p.session_id for p in pending} - known_sessions:
                session = await self.window.repository.read(
                    lambda store, session_id=session_id: store.sessions.get(session_id)
                )
                if self.window.is_closing:
                    return  # the window closed while the database thread answered
                self.window.sessions_page.upsert(session)
            for session_id in {p.session_id for p in pending}:
                self.window.sessions_page.upsert(self.window.sessions[session_id])
            for proposal in pending:
                self.window.review_panel.scanner.scan(proposal)
            self.window.review_flow.show_next()
            self.window.review_flow.update_title()
            self.window.pending_changed.emit()
        except StoreError as err:
            self.window.statusBar().showMessage(str(err), 5000)
        finally:
            self._refreshing = False
