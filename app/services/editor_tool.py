"""Anthropic's text editor tool, executed by Signoff: ``view`` runs at once, the rest become proposals.

``create``, ``str_replace`` and ``insert`` are turned into a ``ChangeDraft`` (the exact old and new bytes); nothing is
written here. Malformed input raises ToolInputError with a message the model can act on. No Qt here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.workspace import ToolInputError, Workspace, decode_text, sha256_hex

# A view longer than this is cut, and the model is told to ask for a view_range.
MAX_VIEW_CHARS = 60_000
_LISTING_SKIP = {".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class ChangeDraft:
    """A file change the agent asked for, computed against the bytes on disk now."""

    kind: str  # 'create' (file did not exist) or 'edit'
    path: str
    old_content: bytes | None
    new_content: bytes
    base_hash: str | None


def _require_str(tool_input: dict[str, Any], key: str, command: str) -> str:
    value = tool_input.get(key)
    if not isinstance(value, str):
        raise ToolInputError(f"`{command}` needs `{key}` as a string; got {type(value).__name__}.")
    return value


def _command_of(tool_input: Any) -> str:
    if not isinstance(tool_input, dict):
        raise ToolInputError("The tool input must be a JSON object.")
    command = tool_input.get("command")
    if not isinstance(command, str) or command not in {"view", "create", "str_replace", "insert"}:
        raise ToolInputError(
            f"Unknown command {command!r}; use one of view, create, str_replace, insert "
            "(undo_edit is not available: propose the reverse change instead)."
        )
    return command


def view(workspace: Workspace, tool_input: Any) -> str:
    """Run a ``view`` call: a numbered file excerpt or a two-level directory listing."""
    _command_of(tool_input)
    resolved = workspace.resolve(_require_str(tool_input, "path", "view"))
    if resolved.absolute.is_dir():
        return _listing(workspace, resolved.absolute, resolved.relative)
    text = decode_text(workspace.read_bytes(resolved), resolved.relative)
    lines = text.splitlines()
    start, end = 1, len(lines)
    view_range = tool_input.get("view_range")
    if view_range is not None:
        if (
            not isinstance(view_range, list)
            or len(view_range) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in view_range)
        ):
            raise ToolInputError("`view_range` must be two integers [start, end]; end may be -1 for the last line.")
        start, end = view_range
        if end == -1:
            end = len(lines)
        if start < 1 or start > max(len(lines), 1) or end < start or end > len(lines):
            raise ToolInputError(f"`view_range` {view_range} is outside the file, which has {len(lines)} lines.")
    numbered = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
    if not lines:
        return f"{resolved.relative} is empty."
    if len(numbered) > MAX_VIEW_CHARS:
        cut = numbered[:MAX_VIEW_CHARS].rsplit("\n", 1)[0]
        shown_to = cut.count("\n") + start
        return f"{cut}\n[... output cut at line {shown_to} of {len(lines)}; use view_range to see the rest.]"
    return numbered


def _listing(workspace: Workspace, folder: Path, relative: str) -> str:
    entries: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        depth = len(dirpath.split(os.sep)) - len(str(folder).split(os.sep))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _LISTING_SKIP)
        if depth >= 2:
            dirnames[:] = []
        rel_dir = os.path.relpath(dirpath, workspace.root)
        for name in dirnames:
            entries.append(os.path.normpath(os.path.join(rel_dir, name)) + "/")
        for name in sorted(filenames):
            if not name.startswith("."):
                entries.append(os.path.normpath(os.path.join(rel_dir, name)))
        if len(entries) > 2000:
            break
    entries.sort()
    shown = entries[:2000]
    header = f"Files and folders in {relative} (up to 2 levels deep, hidden items left out):"
    more = f"\n[... {len(entries) - 2000} more entries not shown]" if len(entries) > 2000 else ""
    return header + "\n" + "\n".join(shown) + more


def draft_change(workspace: Workspace, tool_input: Any) -> ChangeDraft:
    """Turn create / str_replace / insert into the exact bytes it would write; raise ToolInputError if it can't."""
    command = _command_of(tool_input)
    if command == "view":
        raise ToolInputError("`view` does not change files.")
    resolved = workspace.resolve(_require_str(tool_input, "path", command), for_write=True)
    if resolved.absolute.is_dir():
        raise ToolInputError(f"{resolved.relative!r} is a folder; name a file.")
    old = workspace.read_bytes_or_none(resolved)

    if command == "create":
        file_text = _require_str(tool_input, "file_text", "create")
        new = file_text.encode("utf-8")
        return ChangeDraft("create" if old is None else "edit", resolved.relative, old, new, sha256_hex(old))

    if old is None:
        raise ToolInputError(f"The file {resolved.relative!r} does not exist; use `create` to make a new file.")
    text = decode_text(old, resolved.relative)
    if command == "str_replace":
        new_text = _str_replace(text, tool_input, resolved.relative)
    else:
        new_text = _insert(text, tool_input, resolved.relative)
    return ChangeDraft("edit", resolved.relative, old, new_text.encode("utf-8"), sha256_hex(old))


def _str_replace(text: str, tool_input: dict[str, Any], relative: str) -> str:
    old_str = _require_str(tool_input, "old_str", "str_replace")
    new_str = tool_input.get("new_str", "")
    if not isinstance(new_str, str):
        raise ToolInputError("`str_replace` needs `new_str` as a string.")
    if old_str == "":
        raise ToolInputError("`old_str` is empty; give the exact text to replace, with enough context to be unique.")
    count = text.count(old_str)
    if count == 0 and "\r\n" in text and "\r\n" not in old_str:
        # Models write '\n'; a CRLF file keeps its own line endings.
        crlf_old = old_str.replace("\n", "\r\n")
        if text.count(crlf_old) >= 1:
            old_str, new_str, count = crlf_old, new_str.replace("\n", "\r\n"), text.count(crlf_old)
    if count == 0:
        raise ToolInputError(
            f"`old_str` was not found in {relative!r}. It must match the file exactly, including whitespace "
            "and indentation; view the file and try again."
        )
    if count > 1:
        lines = []
        start = 0
        while (index := text.find(old_str, start)) != -1:
            lines.append(text.count("\n", 0, index) + 1)
            start = index + 1
        raise ToolInputError(
            f"`old_str` occurs {count} times in {relative!r} (at lines {', '.join(map(str, lines))}); "
            "include more surrounding lines so it matches exactly once."
        )
    return text.replace(old_str, new_str, 1)


def _insert(text: str, tool_input: dict[str, Any], relative: str) -> str:
    line = tool_input.get("insert_line")
    if not isinstance(line, int) or isinstance(line, bool):
        raise ToolInputError("`insert` needs `insert_line` as an integer (0 inserts at the top).")
    # text_editor_20250728 names it insert_text; earlier versions used new_str.
    insert_text = tool_input.get("insert_text", tool_input.get("new_str"))
    if not isinstance(insert_text, str):
        raise ToolInputError("`insert` needs `insert_text` as a string.")
    lines = text.splitlines(keepends=True)
    if line < 0 or line > len(lines):
        raise ToolInputError(
            f"`insert_line` {line} is outside {relative!r}, which has {len(lines)} lines (0..{len(lines)})."
        )
    newline = "\r\n" if "\r\n" in text else "\n"
    if newline == "\r\n":
        insert_text = insert_text.replace("\r\n", "\n").replace("\n", "\r\n")
    if line > 0 and not lines[line - 1].endswith(("\n", "\r")):
        lines[line - 1] += newline
    if line < len(lines) and insert_text and not insert_text.endswith(("\n", "\r")):
        insert_text += newline
    return "".join(lines[:line]) + insert_text + "".join(lines[line:])
