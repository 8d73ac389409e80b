"""A changeset: every file an agent touched in its worktree, as one diff judged hunk by hunk across files.

Pure: hunks are numbered across the whole changeset (file order, then hunk order), so the existing per-hunk verdicts
(app.domain.hunks, 0-based ``hunk``) address them; a binary file or a deletion is one unit judged as a whole.
No I/O, no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from app.domain.diff_types import DiffLine, FileDiff, Hunk
from app.domain.diffing import compute_diff
from app.domain.hunks import APPROVE, EDIT, REJECT, HunkError, HunkVerdict, apply_verdicts, check_verdicts
from app.domain.records import ChangedFile, sha256_or_none

CHANGESET_KIND = "changeset"
# Folders an agent's changeset may never write into: git's own data and Signoff's per-workspace settings.
FORBIDDEN_PARTS = (".git",)
FORBIDDEN_TOP = (".signoff",)


class ChangesetPathError(ValueError):
    """A path in a changeset that must not be merged; the message says why."""


def check_path(path: str) -> str:
    """``path`` as a clean workspace-relative posix path, or ChangesetPathError (absolute, '..', .git, .signoff)."""
    if not isinstance(path, str) or not path or "\x00" in path or "\n" in path or "\\" in path:
        raise ChangesetPathError(f"{path!r} is not a plain relative path.")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise ChangesetPathError(f"{path} is an absolute path.")
    parts = pure.parts
    if any(part in ("..", ".") for part in path.split("/")) or not parts:
        raise ChangesetPathError(f"{path} climbs out of the workspace ('..').")
    if any(part in FORBIDDEN_PARTS for part in parts):
        raise ChangesetPathError(f"{path} is inside .git, which a changeset may not change.")
    if parts[0] in FORBIDDEN_TOP:
        raise ChangesetPathError(f"{path} is inside .signoff (Signoff's settings), which a changeset may not change.")
    return pure.as_posix()


@dataclass(frozen=True)
class Unit:
    """What one changeset-wide hunk number judges: hunk ``local`` of file ``file``, or the whole file (None)."""

    file: int
    local: int | None


@dataclass(frozen=True)
class FileMerge:
    """What merging writes for one file: ``content`` over ``base_hash`` (None content: delete it)."""

    path: str
    base_hash: str | None
    content: bytes | None
    proposed: bytes | None

    @property
    def target_hash(self) -> str | None:
        return sha256_or_none(self.content)


@dataclass(frozen=True)
class ChangesetDiff:
    files: tuple[ChangedFile, ...]
    diffs: tuple[FileDiff, ...]
    units: tuple[Unit, ...]

    @property
    def hunk_count(self) -> int:
        return len(self.units)

    @property
    def lines_added(self) -> int:
        return sum(diff.lines_added for diff in self.diffs)

    @property
    def lines_removed(self) -> int:
        return sum(diff.lines_removed for diff in self.diffs)

    def unit_title(self, index: int) -> str:
        unit = self.units[index]
        changed, diff = self.files[unit.file], self.diffs[unit.file]
        if unit.local is None:
            return f"{changed.path} · {whole_file_words(changed, diff)}"
        return f"{changed.path} · {diff.hunks[unit.local].header}"

    @property
    def shown_text(self) -> str:
        """Exactly what the reviewer is shown: every file's git-style patch, in order (binary files summarised)."""
        parts = []
        for changed, diff in zip(self.files, self.diffs, strict=True):
            if diff.is_binary:
                parts.append(f"diff --git a/{changed.path} b/{changed.path}\n{diff.binary_summary}\n")
            else:
                text = diff.text
                parts.append(text if text.endswith("\n") or not text else text + "\n")
        return "".join(parts)

    def as_file_diff(self) -> FileDiff:
        """The whole changeset as one FileDiff whose hunks are the units in order (headers name their file), for a
        diff view that shows and judges hunks; line numbers stay each file's own."""
        shown: list[Hunk] = []
        for index, unit in enumerate(self.units):
            changed, diff = self.files[unit.file], self.diffs[unit.file]
            if unit.local is not None:
                hunk = diff.hunks[unit.local]
                shown.append(
                    Hunk(
                        hunk.old_start,
                        hunk.old_lines,
                        hunk.new_start,
                        hunk.new_lines,
                        self.unit_title(index),
                        hunk.lines,
                    )
                )
            elif diff.hunks and not diff.is_binary:
                lines = tuple(line for hunk in diff.hunks for line in hunk.lines)
                first = diff.hunks[0]
                shown.append(Hunk(first.old_start, len(lines), first.new_start, 0, self.unit_title(index), lines))
            else:
                words = whole_file_words(changed, diff)
                line = DiffLine("+", None, 1, words.encode("utf-8") + b"\n", words)
                shown.append(Hunk(0, 0, 1, 1, self.unit_title(index), (line,)))
        return FileDiff(
            path=f"{len(self.files)} file{'' if len(self.files) == 1 else 's'}",
            status="modified",
            is_binary=False,
            old_size=sum(len(f.old or b"") for f in self.files),
            new_size=sum(len(f.new or b"") for f in self.files),
            patch=self.shown_text.encode("utf-8"),
            lines_added=self.lines_added,
            lines_removed=self.lines_removed,
            hunks=tuple(shown),
        )

    def merges(self, verdicts: Iterable[HunkVerdict]) -> list[FileMerge]:
        """What the verdicts write: per file, its base plus exactly the approved and edited hunks; files whose every
        unit was rejected are left alone. Raises HunkError when the verdicts do not fit."""
        by_unit = check_verdicts(verdicts, self.hunk_count)
        merges: list[FileMerge] = []
        for file_index, (changed, diff) in enumerate(zip(self.files, self.diffs, strict=True)):
            numbers = [i for i, unit in enumerate(self.units) if unit.file == file_index]
            chosen = [by_unit[i] for i in numbers]
            if all(v.verdict == REJECT for v in chosen):
                continue
            if self.units[numbers[0]].local is None:
                if chosen[0].verdict == EDIT:
                    raise HunkError(
                        f"Hunk {numbers[0] + 1} ({whole_file_words(changed, diff)} {changed.path}) can only be "
                        "approved or rejected as a whole."
                    )
                merges.append(FileMerge(changed.path, changed.base_hash, changed.new, changed.new))
                continue
            local = [
                HunkVerdict(self.units[i].local or 0, v.verdict, v.reason, v.edited)
                for i, v in zip(numbers, chosen, strict=True)
            ]
            result = apply_verdicts(changed.old, diff, local)
            merges.append(FileMerge(changed.path, changed.base_hash, result.content, changed.new))
        return merges


def whole_file_words(changed: ChangedFile, diff: FileDiff) -> str:
    if diff.is_binary:
        return f"binary file {changed.status}: {diff.binary_summary}"
    if changed.new is None:
        return "file deleted"
    return f"file {changed.status}, no lines to judge"


def build(files: Sequence[ChangedFile]) -> ChangesetDiff:
    """The changeset of ``files`` (sorted by path, unchanged ones dropped), its diffs and its numbered units."""
    ordered = sorted((f for f in files if f.old != f.new), key=lambda f: f.path)
    diffs = tuple(compute_diff(f.old, f.new, f.path) for f in ordered)
    units: list[Unit] = []
    for index, (changed, diff) in enumerate(zip(ordered, diffs, strict=True)):
        if diff.is_binary or changed.new is None or not diff.hunks:
            units.append(Unit(index, None))
        else:
            units.extend(Unit(index, local) for local in range(len(diff.hunks)))
    return ChangesetDiff(tuple(ordered), diffs, tuple(units))


def verdict_summary(verdicts: Iterable[HunkVerdict]) -> str:
    """approve when every unit is approved, reject when every unit is rejected, else edit (a partial merge)."""
    kinds = {v.verdict for v in verdicts}
    if kinds == {APPROVE}:
        return APPROVE
    if kinds == {REJECT}:
        return REJECT
    return EDIT
