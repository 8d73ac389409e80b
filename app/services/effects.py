"""What a sandboxed command changed, read from its private view of the workspace, and applying the granted part.

Capture never touches the real workspace; apply writes only the captured changes it is given, never through a symlink
and never outside the workspace. No Qt here.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

CREATED = "created"
MODIFIED = "modified"
DELETED = "deleted"
MODE = "mode"
_WHITEOUT_XATTR = "trusted.overlay.opaque"
_DIFF_LIMIT_BYTES = 64 * 1024
_SHOWN_MAX = 40


@dataclass(frozen=True)
class Effect:
    path: str  # workspace-relative, '/'-separated
    change: str  # created | modified | deleted | mode
    kind: str  # file | dir | symlink | special
    mode: int | None = None
    old_mode: int | None = None
    sha256: str | None = None
    size: int | None = None
    # The link's target for symlinks; a unified diff for small text files (for the person reviewing it).
    link: str | None = None
    diff: str | None = None

    @property
    def label(self) -> str:
        if self.change == MODE:
            return f"{self.path} (mode {_octal(self.old_mode)} -> {_octal(self.mode)})"
        what = "" if self.kind == "file" else f" ({self.kind})"
        return f"{self.path}{what} {self.change}"

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def _octal(mode: int | None) -> str:
    return "?" if mode is None else oct(stat.S_IMODE(mode))[2:]


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special"


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _same_bytes(a: Path, b: Path, size: int) -> bool:
    if size != os.lstat(b).st_size:
        return False
    with open(a, "rb") as left, open(b, "rb") as right:
        while True:
            chunk = left.read(1 << 20)
            if chunk != right.read(1 << 20):
                return False
            if not chunk:
                return True


def _described(path: str, change: str, new: Path, old: Path | None) -> Effect:
    """An effect on a file, link or folder, with what a person needs to judge it."""
    st = os.lstat(new)
    kind = _kind(st.st_mode)
    old_st = _lstat(old) if old is not None else None
    old_mode = old_st.st_mode if old_st is not None else None
    if kind == "symlink":
        return Effect(path, change, kind, st.st_mode, old_mode, link=os.readlink(new))
    if kind != "file":
        return Effect(path, change, kind, st.st_mode, old_mode)
    digest = hashlib.sha256()
    with open(new, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return Effect(
        path, change, kind, st.st_mode, old_mode, digest.hexdigest(), st.st_size, diff=_diff(path, old, new, st)
    )


def _diff(path: str, old: Path | None, new: Path, st: os.stat_result) -> str | None:
    if st.st_size > _DIFF_LIMIT_BYTES:
        return None
    before = b""
    if old is not None and (old_st := _lstat(old)) is not None and stat.S_ISREG(old_st.st_mode):
        if old_st.st_size > _DIFF_LIMIT_BYTES:
            return None
        before = old.read_bytes()
    after = new.read_bytes()
    try:
        old_lines = before.decode("utf-8").splitlines(keepends=True)
        new_lines = after.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None
    return "".join(difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}")) or None


# -- capture ---------------------------------------------------------------------------------------------------------


def capture_overlay(upper: Path, lower: Path) -> list[Effect]:
    """The changes an overlayfs upper dir holds over ``lower`` (the real workspace), in path order."""
    effects: list[Effect] = []
    _walk_upper(upper, lower, "", effects)
    return effects


def _walk_upper(upper: Path, lower: Path, prefix: str, effects: list[Effect]) -> None:
    with os.scandir(upper) as entries:
        names = sorted(entries, key=lambda e: e.name)
    for entry in names:
        rel = prefix + entry.name
        new = Path(entry.path)
        old = lower / entry.name
        st = entry.stat(follow_symlinks=False)
        old_st = _lstat(old)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            if old_st is not None:  # a whiteout: the command deleted it
                effects.append(Effect(rel, DELETED, _kind(old_st.st_mode), old_mode=old_st.st_mode))
            continue
        replaced = old_st is not None and _kind(old_st.st_mode) != _kind(st.st_mode)
        if replaced:
            effects.append(Effect(rel, DELETED, _kind(old_st.st_mode), old_mode=old_st.st_mode))
            old_st = None
        if stat.S_ISDIR(st.st_mode):
            if old_st is None:
                effects.append(Effect(rel, CREATED, "dir", st.st_mode))
                _walk_new(new, rel + "/", effects)
                continue
            if stat.S_IMODE(st.st_mode) != stat.S_IMODE(old_st.st_mode):
                effects.append(Effect(rel, MODE, "dir", st.st_mode, old_st.st_mode))
            if _opaque(new):
                # The folder was deleted and made again: whatever the old one held that the new one lacks is gone.
                _deleted_under(old, new, rel + "/", effects)
            _walk_upper(new, old, rel + "/", effects)
            continue
        if old_st is None:
            effects.append(_described(rel, CREATED, new, None))
        elif stat.S_ISLNK(st.st_mode):
            if os.readlink(new) != os.readlink(old):
                effects.append(_described(rel, MODIFIED, new, old))
        elif stat.S_ISREG(st.st_mode):
            if not _same_bytes(new, old, st.st_size):
                effects.append(_described(rel, MODIFIED, new, old))
            elif stat.S_IMODE(st.st_mode) != stat.S_IMODE(old_st.st_mode):
                effects.append(Effect(rel, MODE, "file", st.st_mode, old_st.st_mode))
        else:
            effects.append(_described(rel, MODIFIED, new, old))


def _opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, _WHITEOUT_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _deleted_under(old: Path, new: Path, prefix: str, effects: list[Effect]) -> None:
    with os.scandir(old) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if not os.path.lexists(new / entry.name):
                st = entry.stat(follow_symlinks=False)
                effects.append(Effect(prefix + entry.name, DELETED, _kind(st.st_mode), old_mode=st.st_mode))


def _walk_new(folder: Path, prefix: str, effects: list[Effect]) -> None:
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                effects.append(Effect(rel, CREATED, "dir", entry.stat(follow_symlinks=False).st_mode))
                _walk_new(Path(entry.path), rel + "/", effects)
            else:
                effects.append(_described(rel, CREATED, Path(entry.path), None))


def capture_copy(view: Path, root: Path) -> list[Effect]:
    """The changes between a copy of the workspace the command ran in (``view``) and the workspace itself."""
    effects: list[Effect] = []
    _compare(view, root, "", effects)
    return effects


def _compare(new_dir: Path, old_dir: Path, prefix: str, effects: list[Effect]) -> None:
    with os.scandir(new_dir) as entries:
        new_entries = {e.name: e for e in entries}
    with os.scandir(old_dir) as entries:
        old_entries = {e.name: e for e in entries}
    for name in sorted(set(new_entries) | set(old_entries)):
        rel = prefix + name
        new_entry, old_entry = new_entries.get(name), old_entries.get(name)
        if new_entry is None:
            st = old_entry.stat(follow_symlinks=False)
            effects.append(Effect(rel, DELETED, _kind(st.st_mode), old_mode=st.st_mode))
            continue
        new_path = Path(new_entry.path)
        st = new_entry.stat(follow_symlinks=False)
        old_st = old_entry.stat(follow_symlinks=False) if old_entry is not None else None
        if old_st is not None and _kind(old_st.st_mode) != _kind(st.st_mode):
            effects.append(Effect(rel, DELETED, _kind(old_st.st_mode), old_mode=old_st.st_mode))
            old_st = None
        if old_st is None:
            if stat.S_ISDIR(st.st_mode):
                effects.append(Effect(rel, CREATED, "dir", st.st_mode))
                _walk_new(new_path, rel + "/", effects)
            else:
                effects.append(_described(rel, CREATED, new_path, None))
            continue
        old_path = Path(old_entry.path)
        if stat.S_ISDIR(st.st_mode):
            if stat.S_IMODE(st.st_mode) != stat.S_IMODE(old_st.st_mode):
                effects.append(Effect(rel, MODE, "dir", st.st_mode, old_st.st_mode))
            _compare(new_path, old_path, rel + "/", effects)
        elif stat.S_ISLNK(st.st_mode):
            if os.readlink(new_path) != os.readlink(old_path):
                effects.append(_described(rel, MODIFIED, new_path, old_path))
        elif stat.S_ISREG(st.st_mode):
            unchanged_stat = st.st_size == old_st.st_size and st.st_mtime_ns == old_st.st_mtime_ns
            if not unchanged_stat and not _same_bytes(new_path, old_path, st.st_size):
                effects.append(_described(rel, MODIFIED, new_path, old_path))
            elif stat.S_IMODE(st.st_mode) != stat.S_IMODE(old_st.st_mode):
                effects.append(Effect(rel, MODE, "file", st.st_mode, old_st.st_mode))


# -- scope and apply ---------------------------------------------------------------------------------------------------


def in_scope(effect: Effect, *, git_writes: bool) -> bool:
    """Whether a change falls inside what running a command grants: the workspace's own files, not .signoff/, and
    .git/ only when granted; and nothing but plain files, folders and links."""
    first = PurePosixPath(effect.path).parts[0]
    if first == ".signoff" or (first == ".git" and not git_writes):
        return False
    return effect.kind != "special" or effect.change == DELETED


class ApplyRefusedError(Exception):
    """One captured change could not be applied safely; the message says why."""


def apply_effects(root: Path, source: Path, effects: list[Effect]) -> tuple[list[Effect], list[tuple[Effect, str]]]:
    """Apply captured changes from ``source`` (upper dir or copy) to the workspace at ``root`` exactly as captured.
    Returns what landed and what did not (with why); deletions go first, deepest first, then the rest in path order."""
    landed: list[Effect] = []
    failed: list[tuple[Effect, str]] = []
    deletions = sorted((e for e in effects if e.change == DELETED), key=lambda e: e.path.count("/"), reverse=True)
    others = [e for e in effects if e.change != DELETED]
    for effect in deletions + others:
        try:
            _apply_one(root, source, effect)
        except (ApplyRefusedError, OSError) as err:
            failed.append((effect, str(err)))
        else:
            landed.append(effect)
    return landed, failed


def _safe_target(root: Path, rel: str) -> Path:
    """The real path of ``rel`` under ``root``, refusing any folder on the way that is a symlink or not a folder."""
    parts = PurePosixPath(rel).parts
    if not parts or any(part in ("", ".", "..") for part in parts):
        raise ApplyRefusedError(f"{rel} is not a plain workspace path")
    current = root
    for part in parts[:-1]:
        current = current / part
        st = _lstat(current)
        if st is None or not stat.S_ISDIR(st.st_mode):
            raise ApplyRefusedError(f"{current.relative_to(root)} is not a folder in the workspace")
    return current / parts[-1]


def apply_one(root: Path, source: Path, effect: Effect) -> None:
    """Apply one captured change (a file's bytes come from ``source``); raises ApplyRefusedError or OSError."""
    _apply_one(root, source, effect)


def safe_target(root: Path, rel: str) -> Path:
    """``rel`` under ``root``, every folder on the way a real folder (never a symlink); raises ApplyRefusedError."""
    return _safe_target(root, rel)


def read_captured(source: Path, rel: str, limit: int) -> bytes:
    """The bytes of a captured plain file (never through a symlink), at most ``limit``; raises ApplyRefusedError."""
    path = _safe_target(source, rel)
    st = _lstat(path)
    if st is None or not stat.S_ISREG(st.st_mode):
        raise ApplyRefusedError(f"{rel} is not a plain file in the command's view")
    if st.st_size > limit:
        raise ApplyRefusedError(f"{rel} is larger than {limit:,} bytes")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)[:limit]


def state_text(root: Path, rel: str, *, listing: int = 200) -> str:
    """What ``rel`` is in the workspace now, in words a person reads in a diff: missing, a file (mode), a link (to
    where) or a folder (mode, and what it holds)."""
    try:
        path = _safe_target(root, rel)
    except ApplyRefusedError as err:
        return f"unreachable: {err}"
    st = _lstat(path)
    if st is None:
        return "missing"
    kind = _kind(st.st_mode)
    if kind == "symlink":
        return f"symlink to {os.readlink(path)}"
    text = f"{'folder' if kind == 'dir' else kind}, mode {_octal(st.st_mode)}"
    if kind == "file":
        return f"{text}, {st.st_size:,} bytes"
    if kind != "dir":
        return text
    held: list[str] = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files) + [d + "/" for d in dirs]:
            held.append(os.path.relpath(os.path.join(folder, name), root))
            if len(held) > listing:
                break
        if len(held) > listing:
            break
    shown = "".join(f"\n  holding {name}" for name in sorted(held)[:listing])
    more = "\n  ... and more" if len(held) > listing else ""
    return text + shown + more


def _apply_one(root: Path, source: Path, effect: Effect) -> None:
    target = _safe_target(root, effect.path)
    origin = source / effect.path
    if effect.change == DELETED:
        st = _lstat(target)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(target)
        else:
            target.unlink()
        return
    if effect.change == MODE:
        st = _lstat(target)
        if st is None or stat.S_ISLNK(st.st_mode):
            raise ApplyRefusedError(f"{effect.path} is no longer there to change its mode")
        os.chmod(target, stat.S_IMODE(effect.mode or 0))
        return
    if effect.kind == "dir":
        if _lstat(target) is None:
            os.mkdir(target)
        os.chmod(target, stat.S_IMODE(effect.mode or 0o755))
        return
    existing = _lstat(target)
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise ApplyRefusedError(f"{effect.path} is a folder in the workspace now")
    temp = target.with_name(f".{target.name}.signoff-effect")
    if effect.kind == "symlink":
        if os.path.lexists(temp):
            temp.unlink()
        os.symlink(effect.link or os.readlink(origin), temp)
        os.replace(temp, target)
        return
    if effect.kind != "file":
        raise ApplyRefusedError(f"{effect.path} is a {effect.kind}, which is never applied")
    shutil.copyfile(origin, temp, follow_symlinks=False)
    try:
        os.chmod(temp, stat.S_IMODE(effect.mode or 0o644))
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def summary(landed: list[Effect], held: list[tuple[Effect, str]]) -> str:
    """What the agent is told about a command's effects: exactly what landed in the workspace and what did not."""
    if not landed and not held:
        return "Changes to the workspace: none."
    lines: list[str] = []
    if landed:
        lines.append(f"Changes applied to the workspace ({len(landed)}):")
        lines += [f"  {effect.label}" for effect in landed[:_SHOWN_MAX]]
        if len(landed) > _SHOWN_MAX:
            lines.append(f"  ... and {len(landed) - _SHOWN_MAX} more")
    if held:
        lines.append(f"Changes NOT applied ({len(held)}); the workspace does not have them:")
        lines += [f"  {effect.label}: {why}" for effect, why in held[:_SHOWN_MAX]]
        if len(held) > _SHOWN_MAX:
            lines.append(f"  ... and {len(held) - _SHOWN_MAX} more")
    return "\n".join(lines)
