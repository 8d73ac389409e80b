"""Writing approved bytes to the workspace: atomically, and only over the exact content the proposal was made against.

No Qt here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.services.workspace import Workspace, sha256_hex

_TEMP_SUFFIX = ".signoff-tmp"


class ApplyConflict(Exception):
    """The file on disk is no longer what the proposal was made against; nothing was written."""


def apply_file_change(workspace: Workspace, relative: str, base_hash: str | None, content: bytes) -> str:
    """Write ``content`` to ``relative`` if the file still hashes to ``base_hash``; return the new hash."""
    target = workspace.resolve(relative, for_write=True).absolute
    current = workspace.current_hash(relative)
    new_hash = sha256_hex(content) or ""
    if current == new_hash and current != base_hash:
        # Already written by an earlier attempt that died before recording it: applying again changes nothing.
        return new_hash
    if current != base_hash:
        if base_hash is None:
            raise ApplyConflict(f"{relative} was created by someone else since the proposal was made.")
        if current is None:
            raise ApplyConflict(f"{relative} was deleted since the proposal was made.")
        raise ApplyConflict(f"{relative} was changed on disk since the proposal was made.")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_temps(target)
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    _atomic_write(target, content, mode)
    return new_hash


def _temp_prefix(target: Path, pid: int) -> str:
    return f".{target.name}.{pid}."


def _remove_orphaned_temps(target: Path) -> None:
    """Delete temporary files a killed Signoff left next to ``target`` (its pid, in the name, is gone): a crash
    between writing the temp file and renaming it leaves one, and only this code ever names files this way."""
    try:
        entries = os.scandir(target.parent)
    except OSError:
        return
    prefix = f".{target.name}."
    with entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
                continue
            pid_text = name[len(prefix) :].partition(".")[0]
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            try:
                os.kill(int(pid_text), 0)
            except ProcessLookupError:
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass
            except OSError:
                pass


_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this process may write (file size limit)",
    errno.EROFS: "the workspace is on a read-only file system",
    errno.EACCES: "permission denied: the folder or file is not writable",
    errno.EPERM: "the operation is not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder",
}


def describe_write_error(err: OSError) -> str:
    """What went wrong with a write (disk full, read-only, ...), in words for the agent and the reviewer. The file
    itself is untouched: bytes only ever reach it by renaming a complete temporary file, which a failure removes."""
    return _WRITE_ERRORS.get(err.errno or 0) or (err.strerror or str(err))


def _write_temp(target: Path, content: bytes, mode: int | None) -> str:
    """A complete, fsynced temporary file beside ``target`` holding ``content`` (and ``mode``); removed on failure."""
    fd, temp_name = tempfile.mkstemp(prefix=_temp_prefix(target, os.getpid()), suffix=_TEMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return temp_name


def _atomic_write(target: Path, content: bytes, mode: int | None) -> None:
    temp_name = _write_temp(target, content, mode)
    try:
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_files_atomically(root: Path, contents: list[tuple[str, bytes]]) -> None:
    """Write several files, each atomically (a complete, fsynced temporary file renamed over it): a changeset merge.

    The temporary files are written and fsynced in parallel (the file system commits the concurrent syncs together:
    a tenth of the time of one after the other on ext4), then renamed, then each folder is fsynced once. Paths must be
    checked by the caller. A crash leaves every file old or new, never half, plus temporary files that the next write
    next to them removes."""
    prepared: list[tuple[Path, bytes, int | None]] = []
    for relative, content in contents:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphaned_temps(target)
        prepared.append((target, content, target.stat().st_mode & 0o7777 if target.exists() else None))

    def write_temp(item: tuple[Path, bytes, int | None]) -> str:
        return _write_temp(*item)

    temps: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(prepared)))) as pool:
            futures = [pool.submit(write_temp, item) for item in prepared]
            failure: BaseException | None = None
            for future in futures:
                try:
                    temps.append(future.result())
                except BaseException as err:  # every write finishes (or fails) before any temp is cleaned up
                    failure = failure or err
            if failure is not None:
                raise failure
        for index, (target, _content, _mode) in enumerate(prepared):
            os.replace(temps[index], target)
            temps[index] = ""
    except BaseException:
        for temp_name in temps:
            if temp_name:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp_name)
        raise
    for folder in {target.parent for target, _content, _mode in prepared}:
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
