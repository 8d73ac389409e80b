"""The offline demo's plan-mode scenario: a planner reads greet.py, proposes a plan, and once a person approves it (as
proposed or edited) hands its steps to two coders working in parallel, each in its own worktree: their edits apply
there at once and come back to the person as one changeset each, reviewed hunk by hunk and merged.

Stateless like app.standin.demo: each reply is derived from the request alone (its tools tell the planner from the
coders, the first message tells the coders apart). No Qt, no file access.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.standin.scenario import Turn, text_block, text_turn, tool_turn, tool_use_block

PLAN_TOOL = "propose_plan"
DELEGATE_TOOL = "delegate"
EDIT_TOOL = "str_replace_based_edit_tool"
PLAN_DEMO_PROMPT = "greet.py capitalises names wrongly. Plan the fix and the tests, then let two coders do them."

FIX_TASK = "Fix tidy_name in greet.py so every word of a name starts with a capital."
TESTS_TASK = "Write unit tests for greet.py in test_greet.py."

PLAN = {
    "title": "Fix name capitalisation in greet.py and cover it with tests",
    "steps": [
        {
            "title": "Fix tidy_name in greet.py",
            "detail": "Capitalise every word (str.title after collapsing spaces) instead of only the first letter.",
            "files": ["greet.py"],
        },
        {
            "title": "Add unit tests for tidy_name and greet",
            "detail": "A new test_greet.py with unittest: several words, one word, an empty name.",
            "files": ["test_greet.py"],
        },
        {
            "title": "Mention the tests in the README",
            "detail": "One line on running python3 -m unittest.",
            "files": ["README.md"],
        },
    ],
    "open_questions": ["Should runs of spaces inside a name collapse to one?"],
}

_TESTS = '''"""Tests for greet.py; run them with: python3 -m unittest -v"""

import unittest

from greet import greet, tidy_name


class TidyNameTest(unittest.TestCase):
    def test_every_word_starts_with_a_capital(self):
        self.assertEqual(tidy_name("  ada lovelace "), "Ada Lovelace")

    def test_an_empty_name_greets_a_stranger(self):
        self.assertEqual(greet("   "), "Hello, stranger!")


if __name__ == "__main__":
    unittest.main()
'''

_STEP_LINE = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


def is_plan_demo_request(request: Mapping[str, Any]) -> bool:
    """Whether this request belongs to the plan demo: the planner (it has propose_plan) or one of its coders."""
    if any(isinstance(t, Mapping) and t.get("name") == PLAN_TOOL for t in request.get("tools") or []):
        return True
    return _first_text(request).startswith((FIX_TASK, TESTS_TASK))


def plan_demo_scenario(request: Mapping[str, Any]) -> Turn:
    first = _first_text(request)
    exchanges = _exchanges(request.get("messages") or [])
    if first.startswith(FIX_TASK):
        return _fix_coder(exchanges)
    if first.startswith(TESTS_TASK):
        return _tests_coder(exchanges)
    return _planner(exchanges)


def _planner(exchanges: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> Turn:
    if not exchanges:
        return tool_turn(
            text_block("Let me read greet.py before planning."),
            tool_use_block(EDIT_TOOL, {"command": "view", "path": "greet.py"}),
        )
    call, result = exchanges[-1]
    text = _result_text(result)
    if call["name"] == EDIT_TOOL:
        return tool_turn(
            text_block("tidy_name only capitalises the first letter. Here is my plan."),
            tool_use_block(PLAN_TOOL, PLAN),
        )
    if call["name"] == PLAN_TOOL:
        if result is not None and result.get("is_error"):
            revised = {**PLAN, "steps": PLAN["steps"][:2]}
            return tool_turn(
                text_block("Understood; here is a revised plan without the README step."),
                tool_use_block(PLAN_TOOL, revised),
            )
        return _delegations(text)
    if call["name"] == DELEGATE_TOOL:
        return text_turn(
            "Both coders reported back; their changesets were reviewed hunk by hunk and merged. The plan is done."
        )
    return text_turn("The plan demo is finished.")


def _delegations(result_text: str) -> Turn:
    approved = result_text.split("The approved plan:", 1)[-1]
    blocks: list[dict[str, Any]] = [text_block("The plan is approved; I hand its steps to two coders.")]
    for number, title in _STEP_LINE.findall(approved):
        lowered = title.lower()
        if "test" in lowered and "readme" not in lowered:
            task = TESTS_TASK
        elif "greet.py" in lowered or "tidy_name" in lowered or "fix" in lowered:
            task = FIX_TASK
        else:
            continue
        blocks.append(
            tool_use_block(DELEGATE_TOOL, {"task": task, "role": "coder", "workspace": "worktree", "step": int(number)})
        )
    if len(blocks) == 1:
        return text_turn("None of the approved steps is one this scripted demo can hand to a coder; stopping here.")
    return tool_turn(*blocks)


def _fix_coder(exchanges: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> Turn:
    if not exchanges:
        return tool_turn(
            text_block("Fixing tidy_name."),
            tool_use_block(
                EDIT_TOOL,
                {
                    "command": "str_replace",
                    "path": "greet.py",
                    "old_str": "    return raw.strip().capitalize()",
                    "new_str": '    return " ".join(raw.split()).title()',
                },
            ),
        )
    return text_turn(_report("greet.py: tidy_name now capitalises every word", exchanges[-1][1]))


def _tests_coder(exchanges: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> Turn:
    if not exchanges:
        return tool_turn(
            text_block("Adding tests."),
            tool_use_block(EDIT_TOOL, {"command": "create", "path": "test_greet.py", "file_text": _TESTS}),
        )
    return text_turn(_report("test_greet.py: two unit tests", exchanges[-1][1]))


def _report(what: str, result: dict[str, Any] | None) -> str:
    if result is not None and result.get("is_error"):
        return f"Report: {what} was NOT applied. The reviewer said: {_result_text(result)[:300]}"
    return f"Report: {what} was applied."


def _first_text(request: Mapping[str, Any]) -> str:
    messages = request.get("messages") or []
    if not messages:
        return ""
    content = messages[0].get("content")
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content or [] if isinstance(b, Mapping))


def _exchanges(messages: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each tool call of the assistant turns (the last call of each turn) with the tool_result that answered it."""
    pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for index, message in enumerate(messages):
        if message.get("role") != "assistant" or not isinstance(message.get("content"), list):
            continue
        calls = [b for b in message["content"] if b.get("type") == "tool_use"]
        if not calls:
            continue
        answer = messages[index + 1] if index + 1 < len(messages) else None
        results = [
            b for b in (answer or {}).get("content") or [] if isinstance(b, Mapping) and b.get("type") == "tool_result"
        ]
        pairs.append((calls[-1], results[-1] if results else None))
    return pairs


def _result_text(result: Mapping[str, Any] | None) -> str:
    if not result:
        return ""
    content = result.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, Mapping))
