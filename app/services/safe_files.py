"""Changing a file a person also edits: one writer at a time (flock on its folder), the previous version kept as
``<name>.bak``, and the new one written atomically (temp + fsync + rename + fsync of the folder). No Qt here."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

_Result = TypeVar("_Result")


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock for ``path`` (other Signoff processes and threads wait); released on exit or crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The lock is on the folder, not the file: the file is replaced by rename, and a lock on a replaced inode locks
    # nothing. The folder stays, and no lock file is left beside what the person edits.
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def write_atomically(path: Path, data: bytes) -> None:
    """A reader sees the old file or the new one, never half of one; after return the new one survives a power cut."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def update_file(path: Path, change: Callable[[bytes | None], tuple[bytes | None, _Result]]) -> _Result:
    """Under the lock: read ``path`` (None when missing), let ``change`` compute the new bytes from what is there
    now, keep the old bytes as ``<name>.bak`` and write the new ones atomically. ``change`` returning None for the
    bytes, or raising, leaves the file as it was."""
    with locked(path):
        old = read_bytes_or_none(path)
        new, result = change(old)
        if new is None or new == old:
            return result
        if old is not None:
            write_atomically(backup_path(path), old)
        write_atomically(path, new)
        return result
