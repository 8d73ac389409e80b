"""The Sessions page's undo: after a decision the pane shows its countdown, and u / Ctrl+Z take the newest one back
through the Queue page's mechanism (app.ui.undo_trail); the window puts the proposal back on screen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer
from qasync import asyncSlot

from app.domain.records import DecisionRecord
from app.store.models import utcnow
from app.ui.undo_trail import UndoTrail, seconds_left

# How often the countdown is redrawn while a decision can still be taken back.
COUNTDOWN_TICK_MS = 250


class SessionsUndo(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.panel = window.review_panel
        self.trail = UndoTrail(window.manager, window.actor)
        self.timer = QTimer(self)
        self.timer.setInterval(COUNTDOWN_TICK_MS)
        self.timer.timeout.connect(self.show_countdown)
        self.panel.undo_requested.connect(self.undo_last)

    def decided(self, decision: DecisionRecord) -> None:
        """A decision made on this page is stored: count its undo window down (if there is one)."""
        if decision.review_stage in ("first", "second") or self.trail.window_s <= 0:
            return  # one of two team reviews decides nothing yet; without a window nothing waits
        self.trail.push(decision)
        self.show_countdown()

    def show_countdown(self) -> None:
        text = None if self.window.is_closing else self.trail.countdown()
        self.panel.show_countdown(text)
        if text and not self.timer.isActive():
            self.timer.start()
        elif not text:
            self.timer.stop()

    def stop(self) -> None:
        self.timer.stop()

    @asyncSlot()
    async def undo_last(self) -> None:
        """u / Ctrl+Z: take back the newest decision made on this page while its undo window is open."""
        window_s = self.trail.window_s
        entry = self.trail.take(lambda e: seconds_left(e, window_s, utcnow()) > 0)
        if entry is None:
            self.panel.show_banner("There is no decision to undo.", kind="info")
            return
        self.show_countdown()
        record = await self.trail.undo(entry, lambda failure: self.panel.show_banner(failure.message))
        self.show_countdown()
        if record is not None and not self.window.is_closing:
            self.window.waits_again(record)
