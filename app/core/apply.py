"""Writing approved bytes to the workspace: atomically, and only over the exact content the proposal was made against.

No Qt here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.core.workspace import Workspace, sha256_hex


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
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    _atomic_write(target, content, mode)
    return new_hash


def _atomic_write(target: Path, content: bytes, mode: int | None) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".signoff-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
