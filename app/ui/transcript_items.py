"""What a transcript shows, as plain data: the task, the agent's text, tool calls and their results, status lines; and
how much of a long output is shown before "show all". No widgets, no painting (transcript_view draws these)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# A collapsed tool result shows its first lines only.
PREVIEW_LINES = 3
PREVIEW_LINE_CHARS = 200
# An expanded tool call's input or result shows this much before a "show all" link (a test log can be megabytes).
SHOWN_LINES = 400
SHOWN_CHARS = 40_000


def describe_tool_call(name: str, tool_input: Any) -> str:
    """A one-line human description of a tool call: 'view greet.py', 'str_replace greet.py', '$ make test'."""
    if not isinstance(tool_input, dict):
        return f"{name} (malformed input)"
    if name == "run_command":
        command = str(tool_input.get("command", ""))
        first, _, rest = command.partition("\n")
        return f"$ {first} …" if rest else f"$ {first}"
    if name == "propose_plan":
        steps = tool_input.get("steps")
        count = len(steps) if isinstance(steps, list) else 0
        return f"propose plan: {str(tool_input.get('title', ''))[:120]} ({count} steps)"
    if name == "delegate":
        task = str(tool_input.get("task", "")).splitlines()[0][:120] if tool_input.get("task") else ""
        return f"delegate to a {str(tool_input.get('role', '?'))[:20]}: {task}"
    command = tool_input.get("command", "?")
    return f"{command} {tool_input.get('path', '')}".strip()


def call_details(name: str, tool_input: Any) -> str:
    """The whole input of a tool call, verbatim, one field after another (multi-line values on lines of their own)."""
    if not isinstance(tool_input, dict):
        return json.dumps(tool_input, ensure_ascii=False, indent=2, default=str)
    lines: list[str] = []
    for key, value in tool_input.items():
        if name != "run_command" and key == "command":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        if "\n" in text or key in ("command", "old_str", "new_str", "file_text"):
            lines.append(f"{key}:")
            lines.append(text)
        else:
            lines.append(f"{key}: {text}")
    return "\n".join(lines) if lines else "(no input)"


@dataclass(frozen=True, slots=True)
class Shown:
    """The part of a long text that is shown, and how much is left for "show all"."""

    text: str
    hidden_lines: int
    hidden_chars: int


def capped(text: str, *, show_all: bool = False) -> Shown:
    """``text`` up to SHOWN_LINES lines and SHOWN_CHARS characters (everything with ``show_all``)."""
    if show_all or (len(text) <= SHOWN_CHARS and text.count("\n") < SHOWN_LINES):
        return Shown(text, 0, 0)
    cut = text[:SHOWN_CHARS]
    lines = cut.split("\n")[:SHOWN_LINES]
    shown = "\n".join(lines)
    return Shown(shown, len(text.splitlines()) - len(shown.splitlines()), len(text) - len(shown))


def preview(text: str) -> tuple[str, bool]:
    """The first lines of a result, each cut short; and whether anything was left out."""
    lines = text.splitlines()
    shown = [
        line[:PREVIEW_LINE_CHARS] + ("…" if len(line) > PREVIEW_LINE_CHARS else "") for line in lines[:PREVIEW_LINES]
    ]
    more = len(lines) > PREVIEW_LINES or any(len(line) > PREVIEW_LINE_CHARS for line in lines[:PREVIEW_LINES])
    return "\n".join(shown), more


@dataclass(slots=True)
class Task:
    text: str


@dataclass(slots=True)
class AgentText:
    """The agent's words: plain while they stream in, Markdown once the message is complete."""

    text: str
    final: bool = False


@dataclass(slots=True)
class ToolCall:
    # Pairs the call with its result: the API's tool_use id, or a made-up one when there is none.
    key: str
    name: str
    tool_input: Any

    @property
    def title(self) -> str:
        return describe_tool_call(self.name, self.tool_input)


@dataclass(slots=True)
class ToolResult:
    key: str
    text: str
    is_error: bool
    status: str | None = None


@dataclass(slots=True)
class Status:
    text: str


Item = Task | AgentText | ToolCall | ToolResult | Status


@dataclass(slots=True)
class Disclosure:
    """Which calls are open (their input and whole result shown), and which texts show past the cap."""

    expanded: set[str] = field(default_factory=set)
    # (call key, "input" or "result") shown uncapped.
    shown_all: set[tuple[str, str]] = field(default_factory=set)

    def toggle(self, key: str) -> bool:
        """Open or close a call; True when it is open now."""
        if key in self.expanded:
            self.expanded.discard(key)
            return False
        self.expanded.add(key)
        return True
