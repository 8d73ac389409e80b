"""One batch of an export, the same in the exporting process and in its worker processes: read a batch of sessions,
render their rows, ask where they go (dedupe is decided in batch order by one Ledger), write the kept rows there and
count them for the dataset card. No Qt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import os
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.redaction import Redactor
from app.services.export_rows import Row, SessionRows, ToolsCache, earliest, latest, session_rows
from app.services.export_transcripts import with_external_messages
from app.store.export_read import ExportFilters, JsonTexts, read_sessions

# Rows rendered before they are placed and written: bounds a process's memory whatever the sessions' length.
PART_BYTES = 4 << 20


def in_test_split(session_id: int, seed: int, fraction: float) -> bool:
    """A session's side of the split depends only on (seed, session id): stable, streaming, never both sides."""
    digest = hashlib.blake2b(f"{seed}:{session_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


@dataclass(frozen=True)
class BatchSpec:
    """What every batch of one export is rendered with."""

    format: str
    filters: ExportFilters
    redact: bool
    split: float | None
    seed: int
    # trl-reward's margin: "strength" or "verifier" (app.services.export_rows.margin / verifier_margin).
    margin: str = "strength"


@dataclass
class RowPlan:
    """A rendered part of a batch as the ledger sees it: per row its dedupe key, its length in bytes and its file.
    Parts are placed in order (batch, part); ``last`` marks a batch's last part."""

    batch: int
    part: int
    last: bool
    keys: list[int]
    lengths: list[int]
    splits: list[str]
    # Bytes per file, all rows counted.
    sizes: dict[str, int]
    sessions: int
    decisions: int
    skipped: dict[str, int]
    multi_reviewed: int
    agreed: int
    redactions: dict[str, int]


@dataclass
class Placement:
    """The ledger's answer: which rows of a batch are duplicates, and where in each file the kept rows start."""

    batch: int
    part: int
    dropped: list[int]
    offsets: dict[str, int]


@dataclass
class KeptCounts:
    """The card's counts over the rows actually written."""

    rows: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, int] = field(default_factory=dict)
    reviewers: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    def merge(self, other: KeptCounts) -> None:
        for mine, theirs in (
            (self.rows, other.rows),
            (self.by_source, other.by_source),
            (self.by_label, other.by_label),
            (self.reviewers, other.reviewers),
            (self.models, other.models),
        ):
            for name, count in theirs.items():
                mine[name] = mine.get(name, 0) + count
        self.first = earliest(self.first, other.first)
        self.last = latest(self.last, other.last)


class Ledger:
    """Decides, in batch order, which rows are kept (the first of equal keys) and where each batch's rows go."""

    def __init__(self, splits: Sequence[str], dedupe: bool) -> None:
        self.sizes = {name: 0 for name in splits}
        self.dedupe = dedupe
        # 64-bit hashes of row contents: about 60 bytes per distinct row (--no-dedupe keeps memory flat).
        self._seen: set[int] = set()
        self.duplicates = 0
        self.rows = 0

    def place(self, plan: RowPlan) -> Placement:
        dropped: list[int] = []
        seen = self._seen
        keys = plan.keys
        if not self.dedupe:
            totals = plan.sizes
        elif seen.isdisjoint(keys) and len(set(keys)) == len(keys):  # no duplicate (the common case): set speed
            seen.update(keys)
            totals = plan.sizes
        else:
            totals = dict.fromkeys(self.sizes, 0)
            for at, key in enumerate(keys):
                if key in seen:
                    dropped.append(at)
                    continue
                seen.add(key)
                totals[plan.splits[at]] += plan.lengths[at]
        offsets = dict(self.sizes)
        for name, total in totals.items():
            self.sizes[name] += total
        self.duplicates += len(dropped)
        self.rows += len(keys) - len(dropped)
        return Placement(plan.batch, plan.part, dropped, offsets)


class RenderedPart:
    """A part of a batch: its rows, held until the ledger has placed them."""

    def __init__(self, plan: RowPlan, sessions: list[tuple[str, SessionRows]]) -> None:
        self.plan = plan
        self._sessions = sessions

    def write(self, placement: Placement, fds: dict[str, int], written: deque[tuple[int, int, int]]) -> KeptCounts:
        """Write the kept rows at the placed offsets and count them; ``written`` keeps the ranges this process wrote
        (their pages are released a few writes later)."""
        dropped = set(placement.dropped)
        counts = KeptCounts()
        chunks: dict[str, list[bytes]] = {name: [] for name in placement.offsets}
        kept_rows: list[Row] = []
        at = 0
        for split, session in self._sessions:
            rows = session.rows
            if dropped:
                rows = [row for number, row in enumerate(rows, at) if number not in dropped]
            at += len(session.rows)
            if rows:
                chunks[split].extend(map(_line, rows))
                kept_rows.extend(rows)
                counts.models[session.model] = counts.models.get(session.model, 0) + len(rows)
                counts.rows[split] = counts.rows.get(split, 0) + len(rows)
        # Counted a column at a time, at C speed (a dict update per row and column cost a tenth of a worker's time).
        counts.by_source = dict(Counter(map(_source, kept_rows)))
        counts.by_label = dict(Counter(map(_label, kept_rows)))
        counts.reviewers = dict(Counter(map(_reviewer, kept_rows)))
        moments = [moment for moment in map(_decided_at, kept_rows) if moment is not None]
        moments += [
            row.related.decided_at
            for row in kept_rows
            if row.related is not None and row.related.decided_at is not None
        ]
        if moments:
            counts.first, counts.last = min(moments), max(moments)
        for split, lines in chunks.items():
            if lines:
                _write_lines(written, fds[split], lines, placement.offsets[split])
        self._sessions = []
        return counts


_line = operator.attrgetter("line")
_source = operator.attrgetter("source")
_label = operator.attrgetter("label")
_reviewer = operator.attrgetter("step.reviewer")
_decided_at = operator.attrgetter("step.decided_at")
_key = operator.attrgetter("key")


# Lines per pwritev call (Linux takes at most 1024 buffers a call).
_LINES_PER_CALL = 1024


def _write_lines(ranges: deque[tuple[int, int, int]], fd: int, lines: list[bytes], offset: int) -> None:
    """Write the lines one after another from ``offset``, straight from their own buffers: joining them first
    copied every byte once more, into a fresh allocation the kernel had to fault in page by page."""
    start = offset
    if not hasattr(os, "pwritev"):
        lines = [b"".join(lines)]
    for at in range(0, len(lines), _LINES_PER_CALL):
        chunk: list[Any] = lines[at : at + _LINES_PER_CALL]
        size = sum(map(len, chunk))
        while size:
            written = os.pwritev(fd, chunk, offset) if hasattr(os, "pwritev") else os.pwrite(fd, chunk[0], offset)
            offset += written
            size -= written
            if size:  # a short write: go on from the first byte not written
                while written >= len(chunk[0]):
                    written -= len(chunk[0])
                    chunk = chunk[1:]
                chunk = [memoryview(chunk[0])[written:], *chunk[1:]]
    _start_writeback(ranges, fd, start, offset - start)


# Written ranges are let go again this many writes later, once their writeback has had time to finish.
_RELEASE_AFTER = 3


def _start_writeback(written: deque[tuple[int, int, int]], fd: int, offset: int, length: int) -> None:
    """Start writing the rows to disk now, not at the final fsync, and let their pages go once written.

    On Linux POSIX_FADV_DONTNEED starts writeback of dirty pages and drops clean ones; pages still being written are
    kept, so each range is advised again a few writes later. The export's closing fsync then waits for the last
    parts only; an export of many GB does not push everything else out of the page cache; and new writes reuse the
    pages just freed (on a virtual machine, writing into never-touched memory cost a third of the write time)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    written.append((fd, offset, length))
    ranges = [(fd, offset, length)]
    if len(written) > _RELEASE_AFTER:
        ranges.append(written.popleft())
    for fd_, offset_, length_ in ranges:
        try:
            advise(fd_, offset_, length_, os.POSIX_FADV_DONTNEED)
        except OSError:  # a closed or reused descriptor: nothing to release
            pass


class BatchRenderer:
    """Reads and renders batches of one export; one per process, holding what batches share (parsed tool lists,
    serialised schemas, the redactor)."""

    def __init__(self, database: Any, spec: BatchSpec) -> None:
        self.database = database
        self.spec = spec
        self.redactor = Redactor() if spec.redact else None
        self.tools_cache = ToolsCache(self.redactor)
        self.json_texts = JsonTexts()
        self.sources = set(spec.filters.sources) or None
        # File ranges this process wrote, oldest first (see _start_writeback).
        self.written: deque[tuple[int, int, int]] = deque()

    def render(self, batch: int, ids: Sequence[int]) -> Iterator[RenderedPart]:
        """The batch's rows in parts of about PART_BYTES (a part ends with a session), so memory stays bounded
        however long the sessions are: a row holds its whole prompt, and a session of n steps renders n prompts."""
        spec = self.spec
        part = 0
        sessions: list[tuple[str, SessionRows]] = []
        keys: list[int] = []
        lengths: list[int] = []
        splits: list[str] = []
        skipped: dict[str, int] = {}
        sizes: dict[str, int] = {}
        multi = agreed = decisions = size = 0
        with_contents = spec.format in ("raw", "trajectory")
        loaded = read_sessions(self.database, ids, spec.filters, self.json_texts, with_contents=with_contents)
        for at, data in enumerate(loaded):
            loaded[at] = None  # type: ignore[call-overload]  # let each transcript go once rendered
            # An external agent's session brings its own transcript (or its tool calls) as the prompt context.
            rendered = session_rows(
                with_external_messages(data),
                spec.format,
                self.sources,
                self.redactor,
                self.tools_cache,
                margin=spec.margin,
            )
            split = (
                "test"
                if spec.split is not None and in_test_split(rendered.session_id, spec.seed, spec.split)
                else "train"
            )
            sessions.append((split, rendered))
            rows = rendered.rows
            keys.extend(map(_key, rows))
            session_lengths = list(map(len, map(_line, rows)))
            lengths.extend(session_lengths)
            session_size = sum(session_lengths)
            size += session_size
            sizes[split] = sizes.get(split, 0) + session_size
            splits.extend([split] * len(rows))
            for why, count in rendered.skipped.items():
                skipped[why] = skipped.get(why, 0) + count
            multi += rendered.multi_reviewed
            agreed += rendered.agreed
            decisions += rendered.decisions
            last = at == len(loaded) - 1
            if size >= PART_BYTES or last:
                redactions: dict[str, int] = {}
                if self.redactor is not None:
                    redactions, self.redactor.counts = self.redactor.counts, {}
                plan = RowPlan(
                    batch,
                    part,
                    last,
                    keys,
                    lengths,
                    splits,
                    sizes,
                    len(sessions),
                    decisions,
                    skipped,
                    multi,
                    agreed,
                    redactions,
                )
                yield RenderedPart(plan, sessions)
                part += 1
                sessions, keys, lengths, splits, skipped, sizes = [], [], [], [], {}, {}
                multi = agreed = decisions = size = 0
        if not loaded:
            redactions = {}
            if self.redactor is not None:
                redactions, self.redactor.counts = self.redactor.counts, {}
            yield RenderedPart(RowPlan(batch, 0, True, [], [], [], {}, 0, 0, {}, 0, 0, redactions), [])
