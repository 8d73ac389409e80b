"""The terminal queue's data: pages of waiting proposals with their flags (app.services.queue), the filter typed as
words, and the store's queue signature polled for changes made anywhere. No widgets; runs on the caller's thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from app.domain.records import QueueItemRecord
from app.services import queue as core_queue
from app.store.repository import Repository

PAGE = 200
# One character per flag in the queue's narrow "!" column.
FLAG_MARKS = ((core_queue.HIDDEN, "⚠"), (core_queue.CONFLICT, "≠"), (core_queue.OUTSIDE_POLICY, "§"))

FILTER_HELP = (
    "kind:edit|create|command|effects|changeset|plan  flag:hidden|conflict|outside-policy  path:GLOB  session:N  "
    "ws:DIR  words"
)


class FilterError(ValueError):
    pass


def parse_filter(text: str) -> core_queue.QueueFilter:
    """``kind:edit flag:hidden path:src/*.py session:3 ws:/srv/app some words`` as a QueueFilter."""
    values: dict = {}
    words = []
    for part in text.split():
        key, colon, value = part.partition(":")
        key = key.lower()
        if not colon or key not in ("kind", "flag", "path", "session", "ws", "workspace"):
            words.append(part)
            continue
        if not value:
            raise FilterError(f"{key}: needs a value ({FILTER_HELP}).")
        if key == "kind":
            if value not in core_queue.KINDS:
                raise FilterError(f"kind:{value}? Use {', '.join(core_queue.KINDS)}.")
            values["kind"] = value
        elif key == "flag":
            if value not in core_queue.FLAG_NAMES:
                raise FilterError(f"flag:{value}? Use {', '.join(core_queue.FLAG_NAMES)}.")
            values["flag"] = value
        elif key == "path":
            values["path_glob"] = value
        elif key == "session":
            if not value.isdigit():
                raise FilterError(f"session:{value}? Give the session's number.")
            values["session_id"] = int(value)
        else:
            values["workspace"] = value
    return replace(core_queue.QueueFilter(**values), text=" ".join(words))


def filter_text(queue_filter: core_queue.QueueFilter) -> str:
    parts = []
    if queue_filter.kind:
        parts.append(f"kind:{queue_filter.kind}")
    if queue_filter.flag:
        parts.append(f"flag:{queue_filter.flag}")
    if queue_filter.path_glob:
        parts.append(f"path:{queue_filter.path_glob}")
    if queue_filter.session_id is not None:
        parts.append(f"session:{queue_filter.session_id}")
    if queue_filter.workspace:
        parts.append(f"ws:{queue_filter.workspace}")
    if queue_filter.text:
        parts.append(queue_filter.text)
    return " ".join(parts)


@dataclass
class QueueModel:
    repository: Repository
    reviewer: str | None = None

    def __post_init__(self) -> None:
        self.spec = core_queue.QueueSpec()
        self.flag_cache = core_queue.FlagCache()
        self.items: list[QueueItemRecord] = []
        self.flags: dict[int, frozenset[str]] = {}
        self._next_after = None
        self.signature: tuple[int, int] | None = None

    @property
    def has_more(self) -> bool:
        return self._next_after is not None

    def set_filter(self, queue_filter: core_queue.QueueFilter) -> None:
        self.spec = replace(self.spec, filter=queue_filter)
        self.reload()

    def reload(self, at_least: int = PAGE) -> None:
        """The first pages again (as many rows as were loaded, so the cursor's row stays), after a change."""
        self.signature = self.repository.queue.signature()
        self.items, self.flags, self._next_after = [], {}, None
        self._fetch(max(at_least, PAGE), after=None)

    def load_more(self) -> bool:
        if self._next_after is None:
            return False
        self._fetch(PAGE, after=self._next_after)
        return True

    def _fetch(self, wanted: int, after) -> None:
        while wanted > 0:
            page = core_queue.fetch_page(
                self.repository,
                self.spec,
                after=after,
                limit=min(wanted, 1000),
                flag_cache=self.flag_cache,
                reviewer=self.reviewer,
            )
            self.items += page.items
            self.flags.update(page.flags)
            wanted -= len(page.items)
            after = self._next_after = page.next_after
            if after is None:
                break

    def changed(self) -> bool:
        """Whether anything was proposed, decided or undone anywhere since the last load (two primary-key reads)."""
        return self.repository.queue.signature() != self.signature

    def drop(self, proposal_id: int) -> int | None:
        """Take a decided row out at once (the next reload confirms it); its position, or None."""
        for index, item in enumerate(self.items):
            if item.id == proposal_id:
                del self.items[index]
                return index
        return None

    def row_cells(self, item: QueueItemRecord, now: dt.datetime) -> tuple[str, str, str, str, str, str]:
        flags = self.flags.get(item.id, frozenset())
        marks = "".join(mark for name, mark in FLAG_MARKS if name in flags)
        counts = "" if item.kind == "command" else f"+{item.lines_added} -{item.lines_removed}"
        state = core_queue.state_text(item.status, claimed_by=item.claimed_by)
        return (str(item.id), state, item.kind, counts, marks, item.target)

    def toggle_risk_order(self) -> bool:
        """Riskiest first, or back to oldest first; True when the queue is now in risk order."""
        by_risk = self.spec.sort.column != core_queue.RISK
        self.spec = replace(self.spec, sort=core_queue.QueueSort(core_queue.RISK if by_risk else "age"))
        self.reload(len(self.items))
        return by_risk

    def why_risky(self, item: QueueItemRecord, settings) -> str:
        """The risk score of one row and what raised it, in one line (the window's hover, for a terminal)."""
        from app.services.judges import judged

        risk = judged(self.repository, [item], self.flags, settings)[item.id].risk
        reasons = "; ".join(risk.reasons) or "nothing stands out"
        return f"#{item.id} risk {risk.score:.2f}: {reasons}."

    def stats_line(self, now: dt.datetime) -> str:
        return core_queue.stats_text(core_queue.queue_stats(self.repository, now, reviewer=self.reviewer))
