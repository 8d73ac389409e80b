"""Team mode in the window: on PostgreSQL, LISTEN/NOTIFY refreshes the queue within a second of a change anywhere and
the proposal on screen is claimed (lease renewed while it stays); the Stats page on any database.

Binds core pieces (store.notify, core.claim_lease, the TeamStats query) to the window; holds no SQL of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from qasync import asyncSlot

from app.services.claim_lease import LeaseKeeper
from app.store.errors import StoreError
from app.store.notify import QueueListener, open_queue_listener
from app.ui.background import run_in_thread

if TYPE_CHECKING:
    from app.ui.stats_view import StatsView

log = logging.getLogger(__name__)

# Bursts of notifications (a bulk approve, a busy team) become one refresh.
COALESCE_MS = 100


class TeamModeController(QObject):
    # Emitted on the listener's thread; Qt queues it to this object's (the window's) thread.
    notified = Signal()
    # After each refresh a notification caused (tests wait on it).
    refreshed = Signal()

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.listener: QueueListener | None = None
        self.lease_keeper: LeaseKeeper | None = None
        self.stats_view: StatsView | None = None
        self._refresh_scheduled = False
        self._stopped = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self.notified.connect(self._schedule_refresh)

    @property
    def is_team_database(self) -> bool:
        return getattr(self.window.context.database, "dialect", "") == "postgresql"

    async def start(self) -> None:
        if not self.is_team_database:
            return  # SQLite: the window's and the queue's 1 s polling stay in charge
        try:
            self.listener = await run_in_thread(
                open_queue_listener, self.window.context.database, lambda _change: self.notified.emit()
            )
        except Exception as err:  # polling still works; say why updates are slower
            log.info("no live updates: %s", err)
            self.window.statusBar().showMessage(
                f"Live updates are off ({err}); the queue refreshes every second.", 8000
            )
        self.lease_keeper = LeaseKeeper(
            self.window.repository,
            lambda: self.window.settings.reviewer_name,
            on_refused=lambda err: self.window.statusBar().showMessage(str(err), 8000),
        )
        queue_view = getattr(self.window, "queue_view", None)
        if queue_view is not None:
            queue_view.changed.connect(self.shown_changed)
        pages = getattr(self.window, "pages", None)
        if pages is not None:
            pages.currentChanged.connect(self.shown_changed)
        self.shown_changed()

    async def stop(self) -> None:
        """Before the repository closes: stop listening (joins its thread) and release the claim held."""
        self._stopped = True
        listener, self.listener = self.listener, None
        if listener is not None:
            await run_in_thread(listener.stop)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.lease_keeper is not None:
            await self.lease_keeper.close()

    # -- live updates --------------------------------------------------------------------------------------------------

    def _schedule_refresh(self) -> None:
        if self._refresh_scheduled or self._stopped:
            return
        self._refresh_scheduled = True
        QTimer.singleShot(COALESCE_MS, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_scheduled = False
        if self._stopped:
            return
        self._spawn(self._refresh())

    async def _refresh(self) -> None:
        refreshes = [self.window.refresh()]
        queue_view = getattr(self.window, "queue_view", None)
        if queue_view is not None:
            refreshes.append(queue_view.poll())
        await asyncio.gather(*(r for r in refreshes if asyncio.isfuture(r) or asyncio.iscoroutine(r)))
        self.refreshed.emit()

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- claims --------------------------------------------------------------------------------------------------------

    def shown_proposal_id(self) -> int | None:
        """The waiting proposal the reviewer has on screen now, on whichever page is showing."""
        window = self.window
        queue_view = getattr(window, "queue_view", None)
        pages = getattr(window, "pages", None)
        if queue_view is not None and pages is not None and pages.currentWidget() is queue_view:
            item = queue_view.current_item()
            return item.id if item is not None and queue_view.model.is_waiting(item.id) else None
        proposal = window.review_panel.proposal
        return None if proposal is None else proposal.id

    def shown_changed(self, *_args: object) -> None:
        if self.lease_keeper is not None and not self._stopped:
            self.lease_keeper.hold(self.shown_proposal_id())

    # -- stats ---------------------------------------------------------------------------------------------------------

    @asyncSlot()
    async def open_stats(self) -> None:
        if self.stats_view is None:
            # QtCharts loads with the first Stats page, not with the window.
            from app.ui.stats_view import StatsView

            self.stats_view = StatsView(self.window)
        self.stats_view.show()
        self.stats_view.activateWindow()
        repository = self.window.repository
        try:
            # Beside the database thread: a long history must not hold up a decision.
            stats, facts = await repository.read_beside(
                lambda store: (store.reviews.stats(), store.reviews.decision_facts())
            )
        except StoreError as err:
            if self.stats_view is not None:
                self.stats_view.show_error(str(err))
            return
        if self.stats_view is None:
            return
        self.stats_view.show_stats(stats)
        now = dt.datetime.now().astimezone()
        self.stats_view.show_decisions(facts, today=now.date(), tz=now.tzinfo or dt.UTC)
        from app.services.judges import critic_agreement

        try:
            rows = await repository.read_beside(lambda store: critic_agreement(store.judgments.human_and_critic()))
        except StoreError as err:
            log.warning("human-critic agreement failed: %s", err)
            return
        if self.stats_view is not None:
            self.stats_view.show_critic_agreement(rows)
