"""The review queue page: every waiting proposal of every session in one lazily loaded table, worked from the keyboard
(j/k, Enter, a/r/e, s, u), with progress figures above and the selected item in a review pane below.

Thin: the page lays out its widgets and composes its parts, each in a module of its own: rows (queue_model), the list
(queue_table), polling and figures (queue_polling), the pane (queue_detail), keys (queue_commands) and decisions
(queue_decisions).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from app.domain.records import QueueItemRecord, QueueStatsRecord
from app.services import decisions as core_decisions
from app.services import review
from app.services.queue import FlagCache, QueueFilter
from app.services.sessions import SessionManager
from app.store.async_repository import AsyncRepository
from app.ui.desktop_notifications import QueueNotifier
from app.ui.queue_commands import QueueCommands
from app.ui.queue_decisions import BulkDialog, QueueDecisions
from app.ui.queue_detail import QueueDetail
from app.ui.queue_filters import FilterBar
from app.ui.queue_model import COLUMN, COLUMNS, LocalState, QueueModel
from app.ui.queue_polling import QueuePolling
from app.ui.queue_table import QueueTable
from app.ui.review_keys import QUEUE_HINT
from app.ui.review_panel import ReviewPanel
from app.ui.theme import current_colours

__all__ = ["COLUMN", "COLUMNS", "BulkDialog", "LocalState", "QueueModel", "QueueTable", "QueueView"]


class QueueView(QWidget):
    """The queue page. ``changed`` fires after anything the reviewer can see changed (rows, states, figures)."""

    changed = Signal()
    # A decision of this page is durably stored (proposal id).
    decided = Signal(int)

    def __init__(
        self,
        repository: AsyncRepository,
        manager: SessionManager,
        reviewer: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("queueView")
        self.repository = repository
        self.manager = manager
        self.reviewer = reviewer
        self.flag_cache = FlagCache()
        self.model = QueueModel(repository, self.flag_cache, self)
        self.model.reviewer = reviewer
        self.model.undo_window_s = manager.waiter.undo_window_s
        self.notifier = QueueNotifier(self)
        self.window_is_focused: Callable[[], bool] = lambda: self.window().isActiveWindow()
        self._tasks: set[asyncio.Task] = set()
        self.polling = QueuePolling(self)
        self.detail = QueueDetail(self)
        self.commands = QueueCommands(self)
        self.decisions = QueueDecisions(self)
        # The one undo mechanism of both pages (app.ui.undo_trail).
        self.undo_trail = self.decisions.undo_trail
        self.poll_timer = self.polling.timer
        self._build()

    # -- layout --------------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("queueStats")
        self.session_stats_label = QLabel("")
        self.session_stats_label.setObjectName("queueSessionStats")
        self.message_label = QLabel("")
        self.message_label.setObjectName("queueMessage")
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        self.filter_bar = FilterBar()
        self.filter_bar.changed.connect(self._filter_changed)
        self.filter_bar.done.connect(self.focus_list)

        self.table = QueueTable()
        self.table.setObjectName("queueTable")
        self.table.show_model(self.model)
        self.table.command.connect(self.commands.run)
        self.table.selectionModel().currentRowChanged.connect(self.detail.current_changed)
        self.model.loaded.connect(self.detail.rows_loaded)

        self.panel = ReviewPanel()
        self.panel.setObjectName("queueReviewPanel")
        self.panel.decision_requested.connect(self.decisions.panel_decision)
        self.panel.compare_requested.connect(
            lambda pid, count: self.spawn(self.panel.sample_from(self.manager, pid, count, self.reviewer()))
        )
        self.panel.last_compare_requested.connect(
            lambda pid: self.spawn(self.panel.show_last_from(self.repository, pid))
        )
        self.panel.pick_requested.connect(self.decisions.pick)
        # u and Ctrl+Z on the pane (app.ui.review_keys) undo here as on the list.
        self.panel.undo_requested.connect(lambda: self.commands.run("undo"))
        self.panel.compare_enabled = True
        self.panel.compare_button.show()
        self.commands.install_shortcuts()

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(8, 8, 8, 0)
        top_layout.addWidget(self.stats_label)
        top_layout.addWidget(self.session_stats_label)
        top_layout.addWidget(self.filter_bar)
        top_layout.addWidget(self.message_label)
        top_layout.addWidget(self.table, 1)
        hint = QLabel(QUEUE_HINT)
        hint.setObjectName("queueHint")
        # Wrapped, so the list of keys never sets the window's minimum width.
        hint.setWordWrap(True)
        top_layout.addWidget(hint)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # -- start and stop ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.model.load(reset=True)
        await self.poll()
        self.poll_timer.start()

    def stop(self) -> None:
        self.poll_timer.stop()
        self.notifier.close()
        self.model.cancel_tasks()
        for task in list(self._tasks):
            task.cancel()
        self.detail.cancel_tasks()

    def spawn(self, coroutine) -> asyncio.Task:
        """Run ``coroutine`` as a task of this page (``stop`` cancels it)."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def poll(self) -> None:
        await self.polling.poll()

    @property
    def last_stats(self) -> QueueStatsRecord | None:
        return self.polling.last_stats

    @property
    def last_session_stats(self) -> QueueStatsRecord | None:
        return self.polling.last_session_stats

    # -- the list ------------------------------------------------------------------------------------------------------

    def set_undo_window(self, seconds: float) -> None:
        self.model.undo_window_s = seconds

    def focus_list(self) -> None:
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def current_item(self) -> QueueItemRecord | None:
        return self.table.current_item()

    def _select_row(self, row: int, *, extend: bool = False) -> None:
        self.table.select_row(row, extend=extend)

    def _filter_changed(self, value: QueueFilter) -> None:
        self.model.set_spec(replace(self.model.spec, filter=value))

    # -- deciding (app.ui.queue_decisions) -----------------------------------------------------------------------------

    def actor(self) -> core_decisions.Actor:
        """Who decides on this page (app.services.decisions fills it into each request)."""
        return self.decisions.actor()

    def submit(self, request: review.DecisionRequest, *, advance: bool = True) -> asyncio.Task:
        return self.decisions.submit(request, advance=advance)

    def open_bulk(self, verdict: str, items: list[QueueItemRecord]) -> BulkDialog:
        return self.decisions.open_bulk(verdict, items)

    @property
    def bulk_dialog(self) -> BulkDialog | None:
        return self.decisions.bulk_dialog

    async def undo_last(self) -> None:
        await self.decisions.undo_last()

    def mark_auto_approved(self, proposal_id: int, notice: str, decided_at: dt.datetime | None = None) -> None:
        self.decisions.mark_auto_approved(proposal_id, notice, decided_at)

    # -- what the page says --------------------------------------------------------------------------------------------

    def show_message(self, text: str, *, kind: str = "error") -> None:
        self.message_label.setProperty("kind", kind)
        self.message_label.setText(text)
        colours = current_colours()
        self.message_label.setStyleSheet(f"color: {colours['reject'] if kind == 'error' else colours['link']};")
        self.message_label.show()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.model.palette_changed()
