"""The queue page's rows: a table model loaded a page at a time by keyset, with the local states of decisions made
here (deciding, decided, undoing) laid over the database's snapshot; no widgets."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from app.domain.judgments import CRITIC_REVIEWER
from app.domain.lifecycle import ProposalStatus
from app.domain.records import QueueItemRecord
from app.domain.risk import Risk
from app.services import queue as core_queue
from app.services.judges import judged
from app.services.queue import FLAG_LABELS, FlagCache, QueueSort, QueueSpec
from app.services.settings import Settings
from app.store.async_repository import AsyncRepository
from app.store.errors import StoreError
from app.store.models import utcnow
from app.ui.theme import current_colours

log = logging.getLogger(__name__)

# Rows decided here stay on screen (greyed, with their outcome) this long after they became final.
FINAL_LINGER_S = 30.0
# Rows above and below the screen that a reload refreshes too.
RELOAD_MARGIN = 100
# What a review recorded here that decided nothing yet shows (team mode's two reviews).
LOCAL_REVIEW_WORDS: dict[str, str] = {
    ProposalStatus.AWAITING_SECOND_REVIEW: "reviewed · waits for a second review",
    ProposalStatus.DISPUTED: "reviewed · disputed, waits for adjudication",
}
# Local states a decision of this window may be taken back from with u.
UNDOABLE = (ProposalStatus.DECIDED, ProposalStatus.AWAITING_SECOND_REVIEW, ProposalStatus.DISPUTED)


COLUMNS = (
    ("state", "State"),
    ("age", "Age"),
    ("workspace", "Workspace"),
    ("session", "Session / task"),
    ("kind", "Kind"),
    ("target", "Path or command"),
    ("lines", "+/−"),
    ("flags", "Flags"),
    ("tests", "Tests"),
    ("risk", "Risk"),
    ("claimed", "Taken by"),
)
COLUMN = {name: number for number, (name, _) in enumerate(COLUMNS)}
_STATE_COLUMN = COLUMN["state"]
_AGE_COLUMN = COLUMN["age"]
_TESTS_COLUMN = COLUMN["tests"]
_RISK_COLUMN = COLUMN["risk"]
_LIVE_COLUMNS = frozenset({_STATE_COLUMN, _AGE_COLUMN, _TESTS_COLUMN, _RISK_COLUMN})
# A risk score at or above this is drawn as a flag.
HIGH_RISK = 0.4
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_FONT = Qt.ItemDataRole.FontRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_USER = Qt.ItemDataRole.UserRole
_USED_ROLES = frozenset({_DISPLAY, _FOREGROUND, _ALIGNMENT, _FONT, _TOOLTIP, _USER})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class LocalState:
    """What this window knows of a decision it made: newer than the rows' snapshot until the next load."""

    status: str  # deciding | decided | undoing | applying | applied | rejected | conflict | failed | ...
    verdict: str | None = None
    decided_at: dt.datetime | None = None
    final_since: float | None = None
    # Who decided, when not the person at this window: "critic" for an auto-approval (shown as a marker).
    by: str | None = None


def _page_and_judges(repository, spec, after, limit, flag_cache, reviewer, settings):
    """A queue page with its rows' judges (the Tests and Risk columns, blind mode kept), read together."""
    page = core_queue.fetch_page(repository, spec, after=after, limit=limit, flag_cache=flag_cache, reviewer=reviewer)
    return page, judged(repository, page.items, page.flags, settings)


def risk_tooltip(risk: Risk | None) -> str | None:
    """Why an item is as risky as it is: each contributing factor on a line, strongest first."""
    if risk is None:
        return None
    if not risk.reasons:
        return f"Risk {risk.score:.2f}: nothing stands out."
    return f"Risk {risk.score:.2f}, because of:\n" + "\n".join(f"• {reason}" for reason in risk.reasons)


def _order_key(item: QueueItemRecord) -> tuple:
    key = item.sort_key
    return (key is None, key if key is not None else 0, item.id)


class QueueModel(QAbstractTableModel):
    """Rows of the queue, loaded a page at a time by keyset (``fetchMore``); never the whole table."""

    loaded = Signal()

    def __init__(self, repository: AsyncRepository, flag_cache: FlagCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.repository = repository
        self.flag_cache = flag_cache
        self.spec = QueueSpec()
        self.rows: list[QueueItemRecord] = []
        self.local: dict[int, LocalState] = {}
        self.undo_window_s = 0.0
        self.now = utcnow()
        self._positions: dict[int, int] = {}
        # Display texts of the other columns per proposal id, with the row record and flags they were made from: a
        # reload (a claim, a new stage) or a changed flag (a policy edit) brings new ones.
        self._texts: dict[int, tuple[QueueItemRecord, frozenset[str], tuple[str, ...]]] = {}
        # Who reviews here: the queue lists the second reviews and adjudications this person may do.
        self.reviewer: Callable[[], str] = lambda: ""
        self._next_after: tuple[Any, int] | None = None
        self._exhausted = True
        self._fetching = False
        self._generation = 0
        self._tasks: set[asyncio.Task] = set()
        self.show_claims = False
        # The verifier's latest status per proposal id (issue 13), read with each page: the Tests column; and the
        # risk score with its reasons: the Risk column, its tooltip and the sort by risk.
        self.tests: dict[int, str] = {}
        self._brushes: tuple[QBrush, QBrush] | None = None
        self.risks: dict[int, Risk] = {}
        # The person's settings (blind mode hides the critic from the risk score too).
        self.settings: Callable[[], Settings] = Settings
        self._bold = QFont()
        self._bold.setBold(True)

    # -- the Qt model --------------------------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        # Called thousands of times per repaint: unused roles leave first, and row texts are cached per row.
        if role not in _USED_ROLES or not index.isValid():
            return None
        row = index.row()
        item = self.rows[row]
        column = index.column()
        if role == _DISPLAY:
            if column in _LIVE_COLUMNS:
                return self._live_text(item, column)
            flags = self.flag_cache.get(item.id)
            cached = self._texts.get(item.id)
            if cached is None or cached[0] is not item or cached[1] is not flags:
                cached = self._texts[item.id] = (item, flags, tuple(self._text(item, name) for name, _ in COLUMNS))
            return cached[2][column]
        name = COLUMNS[column][0]
        if role == _FOREGROUND:
            return self._foreground(item, name)
        if role == _ALIGNMENT:
            return _RIGHT if name in ("age", "lines", "risk") else None
        if role == _FONT:
            return self._bold if name == "flags" else None
        if role == _TOOLTIP:
            return self._tooltip(item, name)
        if role == _USER:
            return item.id
        return None

    def _foregrounds(self) -> tuple[QBrush, QBrush]:
        """Muted text and flag text in the theme's colours; the view drops them when the palette changes."""
        if self._brushes is None:
            colours = current_colours()
            self._brushes = (QBrush(QColor(colours["muted"])), QBrush(QColor(colours["reject"])))
        return self._brushes

    def palette_changed(self) -> None:
        self._brushes = None

    def _foreground(self, item: QueueItemRecord, name: str) -> QBrush | None:
        muted, flag = self._foregrounds()
        if name == "flags" or (name == "tests" and self.tests.get(item.id) == "failed"):
            return flag
        if name == "risk" and item.id in self.risks and self.risks[item.id].score >= HIGH_RISK:
            return flag
        return None if item.id not in self.local else muted

    def _tooltip(self, item: QueueItemRecord, name: str) -> str | None:
        if name == "target":
            return item.target[:2000]
        if name in ("session", "workspace"):
            return f"#{item.session_id} {item.task[:500]}\n{item.workspace_root}"
        if name == "flags":
            return ", ".join(FLAG_LABELS[f] for f in sorted(self.flag_cache.get(item.id))) or None
        if name == "risk":
            return risk_tooltip(self.risks.get(item.id))
        if name == "state" and self.local.get(item.id, LocalState("")).by == CRITIC_REVIEWER:
            return "The critic approved this on its own (the workspace's owner allows it); u takes it back."
        return None

    def _live_text(self, item: QueueItemRecord, column: int) -> str:
        """Texts that change without the row changing (local state, the clock, the verifier): never cached."""
        if column == _STATE_COLUMN:
            return self.state_text(item)
        if column == _AGE_COLUMN:
            return core_queue.age_text(item.created_at, self.now)
        if column == _RISK_COLUMN:
            risk = self.risks.get(item.id)
            return "" if risk is None else f"{risk.score:.2f}"
        return self.tests.get(item.id, "")

    def _text(self, item: QueueItemRecord, column: str) -> str:
        if column == "state":
            return self.state_text(item)
        if column == "age":
            return core_queue.age_text(item.created_at, self.now)
        if column == "workspace":
            return Path(item.workspace_root).name or item.workspace_root
        if column == "session":
            return f"#{item.session_id} {item.task[:80]}"
        if column == "kind":
            return item.kind
        if column == "target":
            return item.target.splitlines()[0][:300] if item.target else ""
        if column == "lines":
            return "" if item.kind == "command" else f"+{item.lines_added} −{item.lines_removed}"
        if column == "flags":
            return " ".join(FLAG_LABELS[f] for f in sorted(self.flag_cache.get(item.id)))
        if column == "claimed":
            return item.claimed_by or ""
        return ""

    def state_text(self, item: QueueItemRecord) -> str:
        state = self.local.get(item.id)
        if state is None:
            return core_queue.state_text(item.status, claimed_by=item.claimed_by)
        if state.status == "undoing":
            return "undoing…"
        if state.status in LOCAL_REVIEW_WORDS:
            return LOCAL_REVIEW_WORDS[state.status]
        text = core_queue.state_text(
            state.status,
            verdict=state.verdict,
            decided_at=state.decided_at,
            now=self.now,
            undo_window_s=self.undo_window_s,
        )
        # The marker of a decision the critic made on its own: never silent, never mistaken for a person's.
        return text.replace("approved", "approved by the critic", 1) if state.by == CRITIC_REVIEWER else text

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and not self._exhausted and not self._fetching

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: N802
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        self._spawn(self._fetch_more(self._generation, self._next_after))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        name = COLUMNS[column][0]
        if name not in core_queue.SORT_COLUMNS:
            return
        self.set_spec(replace(self.spec, sort=QueueSort(name, order == Qt.SortOrder.DescendingOrder)))

    # -- loading -------------------------------------------------------------------------------------------------------

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def _page(self, after, limit):
        # Read on a thread of its own, like the figures (SQLite's WAL lets readers run beside the writer): a reload
        # of the list every few seconds took up to 100 ms of the database thread, and a decision pressed meanwhile
        # queued behind it — the keystroke's slowest 1%.
        page, judges = await self.repository.read_beside(
            _page_and_judges,
            self.spec,
            after,
            limit,
            self.flag_cache,
            self.reviewer().strip() or None,
            self.settings(),
        )
        for proposal_id, judgment in judges.items():
            if judgment.verifier is not None:
                self.tests[proposal_id] = judgment.verifier.status
            self.risks[proposal_id] = judgment.risk
        return page

    async def _fetch_more(self, generation: int, after) -> None:
        try:
            page = await self._page(after, core_queue.PAGE_SIZE)
        except StoreError as err:
            log.warning("queue page failed: %s", err)
            self._fetching = False
            return
        if generation != self._generation:
            return
        self._fetching = False
        known = set(self._positions)
        fresh = [item for item in page.items if item.id not in known]
        if fresh:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self.rows.extend(fresh)
            for offset, item in enumerate(fresh):
                self._positions[item.id] = first + offset
            self.endInsertRows()
        self._next_after = page.next_after
        self._exhausted = page.next_after is None
        self.loaded.emit()

    def set_spec(self, spec: QueueSpec) -> None:
        if spec == self.spec:
            return
        self.spec = spec
        self._spawn(self.load(reset=True))

    async def load(self, *, reset: bool = False, visible: tuple[int, int] | None = None) -> None:
        """Load the first page (``reset``: the filter or sort changed), or reload the rows around ``visible`` (first and
        last row on screen) after a change, keeping the reviewer's place: rows keep their identity, so the current row
        and selection survive without a model reset or flicker, and a reload costs one window of rows however deep
        the reviewer has scrolled."""
        self._generation += 1
        generation = self._generation
        if reset or not self.rows:
            start, after, limit = 0, None, core_queue.PAGE_SIZE
        else:
            first, last = visible if visible is not None else (0, 0)
            first, last = max(0, first), max(first, last)
            start = max(0, first - RELOAD_MARGIN)
            start = min(start, len(self.rows))
            after = None if start == 0 else (self.rows[start - 1].sort_key, self.rows[start - 1].id)
            limit = max(core_queue.PAGE_SIZE, last - start + 2 * RELOAD_MARGIN)
        try:
            page = await self._page(after, limit)
        except StoreError as err:
            log.warning("queue load failed: %s", err)
            return
        if generation != self._generation:
            return
        self._fetching = False
        if reset or not self.rows:
            self.beginResetModel()
            self.rows = list(page.items)
            self._index_positions()
            self.endResetModel()
            self._next_after = page.next_after
            self._exhausted = page.next_after is None
        else:
            self._replace_window(start, page)
        self.loaded.emit()

    def _replace_window(self, start: int, page) -> None:
        """Swap the rows from ``start`` up to the page's last sort position for the page's rows."""
        descending = self.spec.sort.descending
        upper = _order_key(page.items[-1]) if page.items and page.next_after is not None else None

        def within(item: QueueItemRecord) -> bool:
            if upper is None:
                return True
            key = _order_key(item)
            return key >= upper if descending else key <= upper

        end = start
        while end < len(self.rows) and within(self.rows[end]):
            end += 1
        reaches_end = end == len(self.rows)
        clock = time.monotonic()
        fresh_ids = {item.id for item in page.items}
        kept = []
        for item in self.rows[start:end]:
            state = self.local.get(item.id)
            if item.id in fresh_ids or state is None:
                continue
            if state.final_since is not None and clock - state.final_since > FINAL_LINGER_S:
                del self.local[item.id]
                continue
            # A row decided here stays, showing its own state rather than the snapshot's.
            kept.append(item)
        middle = sorted([*page.items, *kept], key=_order_key, reverse=descending)
        outside = {item.id for item in middle}
        rows = [item for item in self.rows[:start] if item.id not in outside]
        rows += middle
        rows += [item for item in self.rows[end:] if item.id not in outside]
        self.layoutAboutToBeChanged.emit()
        old_ids = [item.id for item in self.rows]
        self.rows = rows
        self._index_positions()
        persistent = self.persistentIndexList()
        moved = []
        for index in persistent:
            row = self._positions.get(old_ids[index.row()]) if index.row() < len(old_ids) else None
            moved.append(QModelIndex() if row is None else self.index(row, index.column()))
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()
        if reaches_end:
            self._next_after = page.next_after
            self._exhausted = page.next_after is None

    def _index_positions(self) -> None:
        self._positions = {item.id: row for row, item in enumerate(self.rows)}

    # -- rows and their states -----------------------------------------------------------------------------------------

    def row_of(self, proposal_id: int) -> int | None:
        return self._positions.get(proposal_id)

    def item(self, row: int) -> QueueItemRecord | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def is_waiting(self, proposal_id: int) -> bool:
        return proposal_id not in self.local

    def set_local(self, proposal_id: int, state: LocalState | None) -> None:
        if state is None:
            self.local.pop(proposal_id, None)
        else:
            self.local[proposal_id] = state
        row = self.row_of(proposal_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def remove(self, proposal_id: int) -> None:
        row = self.row_of(proposal_id)
        self.local.pop(proposal_id, None)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.rows[row]
        self._index_positions()
        self.endRemoveRows()

    def pending_local_ids(self) -> list[int]:
        return [
            pid
            for pid, state in self.local.items()
            if state.status in (ProposalStatus.DECIDED, ProposalStatus.APPLYING)
        ]

    def apply_states(self, states: dict) -> None:
        """Bring decisions made here up to date with the database (the runner applied them, or an undo elsewhere)."""
        for pid, record in states.items():
            state = self.local.get(pid)
            if state is None or state.status in ("deciding", "undoing"):
                continue
            if record.status == ProposalStatus.PENDING:
                self.set_local(pid, None)
            elif record.status != state.status:
                final_since = time.monotonic() if core_queue.is_final(record.status) else None
                self.set_local(pid, replace(state, status=record.status, final_since=final_since))

    def tick(self) -> None:
        """Ages and countdowns move on; only the two columns that change are repainted."""
        self.now = utcnow()
        if self.rows:
            last = len(self.rows) - 1
            for name in ("state", "age"):
                self.dataChanged.emit(
                    self.index(0, COLUMN[name]), self.index(last, COLUMN[name]), [Qt.ItemDataRole.DisplayRole]
                )
