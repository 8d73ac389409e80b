"""The tools Signoff gives Claude, the system prompt that explains the review, and how each call is classified.

Tool schemas are sent with every request of a session and stored with it, so a dataset row can name what the model
was given. No Qt here.
"""

from __future__ import annotations

import copy
from typing import Any

EDITOR_TOOL_NAME = "str_replace_based_edit_tool"
EDITOR_TOOL_TYPE = "text_editor_20250728"
COMMAND_TOOL_NAME = "run_command"

SYSTEM_PROMPT = """You are a careful software engineer working in a project folder (the workspace) on the user's task.

Every change you make is reviewed by a person before it happens:
- Viewing files and folders with the text editor tool runs at once.
- Creating files, str_replace and insert, and every run_command call, are shown to a reviewer as a diff or command.
  The reviewer approves it, edits it before approving, or rejects it with a reason.
- When a change is approved, the tool result tells you exactly what was applied. When the reviewer edited it, the
  result shows what was applied instead of your proposal; continue from that real state.
- When a change is rejected, NOTHING was changed. Read the reviewer's reason and propose a revised change that
  addresses it; do not assume the rejected change happened.

Paths are relative to the workspace root. Keep changes small and focused so each one is easy to review.
When the task is done, stop and summarise what changed."""


def tool_definitions() -> list[dict[str, Any]]:
    """The tools of a new session; the last one carries the cache breakpoint so tools + system are cached."""
    return [
        {"type": EDITOR_TOOL_TYPE, "name": EDITOR_TOOL_NAME},
        {
            "name": COMMAND_TOOL_NAME,
            "description": (
                "Run a shell command in the workspace after a person approves it. Each call runs in a fresh "
                "/bin/sh (no state is kept between calls) with the workspace root as working directory unless "
                "`cwd` names a sub-folder. Returns the exit code and the combined output (long output is truncated "
                "in the middle). Commands have a time limit; do not start servers or interactive programs."
            ),
            "input_schema": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command line to run with /bin/sh -c."},
                    "cwd": {
                        "type": "string",
                        "description": "Working directory relative to the workspace root (default: the root).",
                    },
                },
                "required": ["command"],
            },
            "cache_control": {"type": "ephemeral"},
        },
    ]


def system_blocks(system_prompt: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": system_prompt, "cache_control": {"type": "ephemeral"}}]


def tools_for_request(stored_tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(stored_tools)


def changes_the_world(tool_name: str, tool_input: Any) -> bool:
    """True for calls that must wait for a person (edits, new files, commands); views run at once."""
    if tool_name == COMMAND_TOOL_NAME:
        return True
    if tool_name == EDITOR_TOOL_NAME and isinstance(tool_input, dict):
        return tool_input.get("command") in {"create", "str_replace", "insert"}
    return False
