"""The Sessions page's sidebar list of sessions and the transcript of the selected one: which session is selected,
its row (status mark, waiting count, deceptive-character flag, sub-agents under their parent) and its token usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QListWidgetItem
from qasync import asyncSlot

from app.domain.records import SessionRecord
from app.domain.wording import session_ended
from app.store.errors import UnknownItemError
from app.ui.transcript_view import TranscriptView

STATUS_MARKS = {
    "running": "●",
    "waiting": "◆",
    "finished": "✓",
    "stopped": "■",
    "failed": "✗",
    "interrupted": "‖",
}


class SessionsPage(QObject):
    """The session list and the transcripts above the review pane; the window keeps the sessions and transcripts."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window

    async def load(self) -> None:
        for session in reversed(await self.window.repository.read(lambda store: store.sessions.recent())):
            self.upsert(session)

    def item_of(self, session_id: int) -> QListWidgetItem | None:
        for row in range(self.window.session_list.count()):
            item = self.window.session_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == session_id:
                return item
        return None

    def upsert(self, session: SessionRecord) -> None:
        self.window.sessions[session.id] = session
        mark = STATUS_MARKS.get(session.status, "·")
        waiting = sum(1 for p in self.window.pending.values() if p.session_id == session.id)
        badge = f"  ({waiting} waiting)" if waiting else ""
        # A waiting proposal with hidden or deceptive characters flags its session until it is decided.
        if session.id in self.window.review_flow.flagged_sessions():
            mark = f"⚠ {mark}"
        # A sub-agent is indented under its parent's place in the tree, with its role.
        indent = "    " * session.depth + ("↳ " if session.parent_id is not None else "")
        role = f"{session.role} · " if session.role else ""
        text = (
            f"{indent}{mark} #{session.id} {role}{session.task[:48]}{badge}\n"
            f"    {'    ' * session.depth}{Path(session.workspace_root).name} · {session.status}"
            + (" · plan mode" if session.mode == "plan" else "")
        )
        item = self.item_of(session.id)
        if item is None:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, session.id)
            parent = self.item_of(session.parent_id) if session.parent_id is not None else None
            # A sub-agent goes under its parent (after the siblings started before it); a session at the top.
            row = 1 if parent is None else self.window.session_list.row(parent) + 1
            while parent is not None and row < self.window.session_list.count():
                below = self.window.sessions.get(self.window.session_list.item(row).data(Qt.ItemDataRole.UserRole))
                if below is None or below.depth <= self.window.sessions.get(session.parent_id, session).depth:
                    break
                row += 1
            self.window.session_list.insertItem(row, item)
        else:
            item.setText(text)
        item.setToolTip(f"{session.task}\n{session.workspace_root}\n{session.model}")

    def selected_id(self) -> int | None:
        item = self.window.session_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def select(self, session_id: int | None) -> None:
        self.window.show_sessions()
        if session_id is None:
            self.window.session_list.setCurrentRow(0)
            return
        item = self.item_of(session_id)
        if item is not None:
            self.window.session_list.setCurrentItem(item)

    def on_selected(self, current: QListWidgetItem | None, _previous=None) -> None:
        session_id = None if current is None else current.data(Qt.ItemDataRole.UserRole)
        if session_id is None:
            self.window.stack.setCurrentWidget(self.window.composer)
            self.update_usage(None)
            return
        view = self.window.transcripts.get(session_id)
        if view is None:
            view = self.transcript_for(session_id)
            self.load_transcript(session_id)
        self.window.stack.setCurrentWidget(view)
        self.update_usage(self.window.sessions.get(session_id))
        self.window.review_flow.show_next()

    def transcript_for(self, session_id: int) -> TranscriptView:
        view = self.window.transcripts.get(session_id)
        if view is None:
            view = TranscriptView(session_id)
            self.window.transcripts[session_id] = view
            self.window.stack.addWidget(view)
        return view

    @asyncSlot(int)
    async def load_transcript(self, session_id: int) -> None:
        messages = await self.window.repository.read(lambda store: store.sessions.messages(session_id))
        if self.window.is_closing:
            return
        session = self.window.sessions.get(session_id)
        self.window.transcripts[session_id].load(session.task if session else "", messages)
        if session is not None and session.status not in ("running", "waiting"):
            ended = session_ended(session.status, session.stop_reason, session.error)
            self.window.transcripts[session_id].add_status(ended)

    @asyncSlot(int, str)
    async def reload_transcript(self, session_id: int, note: str) -> None:
        messages = await self.window.repository.read(lambda store: store.sessions.messages(session_id))
        view = self.window.transcripts.get(session_id)
        if self.window.is_closing or view is None:
            return
        session = self.window.sessions.get(session_id)
        view.load(session.task if session else "", messages)
        view.add_status(note)

    @asyncSlot(int)
    async def refresh_soon(self, session_id: int) -> None:
        try:
            session = await self.window.repository.read(lambda store: store.sessions.get(session_id))
        except (UnknownItemError, RuntimeError):
            return
        if self.window.is_closing:
            return
        self.upsert(session)
        if self.selected_id() == session_id:
            self.update_usage(session)

    def update_usage(self, session: SessionRecord | None) -> None:
        if session is None:
            self.window.usage_label.setText("")
            return
        self.window.usage_label.setText(
            f"Session #{session.id} · {session.model} · {session.status} · tokens in {session.input_tokens:,}"
            f" · out {session.output_tokens:,} · cache read {session.cache_read_input_tokens:,}"
            f" · cache write {session.cache_creation_input_tokens:,}"
        )

    def under(self, session_id: int, selected: int) -> bool:
        """Whether ``session_id`` is ``selected`` or one of its sub-agents (their proposals show under the parent's
        transcript, which waits on them)."""
        seen = 0
        current: int | None = session_id
        while current is not None and seen < 64:
            if current == selected:
                return True
            record = self.window.sessions.get(current)
            current = record.parent_id if record is not None else None
            seen += 1
        return False
