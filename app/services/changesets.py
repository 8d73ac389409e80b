"""Changesets as a service: what an agent changed in its worktree (``changeset_of``), and merging exactly the approved
hunks into the real workspace (``merge``), refusing with the conflicting files when the workspace changed under it.

The small API delegation calls too: ``open_worktree`` (re-exported), ``changeset_of``, ``merge``. Every path from the
worktree is hostile input: '..', symbolic links, .git and .signoff are refused. No Qt here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.domain import hunks
from app.domain.changeset import ChangesetDiff, ChangesetPathError, FileMerge, build, check_path
from app.domain.records import ChangedFile, sha256_or_none
from app.services.apply import write_files_atomically
from app.services.workspace import MAX_FILE_BYTES, ToolInputError, Workspace
from app.services.worktrees import Worktree, WorktreeError, open_worktree, remove_worktree

__all__ = [
    "Changeset",
    "ConflictFile",
    "MergeConflict",
    "MergeResult",
    "Refused",
    "changeset_of",
    "merge",
    "merge_approved",
    "open_worktree",
    "remove_worktree",
]

_LINK_MODES = ("120000", "160000")


@dataclass(frozen=True)
class Refused:
    path: str
    why: str


@dataclass(frozen=True)
class Changeset:
    """Every file the agent changed in its worktree against its base, as one diff; paths that may not be merged are
    listed in ``refused`` and left out."""

    diff: ChangesetDiff
    refused: tuple[Refused, ...]
    base_commit: str

    @property
    def empty(self) -> bool:
        return not self.diff.files


@dataclass(frozen=True)
class ConflictFile:
    """A file the workspace changed under the changeset: its bytes at the base, now, and as proposed."""

    path: str
    base: bytes | None
    now: bytes | None
    proposed: bytes | None
    why: str


class MergeConflict(Exception):
    """The workspace changed under the changeset; nothing was written."""

    def __init__(self, conflicts: list[ConflictFile]) -> None:
        self.conflicts = conflicts
        names = ", ".join(conflict.path for conflict in conflicts)
        super().__init__(f"The workspace changed under the changeset ({names}); nothing was merged.")


@dataclass(frozen=True)
class MergeResult:
    # path -> the bytes now in the workspace (None: deleted), for every file the merge wrote.
    written: dict[str, bytes | None]
    # Files a resumed merge found already written (an earlier run died after writing them).
    already: tuple[str, ...]


# ------------------------------------------------------------------------------------------------------ reading


def changeset_of(tree: Worktree) -> Changeset:
    """What the agent changed in ``tree`` since its base: tracked changes, deletions and new files not ignored."""
    raw = tree.git("diff", "--raw", "-z", "--no-renames", "--no-abbrev", tree.base_commit)
    candidates: dict[str, str] = {}
    fields = raw.split(b"\0")
    for header, name in zip(fields[0::2], fields[1::2], strict=False):
        if not header.startswith(b":"):
            continue
        old_mode, new_mode = header[1:].split(b" ")[:2]
        path = os.fsdecode(name)
        candidates[path] = "link" if old_mode.decode() in _LINK_MODES or new_mode.decode() in _LINK_MODES else ""
    for name in tree.git("ls-files", "--others", "--exclude-standard", "-z").split(b"\0"):
        if name:
            candidates.setdefault(os.fsdecode(name), "")
    refused: list[Refused] = []
    wanted: list[str] = []
    for path, link in sorted(candidates.items()):
        why = _refusal(tree.path, path, link)
        if why is not None:
            refused.append(Refused(path, why))
        else:
            wanted.append(path)
    old_contents = _base_contents(tree, wanted)
    files = []
    for path in wanted:
        target = tree.path / path
        new = target.read_bytes() if target.exists() else None
        files.append(ChangedFile(path, old_contents.get(path), new))
    return Changeset(build(files), tuple(refused), tree.base_commit)


def _refusal(root: Path, path: str, link: str) -> str | None:
    try:
        clean = check_path(path)
    except ChangesetPathError as err:
        return str(err)
    if link:
        return f"{clean} is (or was) a symbolic link or submodule; a changeset carries regular files only."
    current = root
    for part in clean.split("/"):
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(mode):
            return f"{clean} goes through a symbolic link; a changeset carries regular files only."
    if not stat.S_ISREG(mode):
        return f"{clean} is not a regular file."
    if current.stat().st_size > MAX_FILE_BYTES:
        return f"{clean} is over the {MAX_FILE_BYTES:,}-byte limit for a reviewed file."
    return None


def _base_contents(tree: Worktree, paths: list[str]) -> dict[str, bytes]:
    """The paths' bytes in the base commit (absent paths are left out), read in one `git cat-file --batch`."""
    if not paths:
        return {}
    request = "".join(f"{tree.base_commit}:{path}\n" for path in paths).encode()
    out = tree.git("cat-file", "--batch", stdin=request)
    contents: dict[str, bytes] = {}
    position = 0
    for path in paths:
        end = out.index(b"\n", position)
        header = out[position:end].split(b" ")
        position = end + 1
        if header[-1] == b"missing" or len(header) < 3:
            continue
        size = int(header[2])
        if header[1] == b"blob":
            contents[path] = out[position : position + size]
        position += size + 1
    return contents


# ------------------------------------------------------------------------------------------------------ merging


def merge_approved(workspace_root: str | os.PathLike[str], diff: ChangesetDiff, approved: Iterable[int]) -> MergeResult:
    """Merge the hunks numbered in ``approved`` (0-based, across the changeset) and nothing else."""
    return merge(workspace_root, diff, hunks.verdicts_for(sorted(set(approved)), diff.hunk_count))


def merge(
    workspace_root: str | os.PathLike[str], diff: ChangesetDiff, verdicts: Iterable[hunks.HunkVerdict]
) -> MergeResult:
    """Write exactly the approved and edited hunks into the workspace, all or nothing up front: every file is checked
    against the changeset's base first (MergeConflict, nothing written, when one differs). A file already holding
    its merged bytes (a merge that died half way) is not written again. Raises HunkError for verdicts that do not
    fit, ChangesetPathError for a path that may not be written."""
    workspace = Workspace(workspace_root)
    merges = diff.merges(verdicts)
    by_path = {changed.path: changed for changed in diff.files}
    conflicts: list[ConflictFile] = []
    to_write: list[FileMerge] = []
    already: list[str] = []
    for planned in merges:
        _check_writable(workspace, planned.path)
        now = _current(workspace, planned.path)
        now_hash = sha256_or_none(now)
        if now_hash == planned.target_hash and now_hash != planned.base_hash:
            already.append(planned.path)
            continue
        if now_hash != planned.base_hash:
            conflicts.append(
                ConflictFile(planned.path, by_path[planned.path].old, now, planned.content, _why(planned, now))
            )
            continue
        to_write.append(planned)
    if conflicts:
        raise MergeConflict(conflicts)
    written: dict[str, bytes | None] = {}
    # One last look right before writing: a file changed since the check above is a conflict, nothing written.
    late = [p for p in to_write if sha256_or_none(_current(workspace, p.path)) != p.base_hash]
    if late:
        raise MergeConflict(
            [
                ConflictFile(
                    p.path,
                    by_path[p.path].old,
                    _current(workspace, p.path),
                    p.content,
                    _why(p, _current(workspace, p.path)),
                )
                for p in late
            ]
        )
    write_files_atomically(workspace.root, [(p.path, p.content) for p in to_write if p.content is not None])
    for planned in to_write:
        if planned.content is None:
            (workspace.root / planned.path).unlink(missing_ok=True)
        written[planned.path] = planned.content
    for path in already:
        written[path] = next(m.content for m in merges if m.path == path)
    return MergeResult(written, tuple(already))


def _current(workspace: Workspace, path: str) -> bytes | None:
    try:
        return (workspace.root / path).read_bytes()
    except FileNotFoundError:
        return None


def _why(planned: FileMerge, now: bytes | None) -> str:
    if planned.base_hash is None:
        return f"{planned.path} was created in the workspace since the changeset began."
    if now is None:
        return f"{planned.path} was deleted in the workspace since the changeset began."
    return f"{planned.path} was changed in the workspace since the changeset began."


def _check_writable(workspace: Workspace, path: str) -> None:
    """Refuse a path that is hostile in the real workspace: outside it, through a symbolic link, into .git."""
    clean = check_path(path)
    try:
        resolved = workspace.resolve(clean, for_write=True)
    except ToolInputError as err:
        raise ChangesetPathError(str(err)) from None
    if resolved.relative != clean:
        raise ChangesetPathError(f"{clean} goes through a symbolic link in the workspace; it is not merged.")
    current = workspace.root
    for part in clean.split("/"):
        current = current / part
        if current.is_symlink():
            raise ChangesetPathError(f"{clean} goes through a symbolic link in the workspace; it is not merged.")
    if current.exists() and not current.is_file():
        raise ChangesetPathError(f"{clean} is a folder (or not a regular file) in the workspace; it is not merged.")


def describe_conflict(conflict: MergeConflict) -> str:
    """The conflict view as text: per file, why, then base vs now vs proposed (as diffs from the base)."""
    from app.domain.diffing import compute_diff

    parts = [str(conflict)]
    for item in conflict.conflicts:
        parts.append(f"\n== {item.path}: {item.why}")
        for label, content in (("now in the workspace", item.now), ("proposed", item.proposed)):
            if item.base == content:
                parts.append(f"-- base -> {label}: unchanged")
                continue
            if item.base is None and content is None:
                continue
            text = compute_diff(item.base, content, item.path).text if (item.base or content) is not None else ""
            parts.append(f"-- base -> {label}:\n{text.rstrip()}")
    return "\n".join(parts) + "\n"


__all__ += ["describe_conflict", "WorktreeError", "ChangesetPathError"]
