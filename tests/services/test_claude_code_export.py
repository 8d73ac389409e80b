"""Decisions on a Claude Code session become dataset rows whose prompt is the session's own transcript (its JSONL file,
as Claude Code writes it) up to the tool call decided; without a readable transcript, the task and the calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.services import review
from app.services.adapters.hooks_install import hook_command
from app.services.export import ExportOptions, export_dataset
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.adapter_setup import new_database, project_with
from tests.support.claude_code_driver import FakeClaudeCode, wait_until
from tests.support.store_queries import pending_proposals


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with(tmp_path, {"greet.py": "def greet():\n    return 'hello'\n"})


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return new_database(tmp_path)


@pytest.fixture
def repository(db_url: str) -> Repository:
    return Repository(open_database(db_url))


def _append(claude: FakeClaudeCode, *entries: dict) -> None:
    with claude.transcript.open("a", encoding="utf-8") as transcript:
        for entry in entries:
            transcript.write(json.dumps(entry) + "\n")


def _assistant(*blocks: dict, message_id: str) -> list[dict]:
    """One streamed answer as Claude Code writes it: a line per content block, sharing the message id."""
    return [
        {"type": "assistant", "message": {"id": message_id, "role": "assistant", "content": [block]}}
        for block in blocks
    ]


def _decided_call(claude, repository, tool_name, tool_input, *, said: str, verdict: str, **extra) -> str:
    payload = claude.payload(tool_name, tool_input)
    call = {"type": "tool_use", "id": payload["tool_use_id"], "name": tool_name, "input": tool_input}
    thinking = {"type": "thinking", "thinking": "private", "signature": "sig"}
    _append(claude, *_assistant(thinking, {"type": "text", "text": said}, call, message_id=f"msg_{tool_name}"))
    run = claude.start(payload)
    proposal = wait_until(lambda: pending_proposals(repository), what="the hook's proposal")[0]
    review.decide(repository, review.DecisionRequest(proposal.id, verdict, "ana", channel="cli", **extra))
    _, answer, _ = run.result()
    told = answer["hookSpecificOutput"]["permissionDecisionReason"]
    result = {"type": "tool_result", "tool_use_id": payload["tool_use_id"], "content": told}
    _append(claude, {"type": "user", "message": {"role": "user", "content": [result]}})
    return payload["tool_use_id"]


def _rows(db_url: str, out: Path) -> list[dict]:
    database = open_database(db_url)
    try:
        export_dataset(database, ExportOptions("trl-kto", out))
    finally:
        database.close()
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_exported_rows_of_a_claude_code_session_carry_its_transcript_as_the_prompt(
    project, db_url, repository, tmp_path
):
    claude = FakeClaudeCode(project, hook_command(db_url=db_url, timeout_s=60))
    _append(claude, {"type": "user", "isSidechain": True, "message": {"role": "user", "content": "a subagent's task"}})
    edit = {"file_path": str(project / "greet.py"), "old_string": "'hello'", "new_string": "'hi'"}
    _decided_call(claude, repository, "Edit", edit, said="A friendlier greeting.", verdict="approve")
    reason = "No deleting: the build folder holds the release."
    _decided_call(
        claude, repository, "Bash", {"command": "rm -rf build"}, said="Now clean up.", verdict="reject", reason=reason
    )

    rows = {row["completion"][0]["content"]: row for row in _rows(db_url, tmp_path / "kto.jsonl")}

    approved, rejected = rows["A friendlier greeting."], rows["Now clean up."]
    assert approved["label"] is True and rejected["label"] is False
    assert approved["prompt"] == [{"role": "user", "content": "Tidy up the greeting module"}]
    assert approved["completion"][0]["tool_calls"][0]["function"]["name"] == "Edit"
    # The second call's prompt is the conversation so far, the first call's result included; no thinking, no
    # subagent.
    later = json.dumps(rejected["prompt"])
    assert rejected["prompt"][0] == {"role": "user", "content": "Tidy up the greeting module"}
    assert "A friendlier greeting." in later and "private" not in later and "subagent" not in later
    assert any(message["role"] == "tool" for message in rejected["prompt"])


def test_without_a_readable_transcript_the_rows_still_come_from_the_task_and_the_calls(
    project, db_url, repository, tmp_path
):
    claude = FakeClaudeCode(project, hook_command(db_url=db_url, timeout_s=60))
    edit = {"file_path": str(project / "greet.py"), "old_string": "'hello'", "new_string": "'hey'"}
    _decided_call(claude, repository, "Edit", edit, said="Say hey.", verdict="approve")
    claude.transcript.unlink()

    rows = _rows(db_url, tmp_path / "kto.jsonl")

    assert len(rows) == 1
    assert rows[0]["label"] is True
    assert rows[0]["prompt"] == [{"role": "user", "content": "Tidy up the greeting module"}]
    assert rows[0]["completion"][0]["tool_calls"][0]["function"]["name"] == "Edit"
