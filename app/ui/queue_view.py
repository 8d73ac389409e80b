"""The review queue page: every waiting proposal of every session in one lazily loaded table, worked from the keyboard
(j/k, Enter, a/r/e, s, u), with progress figures above and the selected item in a review pane below.

Thin: rows come from app.services.queue on the database thread, decisions go through SessionManager.decide and undos
through app.services.undo; the widgets only show them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.judgments import CRITIC_REVIEWER
from app.domain.lifecycle import ProposalStatus
from app.domain.records import DecisionRecord, ProposalRecord, QueueItemRecord, QueueStatsRecord
from app.domain.risk import Risk
from app.services import compare, decisions, review
from app.services import queue as core_queue
from app.services.judges import judged
from app.services.queue import FLAG_LABELS, FlagCache, QueueFilter, QueueSort, QueueSpec
from app.services.sessions import SessionManager
from app.services.settings import Settings
from app.store.async_repository import AsyncRepository
from app.store.errors import StoreError, UnknownItemError
from app.store.models import Proposal, utcnow
from app.store.team_review import AWAITING_SECOND_REVIEW, DISPUTED, EarlierVerdict
from app.ui.desktop_notifications import QueueNotifier
from app.ui.operations import run_op
from app.ui.queue_filters import FilterBar
from app.ui.review_keys import QUEUE_HINT, QUEUE_KEYS
from app.ui.review_panel import ReviewPanel
from app.ui.theme import current_colours
from app.ui.undo_trail import UndoTrail

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 1000
# Rows decided here stay on screen (greyed, with their outcome) this long after they became final.
FINAL_LINGER_S = 30.0
STATS_EVERY_S = 2.0
CHOICES_EVERY_S = 10.0
FULL_RELOAD_EVERY_S = 5.0
# Rows above and below the screen that a reload refreshes too.
RELOAD_MARGIN = 100
RECORD_CACHE_SIZE = 64
PANEL_DEFER_MS = 80
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


def adjudication_text(proposal_id: int, verdicts: list[EarlierVerdict]) -> str:
    """The two reviews of a disputed proposal, for its adjudicator: who judged what, and why."""
    words = {"approve": "approved", "reject": "rejected", "edit": "approved with an edit"}
    parts = []
    for verdict in verdicts:
        reason = f": “{verdict.reason}”" if verdict.reason else ""
        parts.append(f"{verdict.reviewer} {words.get(verdict.verdict, verdict.verdict)}{reason}")
    said = "; ".join(parts) or "its reviews were taken back"
    return f"#{proposal_id} is disputed — {said}. Your decision settles it."


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


class QueueTable(QTableView):
    """The list, with single-key commands; anything else (arrows, Page Down, Ctrl+A) keeps its usual meaning."""

    command = Signal(str)

    # Plain keys of QUEUE_KEYS (the shortcut sheet and the hint strip read the same table).
    _KEYS = {
        QKeySequence(key)[0].key(): binding.action
        for binding in QUEUE_KEYS
        if binding.action not in ("extend", "search")
        for key in binding.keys
        if "+" not in key  # Ctrl+Z (undo) is matched in keyPressEvent
    }

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.matches(QKeySequence.StandardKey.Undo):
            self.command.emit("undo")
            event.accept()
            return
        self._single_key(event)

    def _single_key(self, event) -> None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        name = self._KEYS.get(Qt.Key(event.key()))
        if name is not None and modifiers == Qt.KeyboardModifier.NoModifier:
            self.command.emit(name)
            event.accept()
            return
        if name in ("next", "previous") and modifiers == Qt.KeyboardModifier.ShiftModifier:
            self.command.emit(f"extend-{name}")
            event.accept()
            return
        super().keyPressEvent(event)


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
        self._signature: tuple[int, int] | None = None
        self._polling = False
        self._started = False
        self._stats_at = 0.0
        self._loaded_at = 0.0
        self._choices_at = 0.0
        # The one undo mechanism of both pages (app.ui.undo_trail).
        self.undo_trail = UndoTrail(manager, self.actor)
        self._storing = 0
        self._stats_due = True
        self._stats_session: int | None = None
        self._panel_due = False
        self._records: OrderedDict[int, ProposalRecord] = OrderedDict()
        self._record_tasks: dict[int, asyncio.Task] = {}
        self._current_since = time.monotonic()
        self._current_shown_at = utcnow()
        self._tasks: set[asyncio.Task] = set()
        self.last_stats: QueueStatsRecord | None = None
        self.last_session_stats: QueueStatsRecord | None = None
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
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.table.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        widths = {
            "state": 210,
            "age": 60,
            "workspace": 120,
            "session": 220,
            "kind": 70,
            "target": 320,
            "lines": 80,
            "flags": 110,
            "tests": 70,
            "risk": 50,
            "claimed": 90,
        }
        for name, width in widths.items():
            self.table.setColumnWidth(COLUMN[name], width)
        header.setSectionResizeMode(COLUMN["target"], QHeaderView.ResizeMode.Stretch)
        # Team mode's claims, when the schema has them.
        self.table.setColumnHidden(COLUMN["claimed"], not hasattr(Proposal, "claimed_by"))
        header.setSortIndicator(COLUMN["age"], Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.command.connect(self._command)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.model.loaded.connect(self._rows_loaded)

        self.panel = ReviewPanel()
        self.panel.setObjectName("queueReviewPanel")
        self.panel.decision_requested.connect(self._panel_decision)
        self.panel.compare_requested.connect(
            lambda pid, count: self._spawn(self.panel.sample_from(self.manager, pid, count, self.reviewer()))
        )
        self.panel.last_compare_requested.connect(
            lambda pid: self._spawn(self.panel.show_last_from(self.repository, pid))
        )
        self.panel.pick_requested.connect(self._pick)
        # u and Ctrl+Z on the pane (app.ui.review_keys) undo here as on the list.
        self.panel.undo_requested.connect(lambda: self._command("undo"))
        self.panel.compare_enabled = True
        self.panel.compare_button.show()
        back = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.panel)
        back.setContext(Qt.ShortcutContext.WidgetShortcut)
        back.activated.connect(self.focus_list)
        for key, slot in (
            ("J", lambda: self._command("next")),
            ("K", lambda: self._command("previous")),
            ("S", lambda: self._command("skip")),
        ):
            shortcut = QShortcut(QKeySequence(key), self.panel)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)

        search = QShortcut(QKeySequence.StandardKey.Find, self)
        search.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        search.activated.connect(self.filter_bar.focus_search)

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

        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_INTERVAL_MS)
        self.poll_timer.timeout.connect(self._tick)

    # -- start and stop ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._started = True
        await self.model.load(reset=True)
        await self.poll()
        self.poll_timer.start()

    def stop(self) -> None:
        self.poll_timer.stop()
        self.notifier.close()
        self.model.cancel_tasks()
        for task in list(self._tasks) + list(self._record_tasks.values()):
            task.cancel()

    def set_undo_window(self, seconds: float) -> None:
        self.model.undo_window_s = seconds

    def focus_list(self) -> None:
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- polling: new items, outcomes, figures -------------------------------------------------------------------------

    def _tick(self) -> None:
        self.model.tick()
        self._spawn(self.poll())

    async def poll(self) -> None:
        """One cheap look at the database (two primary-key maxima); reload only when something changed, and every
        few seconds anyway for changes that make no new row (a session stopped, an older decision undone)."""
        if self._polling:
            return
        self._polling = True
        try:
            signature = await self.repository.read(lambda store: store.queue.signature())
            previous = self._signature
            self._signature = signature
            clock = time.monotonic()
            new_items = 0 if previous is None else max(0, signature[0] - previous[0])
            changed = previous is not None and signature != previous
            if changed or clock - self._loaded_at > FULL_RELOAD_EVERY_S:
                self._loaded_at = clock
                await self.model.load(visible=self._visible_rows())
            local_ids = self.model.pending_local_ids()
            if local_ids:
                self.model.apply_states(await self.repository.read_beside(lambda store: store.queue.states(local_ids)))
            self._stats_due = self._stats_due or changed or clock - self._stats_at > STATS_EVERY_S * 5
            if self._stats_due and (self.last_stats is None or clock - self._stats_at > STATS_EVERY_S):
                await self._refresh_stats()
            waiting = self.last_stats.waiting if self.last_stats is not None else len(self.model.rows)
            self.notifier.update(waiting, new_items, focused=self.window_is_focused())
            if clock - self._choices_at > CHOICES_EVERY_S or new_items:
                self._choices_at = clock
                reviewer = self.reviewer() or None
                choices = await self.repository.read_beside(lambda store: store.queue.choices(200, reviewer))
                self.filter_bar.set_choices(
                    sorted({root for _, _, root in choices}), [(sid, task) for sid, task, _ in choices]
                )
        except StoreError as err:
            self.show_message(f"The queue could not be read: {err}")
        finally:
            self._polling = False
        self.changed.emit()

    async def _refresh_stats(self) -> None:
        self._stats_at = time.monotonic()
        self._stats_due = False
        now = utcnow()
        item = self.current_item()
        # Figures are read on a thread of their own (SQLite's WAL lets readers run beside the writer), so a decision
        # never queues behind them on the database thread.
        # "Waiting" is what this reviewer may review (their queue's items), so the tray's count is their work.
        reviewer = self.reviewer() or None
        self.last_stats = await self.repository.read_beside(core_queue.queue_stats, now, None, reviewer)
        self.stats_label.setText("<b>All sessions:</b> " + core_queue.stats_text(self.last_stats))
        self._stats_session = None if item is None else item.session_id
        if item is not None:
            self.last_session_stats = await self.repository.read_beside(
                core_queue.queue_stats, now, item.session_id, reviewer
            )
            self.session_stats_label.setText(
                f"<b>Session #{item.session_id}:</b> " + core_queue.stats_text(self.last_session_stats)
            )
        else:
            self.session_stats_label.setText("")

    # -- the current row and the review pane ---------------------------------------------------------------------------

    def _visible_rows(self) -> tuple[int, int]:
        viewport = self.table.viewport()
        first = self.table.rowAt(0)
        last = self.table.rowAt(viewport.height() - 1)
        if first < 0:
            first = 0
        if last < 0:
            last = max(first, self.model.rowCount() - 1)
        return first, last

    def current_item(self) -> QueueItemRecord | None:
        index = self.table.currentIndex()
        return self.model.item(index.row()) if index.isValid() else None

    def _rows_loaded(self) -> None:
        if not self.table.currentIndex().isValid() and self.model.rows:
            self._select_row(self._first_waiting_row(0) or 0)
        elif not self.model.rows:
            self.panel.show_proposal(None)
        self.changed.emit()

    def _first_waiting_row(self, start: int, step: int = 1) -> int | None:
        row = start
        while 0 <= row < len(self.model.rows):
            if self.model.is_waiting(self.model.rows[row].id):
                return row
            row += step
        return None

    def _select_row(self, row: int, *, extend: bool = False) -> None:
        index = self.model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.Rows
        if extend:
            flags |= QItemSelectionModel.SelectionFlag.Select
        else:
            flags |= QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.model.item(current.row()) if current.isValid() else None
        self._current_since = time.monotonic()
        self._current_shown_at = utcnow()
        if item is None:
            return
        if item.session_id != self._stats_session:
            self._stats_due = True
            self._stats_session = item.session_id
            self.session_stats_label.setText(f"<b>Session #{item.session_id}:</b> …")
        if item.id in self._records:
            if self._storing:
                # Drawing the next diff competes with the decision's commit for the interpreter; the commit goes
                # first (the highlighted row already moved), the diff follows it or PANEL_DEFER_MS, whichever is sooner.
                self._panel_due = True
                QTimer.singleShot(PANEL_DEFER_MS, self._show_due_panel)
            else:
                asyncio.get_event_loop().call_soon(self._show_if_current, item.id)
        else:
            self._spawn(self._load_and_show(item.id))
        self._prefetch_after(current.row())

    def _show_due_panel(self) -> None:
        if not self._panel_due:
            return
        self._panel_due = False
        item = self.current_item()
        if item is not None:
            self._show_if_current(item.id)

    def _show_if_current(self, proposal_id: int) -> None:
        item = self.current_item()
        record = self._records.get(proposal_id)
        if item is not None and item.id == proposal_id and record is not None:
            self._show(record)
            self.changed.emit()

    def _show(self, record: ProposalRecord) -> None:
        self.panel.show_proposal(record)
        row = self.model.row_of(record.id)
        if row is not None and not self.model.is_waiting(record.id):
            why = f": {record.withdrawn_reason}" if record.withdrawn_reason else ""
            self.panel.show_banner(f"#{record.id}: {self.model.state_text(self.model.rows[row])}{why}", kind="info")
            self.panel.set_busy(True)
            return
        self.panel.set_busy(False)
        status = self.model.rows[row].status if row is not None else ProposalStatus.PENDING
        if status == AWAITING_SECOND_REVIEW:
            self.panel.show_banner(
                f"#{record.id}: second review. Judge it on your own; "
                "the first verdict stays hidden until it is decided.",
                kind="info",
            )
        elif status == DISPUTED:
            self.panel.show_banner(f"#{record.id}: disputed; reading the two reviews…", kind="info")
            self._spawn(self._show_earlier_verdicts(record.id))
        else:
            self.panel.banner.hide()

    async def _show_earlier_verdicts(self, proposal_id: int) -> None:
        """An adjudicator sees both reviews and their reasons; nobody else is ever sent them (the store refuses)."""
        try:
            adjudicator = self.reviewer()
            verdicts = await self.repository.read(
                lambda store: store.reviews.earlier_verdicts(proposal_id, adjudicator)
            )
            text = adjudication_text(proposal_id, verdicts)
        except StoreError as err:
            text = f"#{proposal_id}: disputed. {err}"
        if self.panel.proposal is not None and self.panel.proposal.id == proposal_id:
            self.panel.show_banner(text, kind="info")
            self.changed.emit()

    async def _record(self, proposal_id: int) -> ProposalRecord | None:
        record = self._records.get(proposal_id)
        if record is not None:
            return record
        task = self._record_tasks.get(proposal_id)
        if task is None:
            task = asyncio.ensure_future(self.repository.read(lambda store: store.proposals.get(proposal_id)))
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
        record = await self._record(proposal_id)
        item = self.current_item()
        if record is not None and item is not None and item.id == proposal_id:
            self._show(record)
            self.changed.emit()

    def _prefetch_after(self, row: int) -> None:
        """The next waiting items' contents are read ahead, so a decision brings the next one on screen at once."""
        found = 0
        next_row = row + 1
        while found < 2 and next_row < len(self.model.rows):
            item = self.model.rows[next_row]
            if self.model.is_waiting(item.id):
                found += 1
                if item.id not in self._records and item.id not in self._record_tasks:
                    self._spawn(self._record(item.id))
            next_row += 1

    # -- keys ----------------------------------------------------------------------------------------------------------

    def _command(self, name: str) -> None:
        index = self.table.currentIndex()
        row = index.row() if index.isValid() else -1
        if name in ("next", "previous", "extend-next", "extend-previous"):
            step = 1 if name.endswith("next") else -1
            target = row + step
            if target >= len(self.model.rows) and self.model.canFetchMore():
                self.model.fetchMore()
            if 0 <= target < len(self.model.rows):
                self._select_row(target, extend=name.startswith("extend"))
            return
        if name == "open":
            if self.panel.proposal is not None:
                self.panel.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        if name == "skip":
            following = self._first_waiting_row(row + 1)
            if following is None:
                # Past the last one, skipping wraps round to the oldest item still waiting.
                following = self._first_waiting_row(0)
            if following is not None and following != row:
                self._select_row(following)
            return
        if name == "undo":
            self._spawn(self.undo_last())
            return
        if name in ("order", "why"):
            self._judges_command(name)
            return
        selected = self._selected_waiting_items()
        if name in ("approve", "reject") and len(selected) > 1:
            self.open_bulk(name, selected)
            return
        item = self.current_item()
        if item is None or not self.model.is_waiting(item.id):
            if item is not None:
                self.show_message(f"#{item.id} is {self.model.state_text(item)}; press u to take a decision back.")
            return
        if self.panel.proposal is not None and self.panel.proposal.id == item.id:
            self._act(name)
        else:
            self._spawn(self._load_then_act(item, name))

    def _judges_command(self, name: str) -> None:
        """``o``: riskiest first, or back to oldest first (as a click on the Risk or Age header); ``w``: why the
        current item is as risky as it is (the Risk column's hover, for the keyboard)."""
        if name == "order":
            by_risk = self.model.spec.sort.column != core_queue.RISK
            self.table.sortByColumn(COLUMN["risk" if by_risk else "age"], Qt.SortOrder.AscendingOrder)
            self.show_message("Riskiest first (o: oldest first)." if by_risk else "Oldest first.", kind="info")
            return
        item = self.current_item()
        risk = None if item is None else self.model.risks.get(item.id)
        if item is not None:
            why = (
                "not scored yet"
                if risk is None
                else f"Risk {risk.score:.2f}: " + ("; ".join(risk.reasons) or "nothing stands out")
            )
            self.show_message(f"#{item.id} · {why}", kind="info")

    async def _load_then_act(self, item: QueueItemRecord, name: str) -> None:
        record = await self._record(item.id)
        current = self.current_item()
        if record is None or current is None or current.id != item.id:
            return
        self._show(record)
        self._act(name)

    def _act(self, name: str) -> None:
        if name == "approve":
            self.panel.approve()
        elif name == "reject":
            self.panel.start_reject()
        elif name == "edit":
            self.panel.start_edit()
        elif name == "compare":
            self.panel.start_compare()

    def _selected_waiting_items(self) -> list[QueueItemRecord]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        items = [self.model.rows[row] for row in rows if row < len(self.model.rows)]
        return [item for item in items if self.model.is_waiting(item.id)]

    # -- deciding ------------------------------------------------------------------------------------------------------

    # -- compare mode: sampling and picks go through the session manager, as on the Sessions page ---------------------

    def _pick(self, request: compare.PickRequest) -> None:
        """Show the pick at once, move on at once, and store it meanwhile (the runner carries it out)."""
        pid = request.proposal_id
        verdict = "reject" if request.position is None else "approve"
        self.model.set_local(pid, LocalState("deciding", verdict))
        self._storing += 1
        self._spawn(self._persist(pid, self.manager.pick(request, self.actor())))
        self._advance_from(pid)
        self.message_label.hide()
        QTimer.singleShot(0, self.focus_list)

    def actor(self) -> decisions.Actor:
        """Who decides on this page (app.services.decisions fills it into each request)."""
        return decisions.Actor.window(self.reviewer())

    def _panel_decision(self, request: review.DecisionRequest) -> None:
        self.submit(request)
        # The pane refocuses itself after a reason or an edit; the keyboard belongs to the list.
        QTimer.singleShot(0, self.focus_list)

    def submit(self, request: review.DecisionRequest, *, advance: bool = True) -> asyncio.Task:
        """Show the decision at once, move to the next waiting item at once, and store the decision meanwhile."""
        self.model.set_local(request.proposal_id, LocalState("deciding", request.verdict))
        # Queued on the database thread before the read-ahead of the next items; counted at once, so moving on
        # below knows a commit is under way.
        self._storing += 1
        task = self._spawn(self._persist(request.proposal_id, self.manager.decide(request, self.actor())))
        if advance:
            self._advance_from(request.proposal_id)
        self.message_label.hide()
        return task

    def _advance_from(self, proposal_id: int) -> None:
        row = self.model.row_of(proposal_id)
        if row is None:
            return
        following = self._first_waiting_row(row + 1)
        if following is None:
            following = self._first_waiting_row(row - 1, -1)
        if following is None:
            if self.model.canFetchMore():
                self.model.fetchMore()
            self.panel.show_proposal(None)
            return
        self._select_row(following)

    async def _persist(self, pid: int, action: Awaitable[DecisionRecord]) -> None:
        """Store one decision (or pick) made on ``pid`` and show what became of it."""

        def failed(failure: decisions.Failure) -> None:
            if failure.gone:
                self.model.remove(pid)
            else:
                self.model.set_local(pid, None)
            self.show_message(failure.message)
            self.changed.emit()

        def done() -> None:
            self._storing -= 1
            if not self._storing:
                self._show_due_panel()

        decision = await run_op(action, pid, on_success=lambda _: None, on_failure=failed, on_done=done)
        if decision is None:
            return
        state = LocalState(ProposalStatus.DECIDED, decision.verdict, decision.decided_at)
        if decision.review_stage in ("first", "second"):
            # One of two reviews: whether it decided anything (agreement) or not (first, dispute) is the store's word.
            try:
                status = (await self.repository.read(lambda store: store.queue.states([pid])))[pid].status
            except (StoreError, KeyError):
                status = ProposalStatus.DECIDED
            if status in LOCAL_REVIEW_WORDS:
                state = replace(state, status=status, final_since=time.monotonic())
        self.model.set_local(pid, state)
        if decision.proposal_id == pid:
            # A picked alternative is decided as a proposal of its own; its pick is taken back on the Sessions page.
            self.undo_trail.push(decision)
        self._stats_due = True
        self.decided.emit(pid)
        self.changed.emit()

    def open_bulk(self, verdict: str, items: list[QueueItemRecord]) -> BulkDialog:
        self.bulk_dialog = BulkDialog(verdict, items, self)
        self.bulk_dialog.accepted.connect(self._bulk_accepted)
        self.bulk_dialog.open()
        return self.bulk_dialog

    def _bulk_accepted(self) -> None:
        dialog = self.bulk_dialog
        reason = dialog.reason.text().strip() or None
        for item in dialog.items:
            if not self.model.is_waiting(item.id):
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
        self._advance_from(last)
        self.focus_list()

    async def undo_last(self) -> None:
        """Take back the newest decision made here that is still inside its undo window."""
        entry = self.undo_trail.take(
            lambda e: (s := self.model.local.get(e.proposal_id)) is not None and s.status in UNDOABLE
        )
        if entry is None:
            self.show_message("There is no decision to undo.")
            return
        pid = entry.proposal_id
        state = self.model.local[pid]
        self.model.set_local(pid, replace(state, status="undoing"))

        def refused(failure: decisions.Failure) -> None:
            self.model.set_local(pid, state)
            self.show_message(failure.message)
            self.changed.emit()

        record = await self.undo_trail.undo(entry, refused)
        if record is None:
            return
        self._records[pid] = record
        self.model.set_local(pid, None)
        row = self.model.row_of(pid)
        if row is not None:
            self._select_row(row)
            self._show(record)
        self.show_message(f"Undone: #{pid} waits again.", kind="info")
        self.changed.emit()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.model.palette_changed()

    def mark_auto_approved(self, proposal_id: int, notice: str, decided_at: dt.datetime | None = None) -> None:
        """The critic approved a proposal on its own: its row shows the marker and the countdown like a decision
        made here, ``u`` takes it back, and the notice says so."""
        decided_at = decided_at or utcnow()
        self.model.set_local(proposal_id, LocalState(ProposalStatus.DECIDED, "approve", decided_at, by=CRITIC_REVIEWER))
        self.undo_trail.remember(proposal_id, "approve", decided_at)
        self.show_message(notice, kind="info")
        self.changed.emit()

    def show_message(self, text: str, *, kind: str = "error") -> None:
        self.message_label.setProperty("kind", kind)
        self.message_label.setText(text)
        colours = current_colours()
        self.message_label.setStyleSheet(f"color: {colours['reject'] if kind == 'error' else colours['link']};")
        self.message_label.show()

    # -- filters -------------------------------------------------------------------------------------------------------

    def _filter_changed(self, value: QueueFilter) -> None:
        self.model.set_spec(replace(self.model.spec, filter=value))
