"""Syntax colouring off the UI thread: pygments lexes in one worker thread, spans return by a queued Qt signal.
Plain lexing functions and the worker; nothing here paints or touches widgets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from pygments.lexer import Lexer
from pygments.lexers import BashLexer, get_lexer_for_filename, guess_lexer
from pygments.lexers.special import TextLexer
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from PySide6.QtCore import QObject, Signal, SignalInstance

from app.core.diff_types import FileDiff
from app.ui.palette import has_colour

log = logging.getLogger(__name__)

LineSpans = tuple[tuple[int, int, _TokenType], ...]
# side ("old", "new", "command") -> line key (line number; index for commands) -> coloured spans
SideColours = dict[str, dict[int, LineSpans]]
# A document to lex: its lines and each line's key; None keys are filler lines nobody shows.
Document = tuple[list[str], list[int | None]]
IsStale = Callable[[], bool]

# Guessing reads only the start: every lexer's analyse_text runs over the sample.
_SAMPLE_CHARS = 4096
# Below this analyse_text score a content guess is noise (prose guessed as "scdoc", Python as "Tera Term macro"):
# plain text beats wrong colours. Shebangs, XML/HTML prologues and diffs score well above it.
_GUESS_CONFIDENCE = 0.3
# How many tokens pass between checks that the request is still wanted.
_STALE_CHECK_EVERY = 2048


def _never_stale() -> bool:
    return False


def choose_lexer(path: str, sample: str) -> Lexer:
    """Lexer by file name, then by shebang or content, then plain text."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    sample = sample[:_SAMPLE_CHARS]
    try:
        return get_lexer_for_filename(name, code=sample)
    except ClassNotFound:
        pass
    if sample.strip():
        try:
            guessed = guess_lexer(sample)
        except ClassNotFound:
            pass
        else:
            if guessed.analyse_text(sample) >= _GUESS_CONFIDENCE:
                return guessed
    return TextLexer()


def spans_by_line(lexer: Lexer, lines: Sequence[str], is_stale: IsStale = _never_stale) -> list[LineSpans] | None:
    """Coloured token spans of each line, as (start, end, token type) in the line's characters; None if stale."""
    if not lines:
        return []
    text = "\n".join(lines) + "\n"
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    spans: list[list[tuple[int, int, _TokenType]]] = [[] for _ in lines]
    last_line = len(lines) - 1
    line = 0
    for count, (index, token_type, value) in enumerate(lexer.get_tokens_unprocessed(text)):
        if count % _STALE_CHECK_EVERY == 0 and is_stale():
            return None
        if not value or not has_colour(token_type):
            continue
        end = index + len(value)
        # A token may run over several lines (docstrings, block comments): cut it at each newline.
        while index < end:
            while line < last_line and starts[line + 1] <= index:
                line += 1
            line_start = starts[line]
            line_end = line_start + len(lines[line])
            if index < line_end:
                spans[line].append((index - line_start, min(end, line_end) - line_start, token_type))
            if end <= line_end or line >= last_line:
                break
            index = line_end + 1
    return [tuple(line_spans) for line_spans in spans]


def diff_documents(diff: FileDiff, old_text: str | None = None, new_text: str | None = None) -> dict[str, Document]:
    """Each side's text to lex: the full text when given (keys are line numbers), else rebuilt from the hunks."""
    documents: dict[str, Document] = {}
    for side, full_text in (("old", old_text), ("new", new_text)):
        if full_text is not None:
            lines = [line.removesuffix("\r") for line in full_text.split("\n")]
            documents[side] = (lines, list(range(1, len(lines) + 1)))
    rebuilt: dict[str, Document] = {side: ([], []) for side in ("old", "new") if side not in documents}
    for hunk in diff.hunks if rebuilt else ():
        for lines, numbers in rebuilt.values():
            if lines:
                # A blank line between hunks lets a lexer recover from a construct the gap cut in half.
                lines.append("")
                numbers.append(None)
        for line in hunk.lines:
            if line.origin != "+" and "old" in rebuilt:
                rebuilt["old"][0].append(line.text)
                rebuilt["old"][1].append(line.old_lineno)
            if line.origin != "-" and "new" in rebuilt:
                rebuilt["new"][0].append(line.text)
                rebuilt["new"][1].append(line.new_lineno)
    documents.update(rebuilt)
    return {side: document for side, document in documents.items() if any(document[0])}


def colour_documents(
    lexer: Lexer, documents: dict[str, Document], is_stale: IsStale = _never_stale
) -> SideColours | None:
    """Lex each document; None if the request went stale on the way."""
    colours: SideColours = {}
    for side, (lines, keys) in documents.items():
        line_spans = spans_by_line(lexer, lines, is_stale)
        if line_spans is None:
            return None
        colours[side] = {key: spans for key, spans in zip(keys, line_spans) if spans and key is not None}
    return colours


def colour_diff(
    diff: FileDiff, old_text: str | None = None, new_text: str | None = None, is_stale: IsStale = _never_stale
) -> SideColours | None:
    if diff.is_binary:
        return {}
    documents = diff_documents(diff, old_text, new_text)
    sample = next((document[0] for side in ("new", "old") if (document := documents.get(side))), [])
    lexer = choose_lexer(diff.path, "\n".join(sample[:200]))
    return colour_documents(lexer, documents, is_stale)


def colour_command(command: str, is_stale: IsStale = _never_stale) -> SideColours | None:
    lines = [line.removesuffix("\r") for line in command.split("\n")]
    return colour_documents(BashLexer(), {"command": (lines, list(range(len(lines))))}, is_stale)


@dataclass(frozen=True, slots=True)
class Colouring:
    """One finished request: who asked, for what, and the spans."""

    client: SyntaxColourer
    generation: int
    token: object
    colours: SideColours

    @property
    def is_current(self) -> bool:
        return self.client.generation == self.generation


class _Relay(QObject):
    # Lives in the UI thread for the whole process, so the worker never emits on an object a view deleted.
    finished = Signal(object)


_relay: _Relay | None = None


def colour_results() -> SignalInstance:
    """The signal every finished Colouring arrives on; connect with a queued connection and filter by client."""
    global _relay
    if _relay is None:
        _relay = _Relay()
    return _relay.finished


class _LexWorker:
    """One lexing thread at a time (the UI thread needs the other core); it ends as soon as nothing is pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # client id -> its newest job; a newer request replaces an older one, so nobody waits behind stale work.
        self._pending: dict[int, tuple[SyntaxColourer, int, object, Callable[[IsStale], SideColours | None]]] = {}
        self._thread: threading.Thread | None = None

    def submit(self, client: SyntaxColourer, generation: int, token: object, work) -> None:
        with self._lock:
            self._pending.pop(id(client), None)
            self._pending[id(client)] = (client, generation, token, work)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="signoff-lexer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                client, generation, token, work = self._pending.pop(next(iter(self._pending)))

            def is_stale() -> bool:
                return client.generation != generation

            if is_stale():
                continue
            try:
                colours = work(is_stale)
            except Exception:
                # A lexer bug must not take colouring down for good: this request shows as plain text.
                log.exception("syntax colouring failed; showing plain text")
                colours = {}
            if colours is not None and not is_stale():
                colour_results().emit(Colouring(client, generation, token, colours))


_worker = _LexWorker()


class SyntaxColourer:
    """One view's colouring requests: each supersedes the last, and a stale one is stopped mid-lex."""

    def __init__(self) -> None:
        colour_results()  # the relay must be born in the UI thread, before any worker emits on it
        self.generation = 0

    def request_diff(
        self, token: object, diff: FileDiff, old_text: str | None = None, new_text: str | None = None
    ) -> int:
        return self._submit(token, lambda is_stale: colour_diff(diff, old_text, new_text, is_stale))

    def request_command(self, token: object, command: str) -> int:
        return self._submit(token, lambda is_stale: colour_command(command, is_stale))

    def cancel(self) -> None:
        self.generation += 1

    def _submit(self, token: object, work: Callable[[IsStale], SideColours | None]) -> int:
        self.generation += 1
        _worker.submit(self, self.generation, token, work)
        return self.generation
