"""The offline demo agent walked end to end on a real copy of the sample project, with approvals, edits and rejections.

Every request the walk sends is checked by the stand-in's validator; tools run for real (files, python3 -m unittest).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import pytest

from app.standin.demo import (
    COMMAND_TOOL_NAME,
    DEMO_MODEL_ID,
    DEMO_PROMPT,
    EDIT_TOOL_NAME,
    demo_scenario,
    demo_server,
    demo_workspace_source,
)
from app.standin.scenario import Turn
from app.standin.server import validate_messages_request

TOOLS = [
    {"type": "text_editor_20250728", "name": EDIT_TOOL_NAME},
    {
        "name": COMMAND_TOOL_NAME,
        "description": "Run a shell command in the workspace.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string"}, "cwd": {"type": "string"}},
            "required": ["command"],
        },
    },
]
# Enough for every step to be tried twice plus the summary; more means the demo loops.
MAX_TURNS = 12


@dataclass(frozen=True)
class Decision:
    # approve | reject | edit
    verdict: str
    reason: str = ""
    # For edit: the tool input the reviewer applies instead.
    edited_input: dict[str, Any] | None = None


Reviewer = Callable[[dict[str, Any], int], Decision]


def approve_all(tool_input: dict[str, Any], seen_before: int) -> Decision:
    return Decision("approve")


@dataclass
class Walk:
    messages: list[dict[str, Any]]
    turns: list[Turn] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return self.turns[-1].content[0]["text"]

    def tool_inputs(self) -> list[dict[str, Any]]:
        return [block["input"] for turn in self.turns for block in turn.content if block["type"] == "tool_use"]


class Workspace:
    """A real copy of the demo project; runs the two demo tools on it the way the app's tools behave."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(demo_workspace_source(), root)

    def run(self, name: str, tool_input: dict[str, Any]) -> tuple[str, bool]:
        if name == COMMAND_TOOL_NAME:
            completed = subprocess.run(
                shlex.split(tool_input["command"]),
                cwd=self.root / tool_input.get("cwd", "."),
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            return f"{completed.stdout}{completed.stderr}\nexit code: {completed.returncode}", completed.returncode != 0
        path = self.root / tool_input["path"]
        command = tool_input["command"]
        if command == "view" and path.is_dir():
            return "\n".join(sorted(str(child.relative_to(self.root)) for child in path.iterdir())), False
        if command == "view":
            lines = path.read_text().splitlines()
            return "\n".join(f"{number:6}\t{line}" for number, line in enumerate(lines, 1)), False
        if command == "create":
            path.write_text(tool_input["file_text"])
            return f"File created successfully at: {tool_input['path']}", False
        if command == "str_replace":
            text = path.read_text()
            if text.count(tool_input["old_str"]) != 1:
                return f"No unique match for old_str in {tool_input['path']}", True
            path.write_text(text.replace(tool_input["old_str"], tool_input["new_str"]))
            return f"The file {tool_input['path']} has been edited.", False
        raise AssertionError(f"the demo used a command the test does not know: {command}")


def walk_demo(
    workspace: Workspace, reviewer: Reviewer = approve_all, next_turn: Callable[[dict[str, Any]], Turn] = demo_scenario
) -> Walk:
    """Drives the demo to its summary the way the app would, judging each change with ``reviewer``."""
    walk = Walk(messages=[{"role": "user", "content": DEMO_PROMPT}])
    proposals_seen: dict[str, int] = {}
    for _ in range(MAX_TURNS):
        request = {
            "model": DEMO_MODEL_ID,
            "max_tokens": 4096,
            "system": "You are the Signoff demo agent.",
            "tools": TOOLS,
            "messages": walk.messages,
        }
        validate_messages_request(request)
        turn = next_turn(request)
        walk.turns.append(turn)
        walk.messages.append({"role": "assistant", "content": turn.content})
        if turn.stop_reason != "tool_use":
            return walk
        results = []
        for block in turn.content:
            if block["type"] != "tool_use":
                continue
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block["id"],
                    **judge_and_run(workspace, block, reviewer, proposals_seen),
                }
            )
        walk.messages.append({"role": "user", "content": results})
    raise AssertionError(f"the demo did not finish within {MAX_TURNS} turns")


def judge_and_run(
    workspace: Workspace, block: dict[str, Any], reviewer: Reviewer, proposals_seen: dict[str, int]
) -> dict[str, Any]:
    tool_input = block["input"]
    is_view = tool_input.get("command") == "view"
    if is_view:
        output, failed = workspace.run(block["name"], tool_input)
        return {"content": output, "is_error": failed}
    kind = tool_input.get("path") or tool_input["command"]
    seen_before = proposals_seen.get(kind, 0)
    proposals_seen[kind] = seen_before + 1
    decision = reviewer(tool_input, seen_before)
    if decision.verdict == "reject":
        return {"content": f"The reviewer rejected this change. Reason: {decision.reason}", "is_error": True}
    applied_input = decision.edited_input if decision.verdict == "edit" else tool_input
    output, failed = workspace.run(block["name"], applied_input)
    if decision.verdict == "edit":
        output = f"Applied as edited by the reviewer.\n{output}"
    return {"content": [{"type": "text", "text": output}], "is_error": failed}


def greet_of(workspace: Workspace) -> Callable[[str], str]:
    namespace: dict[str, Any] = {}
    exec(compile((workspace.root / "greet.py").read_text(), "greet.py", "exec"), namespace)  # noqa: S102
    return namespace["greet"]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "greeter")


def test_the_pristine_sample_project_has_the_capitalisation_bug(workspace):
    assert greet_of(workspace)("  ada lovelace ") == "Hello, Ada lovelace!"


def test_approving_every_step_fixes_the_bug_and_the_new_tests_pass(workspace):
    walk = walk_demo(workspace)

    assert [tool_input["command"] for tool_input in walk.tool_inputs()] == [
        "view",
        "view",
        "str_replace",
        "create",
        "python3 -m unittest -v",
    ]
    assert walk.tool_inputs()[0]["path"] == "."
    assert all(turn.content[0]["type"] == "text" and turn.content[0]["text"] for turn in walk.turns)
    assert greet_of(workspace)("  ada lovelace ") == "Hello, Ada Lovelace!"
    assert "- Fix tidy_name in greet.py: applied as proposed." in walk.summary
    assert "- Add test_greet.py: applied as proposed." in walk.summary
    assert "The tests passed (Ran 4 tests" in walk.summary
    assert "rejected" not in walk.summary


def test_a_rejected_fix_is_followed_by_a_different_fix_quoting_the_reason(workspace):
    def reject_first_fix(tool_input: dict[str, Any], seen_before: int) -> Decision:
        if tool_input["command"] == "str_replace" and seen_before == 0:
            return Decision("reject", "capitalize() mangles McDonald")
        return Decision("approve")

    walk = walk_demo(workspace, reject_first_fix)

    first_fix, second_fix = [tool_input for tool_input in walk.tool_inputs() if tool_input["command"] == "str_replace"]
    assert first_fix["old_str"] == second_fix["old_str"], "the second fix targets the unchanged file"
    assert first_fix["new_str"] != second_fix["new_str"]
    retry_text = walk.turns[3].content[0]["text"]
    assert "“capitalize() mangles McDonald”" in retry_text
    assert greet_of(workspace)("ada mcDonald") == "Hello, Ada McDonald!"
    assert (
        "- Fix tidy_name in greet.py: my first proposal was rejected (“capitalize() mangles McDonald”); "
        "the second was applied as proposed."
    ) in walk.summary
    assert "The tests passed" in walk.summary


def test_a_fix_rejected_twice_is_dropped_and_the_summary_says_the_bug_remains(workspace):
    def reject_every_fix(tool_input: dict[str, Any], seen_before: int) -> Decision:
        if tool_input["command"] == "str_replace":
            return Decision("reject", f"not like this ({seen_before + 1})")
        return Decision("approve")

    walk = walk_demo(workspace, reject_every_fix)

    assert len(walk.turns) == 7, "two fix proposals, then the tests, the run and the summary"
    assert greet_of(workspace)("  ada lovelace ") == "Hello, Ada lovelace!", "the file is untouched"
    assert (
        "- Fix tidy_name in greet.py: rejected twice (“not like this (1)”, then “not like this (2)”), "
        "so I left it and moved on."
    ) in walk.summary
    assert "The tests failed (Ran 4 tests" in walk.summary
    assert "greet.py still has the capitalisation bug" in walk.summary


def test_rejecting_every_change_ends_in_a_summary_that_claims_nothing_was_done(workspace):
    walk = walk_demo(workspace, lambda tool_input, seen_before: Decision("reject", "no"))

    assert len(walk.turns) == 2 + 3 * 2 + 1
    assert not (workspace.root / "test_greet.py").exists()
    assert walk.summary.count("rejected twice (“no”, then “no”)") == 3
    assert "passed" not in walk.summary and "applied" not in walk.summary


def test_an_edited_test_file_is_reported_as_applied_with_the_reviewers_edits(workspace):
    def edit_the_tests(tool_input: dict[str, Any], seen_before: int) -> Decision:
        if tool_input["command"] == "create":
            own_tests = (
                "import unittest\n\nclass NoTest(unittest.TestCase):\n    def test_nothing(self):\n        pass\n"
            )
            return Decision("edit", edited_input={**tool_input, "file_text": own_tests})
        return Decision("approve")

    walk = walk_demo(workspace, edit_the_tests)

    assert "- Add test_greet.py: applied with the reviewer's edits." in walk.summary
    assert "The tests passed (Ran 1 test" in walk.summary


def test_after_the_summary_the_demo_answers_without_starting_over(workspace):
    walk = walk_demo(workspace)
    walk.messages.append({"role": "user", "content": "Again?"})
    request = {"model": DEMO_MODEL_ID, "max_tokens": 4096, "messages": walk.messages}
    validate_messages_request(request)

    turn = demo_scenario(request)

    assert turn.stop_reason == "end_turn"
    assert "finished" in turn.content[0]["text"]


def test_the_demo_runs_through_the_real_sdk_stream_and_server(workspace):
    with (
        demo_server(chunk_delay=0) as server,
        anthropic.Anthropic(base_url=server.base_url, api_key="demo", max_retries=0) as client,
    ):
        assert DEMO_MODEL_ID in [model.id for model in client.models.list().data]

        def streamed_turn(request: dict[str, Any]) -> Turn:
            with client.messages.stream(**request) as stream:
                message = stream.get_final_message()
            # What the app sends back is the SDK's own message, so the server sees the SDK's serialisation.
            return Turn([block.to_dict() for block in message.content], message.stop_reason)

        walk = walk_demo(workspace, next_turn=streamed_turn)

    assert "The tests passed" in walk.summary
    assert len(server.message_bodies) == len(walk.turns)
    assert server.scenario_errors == []


def test_a_rejection_asking_for_inner_spaces_gets_a_test_file_that_covers_them(workspace):
    def ask_for_inner_spaces(tool_input: dict[str, Any], seen_before: int) -> Decision:
        if tool_input["command"] == "create" and seen_before == 0:
            return Decision("reject", "also test inner spaces")
        return Decision("approve")

    walk = walk_demo(workspace, ask_for_inner_spaces)

    first, second = [tool_input for tool_input in walk.tool_inputs() if tool_input["command"] == "create"]
    assert "ada   lovelace" not in first["file_text"]
    assert 'tidy_name("ada   lovelace")' in second["file_text"]
    retry_text = next(turn.content[0]["text"] for turn in walk.turns if "“also test inner spaces”" in str(turn.content))
    assert "runs of spaces and tabs inside a name" in retry_text
    assert 'tidy_name("ada   lovelace")' in (workspace.root / "test_greet.py").read_text()
    assert "The tests passed (Ran 5 tests" in walk.summary


def test_a_fix_rejected_as_too_long_is_revised_to_the_builtin_the_reason_names(workspace):
    def ask_for_a_builtin(tool_input: dict[str, Any], seen_before: int) -> Decision:
        if tool_input["command"] == "str_replace" and seen_before == 0:
            return Decision("reject", "simpler please: there is a built-in for this")
        return Decision("approve")

    walk = walk_demo(workspace, ask_for_a_builtin)

    fixes = [tool_input["new_str"] for tool_input in walk.tool_inputs() if tool_input["command"] == "str_replace"]
    assert fixes[1] == "    return raw.strip().title()"
    assert "raw.strip().title()" in (workspace.root / "greet.py").read_text()


def test_a_reason_the_scripted_demo_cannot_follow_is_said_so_not_answered_with_a_pretence(workspace):
    def reject_vaguely(tool_input: dict[str, Any], seen_before: int) -> Decision:
        if tool_input["command"] == "create" and seen_before == 0:
            return Decision("reject", "hmm, I do not like the vibe")
        return Decision("approve")

    walk = walk_demo(workspace, reject_vaguely)

    retry_text = next(
        turn.content[0]["text"] for turn in walk.turns if "“hmm, I do not like the vibe”" in str(turn.content)
    )
    assert "cannot work out a change from that reason" in retry_text
    assert "testing spaces inside a name, or fewer tests" in retry_text
