"""Exact git-style diffs of one file's bytes through libgit2 (patience), plus word-level intraline spans.
Pure computation: no Qt, no file or network I/O, never difflib."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from app.domain.diff_types import DiffLine, FileDiff, Hunk

# Patience anchors on lines unique to both sides, so a moved block shows as one removal plus one addition
# instead of interleaved noise; libgit2 has no histogram algorithm. The indent heuristic slides ambiguous
# hunk boundaries to where a reader expects them (whole functions, not "}\n\nfoo() {").


def _patch(old: bytes | None, new: bytes | None, *, binary: bool = False, **options: Any) -> Any:
    """libgit2's patch of two byte strings. pygit2 is imported on the first diff: commands that never show one
    (approve, queue) start without it."""
    from pygit2 import Patch
    from pygit2.enums import DiffOption

    flags = DiffOption.PATIENCE | DiffOption.INDENT_HEURISTIC | (DiffOption.FORCE_BINARY if binary else 0)
    return Patch.create_from(old, new, flag=flags, **options)


# The window core git and libgit2 both scan for a NUL byte to call a file binary.
_BINARY_SNIFF_BYTES = 8000

# Above this many characters a pair of lines is shown as wholly changed: the LCS is quadratic.
INTRALINE_MAX_CHARS = 2000
# Token-matrix bound for the LCS after common prefix/suffix are stripped, to keep one pair under ~10 ms.
_INTRALINE_MAX_CELLS = 40_000


# One diff per proposal: the review pane, the deceptive-character scan and per-hunk validation all ask for the same
# proposal's diff; keyed by proposal id and a hash of both contents, so a changed content never gets a stale diff.
_CACHE_SIZE = 32
_cache: OrderedDict[tuple[int, str, str], FileDiff] = OrderedDict()
_cache_lock = threading.Lock()


def _content_key(content: bytes | None) -> str:
    return "none" if content is None else hashlib.blake2b(content, digest_size=16).hexdigest()


def proposal_diff(proposal_id: int, old: bytes | None, new: bytes | None, path: str) -> FileDiff:
    """``compute_diff`` for a proposal, computed once and kept for the last few proposals (any thread may ask)."""
    key = (proposal_id, f"{path}\0{_content_key(old)}", _content_key(new))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    diff = compute_diff(old, new, path)
    with _cache_lock:
        _cache[key] = diff
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return diff


def compute_diff(old: bytes | None, new: bytes | None, path: str, *, context_lines: int = 3) -> FileDiff:
    """Diff ``old`` against ``new`` for ``path`` (repository-relative, '/'-separated).

    ``old`` None means the file is new, ``new`` None means it is deleted. The returned patch applies with
    ``git apply`` (``-p1``) to the old bytes and gives the new bytes exactly; binary files get a
    "Binary files ... differ" patch and a human ``binary_summary`` instead of hunks. With
    ``context_lines=0`` git needs ``git apply --unidiff-zero``.
    """
    old = _as_bytes(old, "old", "compute_diff")
    new = _as_bytes(new, "new", "compute_diff")
    if old is None and new is None:
        raise ValueError(f"compute_diff({path!r}): old and new are both None; one side must have content")
    if not isinstance(path, str) or not path:
        raise ValueError(f"compute_diff: path must be a non-empty string, got {path!r}")
    if context_lines < 0:
        raise ValueError(f"compute_diff({path!r}): context_lines must be >= 0, got {context_lines}")

    old_size = len(old) if old is not None else 0
    new_size = len(new) if new is not None else 0
    if old is None:
        status = "added"
    elif new is None:
        status = "deleted"
    elif old == new:
        status = "unchanged"
    else:
        status = "modified"

    looks_binary = _looks_binary(old) or _looks_binary(new)
    if status == "unchanged":
        return FileDiff(
            path=path,
            status=status,
            is_binary=looks_binary,
            old_size=old_size,
            new_size=new_size,
            patch=b"",
            lines_added=0,
            lines_removed=0,
            binary_summary=binary_summary(old, new) if looks_binary else "",
        )

    patch = _patch(old, new, binary=looks_binary, old_as_path=path, new_as_path=path, context_lines=context_lines)
    if patch.delta.is_binary:
        return FileDiff(
            path=path,
            status=status,
            is_binary=True,
            old_size=old_size,
            new_size=new_size,
            patch=patch.data,
            lines_added=0,
            lines_removed=0,
            binary_summary=binary_summary(old, new),
        )

    hunks = tuple(_convert_hunk(hunk) for hunk in patch.hunks)
    _context, added, removed = patch.line_stats
    return FileDiff(
        path=path,
        status=status,
        is_binary=False,
        old_size=old_size,
        new_size=new_size,
        patch=patch.data,
        lines_added=added,
        lines_removed=removed,
        hunks=hunks,
    )


def diff_stats(old: bytes | None, new: bytes | None) -> tuple[int, int]:
    """(lines added, lines removed) without building hunks; (0, 0) for binary or identical content."""
    old = _as_bytes(old, "old", "diff_stats")
    new = _as_bytes(new, "new", "diff_stats")
    if old == new or _looks_binary(old) or _looks_binary(new):
        return (0, 0)
    patch = _patch(old, new, context_lines=0)
    if patch.delta.is_binary:
        return (0, 0)
    _context, added, removed = patch.line_stats
    return (added, removed)


def _as_bytes(content: bytes | bytearray | memoryview | None, side: str, caller: str) -> bytes | None:
    if content is None or type(content) is bytes:
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    raise TypeError(f"{caller}: {side} content must be bytes or None, got {type(content).__name__}")


def _looks_binary(content: bytes | None) -> bool:
    return content is not None and b"\0" in content[:_BINARY_SNIFF_BYTES]


def _convert_hunk(hunk: Any) -> Hunk:
    lines: list[DiffLine] = []
    for line in hunk.lines:
        origin = line.origin
        # libgit2 reports "\ No newline at end of file" as its own pseudo-lines ('=', '>', '<'); the flag on
        # the line itself carries the same fact.
        if origin not in (" ", "+", "-"):
            continue
        raw = line.raw_content
        lines.append(
            DiffLine(
                origin=origin,
                old_lineno=line.old_lineno if line.old_lineno > 0 else None,
                new_lineno=line.new_lineno if line.new_lineno > 0 else None,
                raw=raw,
                text=_display_text(raw),
                no_newline_at_end=not raw.endswith(b"\n"),
            )
        )
    return Hunk(
        old_start=hunk.old_start,
        old_lines=hunk.old_lines,
        new_start=hunk.new_start,
        new_lines=hunk.new_lines,
        header=hunk.header.rstrip("\r\n"),
        lines=tuple(lines),
    )


def _display_text(raw: bytes) -> str:
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------------------------- binary summary

# (prefix at offset 0, label); longer and more specific signatures first.
_MAGIC_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"(\xb5/\xfd", "Zstandard archive"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    (b"\x00asm", "WebAssembly module"),
    (b"\x00\x00\x01\x00", "ICO icon"),
    (b"wOFF", "WOFF font"),
    (b"wOF2", "WOFF2 font"),
    (b"OTTO", "OpenType font"),
    (b"\x00\x01\x00\x00\x00", "TrueType font"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
    (b"BM", "BMP image"),
)


def describe_binary(content: bytes | None) -> str:
    """A short file-type label from well-known magic numbers ("PNG image"); "" when unknown."""
    if not content:
        return ""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "WebP image"
    if content[:4] == b"RIFF" and content[8:12] == b"WAVE":
        return "WAV audio"
    if content[4:8] == b"ftyp":
        return "MP4/QuickTime media"
    if content[257:262] == b"ustar":
        return "tar archive"
    for prefix, label in _MAGIC_PREFIXES:
        if content.startswith(prefix):
            return label
    return ""


def format_size(size: int) -> str:
    """Human size with 1024 steps: "512 bytes", "1.2 KB", "3.4 MB"."""
    if size == 1:
        return "1 byte"
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def binary_summary(old: bytes | None, new: bytes | None) -> str:
    """One line for a binary change: "binary file, 1.2 KB → 3.4 KB, PNG image"."""
    if old is None and new is None:
        return "binary file"
    if old is None:
        assert new is not None
        sizes = f"new, {format_size(len(new))}"
    elif new is None:
        sizes = f"deleted, {format_size(len(old))}"
    elif old == new:
        sizes = f"unchanged, {format_size(len(new))}"
    else:
        sizes = f"{format_size(len(old))} → {format_size(len(new))}"
    old_kind = describe_binary(old)
    new_kind = describe_binary(new)
    if old is not None and new is not None and old_kind != new_kind and old_kind and new_kind:
        kind = f"{old_kind} → {new_kind}"
    else:
        kind = new_kind or old_kind
    return f"binary file, {sizes}, {kind}" if kind else f"binary file, {sizes}"


# ------------------------------------------------------------------------------------------------- intraline

# Words (letters, digits, underscore), whitespace runs, and every other character on its own.
_TOKEN_RE = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


def pair_changed_lines(hunk: Hunk) -> list[tuple[DiffLine, DiffLine]]:
    """Pair each run of '-' lines with the '+' run right after it, line by line, for intraline highlighting.

    Extra lines on either side (a run of 3 removals and 1 addition) stay unpaired.
    """
    pairs: list[tuple[DiffLine, DiffLine]] = []
    removed: list[DiffLine] = []
    added: list[DiffLine] = []

    def flush() -> None:
        pairs.extend(zip(removed, added, strict=False))
        removed.clear()
        added.clear()

    for line in hunk.lines:
        if line.origin == "-":
            if added:
                flush()
            removed.append(line)
        elif line.origin == "+":
            if removed:
                added.append(line)
        else:
            flush()
    flush()
    return pairs


def intraline_spans(old_text: str, new_text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Changed character ranges [start, end) in ``old_text`` and in ``new_text``, at word granularity.

    Lines longer than INTRALINE_MAX_CHARS come back as whole-line spans; identical lines give no spans.
    """
    if old_text == new_text:
        return ([], [])
    if len(old_text) > INTRALINE_MAX_CHARS or len(new_text) > INTRALINE_MAX_CHARS:
        return (_whole(old_text), _whole(new_text))

    old_tokens = _TOKEN_RE.findall(old_text)
    new_tokens = _TOKEN_RE.findall(new_text)

    prefix = 0
    limit = min(len(old_tokens), len(new_tokens))
    while prefix < limit and old_tokens[prefix] == new_tokens[prefix]:
        prefix += 1
    suffix = 0
    limit -= prefix
    while suffix < limit and old_tokens[-1 - suffix] == new_tokens[-1 - suffix]:
        suffix += 1

    old_middle = old_tokens[prefix : len(old_tokens) - suffix]
    new_middle = new_tokens[prefix : len(new_tokens) - suffix]
    if len(old_middle) * len(new_middle) > _INTRALINE_MAX_CELLS:
        old_changed = [True] * len(old_middle)
        new_changed = [True] * len(new_middle)
    else:
        old_changed, new_changed = _lcs_changed_flags(old_middle, new_middle)

    old_flags = [False] * prefix + old_changed + [False] * suffix
    new_flags = [False] * prefix + new_changed + [False] * suffix
    return (_spans_from_flags(old_tokens, old_flags), _spans_from_flags(new_tokens, new_flags))


def _whole(text: str) -> list[tuple[int, int]]:
    return [(0, len(text))] if text else []


def _lcs_changed_flags(old: list[str], new: list[str]) -> tuple[list[bool], list[bool]]:
    """For each token, True when it is outside one longest common subsequence of the two token lists."""
    rows, cols = len(old), len(new)
    # lengths[i][j] = LCS length of old[i:] and new[j:]
    lengths = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        row, below = lengths[i], lengths[i + 1]
        token = old[i]
        for j in range(cols - 1, -1, -1):
            if token == new[j]:
                row[j] = below[j + 1] + 1
            else:
                row[j] = below[j] if below[j] >= row[j + 1] else row[j + 1]
    old_changed = [True] * rows
    new_changed = [True] * cols
    i = j = 0
    while i < rows and j < cols:
        if old[i] == new[j]:
            old_changed[i] = new_changed[j] = False
            i += 1
            j += 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return old_changed, new_changed


def _spans_from_flags(tokens: Iterable[str], changed: list[bool]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    after_span_whitespace = False
    for token, is_changed in zip(tokens, changed, strict=False):
        end = position + len(token)
        if is_changed:
            if spans and (spans[-1][1] == position or after_span_whitespace):
                # Two changes split only by unchanged whitespace read as one change.
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((position, end))
            after_span_whitespace = False
        else:
            after_span_whitespace = bool(spans) and spans[-1][1] == position and token.isspace()
        position = end
    return spans
