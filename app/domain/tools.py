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
# A proposal of this kind is a change a sandboxed command made that a person reviews before it lands (one file each);
# the model never called a tool for it, so it is no tool call of its own in exports.
EFFECTS_KIND = "effects"

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


# -- plan mode and delegation (issue 15) ------------------------------------------------------------------------------

PLAN_TOOL_NAME = "propose_plan"
DELEGATE_TOOL_NAME = "delegate"
# Kinds of proposals that are not a change to a file or a command (no diff, no hunks, no verifier).
PLAN_KIND = "plan"
DELEGATE_KIND = "delegate"
ROLES = ("coder", "tester", "reviewer", "researcher", "writer")

PLAN_MODE_PROMPT = """

This session starts in PLAN MODE. Before changing anything, read what you need (view files and folders; commands
run only when this workspace's policy allows them) and then call propose_plan once with a numbered plan: a title,
steps (each with a title, a detail and the files you expect to touch) and your open questions. End your turn there.
A person approves the plan, rejects it with a reason (revise it and propose again), or edits it (you are told exactly
what changed; follow the edited plan). Edits and other commands are refused until a plan is approved."""

DELEGATE_PROMPT = """

Once acting you may hand a step to a sub-agent with the delegate tool (a task it can do on its own, a role, and the
plan step it carries out). Sub-agents work at the same time as you; each one's changes are reviewed like yours, and
its final report comes back as the tool result. Several delegate calls in one message run in parallel."""

SUBAGENT_PROMPT = """

You are a sub-agent with the role {role}, started by another agent for one step of an approved plan. Do only the task
you were given, then end your turn with a short report of what you changed and what is left: that report is all the
agent that started you sees."""


def propose_plan_tool() -> dict[str, Any]:
    return {
        "name": PLAN_TOOL_NAME,
        "description": (
            "Propose the plan for the task and end your turn. A person approves, rejects with a reason, or edits it; "
            "the result says which and, for an edit, exactly what changed."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "description": "One line naming what the plan achieves."},
                "steps": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": {"type": "string"},
                            "detail": {"type": "string"},
                            "files": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["title", "detail"],
                    },
                },
                "open_questions": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["title", "steps"],
        },
    }


def delegate_tool() -> dict[str, Any]:
    return {
        "name": DELEGATE_TOOL_NAME,
        "description": (
            "Hand one step to a sub-agent that works concurrently with its own transcript; its changes are reviewed "
            "like yours and its final report is returned as this tool's result. Refused beyond the session's budget "
            "(sub-agents per session, depth, total tokens)."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "task": {"type": "string", "description": "What the sub-agent must do, self-contained."},
                "role": {"type": "string", "enum": list(ROLES)},
                "workspace": {
                    "type": "string",
                    "enum": ["shared", "worktree"],
                    "description": "Work in the shared workspace, or in its own worktree.",
                },
                "step": {"type": "integer", "description": "The number of the plan step it carries out."},
            },
            "required": ["task", "role"],
        },
    }


def tree_tool_definitions(*, plan: bool, delegate: bool) -> list[dict[str, Any]]:
    """The tools of a session that plans and / or delegates: the usual ones, then propose_plan and delegate; the last
    one carries the cache breakpoint."""
    tools = tool_definitions()
    tools[-1] = {key: value for key, value in tools[-1].items() if key != "cache_control"}
    if plan:
        tools.append(propose_plan_tool())
    if delegate:
        tools.append(delegate_tool())
    tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
    return tools
