"""Syntax colouring off the UI thread: pygments lexes in a child process fed by one worker thread (in the thread
itself where no child can run); spans return by a queued Qt signal. Nothing here paints or touches widgets."""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

from pygments.lexer import Lexer
from pygments.lexers import BashLexer, get_lexer_for_filename, guess_lexer
from pygments.lexers.special import TextLexer
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from PySide6.QtCore import QObject, Signal, SignalInstance

from app.domain.diff_types import FileDiff
from app.ui.palette import COLOUR_TYPES, colour_type

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
# The GIL switch interval while the lexing thread runs. Every call from Qt into Python (a paint, a timer, a scroll)
# and many Qt calls from Python give up the GIL and take it back; with a busy thread holding it, each take waits the
# whole interval (5 ms by default): lexing in the thread, a 5 ms paint became 40-80 ms. The child process does the
# lexing now, but the thread still builds documents and (un)pickles slices, and lexes itself where no child runs.
# At 0.5 ms a paint stays near its own cost; an idle UI thread asks nobody to let go, so the thread loses nothing.
_SWITCH_INTERVAL_WHILE_LEXING_S = 0.0005


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
        painted_as = colour_type(token_type) if value else None
        if painted_as is None:
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
                filling.extend((index - line_start, min(end, line_end) - line_start, token_id(painted_as)))
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
# The coloured types come first, in a fixed order: their numbers are the same in the lexing child process.
_token_types: list[_TokenType] = list(COLOUR_TYPES)
_token_ids: dict[_TokenType, int] = {token_type: number for number, token_type in enumerate(_token_types)}


def token_id(token_type: _TokenType) -> int:
    """A small int standing for a pygments token type; the same in every thread for the whole process, and the
    same in every process for the palette's types (spans_by_line only stores those)."""
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
                for key, line_spans in zip(keys[reported:done], spans[reported:done], strict=False)
                if line_spans and key is not None
            }
            reported = done
            if piece and deliver is not None:
                deliver({side: piece}, False)

        line_spans = spans_by_line(lexer, lines, is_stale, progress if deliver is not None else None)
        if line_spans is None:
            return None
        colours[side] = {key: spans for key, spans in zip(keys, line_spans, strict=False) if spans and key is not None}
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


# Lexes documents for a file: (path, sample to choose the lexer, documents, is_stale, deliver) -> colours or None.
LexDocuments = Callable[[str, str, dict[str, Document], IsStale, "Deliver | None"], "SideColours | None"]


def lex_here(
    path: str, sample: str, documents: dict[str, Document], is_stale: IsStale, deliver: Deliver | None
) -> SideColours | None:
    """Lex in the calling thread (tests, commands, and when no child process can run)."""
    return colour_documents(choose_lexer(path, sample), documents, is_stale, deliver)


def colour_diff(
    diff: FileDiff,
    old_text: str | None = None,
    new_text: str | None = None,
    is_stale: IsStale = _never_stale,
    window: dict[str, list[tuple[int, str]]] | None = None,
    deliver: Deliver | None = None,
    margin: dict[str, list[tuple[int, str]]] | None = None,
    lex: LexDocuments = lex_here,
) -> SideColours | None:
    """All colours of a diff. With ``window`` (side -> (line key, text) on screen now) those lines are lexed and
    delivered first on their own, then the ``margin`` lines around them; then the whole documents follow,
    delivered in slices from the top."""
    if diff.is_binary:
        return {}
    sample = diff_sample(diff, old_text, new_text)
    for lines in (window, margin):
        if lines and deliver is not None:
            # Lexed out of context (a window can start inside a docstring): close enough until the full pass lands.
            documents = {
                side: ([text for _, text in items], [key for key, _ in items]) for side, items in lines.items() if items
            }
            first = lex(diff.path, sample, documents, is_stale, None)
            if first is None:
                return None
            deliver(first, False)
    documents = diff_documents(diff, old_text, new_text, is_stale)
    if documents is None:
        return None
    return lex(diff.path, sample, documents, is_stale, deliver)


# --- lexing in a child process ------------------------------------------------------------------------------------
#
# pygments is pure Python: lexing in a thread holds the GIL, and every paint, timer and scroll of the UI thread waits
# for it (5 ms a time by default). A child process lexes on the other core instead; the worker thread only sends
# lines and receives spans, in slices small enough that (un)pickling them never holds the GIL for long.
#
# Frames both ways: 4-byte big-endian length, then a pickle. Parent -> child: ("begin", id, path, sample),
# ("lines", id, side, lines), ("go", id), ("cancel", id). Child -> parent: ("spans", id, side, first line, spans),
# then ("end", id) or ("cancelled", id).

_FRAME = struct.Struct(">I")
# Lines per frame sent to the child: a slice pickles in about a millisecond.
_SEND_LINES = 8192
# How often the worker thread checks that its request is still wanted while the child lexes.
_POLL_S = 0.02
# A child that takes longer than this to acknowledge a cancel is stuck: it is killed and a new one starts.
_CANCEL_TIMEOUT_S = 5.0


class _ChildFailed(Exception):
    """The lexing child process is gone or broken; lex in this process instead."""


def _write_frame(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> Any:
    header = _read_exact(fd, _FRAME.size)
    if header is None:
        return None
    body = _read_exact(fd, _FRAME.unpack(header)[0])
    return None if body is None else pickle.loads(body)


def serve_lexing(requests: int = 0, replies: int = 1) -> None:
    """The child process's loop: lexing requests on fd ``requests``, spans on fd ``replies``, until end of input."""
    pending: tuple[int, str, str, dict[str, list[str]]] | None = None
    while True:
        message = _read_frame(requests)
        if message is None:
            return
        kind, request = message[0], message[1]
        if kind == "begin":
            pending = (request, message[2], message[3], {})
        elif kind == "lines" and pending is not None and pending[0] == request:
            pending[3].setdefault(message[2], []).extend(message[3])
        elif kind == "go" and pending is not None and pending[0] == request:
            _, path, sample, documents = pending
            pending = None
            if not _lex_request(requests, replies, request, path, sample, documents):
                return
        elif kind in ("go", "cancel"):
            pending = None
            _write_frame(replies, ("cancelled", request))


def _lex_request(
    requests: int, replies: int, request: int, path: str, sample: str, documents: dict[str, list[str]]
) -> bool:
    """Lex one request in the child, sending slices as they are done; False when the parent has gone."""
    state = {"cancelled": False, "parent_gone": False}

    def is_stale() -> bool:
        # While a request runs the parent sends nothing but a cancel.
        if not state["cancelled"] and select.select([requests], [], [], 0)[0]:
            state["cancelled"] = True
            state["parent_gone"] = _read_frame(requests) is None
        return state["cancelled"]

    try:
        lexer = choose_lexer(path, sample)
        for side, lines in documents.items():
            sent = 0

            def progress(done: int, spans: list[LineSpans], side: str = side) -> None:
                nonlocal sent
                _write_frame(replies, ("spans", request, side, sent, spans[sent:done]))
                sent = done

            spans = spans_by_line(lexer, lines, is_stale, progress)
            if spans is None:
                break
            progress(len(spans), spans)
    except OSError:
        return False
    except Exception:
        # A lexer bug costs this file its colours (what was sent stays), not the process.
        log.exception("syntax colouring failed in the lexing process")
    if state["parent_gone"]:
        return False
    _write_frame(replies, ("cancelled" if state["cancelled"] else "end", request))
    return True


class _LexProcess:
    """The one lexing child process: started with the first view, used by the lexing thread, ended at exit.

    Only the thread holding ``_in_use`` touches the pipes, so their descriptors are never closed (and perhaps
    reused for another file) under a request that is still writing to them.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._request = 0
        # Windows pipes do not work with select; frozen builds have no interpreter to start: lex in a thread there.
        self._unavailable = sys.platform == "win32" or bool(getattr(sys, "frozen", False)) or not sys.executable
        self._stopped = False
        self._in_use = threading.RLock()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def start(self) -> bool:
        """Start the child if it is not running; False when it cannot run (then lex in this process)."""
        if not self._in_use.acquire(blocking=False):
            return True  # a request is running: the lexing thread restarts the child itself if it has to
        try:
            if self._process is not None and self._process.poll() is None:
                return True
            if self._unavailable or self._stopped:
                return False
            self._close()
            package_root = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-c", "from app.ui.syntax import serve_lexing; serve_lexing()"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    bufsize=0,
                    env=env,
                )
            except OSError:
                log.warning("cannot start the lexing process; colouring in this process", exc_info=True)
                self._unavailable = True
                return False
            if not _stop_at_exit_registered:
                _register_stop_at_exit()
            return True
        finally:
            self._in_use.release()

    def lex(
        self, path: str, sample: str, documents: dict[str, Document], is_stale: IsStale, deliver: Deliver | None
    ) -> SideColours | None:
        with self._in_use:
            if not self.start():
                raise _ChildFailed("no lexing process")
            process = self._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            try:
                return self._lex(
                    process.stdin.fileno(), process.stdout.fileno(), path, sample, documents, is_stale, deliver
                )
            except (OSError, _ChildFailed) as error:
                self._kill()
                if isinstance(error, _ChildFailed):
                    raise
                raise _ChildFailed(str(error)) from error

    def _lex(
        self,
        to_child: int,
        from_child: int,
        path: str,
        sample: str,
        documents: dict[str, Document],
        is_stale: IsStale,
        deliver: Deliver | None,
    ) -> SideColours | None:
        self._request += 1
        request = self._request
        _write_frame(to_child, ("begin", request, path, sample))
        for side, (lines, _) in documents.items():
            for first in range(0, len(lines), _SEND_LINES):
                if is_stale():
                    return self._cancel(to_child, from_child, request)
                _write_frame(to_child, ("lines", request, side, lines[first : first + _SEND_LINES]))
        _write_frame(to_child, ("go", request))
        colours: SideColours = {side: {} for side in documents}
        while True:
            if is_stale():
                return self._cancel(to_child, from_child, request)
            if not select.select([from_child], [], [], _POLL_S)[0]:
                continue
            message = _read_frame(from_child)
            if message is None:
                if not self._stopped:
                    # It survives lexer bugs, so this is something it will not get over (it cannot even start).
                    self._unavailable = True
                raise _ChildFailed("the lexing process ended")
            if message[1] != request:
                continue
            if message[0] == "end":
                return colours
            if message[0] == "cancelled":
                return None
            _, _, side, first, spans = message
            keys = documents[side][1][first : first + len(spans)]
            piece = {
                key: line_spans for key, line_spans in zip(keys, spans, strict=False) if line_spans and key is not None
            }
            colours[side].update(piece)
            if piece and deliver is not None:
                deliver({side: piece}, False)

    def _cancel(self, to_child: int, from_child: int, request: int) -> None:
        """Tell the child to drop ``request`` and read what it still sends until it confirms."""
        _write_frame(to_child, ("cancel", request))
        deadline = time.monotonic() + _CANCEL_TIMEOUT_S
        while time.monotonic() < deadline:
            if not select.select([from_child], [], [], _POLL_S)[0]:
                continue
            message = _read_frame(from_child)
            if message is None:
                break
            if message[1] == request and message[0] in ("end", "cancelled"):
                return None
        self._kill()
        return None

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        self._close()

    def _close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """End the child (it leaves when its input closes); at exit. A request still running ends with it: the
        child is killed, and the lexing thread, seeing its pipes end, closes them itself."""
        self._stopped = True
        if self._in_use.acquire(timeout=1.0):
            try:
                self._close()
            finally:
                self._in_use.release()
        elif self._process is not None and self._process.poll() is None:
            self._process.kill()


_lex_process = _LexProcess()
_stop_at_exit_registered = False


def _register_stop_at_exit() -> None:
    global _stop_at_exit_registered
    _stop_at_exit_registered = True
    atexit.register(_lex_process.stop)


def lex_in_child(
    path: str, sample: str, documents: dict[str, Document], is_stale: IsStale, deliver: Deliver | None
) -> SideColours | None:
    """Lex in the child process; if it cannot run or breaks, in this thread (and say so once in the log)."""
    try:
        return _lex_process.lex(path, sample, documents, is_stale, deliver)
    except _ChildFailed as error:
        if _lex_process.stopped:
            return None
        log.warning("lexing process unavailable (%s); colouring in this process", error)
        return lex_here(path, sample, documents, is_stale, deliver)


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
        interval_before = sys.getswitchinterval()
        sys.setswitchinterval(min(interval_before, _SWITCH_INTERVAL_WHILE_LEXING_S))
        try:
            self._serve()
        finally:
            sys.setswitchinterval(interval_before)

    def _serve(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                client, generation, token, work = self._pending.pop(next(iter(self._pending)))

            def is_stale(client=client, generation=generation) -> bool:
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
        # Started now, so pygments is imported in the child before the first diff arrives (once per process).
        _lex_process.start()

    def request_diff(
        self,
        token: object,
        diff: FileDiff,
        old_text: str | None = None,
        new_text: str | None = None,
        window: dict[str, list[tuple[int, str]]] | None = None,
        margin: dict[str, list[tuple[int, str]]] | None = None,
    ) -> int:
        """Colour ``diff``: the ``window`` lines (side -> (line key, text)) first, then the ``margin`` lines, then
        everything in slices."""
        return self._submit(
            token,
            lambda is_stale, deliver: colour_diff(
                diff, old_text, new_text, is_stale, window, deliver, margin, lex=lex_in_child
            ),
        )

    def request_command(self, token: object, command: str) -> int:
        return self._submit(token, lambda is_stale, deliver: colour_command(command, is_stale))

    def cancel(self) -> None:
        self.generation += 1

    def _submit(self, token: object, work: Work) -> int:
        self.generation += 1
        _worker.submit(self, self.generation, token, work)
        return self.generation
