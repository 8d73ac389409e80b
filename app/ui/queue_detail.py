"""The queue page's review pane: the current row's proposal read (cached, the next ones read ahead) and shown with the
banner its state calls for; a late read is dropped unless its proposal is still the current one."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QTimer

from app.domain.lifecycle import ProposalStatus
from app.domain.records import ProposalRecord
from app.store.errors import StoreError, UnknownItemError
from app.store.team_review import AWAITING_SECOND_REVIEW, DISPUTED, EarlierVerdict

if TYPE_CHECKING:
    from app.ui.queue_view import QueueView

RECORD_CACHE_SIZE = 64
PANEL_DEFER_MS = 80


def adjudication_text(proposal_id: int, verdicts: list[EarlierVerdict]) -> str:
    """The two reviews of a disputed proposal, for its adjudicator: who judged what, and why."""
    words = {"approve": "approved", "reject": "rejected", "edit": "approved with an edit"}
    parts = []
    for verdict in verdicts:
        reason = f": “{verdict.reason}”" if verdict.reason else ""
        parts.append(f"{verdict.reviewer} {words.get(verdict.verdict, verdict.verdict)}{reason}")
    said = "; ".join(parts) or "its reviews were taken back"
    return f"#{proposal_id} is disputed — {said}. Your decision settles it."


class QueueDetail:
    """Shows the queue's current proposal in the page's review pane; ``storing`` counts decisions being committed,
    which the next diff waits for (briefly) so the keystroke's commit goes first."""

    def __init__(self, view: QueueView) -> None:
        self.view = view
        self.storing = 0
        self._panel_due = False
        self._records: OrderedDict[int, ProposalRecord] = OrderedDict()
        self._record_tasks: dict[int, asyncio.Task] = {}

    def cancel_tasks(self) -> None:
        for task in list(self._record_tasks.values()):
            task.cancel()

    def remember(self, record: ProposalRecord) -> None:
        """``record`` is the newest word on its proposal (an undo brought it back)."""
        self._records[record.id] = record

    # -- the current row -----------------------------------------------------------------------------------------------

    def rows_loaded(self) -> None:
        view = self.view
        if not view.table.currentIndex().isValid() and view.model.rows:
            view.table.select_row(view.table.first_waiting_row(0) or 0)
        elif not view.model.rows:
            view.panel.show_proposal(None)
        view.changed.emit()

    def current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        view = self.view
        item = view.model.item(current.row()) if current.isValid() else None
        if item is None:
            return
        view.polling.current_changed(item)
        if item.id in self._records:
            if self.storing:
                # Drawing the next diff competes with the decision's commit for the interpreter; the commit goes
                # first (the highlighted row already moved), the diff follows it or PANEL_DEFER_MS, whichever is sooner.
                self._panel_due = True
                # Tied to the page, so a page closed meanwhile is never drawn on.
                QTimer.singleShot(PANEL_DEFER_MS, self.view, self._show_due_panel)
            else:
                asyncio.get_event_loop().call_soon(self._show_if_current, item.id)
        else:
            view.spawn(self._load_and_show(item.id))
        self._prefetch_after(current.row())

    def commit_started(self) -> None:
        self.storing += 1

    def commit_finished(self) -> None:
        """A decision's commit is over: a diff that waited for it is drawn now."""
        self.storing -= 1
        if not self.storing:
            self._show_due_panel()

    def _show_due_panel(self) -> None:
        if not self._panel_due:
            return
        self._panel_due = False
        item = self.view.current_item()
        if item is not None:
            self._show_if_current(item.id)

    def _show_if_current(self, proposal_id: int) -> None:
        item = self.view.current_item()
        record = self._records.get(proposal_id)
        if item is not None and item.id == proposal_id and record is not None:
            self.show(record)
            self.view.changed.emit()

    # -- the pane ------------------------------------------------------------------------------------------------------

    def show(self, record: ProposalRecord) -> None:
        view = self.view
        panel = view.panel
        model = view.model
        panel.show_proposal(record)
        row = model.row_of(record.id)
        if row is not None and not model.is_waiting(record.id):
            why = f": {record.withdrawn_reason}" if record.withdrawn_reason else ""
            panel.show_banner(f"#{record.id}: {model.state_text(model.rows[row])}{why}", kind="info")
            panel.set_busy(True)
            return
        panel.set_busy(False)
        status = model.rows[row].status if row is not None else ProposalStatus.PENDING
        if status == AWAITING_SECOND_REVIEW:
            panel.show_banner(
                f"#{record.id}: second review. Judge it on your own; "
                "the first verdict stays hidden until it is decided.",
                kind="info",
            )
        elif status == DISPUTED:
            panel.show_banner(f"#{record.id}: disputed; reading the two reviews…", kind="info")
            view.spawn(self._show_earlier_verdicts(record.id))
        else:
            panel.banner.hide()

    async def _show_earlier_verdicts(self, proposal_id: int) -> None:
        """An adjudicator sees both reviews and their reasons; nobody else is ever sent them (the store refuses)."""
        view = self.view
        try:
            adjudicator = view.reviewer()
            verdicts = await view.repository.read(
                lambda store: store.reviews.earlier_verdicts(proposal_id, adjudicator)
            )
            text = adjudication_text(proposal_id, verdicts)
        except StoreError as err:
            text = f"#{proposal_id}: disputed. {err}"
        if view.panel.proposal is not None and view.panel.proposal.id == proposal_id:
            view.panel.show_banner(text, kind="info")
            view.changed.emit()

    # -- reading proposals ---------------------------------------------------------------------------------------------

    async def record(self, proposal_id: int) -> ProposalRecord | None:
        """The proposal, from the cache or read once however many ask for it meanwhile; None when it is gone."""
        record = self._records.get(proposal_id)
        if record is not None:
            return record
        task = self._record_tasks.get(proposal_id)
        if task is None:
            task = asyncio.ensure_future(self.view.repository.read(lambda store: store.proposals.get(proposal_id)))
            self._record_tasks[proposal_id] = task
        try:
            record = await asyncio.shield(task)
        except (UnknownItemError, StoreError):
            return None
        finally:
            self._record_tasks.pop(proposal_id, None)
        self._records[proposal_id] = record
        while len(self._records) > RECORD_CACHE_SIZE:
            self._records.popitem(last=False)
        return record

    async def _load_and_show(self, proposal_id: int) -> None:
        record = await self.record(proposal_id)
        item = self.view.current_item()
        if record is not None and item is not None and item.id == proposal_id:
            self.show(record)
            self.view.changed.emit()

    def _prefetch_after(self, row: int) -> None:
        """The next waiting items' contents are read ahead, so a decision brings the next one on screen at once."""
        model = self.view.model
        found = 0
        next_row = row + 1
        while found < 2 and next_row < len(model.rows):
            item = model.rows[next_row]
            if model.is_waiting(item.id):
                found += 1
                if item.id not in self._records and item.id not in self._record_tasks:
                    self.view.spawn(self.record(item.id))
            next_row += 1
