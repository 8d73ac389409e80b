"""The diff view's row model: hunks, folds and split pairs as display rows built on demand, search, paint segments.
Pure computation: no Qt, no painting, nothing proportional to the diff's size until asked."""

from __future__ import annotations

import enum
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from app.domain.diff_types import DiffLine, FileDiff, Hunk
from app.domain.diffing import intraline_spans

TAB_WIDTH = 4
# Beyond this a line is cut for display: a minified megabyte line must not stall every repaint.
MAX_DISPLAY_CHARS = 5000
# Word diffs of long lines cost too much per painted row and highlight mostly noise.
MAX_INTRALINE_CHARS = 1000
# Pairs whose changed spans cover more than this share of both lines are rewrites, not edits: no highlight.
MAX_INTRALINE_COVERAGE = 0.6

Span = tuple[int, int]


class RowKind(enum.Enum):
    HUNK = "hunk"
    CONTEXT = " "
    ADDED = "+"
    REMOVED = "-"
    CWD = "cwd"
    COMMAND = "$"
    FOLD = "fold"


_KIND_BY_ORIGIN = {" ": RowKind.CONTEXT, "+": RowKind.ADDED, "-": RowKind.REMOVED}

# A line's identity that survives mode switches and fold changes: (section, line index in the section). Section 2g is
# the unchanged gap before hunk g (g == hunk count: after the last hunk), section 2h+1 is hunk h's lines; so keys
# sort in the order the lines are shown.
LineKey = tuple[int, int]
# A search hit: the line and the [start, end) character range in it.
Match = tuple[LineKey, int, int]
# More hits than this are not worth counting one by one: searching "e" in 100k lines must stay instant.
MAX_MATCHES = 50_000


@dataclass(frozen=True, slots=True)
class Row:
    kind: RowKind
    text: str
    old_lineno: int | None = None
    new_lineno: int | None = None
    # Which lexed document colours this row ("old", "new", "command") and the row's key in it.
    syntax_side: str | None = None
    syntax_line: int | None = None
    crlf: bool = False
    no_newline: bool = False
    # The hunk a header or line belongs to; the gap a fold row stands for.
    hunk: int | None = None
    fold: int | None = None


@dataclass(frozen=True, slots=True)
class DisplayRow:
    """One painted row: one cell (unified, or a header/fold spanning both sides) or two cells (split: old | new)."""

    cells: tuple[Row | None, ...]
    keys: tuple[LineKey | None, ...]
    hunk: int | None = None
    fold: int | None = None

    @property
    def spans_both(self) -> bool:
        return len(self.cells) == 1


def row_for_line(line: DiffLine, hunk: int | None = None) -> Row:
    removed = line.origin == "-"
    return Row(
        kind=_KIND_BY_ORIGIN.get(line.origin, RowKind.CONTEXT),
        text=line.text,
        old_lineno=line.old_lineno,
        new_lineno=line.new_lineno,
        syntax_side="old" if removed else "new",
        syntax_line=line.old_lineno if removed else line.new_lineno,
        crlf=line.raw.endswith(b"\r\n"),
        no_newline=line.no_newline_at_end,
        hunk=hunk,
    )


class _Seg(enum.Enum):
    FOLD = enum.auto()
    GAP = enum.auto()
    HEADER = enum.auto()
    BODY = enum.auto()


# Runs of one hunk's origins: context, removed-then-added, or added alone.
_RUNS = re.compile(r" +|-+\+*|\++")


@dataclass(frozen=True, slots=True)
class _Gap:
    old_first: int
    new_first: int
    count: int


class FullText:
    """A file's lines for showing unchanged regions: counted up front, split only when a line is first shown."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.ends_with_newline = text.endswith("\n")
        self._count = text.count("\n") + (0 if self.ends_with_newline or not text else 1)
        self._split: list[str] | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def _lines(self) -> list[str]:
        if self._split is None:
            self._split = self._text.split("\n")[: self._count]
        return self._split

    def line(self, number: int) -> tuple[str, bool, bool]:
        """(text, CRLF?, no final newline?) of 1-based line ``number``."""
        raw = self._lines[number - 1]
        last = number == self._count
        return raw.removesuffix("\r"), raw.endswith("\r"), last and not self.ends_with_newline

    def texts(self, first: int, count: int) -> list[str]:
        return [raw.removesuffix("\r") for raw in self._lines[first - 1 : first - 1 + count]]


def _old_first(hunk: Hunk) -> int:
    # "-5,0" means "after line 5": a hunk with no old lines starts after its old_start.
    return hunk.old_start if hunk.old_lines else hunk.old_start + 1


def _new_first(hunk: Hunk) -> int:
    return hunk.new_start if hunk.new_lines else hunk.new_start + 1


class DiffRows(Sequence[Row]):
    """Random access to a diff's display rows without building them all up front.

    Rows are, per hunk: the unchanged gap before it (a fold row, or its lines once expanded; only when the full
    text is known), a header, then its lines; in split mode a hunk's lines pair up (removed | added) on one row.
    ``self[i]`` is the row's main Row (the left cell when split); ``entry(i)`` has every cell.
    """

    def __init__(
        self, diff: FileDiff, *, old_text: str | None = None, new_text: str | None = None, split: bool = False
    ) -> None:
        self.diff = diff
        self._hunks = diff.hunks
        self.max_lineno = max(
            (max(h.old_start + h.old_lines, h.new_start + h.new_lines) - 1 for h in self._hunks), default=0
        )
        self._old = FullText(old_text) if old_text is not None else None
        self._new = FullText(new_text) if new_text is not None else None
        self._gaps = self._find_gaps()
        if self._gaps:
            self.max_lineno = max(self.max_lineno, len(self._old or ()), len(self._new or ()))
        self._expanded: set[int] = set()
        self._split = split
        self._origin_strings: dict[int, str] = {}
        self._highlights: dict[LineKey, tuple[Span, ...]] = {}
        self._split_runs: dict[int, tuple[list[int], list[tuple[int, int, int, bool]], list[int]]] = {}
        self._search_index: dict[int, tuple[str, list[int]]] = {}
        self._whitespace_only: dict[LineKey, bool] = {}
        self.version = 0
        self._layout()

    # --- shape ------------------------------------------------------------------------------------------------

    @property
    def split(self) -> bool:
        return self._split

    @property
    def hunk_count(self) -> int:
        return len(self._hunks)

    def set_split(self, split: bool) -> None:
        if split != self._split:
            self._split = split
            self._layout()

    def folds(self) -> list[int]:
        """Gaps still folded, in display order."""
        return [gap for gap in sorted(self._gaps) if gap not in self._expanded]

    def gap_size(self, gap: int) -> int:
        return self._gaps[gap].count if gap in self._gaps else 0

    def is_folded(self, gap: int) -> bool:
        return gap in self._gaps and gap not in self._expanded

    def expand(self, gap: int) -> bool:
        if not self.is_folded(gap):
            return False
        self._expanded.add(gap)
        self._layout()
        return True

    def expand_all(self) -> bool:
        folded = self.folds()
        self._expanded.update(folded)
        if folded:
            self._layout()
        return bool(folded)

    def _find_gaps(self) -> dict[int, _Gap]:
        """Unchanged stretches the hunks do not show, by gap index; none without the full text."""
        if self._old is None and self._new is None or not self._hunks:
            return {}
        gaps: dict[int, _Gap] = {}
        old_next = new_next = 1
        for index, hunk in enumerate(self._hunks):
            count = _old_first(hunk) - old_next
            if count > 0:
                gaps[index] = _Gap(old_next, new_next, count)
            old_next = _old_first(hunk) + hunk.old_lines
            new_next = _new_first(hunk) + hunk.new_lines
        if self._old is not None:
            trailing = len(self._old) + 1 - old_next
        else:
            trailing = len(self._new) + 1 - new_next  # type: ignore[arg-type]
        if trailing > 0:
            gaps[len(self._hunks)] = _Gap(old_next, new_next, trailing)
        return gaps

    def _layout(self) -> None:
        segments: list[tuple[int, _Seg, int, int]] = []
        position = 0

        def add_gap(gap_index: int) -> None:
            nonlocal position
            gap = self._gaps.get(gap_index)
            if gap is None:
                return
            if gap_index in self._expanded:
                segments.append((position, _Seg.GAP, gap_index, gap.count))
                position += gap.count
            else:
                segments.append((position, _Seg.FOLD, gap_index, 1))
                position += 1

        for index, hunk in enumerate(self._hunks):
            add_gap(index)
            segments.append((position, _Seg.HEADER, index, 1))
            position += 1
            count = self._split_count(index) if self._split else len(hunk.lines)
            segments.append((position, _Seg.BODY, index, count))
            position += count
        add_gap(len(self._hunks))
        self._segments = segments
        self._segment_starts = [segment[0] for segment in segments]
        self._segment_of_section = {
            (2 * index if kind in (_Seg.FOLD, _Seg.GAP) else 2 * index + 1): n
            for n, (_, kind, index, _) in enumerate(segments)
            if kind is not _Seg.HEADER
        }
        self._header_rows = [start for start, kind, _, _ in segments if kind is _Seg.HEADER]
        self._count = position
        self.version += 1

    def __len__(self) -> int:
        return self._count

    def _segment_at(self, index: int) -> tuple[int, _Seg, int, int]:
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._segments[bisect_right(self._segment_starts, index) - 1]

    def locate(self, index: int) -> tuple[int, int]:
        """(hunk index, line index within the hunk) of a unified row; line index -1 is the hunk's header."""
        start, kind, hunk_index, _ = self._segment_at(index)
        if kind is _Seg.HEADER:
            return hunk_index, -1
        if kind is not _Seg.BODY or self._split:
            raise IndexError(f"row {index} is not a hunk line in unified mode")
        return hunk_index, index - start

    def hunk_row(self, hunk_index: int) -> int:
        """The display row of a hunk's header."""
        return self._header_rows[hunk_index]

    def hunk_at(self, index: int) -> int | None:
        """The hunk a header or line row belongs to (None for unchanged gaps)."""
        _, kind, section_index, _ = self._segment_at(index)
        return section_index if kind in (_Seg.HEADER, _Seg.BODY) else None

    def hunk_span(self, hunk_index: int) -> tuple[int, int]:
        """First and last display row (header to last line) of a hunk."""
        header = self._header_rows[hunk_index]
        body = self._segments[self._segment_of_section[2 * hunk_index + 1]]
        return header, body[0] + body[3] - 1

    def fold_row(self, gap: int) -> int | None:
        segment = self._segment_of_section.get(2 * gap)
        if segment is None or self._segments[segment][1] is not _Seg.FOLD:
            return None
        return self._segments[segment][0]

    def __getitem__(self, index: int) -> Row:  # type: ignore[override]
        if index < 0:
            index += self._count
        entry = self.entry(index)
        return next(cell for cell in entry.cells if cell is not None)

    def entry(self, index: int) -> DisplayRow:
        start, kind, section_index, _ = self._segment_at(index)
        if kind is _Seg.HEADER:
            hunk = self._hunks[section_index]
            return DisplayRow(
                (Row(RowKind.HUNK, hunk.header.rstrip("\r\n"), hunk=section_index),), (None,), section_index
            )
        if kind is _Seg.FOLD:
            gap = self._gaps[section_index]
            noun = "line" if gap.count == 1 else "lines"
            text = f"⋯ {gap.count:,} unchanged {noun}"
            return DisplayRow((Row(RowKind.FOLD, text, fold=section_index),), (None,), fold=section_index)
        if kind is _Seg.GAP:
            offset = index - start
            key = (2 * section_index, offset)
            row = self._gap_row(section_index, offset)
            return DisplayRow((row, row) if self._split else (row,), (key, key) if self._split else (key,))
        if not self._split:
            line_index = index - start
            key = (2 * section_index + 1, line_index)
            return DisplayRow((self._line_row(section_index, line_index),), (key,), section_index)
        left, right = self._split_lines(section_index, index - start)
        section = 2 * section_index + 1
        return DisplayRow(
            (
                self._line_row(section_index, left) if left is not None else None,
                self._line_row(section_index, right) if right is not None else None,
            ),
            (None if left is None else (section, left), None if right is None else (section, right)),
            section_index,
        )

    def _line_row(self, hunk_index: int, line_index: int) -> Row:
        return row_for_line(self._hunks[hunk_index].lines[line_index], hunk_index)

    def _gap_row(self, gap_index: int, offset: int) -> Row:
        gap = self._gaps[gap_index]
        old_number, new_number = gap.old_first + offset, gap.new_first + offset
        text, crlf, no_newline = (
            self._old.line(old_number) if self._old is not None else self._new.line(new_number)  # type: ignore[union-attr]
        )
        return Row(RowKind.CONTEXT, text, old_number, new_number, "new", new_number, crlf=crlf, no_newline=no_newline)

    # --- split mode -------------------------------------------------------------------------------------------

    def _runs(self, hunk_index: int) -> tuple[list[int], list[tuple[int, int, int, bool]], list[int]]:
        """(first split row of each run, (first line, removed, added, is context) of each, first line of each)."""
        found = self._split_runs.get(hunk_index)
        if found is None:
            origins = self._origins(hunk_index)
            row_starts: list[int] = []
            runs: list[tuple[int, int, int, bool]] = []
            line_starts: list[int] = []
            row = 0
            for match in _RUNS.finditer(origins):
                first, end = match.span()
                if origins[first] == " ":
                    runs.append((first, end - first, 0, True))
                    size = end - first
                else:
                    plus = origins.find("+", first, end)
                    removed = (end if plus < 0 else plus) - first
                    added = end - first - removed
                    runs.append((first, removed, added, False))
                    size = max(removed, added)
                row_starts.append(row)
                line_starts.append(first)
                row += size
            found = self._split_runs[hunk_index] = (row_starts, runs, line_starts)
        return found

    def _split_count(self, hunk_index: int) -> int:
        row_starts, runs, _ = self._runs(hunk_index)
        if not runs:
            return 0
        first, removed, added, context = runs[-1]
        return row_starts[-1] + (removed if context else max(removed, added))

    def _split_lines(self, hunk_index: int, offset: int) -> tuple[int | None, int | None]:
        """Which hunk lines sit left and right on split row ``offset`` of the hunk."""
        row_starts, runs, _ = self._runs(hunk_index)
        run = bisect_right(row_starts, offset) - 1
        first, removed, added, context = runs[run]
        step = offset - row_starts[run]
        if context:
            return first + step, first + step
        return (first + step if step < removed else None), (first + removed + step if step < added else None)

    # --- lines by key ---------------------------------------------------------------------------------------

    def display_index(self, key: LineKey) -> int | None:
        """Where a line is shown now; None while it is folded away."""
        section, line = key
        segment = self._segment_of_section.get(section)
        if segment is None:
            return None
        start, kind, hunk_index, _ = self._segments[segment]
        if kind is _Seg.FOLD:
            return None
        if kind is _Seg.GAP or not self._split:
            return start + line
        row_starts, runs, line_starts = self._runs(hunk_index)
        run = bisect_right(line_starts, line) - 1
        first, removed, _, context = runs[run]
        step = line - first
        if not context and step >= removed:
            step -= removed
        return start + row_starts[run] + step

    def gap_of(self, key: LineKey) -> int | None:
        return key[0] // 2 if key[0] % 2 == 0 else None

    def line_text(self, key: LineKey) -> str:
        section, line = key
        if section % 2:
            return self._hunks[section // 2].lines[line].text
        gap = self._gaps[section // 2]
        source = self._old if self._old is not None else self._new
        first = gap.old_first if self._old is not None else gap.new_first
        return source.line(first + line)[0]  # type: ignore[union-attr]

    def search(self, query: str) -> list[Match]:
        """Every hit of ``query`` in the hunks' lines and the unchanged gaps (folded or not), in display order.

        Case-insensitive unless the query has a capital letter. At most MAX_MATCHES hits.
        """
        if not query:
            return []
        flags = 0 if any(char.isupper() for char in query) else re.IGNORECASE
        pattern = re.compile(re.escape(query), flags)
        sections = sorted({2 * gap for gap in self._gaps} | {2 * h + 1 for h in range(len(self._hunks))})
        matches: list[Match] = []
        for section in sections:
            joined, starts = self._section_text(section)
            for found in pattern.finditer(joined):
                line = bisect_right(starts, found.start()) - 1
                matches.append(((section, line), found.start() - starts[line], found.end() - starts[line]))
                if len(matches) >= MAX_MATCHES:
                    return matches
        return matches

    def _section_text(self, section: int) -> tuple[str, list[int]]:
        """A section's lines joined by newlines (one search for the whole section) and where each line starts."""
        found = self._search_index.get(section)
        if found is None:
            if section % 2:
                texts = [line.text for line in self._hunks[section // 2].lines]
            else:
                gap = self._gaps[section // 2]
                if self._old is not None:
                    texts = self._old.texts(gap.old_first, gap.count)
                else:
                    texts = self._new.texts(gap.new_first, gap.count)  # type: ignore[union-attr]
            starts = [0, *accumulate(len(text) + 1 for text in texts)][:-1] if texts else []
            found = self._search_index[section] = ("\n".join(texts), starts)
        return found

    # --- widths, pairs, highlights ----------------------------------------------------------------------------

    def widest_columns(self, tab_width: int = TAB_WIDTH) -> int:
        """The widest hunk line in display columns, tabs expanded (cut at MAX_DISPLAY_CHARS)."""
        widest = 0
        for widest_so_far in self.widest_columns_in_steps(tab_width, step_lines=1 << 30):
            widest = widest_so_far
        return widest

    def widest_columns_in_steps(self, tab_width: int = TAB_WIDTH, step_lines: int = 8192) -> Iterator[int]:
        """widest_columns, measured ``step_lines`` lines at a time: yields the widest so far after each step, so a
        huge diff can be measured between paints without holding the UI thread."""
        widest = 0
        for hunk in self._hunks:
            for first in range(0, len(hunk.lines), step_lines):
                texts = [line.text for line in hunk.lines[first : first + step_lines]]
                widest = max(widest, max(map(len, texts)))
                # One joined search is far cheaper than a per-line test when, as usual, there are no tabs at all.
                if "\t" in "\n".join(texts):
                    widest = max(widest, max(len(text.expandtabs(tab_width)) for text in texts if "\t" in text))
                yield min(widest, MAX_DISPLAY_CHARS)
        yield min(widest, MAX_DISPLAY_CHARS)

    def partner(self, index: int) -> int | None:
        """In unified mode, the row a changed row pairs with: the n-th removed line of a run with the n-th added."""
        try:
            hunk_index, line_index = self.locate(index)
        except IndexError:
            return None
        if line_index < 0:
            return None
        partner_line = self._partner_line(hunk_index, line_index)
        return None if partner_line is None else index - line_index + partner_line

    def _partner_line(self, hunk_index: int, line_index: int) -> int | None:
        hunk = self._hunks[hunk_index]
        if hunk.old_lines == 0 or hunk.new_lines == 0:
            return None
        origins = self._origins(hunk_index)
        # Runs can be 50k lines long: find their ends with C-speed string searches, not by walking lines.
        if origins[line_index] == "-":
            removed_start = _run_start(origins, line_index, "-")
            added_start = _run_end(origins, line_index, "-")
            partner_line = added_start + (line_index - removed_start)
            found = partner_line < _run_end(origins, added_start, "+")
        elif origins[line_index] == "+":
            added_start = _run_start(origins, line_index, "+")
            removed_start = _run_start(origins, added_start - 1, "-") if added_start else 0
            partner_line = removed_start + (line_index - added_start)
            found = added_start > 0 and origins[added_start - 1] == "-" and partner_line < added_start
        else:
            return None
        return partner_line if found else None

    def highlights(self, index: int) -> tuple[Span, ...]:
        """Changed character ranges of a paired unified row, computed when first asked and then kept."""
        try:
            hunk_index, line_index = self.locate(index)
        except IndexError:
            return ()
        return self.key_highlights((2 * hunk_index + 1, line_index)) if line_index >= 0 else ()

    def whitespace_only(self, key: LineKey | None) -> bool:
        """Whether a changed hunk line differs from the line it pairs with only in spaces, tabs or its line ending
        (re-indented, trailing spaces, CRLF): such pairs are drawn dimmed. Cached for both lines of the pair."""
        if key is None or key[0] % 2 == 0:
            return False
        cached = self._whitespace_only.get(key)
        if cached is not None:
            return cached
        hunk_index, line_index = key[0] // 2, key[1]
        partner_line = self._partner_line(hunk_index, line_index)
        found = False
        if partner_line is not None:
            lines = self._hunks[hunk_index].lines
            found = without_whitespace(lines[line_index].text) == without_whitespace(lines[partner_line].text)
            self._whitespace_only[(key[0], partner_line)] = found
        self._whitespace_only[key] = found
        return found

    def key_highlights(self, key: LineKey | None) -> tuple[Span, ...]:
        """Changed character ranges of a hunk line paired with another (by its key), cached for both."""
        if key is None or key[0] % 2 == 0:
            return ()
        cached = self._highlights.get(key)
        if cached is not None:
            return cached
        hunk_index, line_index = key[0] // 2, key[1]
        partner_line = self._partner_line(hunk_index, line_index)
        spans: tuple[Span, ...] = ()
        if partner_line is not None:
            lines = self._hunks[hunk_index].lines
            row, other = lines[line_index], lines[partner_line]
            old, new = (row, other) if row.origin == "-" else (other, row)
            old_spans, new_spans = paired_highlights(old.text, new.text)
            spans, partner_spans = (old_spans, new_spans) if old is row else (new_spans, old_spans)
            self._highlights[(key[0], partner_line)] = partner_spans
        self._highlights[key] = spans
        return spans

    def _origins(self, hunk_index: int) -> str:
        """The hunk's origin characters (' ', '+', '-') as one string, built when first needed."""
        found = self._origin_strings.get(hunk_index)
        if found is None:
            found = self._origin_strings[hunk_index] = "".join([line.origin for line in self._hunks[hunk_index].lines])
        return found


def _run_start(origins: str, index: int, origin: str) -> int:
    """Where the run of ``origin`` characters containing ``index`` starts."""
    return max(origins.rfind(other, 0, index) for other in " +-" if other != origin) + 1


def _run_end(origins: str, index: int, origin: str) -> int:
    """Where the run of ``origin`` characters starting at or before ``index`` ends (exclusive)."""
    ends = [found for other in " +-" if other != origin and (found := origins.find(other, index)) >= 0]
    return min(ends, default=len(origins))


# Only ASCII blanks: a no-break space or a zero-width character swapped in can change what code does, so a pair
# differing in those is never dimmed.
_BLANKS = str.maketrans("", "", " \t\r\f\v")


def without_whitespace(text: str) -> str:
    return text.translate(_BLANKS)


def paired_highlights(old_text: str, new_text: str) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """Intra-line spans worth painting: none for long lines or lines rewritten wholesale."""
    if old_text == new_text or max(len(old_text), len(new_text)) > MAX_INTRALINE_CHARS:
        return (), ()
    old_spans, new_spans = intraline_spans(old_text, new_text)
    old_changed = sum(end - start for start, end in old_spans)
    new_changed = sum(end - start for start, end in new_spans)
    if old_changed > MAX_INTRALINE_COVERAGE * len(old_text) and new_changed > MAX_INTRALINE_COVERAGE * len(new_text):
        return (), ()
    return tuple(map(tuple, old_spans)), tuple(map(tuple, new_spans))  # type: ignore[arg-type]


class CommandRows(Sequence[Row]):
    """A shell command's rows: its working directory, then one row per line of the command (keys (1, line))."""

    split = False
    hunk_count = 0
    version = 0

    def __init__(self, command: str, cwd: str) -> None:
        self.lines = command_lines(command)
        self._rows = [Row(kind=RowKind.CWD, text=cwd)] + [
            Row(kind=RowKind.COMMAND, text=line, syntax_side="command", syntax_line=number, new_lineno=number + 1)
            for number, line in enumerate(self.lines)
        ]
        self.max_lineno = len(self.lines)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> Row:  # type: ignore[override]
        return self._rows[index]

    def entry(self, index: int) -> DisplayRow:
        return DisplayRow((self._rows[index],), ((1, index - 1) if index else None,))

    def widest_columns(self, tab_width: int = TAB_WIDTH) -> int:
        widest = max((len(line.expandtabs(tab_width)) for line in self.lines), default=0)
        return min(widest, MAX_DISPLAY_CHARS)

    def highlights(self, index: int) -> tuple[Span, ...]:
        return ()

    def key_highlights(self, key: LineKey | None) -> tuple[Span, ...]:
        return ()

    def whitespace_only(self, key: LineKey | None) -> bool:
        return False

    def folds(self) -> list[int]:
        return []

    def display_index(self, key: LineKey) -> int | None:
        return key[1] + 1

    def gap_of(self, key: LineKey) -> int | None:
        return None

    def hunk_at(self, index: int) -> int | None:
        return None

    def search(self, query: str) -> list[Match]:
        if not query:
            return []
        flags = 0 if any(char.isupper() for char in query) else re.IGNORECASE
        pattern = re.compile(re.escape(query), flags)
        return [
            ((1, number), found.start(), found.end())
            for number, line in enumerate(self.lines)
            for found in pattern.finditer(line)
        ][:MAX_MATCHES]


def command_lines(command: str) -> list[str]:
    return [line.removesuffix("\r") for line in command.split("\n")]


def empty_diff_message(diff: FileDiff) -> str:
    """What to say for a text diff with no hunks."""
    return {
        "added": f"{diff.path} is a new, empty file.",
        "deleted": f"{diff.path} was an empty file and is deleted.",
        "unchanged": f"{diff.path} is unchanged.",
    }.get(diff.status, f"{diff.path} has no text changes.")


def binary_card_lines(diff: FileDiff) -> tuple[str, str]:
    """Title and detail of the card shown instead of a binary file's bytes."""
    verb = {"added": "added", "deleted": "deleted", "unchanged": "unchanged"}.get(diff.status, "modified")
    detail = diff.binary_summary or f"{diff.old_size:,} bytes → {diff.new_size:,} bytes"
    return f"Binary file {verb}: {diff.path}", detail


def expand_tabs(text: str, column: int, tab_width: int = TAB_WIDTH) -> tuple[str, int]:
    """``text`` with tabs expanded as if it started at ``column``, and the column after it."""
    if "\t" not in text:
        return text, column + len(text)
    pieces = []
    for piece in text.split("\t")[:-1]:
        column += len(piece)
        pad = tab_width - column % tab_width
        pieces.append(piece + " " * pad)
        column += pad
    last = text.rsplit("\t", 1)[1]
    pieces.append(last)
    return "".join(pieces), column + len(last)


# Characters that paint as nothing, as tofu, or (bidi controls, the Trojan Source trick) reorder the text around
# them: a reviewer must see them, so they are drawn as labelled marks instead of being handed to the text engine.
_HIDDEN_CHARS = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def hidden_char_label(char: str) -> str:
    """Caret notation for ASCII controls ("^[" for ESC), the code point for the rest ("U+202E")."""
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"U+{code:04X}"


def reveal_hidden(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (plain text, False) and (label of a hidden character, True) pieces."""
    if not _HIDDEN_CHARS.search(text):
        return [(text, False)]
    pieces: list[tuple[str, bool]] = []
    plain_start = 0
    for match in _HIDDEN_CHARS.finditer(text):
        if match.start() > plain_start:
            pieces.append((text[plain_start : match.start()], False))
        pieces.append((hidden_char_label(match.group()), True))
        plain_start = match.end()
    if plain_start < len(text):
        pieces.append((text[plain_start:], False))
    return pieces


def line_segments(
    length: int,
    syntax_spans: Sequence[tuple[int, int, object]],
    highlight_spans: Sequence[Span],
    match_spans: Sequence[tuple[int, int, int]] = (),
) -> list[tuple[int, int, object | None, bool, int]]:
    """Split a line of ``length`` chars into runs of (start, end, token type or None, highlighted, match).

    ``match_spans`` are (start, end, strength): 1 for a search hit, 2 for the current one; runs outside get 0.
    """
    cuts = {0, length}
    for start, end, _ in syntax_spans:
        cuts.update((min(start, length), min(end, length)))
    for start, end in highlight_spans:
        cuts.update((min(start, length), min(end, length)))
    for start, end, _ in match_spans:
        cuts.update((min(start, length), min(end, length)))
    ordered = sorted(cuts)
    segments: list[tuple[int, int, object | None, bool, int]] = []
    syntax_at = highlight_at = match_at = 0
    for start, end in zip(ordered, ordered[1:], strict=False):
        while syntax_at < len(syntax_spans) and syntax_spans[syntax_at][1] <= start:
            syntax_at += 1
        token_type = (
            syntax_spans[syntax_at][2]
            if syntax_at < len(syntax_spans) and syntax_spans[syntax_at][0] <= start
            else None
        )
        while highlight_at < len(highlight_spans) and highlight_spans[highlight_at][1] <= start:
            highlight_at += 1
        highlighted = highlight_at < len(highlight_spans) and highlight_spans[highlight_at][0] <= start
        while match_at < len(match_spans) and match_spans[match_at][1] <= start:
            match_at += 1
        match = match_spans[match_at][2] if match_at < len(match_spans) and match_spans[match_at][0] <= start else 0
        last = segments[-1] if segments else None
        if last is not None and last[2] is token_type and last[3] == highlighted and last[4] == match:
            segments[-1] = (last[0], end, token_type, highlighted, match)
        else:
            segments.append((start, end, token_type, highlighted, match))
    return segments


# Where a wrapped line may end: after a space or one of these, or before one of the opening characters (as in
# editors: "self.compute(" breaks before "(" or after ".", never inside "compute").
_WRAP_POINTS = re.compile(r"(?<=[ \t})\]?|/&.,;:])(?=.)|(?<=.)(?=[(\[{+])", re.DOTALL)

WrapRun = tuple[int, bool] | tuple[int, bool, str]


def wrap_runs(widths: Sequence[WrapRun], columns: int) -> list[tuple[int, int, int, int, int]]:
    """Place runs of (width in columns, breakable?[, text]) on lines ``columns`` wide.

    Returns (run index, first column of the run's part, end column, visual line, column on that line) per part.
    Lines end at word boundaries of the texts (spaces, punctuation) when one fits; a word longer than a line is
    cut where the line ends. Breakable runs without text split anywhere; others (badges) never split and move
    whole to the next line when they do not fit.
    """
    columns = max(1, columns)
    # The row as one string (for finding word boundaries) plus the spans nothing may split.
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    atoms: list[tuple[int, int]] = []
    column = 0
    for width, breakable, *text in widths:
        spans.append((column, column + width))
        if not breakable:
            atoms.append((column, column + width))
            pieces.append("\x00" * width)
        elif text and len(text[0]) == width:
            pieces.append(text[0])
        else:
            pieces.append(" " * width)
        column += width
    total = column
    line_starts = [0]
    if total > columns:
        joined = "".join(pieces)
        points = sorted({match.start() for match in _WRAP_POINTS.finditer(joined)}.union(*atoms))
        atom_starts = [start for start, _ in atoms]
        start = 0
        while total - start > columns:
            limit = start + columns
            found = bisect_right(points, limit) - 1
            if found >= 0 and points[found] > start:
                cut = points[found]
            else:
                cut = limit
                atom = bisect_right(atom_starts, cut) - 1
                if atom >= 0 and atoms[atom][0] < cut < atoms[atom][1]:
                    # A badge never splits: it starts the next line, or fills this one if wider than a line.
                    cut = atoms[atom][0] if atoms[atom][0] > start else atoms[atom][1]
            if cut >= total:
                break
            line_starts.append(cut)
            start = cut
    placed: list[tuple[int, int, int, int, int]] = []
    for run, ((first, end), (_, breakable, *_text)) in enumerate(zip(spans, widths, strict=False)):
        line = bisect_right(line_starts, first) - 1
        if not breakable:
            placed.append((run, 0, end - first, line, first - line_starts[line]))
            continue
        position = first
        while position < end:
            line_end = line_starts[line + 1] if line + 1 < len(line_starts) else total
            take_to = min(end, line_end)
            if take_to > position:
                placed.append((run, position - first, take_to - first, line, position - line_starts[line]))
            position = take_to
            line += 1
    return placed


def wrapped_line_count(widths: Sequence[tuple[int, bool]], columns: int) -> int:
    """How many visual lines ``wrap_runs`` needs, without building the placement when everything fits."""
    if sum(run[0] for run in widths) <= columns:
        return 1
    placed = wrap_runs(widths, columns)
    return placed[-1][3] + 1 if placed else 1
