"""The diff view's row model: hunks as display rows built on demand, line pairing, paint segments.
Pure computation: no Qt, no painting, nothing proportional to the diff's size until asked."""

from __future__ import annotations

import enum
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.diff_types import DiffLine, FileDiff
from app.core.diffing import intraline_spans

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


_KIND_BY_ORIGIN = {" ": RowKind.CONTEXT, "+": RowKind.ADDED, "-": RowKind.REMOVED}


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


def row_for_line(line: DiffLine) -> Row:
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
    )


class DiffRows(Sequence[Row]):
    """Random access to a diff's rows (a header per hunk, then its lines) without building them all up front."""

    def __init__(self, diff: FileDiff) -> None:
        self.diff = diff
        self._hunks = diff.hunks
        self._starts: list[int] = []
        count = 0
        for hunk in self._hunks:
            self._starts.append(count)
            count += 1 + len(hunk.lines)
        self._count = count
        self.max_lineno = max(
            (max(h.old_start + h.old_lines, h.new_start + h.new_lines) - 1 for h in self._hunks), default=0
        )
        self._origin_strings: dict[int, str] = {}
        self._highlights: dict[int, tuple[Span, ...]] = {}

    def __len__(self) -> int:
        return self._count

    def locate(self, index: int) -> tuple[int, int]:
        """(hunk index, line index within the hunk) of a row; line index -1 is the hunk's header."""
        if not 0 <= index < self._count:
            raise IndexError(index)
        hunk_index = bisect_right(self._starts, index) - 1
        return hunk_index, index - self._starts[hunk_index] - 1

    def __getitem__(self, index: int) -> Row:  # type: ignore[override]
        if index < 0:
            index += self._count
        hunk_index, line_index = self.locate(index)
        hunk = self._hunks[hunk_index]
        if line_index < 0:
            return Row(kind=RowKind.HUNK, text=hunk.header.rstrip("\r\n"))
        return row_for_line(hunk.lines[line_index])

    def widest_columns(self, tab_width: int = TAB_WIDTH) -> int:
        """The widest line in display columns, tabs expanded (cut at MAX_DISPLAY_CHARS)."""
        widest = 0
        for hunk in self._hunks:
            texts = [line.text for line in hunk.lines]
            if not texts:
                continue
            widest = max(widest, max(map(len, texts)))
            # One joined search is far cheaper than a per-line test when, as usual, there are no tabs at all.
            if "\t" in "\n".join(texts):
                widest = max(widest, max(len(text.expandtabs(tab_width)) for text in texts if "\t" in text))
        return min(widest, MAX_DISPLAY_CHARS)

    def partner(self, index: int) -> int | None:
        """The row a changed row pairs with: the n-th removed line of a run with the n-th added line after it."""
        hunk_index, line_index = self.locate(index)
        if line_index < 0:
            return None
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
        return self._starts[hunk_index] + 1 + partner_line if found else None

    def highlights(self, index: int) -> tuple[Span, ...]:
        """Changed character ranges of a paired row, computed when first asked and then kept."""
        cached = self._highlights.get(index)
        if cached is not None:
            return cached
        partner = self.partner(index)
        spans: tuple[Span, ...] = ()
        partner_spans: tuple[Span, ...] = ()
        if partner is not None:
            row, other = self[index], self[partner]
            old, new = (row, other) if row.kind is RowKind.REMOVED else (other, row)
            old_spans, new_spans = paired_highlights(old.text, new.text)
            spans, partner_spans = (old_spans, new_spans) if old is row else (new_spans, old_spans)
            self._highlights[partner] = partner_spans
        self._highlights[index] = spans
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
    """A shell command's rows: its working directory, then one row per line of the command."""

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

    def widest_columns(self, tab_width: int = TAB_WIDTH) -> int:
        widest = max((len(line.expandtabs(tab_width)) for line in self.lines), default=0)
        return min(widest, MAX_DISPLAY_CHARS)

    def highlights(self, index: int) -> tuple[Span, ...]:
        return ()


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
    length: int, syntax_spans: Sequence[tuple[int, int, object]], highlight_spans: Sequence[Span]
) -> list[tuple[int, int, object | None, bool]]:
    """Split a line of ``length`` chars into runs of (start, end, token type or None, highlighted)."""
    cuts = {0, length}
    for start, end, _ in syntax_spans:
        cuts.update((min(start, length), min(end, length)))
    for start, end in highlight_spans:
        cuts.update((min(start, length), min(end, length)))
    ordered = sorted(cuts)
    segments: list[tuple[int, int, object | None, bool]] = []
    syntax_at = highlight_at = 0
    for start, end in zip(ordered, ordered[1:]):
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
        if segments and segments[-1][2] is token_type and segments[-1][3] == highlighted:
            segments[-1] = (segments[-1][0], end, token_type, highlighted)
        else:
            segments.append((start, end, token_type, highlighted))
    return segments
