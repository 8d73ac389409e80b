"""Syntax colouring off the UI thread: pygments lexes in one worker thread, spans return by a queued Qt signal.
Plain lexing functions and the worker; nothing here paints or touches widgets."""

from __future__ import annotations

import logging
import threading
import time
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

# One line's coloured spans, flattened: (start, end, token id, start, end, token id, ...). Plain ints, so the
# garbage collector stops tracking them: a million nested (start, end, token) tuples made every full collection
# walk them all, and those pauses landed on the UI thread.
LineSpans = tuple[int, ...]
# side ("old", "new", "command") -> line key (line number; index for commands) -> coloured spans
SideColours = dict[str, dict[int, LineSpans]]
# A document to lex: its lines and each line's key; None keys are filler lines nobody shows.
Document = tuple[list[str], list[int | None]]
IsStale = Callable[[], bool]
# Hands over colours while a request runs: (colours, final?).
Deliver = Callable[[SideColours, bool], None]

# Guessing reads only the start: every lexer's analyse_text runs over the sample.
_SAMPLE_CHARS = 4096
# Below this analyse_text score a content guess is noise (prose guessed as "scdoc", Python as "Tera Term macro"):
# plain text beats wrong colours. Shebangs, XML/HTML prologues and diffs score well above it.
_GUESS_CONFIDENCE = 0.3
# How many tokens pass between checks that the request is still wanted.
_STALE_CHECK_EVERY = 2048
# How long the lexer rests after handing over a slice, so the UI thread can take the GIL and paint it.
_PAUSE_AFTER_SLICE_S = 0.015
# A long document's colours are handed over in slices of this many lines, top first, while the rest is lexed.
PROGRESS_LINES = 6000


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


def spans_by_line(
    lexer: Lexer,
    lines: Sequence[str],
    is_stale: IsStale = _never_stale,
    progress: Callable[[int, list[LineSpans]], None] | None = None,
) -> list[LineSpans] | None:
    """Coloured token spans of each line (see LineSpans; decode_spans reads them); None if stale.

    ``progress(done, spans)`` is called now and then with the count of lines whose spans are final, so a long
    document can be shown coloured from the top while the rest is still being lexed.
    """
    if not lines:
        return []
    text = "\n".join(lines) + "\n"
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    # Finished lines only, as int tuples; the line being filled lives in ``filling`` (no list per line for the
    # collector to walk).
    spans: list[LineSpans] = [()] * len(lines)
    filling: list[int] = []
    filling_line = 0
    last_line = len(lines) - 1
    line = 0
    next_report = PROGRESS_LINES
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
                if line != filling_line:
                    if filling:
                        spans[filling_line] = tuple(filling)
                        filling = []
                    filling_line = line
                filling.extend((index - line_start, min(end, line_end) - line_start, token_id(token_type)))
            if end <= line_end or line >= last_line:
                break
            index = line_end + 1
        if progress is not None and line >= next_report:
            # Tokens arrive in order: every line before the current one has all its spans.
            progress(min(line, filling_line), spans)
            next_report = line + PROGRESS_LINES
    if filling:
        spans[filling_line] = tuple(filling)
    return spans


_token_lock = threading.Lock()
_token_ids: dict[_TokenType, int] = {}
_token_types: list[_TokenType] = []


def token_id(token_type: _TokenType) -> int:
    """A small int standing for a pygments token type; the same in every thread for the whole process."""
    found = _token_ids.get(token_type)
    if found is None:
        with _token_lock:
            found = _token_ids.get(token_type)
            if found is None:
                _token_types.append(token_type)
                found = _token_ids[token_type] = len(_token_types) - 1
    return found


def token_type(token: int) -> _TokenType:
    return _token_types[token]


def decode_spans(line_spans: LineSpans) -> list[tuple[int, int, _TokenType]]:
    """(start, end, token type) triples of one line's spans."""
    return [
        (line_spans[at], line_spans[at + 1], _token_types[line_spans[at + 2]]) for at in range(0, len(line_spans), 3)
    ]


def encode_spans(triples: Sequence[tuple[int, int, _TokenType]]) -> LineSpans:
    return tuple(value for start, end, kind in triples for value in (start, end, token_id(kind)))


def diff_documents(
    diff: FileDiff, old_text: str | None = None, new_text: str | None = None, is_stale: IsStale = _never_stale
) -> dict[str, Document] | None:
    """Each side's text to lex: the full text when given (keys are line numbers), else rebuilt from the hunks.
    None if the request went stale while the documents were built (100k lines take a while)."""
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
        for first in range(0, len(hunk.lines), _STALE_CHECK_EVERY * 4):
            if first and is_stale():
                return None
            for line in hunk.lines[first : first + _STALE_CHECK_EVERY * 4]:
                if line.origin != "+" and "old" in rebuilt:
                    rebuilt["old"][0].append(line.text)
                    rebuilt["old"][1].append(line.old_lineno)
                if line.origin != "-" and "new" in rebuilt:
                    rebuilt["new"][0].append(line.text)
                    rebuilt["new"][1].append(line.new_lineno)
    documents.update(rebuilt)
    return {side: document for side, document in documents.items() if any(document[0])}


def colour_documents(
    lexer: Lexer,
    documents: dict[str, Document],
    is_stale: IsStale = _never_stale,
    deliver: Deliver | None = None,
) -> SideColours | None:
    """Lex each document; None if the request went stale on the way. ``deliver`` gets slices as they are ready."""
    colours: SideColours = {}
    for side, (lines, keys) in documents.items():
        reported = 0

        def progress(done: int, spans, side=side, keys=keys) -> None:
            nonlocal reported
            piece = {
                key: line_spans
                for key, line_spans in zip(keys[reported:done], spans[reported:done])
                if line_spans and key is not None
            }
            reported = done
            if piece and deliver is not None:
                deliver({side: piece}, False)

        line_spans = spans_by_line(lexer, lines, is_stale, progress if deliver is not None else None)
        if line_spans is None:
            return None
        colours[side] = {key: spans for key, spans in zip(keys, line_spans) if spans and key is not None}
    return colours


def diff_sample(diff: FileDiff, old_text: str | None, new_text: str | None) -> str:
    """The start of the newest text available, for choosing a lexer, without walking the whole diff."""
    for text in (new_text, old_text):
        if text:
            return text[:_SAMPLE_CHARS]
    sample: list[str] = []
    for hunk in diff.hunks:
        sample.extend(line.text for line in hunk.lines[: 200 - len(sample)] if line.origin != "-")
        if len(sample) >= 200:
            break
    return "\n".join(sample)


def colour_diff(
    diff: FileDiff,
    old_text: str | None = None,
    new_text: str | None = None,
    is_stale: IsStale = _never_stale,
    window: dict[str, list[tuple[int, str]]] | None = None,
    deliver: Deliver | None = None,
) -> SideColours | None:
    """All colours of a diff. With ``window`` (side -> (line key, text) on screen now) those lines are lexed and
    delivered first on their own; then the whole documents follow, delivered in slices from the top."""
    if diff.is_binary:
        return {}
    lexer = choose_lexer(diff.path, diff_sample(diff, old_text, new_text))
    if window and deliver is not None:
        # Lexed out of context (a window can start inside a docstring): close enough until the full pass lands.
        window_documents = {
            side: ([text for _, text in items], [key for key, _ in items]) for side, items in window.items() if items
        }
        first = colour_documents(lexer, window_documents, is_stale)
        if first is None:
            return None
        deliver(first, False)
    documents = diff_documents(diff, old_text, new_text, is_stale)
    if documents is None:
        return None
    return colour_documents(lexer, documents, is_stale, deliver)


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
    # False for a slice (the visible lines, or the next lines from the top); True for the whole, which replaces them.
    final: bool = True

    @property
    def is_current(self) -> bool:
        return self.client.generation == self.generation


# A job for the lexing thread: gets a staleness test and a way to hand over slices, returns the final colours.
Work = Callable[[IsStale, Deliver], "SideColours | None"]


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
        self._pending: dict[int, tuple[SyntaxColourer, int, object, Work]] = {}
        self._thread: threading.Thread | None = None

    def submit(self, client: SyntaxColourer, generation: int, token: object, work: Work) -> None:
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

            def deliver(colours: SideColours, final: bool, client=client, generation=generation, token=token) -> None:
                if client.generation == generation:
                    colour_results().emit(Colouring(client, generation, token, colours, final))
                    if not final:
                        # Step off the GIL for a moment: the UI thread paints these colours now, not in 5 ms
                        # slices between ours.
                        time.sleep(_PAUSE_AFTER_SLICE_S)

            try:
                colours = work(is_stale, deliver)
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
        self,
        token: object,
        diff: FileDiff,
        old_text: str | None = None,
        new_text: str | None = None,
        window: dict[str, list[tuple[int, str]]] | None = None,
    ) -> int:
        """Colour ``diff``: the ``window`` lines (side -> (line key, text)) first, then everything in slices."""
        return self._submit(
            token, lambda is_stale, deliver: colour_diff(diff, old_text, new_text, is_stale, window, deliver)
        )

    def request_command(self, token: object, command: str) -> int:
        return self._submit(token, lambda is_stale, deliver: colour_command(command, is_stale))

    def cancel(self) -> None:
        self.generation += 1

    def _submit(self, token: object, work: Work) -> int:
        self.generation += 1
        _worker.submit(self, self.generation, token, work)
        return self.generation
