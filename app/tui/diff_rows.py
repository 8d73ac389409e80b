"""A proposal as rows of syntax-coloured terminal text: the unified diff with its hunks and folds, or the command.

Builds rich Text from the domain's diff (app.domain.diffing); draws nothing and holds no widget, so the rows are
tested without a terminal. Hidden characters are shown as visible badges, never passed through.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from app.domain.diff_types import FileDiff, Hunk
from app.domain.diffing import compute_diff
from app.domain.hunks import HunkVerdict
from app.domain.records import ProposalRecord

THEME = "monokai"
ADDED_BG = "#12361c"
REMOVED_BG = "#3f1518"
CURRENT_HUNK = Style(bold=True, color="black", bgcolor="#d7af5f")
HUNK_HEADER = Style(color="#5fafd7", bgcolor="#1c2733")
FOLD = Style(color="#8a8a8a", italic=True)
BADGE = Style(color="black", bgcolor="#ff5f5f", bold=True)
VERDICT_STYLE = {"approve": "bold green", "reject": "bold red", "edit": "bold yellow"}
VERDICT_WORD = {"approve": "approved", "reject": "rejected", "edit": "edited"}


@dataclass(frozen=True)
class Row:
    text: Text
    # header | hunk | line | fold | note
    kind: str
    hunk: int | None = None
    fold: int | None = None
    # The row's background when it is a changed line (drawn to the right edge).
    background: str | None = None


@dataclass(frozen=True)
class Fold:
    """Unchanged old-file lines between hunks (or before the first / after the last), hidden until expanded."""

    index: int
    old_first: int  # 1-based
    count: int
    # new line number = old line number + offset inside this region
    offset: int


def _visible(text: str) -> Text:
    """The line with format characters (bidi controls, zero-width) shown as red badges naming them."""
    if text.isascii():
        return Text(text)
    out = Text()
    for char in text:
        if unicodedata.category(char) == "Cf":
            out.append(f"⟨U+{ord(char):04X}⟩", BADGE)
        else:
            out.append(char)
    return out


def has_hidden_characters(text: str) -> bool:
    return not text.isascii() and any(unicodedata.category(char) == "Cf" for char in text)


@lru_cache(maxsize=256)
def _lexer_for(path: str) -> str:
    try:
        return Syntax.guess_lexer(path, code="") or "text"
    except Exception:  # pygments knows no lexer for this name: plain text, never an error on screen
        return "text"


def highlighted(lines: list[str], lexer: str) -> list[Text]:
    """Each line coloured as part of its block (a string that spans lines keeps its colour), hidden characters
    made visible. Lines with format characters are shown as badges without colouring."""
    if not lines:
        return []
    if lexer == "text" or any(has_hidden_characters(line) for line in lines):
        return [_visible(line) for line in lines]
    code = "\n".join(lines)
    syntax = Syntax(code, lexer, theme=THEME, background_color="default")
    coloured = syntax.highlight(code).split("\n", allow_blank=True)
    coloured = coloured[: len(lines)]
    while len(coloured) < len(lines):
        coloured.append(Text(lines[len(coloured)]))
    for line in coloured:
        line.rstrip()
        line.end = ""
    return list(coloured)


@dataclass
class ProposalView:
    """What the diff pane shows for one proposal, and its state: expanded folds and per-hunk verdicts."""

    proposal: ProposalRecord
    flags: frozenset[str] = frozenset()
    diff: FileDiff | None = None
    folds: list[Fold] = field(default_factory=list)
    expanded: set[int] = field(default_factory=set)
    verdicts: dict[int, HunkVerdict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        p = self.proposal
        if p.kind == "changeset":
            from app.domain.changeset import build

            # Every file as one diff, its hunks numbered across files as `signoff show` numbers them.
            self.diff = build(p.changeset_files).as_file_diff()
        elif p.kind != "command":
            self.diff = compute_diff(p.old_content, p.new_content, p.path or "file")
            self.folds = _folds(self.diff, p.old_content)

    @property
    def hunks(self) -> tuple[Hunk, ...]:
        return self.diff.hunks if self.diff is not None else ()

    @property
    def judged_by_hunk(self) -> bool:
        """Per-hunk verdicts apply to a changed text file with content on the new side."""
        return bool(self.hunks) and (self.proposal.new_content is not None or self.proposal.kind == "changeset")

    def rows(self, current_hunk: int | None = None) -> list[Row]:
        rows = [Row(self._title(), "header")]
        rows += [Row(Text(note, style="bold red"), "note") for note in self._warnings()]
        p = self.proposal
        if p.kind == "command":
            folder = p.workspace_root.rstrip("/").rsplit("/", 1)[-1]
            where = folder if p.cwd in (None, "", ".") else f"{folder}/{p.cwd}"
            rows.append(Row(Text(f"runs in {where}", style="dim"), "header"))
            shown = ["$ " + line if i == 0 else "  " + line for i, line in enumerate(_lines(p))]
            rows += [Row(line, "line") for line in highlighted(shown, "bash")]
            return rows
        diff = self.diff
        assert diff is not None
        if diff.is_binary:
            rows.append(Row(Text(diff.binary_summary or "Binary file", style="italic"), "note"))
            return rows
        if not diff.hunks:
            rows.append(Row(Text("No change to the file's content.", style="italic"), "note"))
            return rows
        lexer = _lexer_for(p.path or "")
        old_lines = _decoded_lines(p.old_content)
        by_position = {fold.index: fold for fold in self.folds}
        for index, hunk in enumerate(diff.hunks):
            if index in by_position:
                rows += self._fold_rows(by_position[index], old_lines, lexer)
            rows.append(self._hunk_header(index, hunk, current_hunk))
            rows += _hunk_rows(index, hunk, lexer)
        last = len(diff.hunks)
        if last in by_position:
            rows += self._fold_rows(by_position[last], old_lines, lexer)
        return rows

    def _title(self) -> Text:
        p = self.proposal
        title = Text()
        title.append(f"#{p.id} ", "bold")
        if p.kind == "command":
            title.append("command", "bold magenta")
        else:
            title.append(p.target if p.kind == "changeset" else f"{p.kind} {p.path}", "bold cyan")
            title.append(f"  +{p.lines_added}", "green")
            title.append(f" -{p.lines_removed}", "red")
        title.append(f"  · session {p.session_id} · {p.status}", "dim")
        return title

    def _warnings(self) -> list[str]:
        notes = []
        shown = self.proposal.shown_text
        if "hidden" in self.flags or has_hidden_characters(shown):
            notes.append("⚠ Hidden or deceptive characters: they are shown as red badges.")
        if "conflict" in self.flags:
            notes.append("⚠ The file changed since this was proposed: applying it will report a conflict.")
        if "outside-policy" in self.flags:
            notes.append("⚠ Outside this workspace's policy.")
        return notes

    def _hunk_header(self, index: int, hunk: Hunk, current_hunk: int | None) -> Row:
        text = Text()
        is_current = index == current_hunk
        text.append("▶ " if is_current else "  ", CURRENT_HUNK if is_current else HUNK_HEADER)
        text.append(f"Hunk {index + 1}/{len(self.hunks)} {hunk.header.strip()}", HUNK_HEADER)
        verdict = self.verdicts.get(index)
        if verdict is not None:
            text.append(f"  [{VERDICT_WORD[verdict.verdict]}", VERDICT_STYLE[verdict.verdict])
            if verdict.reason:
                text.append(f": {verdict.reason}", VERDICT_STYLE[verdict.verdict])
            text.append("]", VERDICT_STYLE[verdict.verdict])
        return Row(text, "hunk", hunk=index)

    def _fold_rows(self, fold: Fold, old_lines: list[str], lexer: str) -> list[Row]:
        if fold.index not in self.expanded:
            label = f"  ⋯ {fold.count} unchanged line{'s' if fold.count != 1 else ''} (x expands)"
            return [Row(Text(label, FOLD), "fold", fold=fold.index)]
        first = fold.old_first
        texts = highlighted(old_lines[first - 1 : first - 1 + fold.count], lexer)
        rows = []
        for number, body in enumerate(texts, start=first):
            line = Text(f"{number:>4} {number + fold.offset:>4}   ", "dim")
            line.append_text(body)
            rows.append(Row(line, "line", fold=fold.index))
        return rows


def _lines(proposal: ProposalRecord) -> list[str]:
    return (proposal.command or "").splitlines() or [""]


def _decoded_lines(content: bytes | None) -> list[str]:
    if not content:
        return []
    return content.decode("utf-8", errors="replace").splitlines()


def _hunk_rows(index: int, hunk: Hunk, lexer: str) -> list[Row]:
    old_side = [line for line in hunk.lines if line.origin in " -"]
    new_side = [line for line in hunk.lines if line.origin in " +"]
    old_texts = highlighted([line.text for line in old_side], lexer)
    new_texts = highlighted([line.text for line in new_side], lexer)
    coloured = {}
    for line, text in zip(old_side, old_texts, strict=True):
        if line.origin == "-":
            coloured[id(line)] = text
    for line, text in zip(new_side, new_texts, strict=True):
        coloured[id(line)] = text
    rows = []
    for line in hunk.lines:
        old = "" if line.old_lineno is None else str(line.old_lineno)
        new = "" if line.new_lineno is None else str(line.new_lineno)
        background = {"+": ADDED_BG, "-": REMOVED_BG}.get(line.origin)
        sign_style = {"+": "bold green", "-": "bold red"}.get(line.origin, "dim")
        text = Text(f"{old:>4} {new:>4} ", "dim")
        text.append(f"{line.origin} ", sign_style)
        text.append_text(coloured[id(line)])
        if line.no_newline_at_end:
            text.append(" ⏎̸", "dim")
        if background:
            text.stylize(Style(bgcolor=background))
        rows.append(Row(text, "line", hunk=index, background=background))
    return rows


def _folds(diff: FileDiff, old_content: bytes | None) -> list[Fold]:
    """The unchanged stretches of the old file that the hunks' context does not show; an unchanged line's new number
    is its old number plus the net lines added by the hunks above it."""
    if diff.is_binary or not diff.hunks or old_content is None:
        return []
    total = len(_decoded_lines(old_content))
    folds = []
    next_old = 1
    offset = 0
    for index, hunk in enumerate(diff.hunks):
        # A hunk with no old lines sits *after* its old_start line.
        first_in_hunk = hunk.old_start if hunk.old_lines else hunk.old_start + 1
        if first_in_hunk > next_old:
            folds.append(Fold(index, next_old, first_in_hunk - next_old, offset))
        next_old = first_in_hunk + hunk.old_lines
        offset += hunk.new_lines - hunk.old_lines
    if total >= next_old:
        folds.append(Fold(len(diff.hunks), next_old, total - next_old + 1, offset))
    return folds
