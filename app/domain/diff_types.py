"""Plain data for one file's diff: hunks, lines and the exact git-style patch. Built by ``diffing``; no Qt, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DiffLine:
    # ' ' context, '+' added, '-' removed
    origin: str
    old_lineno: int | None
    new_lineno: int | None
    # Exact bytes of the line including its line ending ('\n', '\r\n', or none at end of file).
    raw: bytes
    # The line for display: decoded as UTF-8 with replacement marks, line ending stripped.
    text: str
    # True when this line is the last of its side and has no final newline.
    no_newline_at_end: bool = False


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    # added | modified | deleted | unchanged
    status: str
    is_binary: bool
    old_size: int
    new_size: int
    # The git-style patch exactly; `git apply` of it on the old bytes gives the new bytes.
    patch: bytes
    lines_added: int
    lines_removed: int
    hunks: tuple[Hunk, ...] = field(default_factory=tuple)
    # For binary files: a one-line human summary (sizes, type); empty for text.
    binary_summary: str = ""

    @property
    def text(self) -> str:
        """The patch for display: UTF-8 with replacement marks for invalid bytes."""
        return self.patch.decode("utf-8", errors="replace")
