"""The queue page's polling: once a second a cheap look at the database, a reload of the rows on screen when something
changed, the progress figures above the list, the filter bar's choices and the tray's count."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from app.domain.records import QueueItemRecord, QueueStatsRecord
from app.services import queue as core_queue
from app.store.errors import StoreError
from app.store.models import utcnow

if TYPE_CHECKING:
    from app.ui.queue_view import QueueView

POLL_INTERVAL_MS = 1000
STATS_EVERY_S = 2.0
CHOICES_EVERY_S = 10.0
FULL_RELOAD_EVERY_S = 5.0


class QueuePolling:
    """Keeps a queue page's rows, figures and filter choices up to date; ``stats_due`` asks for new figures."""

    def __init__(self, view: QueueView) -> None:
        self.view = view
        self.timer = QTimer(view)
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.stats_due = True
        self.last_stats: QueueStatsRecord | None = None
        self.last_session_stats: QueueStatsRecord | None = None
        self._signature: tuple[int, int] | None = None
        self._polling = False
        self._stats_at = 0.0
        self._loaded_at = 0.0
        self._choices_at = 0.0
        self._stats_session: int | None = None

    def _tick(self) -> None:
        self.view.model.tick()
        self.view.spawn(self.poll())

    def current_changed(self, item: QueueItemRecord) -> None:
        """Another item is current: when it is of another session, that session's figures are due."""
        if item.session_id != self._stats_session:
            self.stats_due = True
            self._stats_session = item.session_id
            self.view.session_stats_label.setText(f"<b>Session #{item.session_id}:</b> …")

    async def poll(self) -> None:
        """One cheap look at the database (two primary-key maxima); reload only when something changed, and every
        few seconds anyway for changes that make no new row (a session stopped, an older decision undone)."""
        if self._polling:
            return
        self._polling = True
        view = self.view
        model = view.model
        try:
            signature = await view.repository.read(lambda store: store.queue.signature())
            previous = self._signature
            self._signature = signature
            clock = time.monotonic()
            new_items = 0 if previous is None else max(0, signature[0] - previous[0])
            changed = previous is not None and signature != previous
            if changed or clock - self._loaded_at > FULL_RELOAD_EVERY_S:
                self._loaded_at = clock
                await model.load(visible=view.table.visible_rows())
            local_ids = model.pending_local_ids()
            if local_ids:
                model.apply_states(await view.repository.read_beside(lambda store: store.queue.states(local_ids)))
            self.stats_due = self.stats_due or changed or clock - self._stats_at > STATS_EVERY_S * 5
            if self.stats_due and (self.last_stats is None or clock - self._stats_at > STATS_EVERY_S):
                await self._refresh_stats()
            waiting = self.last_stats.waiting if self.last_stats is not None else len(model.rows)
            view.notifier.update(waiting, new_items, focused=view.window_is_focused())
            if clock - self._choices_at > CHOICES_EVERY_S or new_items:
                self._choices_at = clock
                reviewer = view.reviewer() or None
                choices = await view.repository.read_beside(lambda store: store.queue.choices(200, reviewer))
                view.filter_bar.set_choices(
                    sorted({root for _, _, root in choices}), [(sid, task) for sid, task, _ in choices]
                )
        except StoreError as err:
            view.show_message(f"The queue could not be read: {err}")
        finally:
            self._polling = False
        view.changed.emit()

    async def _refresh_stats(self) -> None:
        view = self.view
        self._stats_at = time.monotonic()
        self.stats_due = False
        now = utcnow()
        item = view.current_item()
        # Figures are read on a thread of their own (SQLite's WAL lets readers run beside the writer), so a decision
        # never queues behind them on the database thread.
        # "Waiting" is what this reviewer may review (their queue's items), so the tray's count is their work.
        reviewer = view.reviewer() or None
        self.last_stats = await view.repository.read_beside(core_queue.queue_stats, now, None, reviewer)
        view.stats_label.setText("<b>All sessions:</b> " + core_queue.stats_text(self.last_stats))
        self._stats_session = None if item is None else item.session_id
        if item is not None:
            self.last_session_stats = await view.repository.read_beside(
                core_queue.queue_stats, now, item.session_id, reviewer
            )
            view.session_stats_label.setText(
                f"<b>Session #{item.session_id}:</b> " + core_queue.stats_text(self.last_session_stats)
            )
        else:
            view.session_stats_label.setText("")
