"""The workspace folder an agent works in: confining every path it names, and reading files safely.

Every path from a tool call goes through ``Workspace.resolve`` before anything touches the disk. No Qt here.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Larger files are refused for viewing and editing: the model cannot use them and the review would be unreadable.
MAX_FILE_BYTES = 10 * 1024 * 1024


class ToolInputError(Exception):
    """The agent's tool call cannot be carried out; the message is sent back to it as an is_error tool_result."""


def sha256_hex(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ResolvedPath:
    absolute: Path
    # Workspace-relative, '/'-separated: how proposals, the window and the database name the file.
    relative: str


class Workspace:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        root_path = Path(root).expanduser()
        if not root_path.is_dir():
            raise FileNotFoundError(f"The workspace folder {root_path} does not exist or is not a folder.")
        self.root = root_path.resolve()

    def resolve(self, name: str, *, for_write: bool = False) -> ResolvedPath:
        """Map a path the agent gave to a file inside the workspace, or raise ToolInputError saying why not."""
        if not isinstance(name, str) or not name.strip():
            raise ToolInputError("The path is empty. Give a path relative to the workspace root, e.g. 'src/app.py'.")
        if "\x00" in name:
            raise ToolInputError("The path contains a NUL character.")
        candidate = Path(name)
        if candidate.is_absolute():
            # Models often echo absolute paths from a listing; accept those that are inside the root.
            target = candidate
        else:
            target = self.root / candidate
        # resolve() follows symlinks, so a link pointing outside is caught here too.
        try:
            resolved = target.resolve(strict=False)
        except (RuntimeError, OSError) as err:
            # A symlink loop (RuntimeError before Python 3.13) or a name the OS refuses (too long, ...).
            raise ToolInputError(f"The path {name!r} cannot be resolved ({err}).") from None
        if resolved != self.root and self.root not in resolved.parents:
            raise ToolInputError(
                f"The path {name!r} is outside the workspace ({self.root}). "
                "Only files inside the workspace can be read or changed."
            )
        relative = resolved.relative_to(self.root)
        parts = PurePosixPath(relative.as_posix()).parts
        if for_write and parts and parts[0] == ".git":
            raise ToolInputError(f"Writing inside .git/ is not allowed ({name!r}); change tracked files instead.")
        try:
            mode = resolved.stat().st_mode if resolved.exists() else None
        except OSError as err:
            raise ToolInputError(f"The path {name!r} cannot be used ({err.strerror or err}).") from None
        if mode is not None:
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ToolInputError(f"{name!r} is not a regular file or folder (a device, socket or pipe).")
        return ResolvedPath(resolved, relative.as_posix() if parts else ".")

    def read_bytes(self, resolved: ResolvedPath) -> bytes:
        if resolved.absolute.is_dir():
            raise ToolInputError(f"{resolved.relative!r} is a folder, not a file.")
        if not resolved.absolute.exists():
            raise ToolInputError(f"The file {resolved.relative!r} does not exist.")
        size = resolved.absolute.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ToolInputError(
                f"The file {resolved.relative!r} is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit "
                "for viewing and editing."
            )
        return resolved.absolute.read_bytes()

    def read_bytes_or_none(self, resolved: ResolvedPath) -> bytes | None:
        return self.read_bytes(resolved) if resolved.absolute.exists() else None

    def current_hash(self, relative: str) -> str | None:
        """sha256 of the file now on disk (None if absent): compared with a proposal's base before applying."""
        path = self.root / relative
        try:
            return sha256_hex(path.read_bytes())
        except FileNotFoundError:
            return None


def is_binary(data: bytes) -> bool:
    """Git's rule: a NUL byte in the first 8000 bytes."""
    return b"\x00" in data[:8000]


def decode_text(data: bytes, relative: str) -> str:
    """Decode a file for the model; refuse binary files and say where invalid UTF-8 starts."""
    if is_binary(data):
        raise ToolInputError(
            f"{relative!r} is a binary file ({len(data):,} bytes); it cannot be viewed or edited as text."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ToolInputError(
            f"{relative!r} is not valid UTF-8 (invalid byte at offset {err.start}, line {line}); "
            "it cannot be edited as text. Propose a command if it must change."
        ) from None
