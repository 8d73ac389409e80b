"""Claude Code's built-in tools (also what the Agent SDK and ``--permission-prompt-tool`` name): which change the
world, the file content an Edit / Write / MultiEdit call would leave, and a reviewer's edit re-expressed as that
tool's own input.

Pure functions over text; nothing is read or written here. Errors are ToolShapeError with one sentence the agent (or
the person) can act on. No Qt here.
"""

from __future__ import annotations

from typing import Any

FILE_TOOLS = ("Edit", "Write", "MultiEdit")
COMMAND_TOOLS = ("Bash",)
# Tools that only read or talk: they pass through to the agent's own permission flow untouched.
READ_ONLY_TOOLS = frozenset(
    {
        "Read",
        "Glob",
        "Grep",
        "LS",
        "NotebookRead",
        "WebFetch",
        "WebSearch",
        "TodoWrite",
        "TodoRead",
        "Task",
        "BashOutput",
        "KillShell",
        "KillBash",
        "ExitPlanMode",
        "ListMcpResourcesTool",
        "ReadMcpResourceTool",
        "AskUserQuestion",
        "Skill",
        "SlashCommand",
    }
)


class ToolShapeError(Exception):
    """The tool input cannot be understood or would fail; the message says why, in one sentence."""


def is_reviewed(tool_name: str) -> bool:
    return tool_name in FILE_TOOLS or tool_name in COMMAND_TOOLS


def file_path_of(tool_input: dict[str, Any]) -> str:
    path = tool_input.get("file_path")
    if not isinstance(path, str) or not path.strip():
        raise ToolShapeError("The tool input has no `file_path` string.")
    return path


def command_of(tool_input: dict[str, Any]) -> str:
    command = tool_input.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolShapeError("The Bash tool input has no `command` string.")
    return command


def _text(tool_input: dict[str, Any], key: str) -> str:
    value = tool_input.get(key)
    if not isinstance(value, str):
        raise ToolShapeError(f"The tool input needs `{key}` as a string; got {type(value).__name__}.")
    return value


def _replace(text: str, edit: dict[str, Any], where: str) -> str:
    if not isinstance(edit, dict):
        raise ToolShapeError(f"{where}: an edit must be an object with old_string and new_string.")
    old, new = _text(edit, "old_string"), _text(edit, "new_string")
    if old == new:
        raise ToolShapeError(f"{where}: old_string and new_string are the same; nothing would change.")
    if old == "":
        if text:
            raise ToolShapeError(f"{where}: old_string is empty but the file is not.")
        return new
    count = text.count(old)
    if count == 0:
        raise ToolShapeError(f"{where}: old_string was not found in the file.")
    if count > 1 and not edit.get("replace_all"):
        raise ToolShapeError(f"{where}: old_string occurs {count} times; give more context or set replace_all.")
    return text.replace(old, new) if edit.get("replace_all") else text.replace(old, new, 1)


def new_file_text(tool_name: str, tool_input: dict[str, Any], old_text: str | None) -> str:
    """The file content after the call, given the content now (None: the file does not exist)."""
    if tool_name == "Write":
        return _text(tool_input, "content")
    if tool_name == "Edit":
        if old_text is None:
            if tool_input.get("old_string") == "":
                return _text(tool_input, "new_string")
            raise ToolShapeError("Edit names a file that does not exist; use Write to create it.")
        return _replace(old_text, tool_input, "Edit")
    if tool_name == "MultiEdit":
        edits = tool_input.get("edits")
        if not isinstance(edits, list) or not edits:
            raise ToolShapeError("MultiEdit needs a non-empty `edits` list.")
        text = old_text
        for number, edit in enumerate(edits, start=1):
            if text is None:
                if not (isinstance(edit, dict) and edit.get("old_string") == ""):
                    raise ToolShapeError("MultiEdit names a file that does not exist; its first edit must create it.")
                text = _text(edit, "new_string")
                continue
            text = _replace(text, edit, f"MultiEdit edit {number}")
        return text or ""
    raise ToolShapeError(f"{tool_name} does not change a file.")


def minimal_replacement(old_text: str, new_text: str) -> tuple[str, str]:
    """The smallest whole-line (old_string, new_string) pair, unique in ``old_text``, turning it into ``new_text``."""
    old_lines = old_text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    start = 0
    while start < min(len(old_lines), len(new_lines)) and old_lines[start] == new_lines[start]:
        start += 1
    tail = 0
    while (
        tail < min(len(old_lines), len(new_lines)) - start
        and old_lines[len(old_lines) - 1 - tail] == new_lines[len(new_lines) - 1 - tail]
    ):
        tail += 1
    old_end, new_end = len(old_lines) - tail, len(new_lines) - tail
    # Widen by a line of context on each side until the old text names exactly one place in the file.
    while True:
        old_string = "".join(old_lines[start:old_end])
        if old_string and old_text.count(old_string) == 1:
            return old_string, "".join(new_lines[start:new_end])
        if start == 0 and old_end == len(old_lines):
            return old_text, new_text
        if start > 0:
            start -= 1
        if old_end < len(old_lines):
            old_end += 1
            new_end += 1


def edited_input(tool_name: str, tool_input: dict[str, Any], old_text: str | None, edited: str) -> dict[str, Any]:
    """The reviewer's version (the whole file, or the command) as ``tool_name``'s own input."""
    if tool_name in COMMAND_TOOLS:
        return {**tool_input, "command": edited}
    path = file_path_of(tool_input)
    if tool_name == "Write" or old_text is None:
        if tool_name == "Write":
            return {**tool_input, "content": edited}
        if tool_name == "Edit":
            return {"file_path": path, "old_string": "", "new_string": edited}
        return {"file_path": path, "edits": [{"old_string": "", "new_string": edited}]}
    if not old_text:
        raise ToolShapeError(f"{tool_name} cannot express a change to an empty file; Write can.")
    old_string, new_string = minimal_replacement(old_text, edited)
    if tool_name == "Edit":
        return {"file_path": path, "old_string": old_string, "new_string": new_string, "replace_all": False}
    if tool_name == "MultiEdit":
        return {"file_path": path, "edits": [{"old_string": old_string, "new_string": new_string}]}
    raise ToolShapeError(f"{tool_name} does not change a file.")
