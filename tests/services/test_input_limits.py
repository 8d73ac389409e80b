"""Limits on what reaches Signoff: oversized, binary or non-UTF-8 edits and agent inputs are refused with a clear
message and nothing recorded; what the model is sent is cut like command output while the store keeps all of it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.domain.shell_parse import MAX_COMMAND_CHARS
from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import review
from app.services.review import ReviewError, read_edit_file
from app.services.settings import Settings, load_settings, save_settings, settings_path
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run
from tests.support.store_queries import list_proposals


def limit_edits_to(max_bytes: int) -> None:
    path = Path(os.environ["SIGNOFF_CONFIG_DIR"]) / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"max_edit_bytes": max_bytes}), encoding="utf-8")


def create(path: str, text: str):
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": path, "file_text": text})


def test_an_agent_file_above_the_settings_limit_is_refused_to_the_model_and_never_proposed(stack_factory) -> None:
    limit_edits_to(1000)
    stack = stack_factory([tool_turn(create("big.txt", "x" * 5000)), text_turn("Understood.")])

    async def scenario():
        session = await stack.start()
        assert await stack.manager.wait(session.id) == "finished"
        proposals = await stack.repository.read(lambda store: list_proposals(store, session_id=session.id))
        await stack.close()
        return proposals

    assert run(scenario()) == []
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] is True
    assert "5,000 bytes, more than the 1,000 bytes" in result["content"] and "max_edit_bytes" in result["content"]
    assert not (stack.workspace / "big.txt").exists()


def test_an_agent_command_line_above_the_limit_is_refused_to_the_model_and_never_proposed(stack_factory) -> None:
    line = "echo " + "a" * MAX_COMMAND_CHARS
    stack = stack_factory([tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": line})), text_turn("Ok.")])

    async def scenario():
        session = await stack.start()
        assert await stack.manager.wait(session.id) == "finished"
        proposals = await stack.repository.read(lambda store: list_proposals(store, session_id=session.id))
        await stack.close()
        return proposals

    assert run(scenario()) == []
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] is True and f"more than the {MAX_COMMAND_CHARS:,}" in result["content"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"y" * 2000, "2,000 bytes, more than the 1,000 bytes"),
        (b"text\x00with a NUL", "binary data"),
        (b"caf\xe9\n", "not UTF-8 text"),
    ],
)
def test_a_reviewer_edit_over_the_limit_or_not_text_is_refused_and_nothing_is_recorded(
    stack_factory, content: bytes, message: str
) -> None:
    limit_edits_to(1000)
    stack = stack_factory([tool_turn(create("note.txt", "hello\n")), text_turn("Done.")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        with pytest.raises(ReviewError, match=message):
            await stack.manager.decide(review.edit(proposal.id, "ada", content))
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        stack.manager.stop(session.id)
        await stack.manager.wait(session.id)
        await stack.close()
        return decisions

    assert run(scenario()) == []
    assert not (stack.workspace / "note.txt").exists()


def test_an_edit_file_that_never_ends_is_read_only_one_byte_past_the_limit() -> None:
    assert len(read_edit_file(Path("/dev/zero"), 1000)) == 1001


def test_a_long_tool_result_reaches_the_model_cut_like_command_output_and_is_stored_whole(stack_factory) -> None:
    edited = "".join(f"line {n} of the reviewer's version\n" for n in range(6000)).encode()
    stack = stack_factory([tool_turn(create("note.txt", "hello\n")), text_turn("Done.")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.edit(proposal.id, "ada", edited))
        assert await stack.manager.wait(session.id) == "finished"
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return stored

    stored = run(scenario())
    (result,) = stack.last_request_tool_results()
    assert len(result["content"].encode()) <= 40_000 + 200
    assert "bytes cut" in result["content"] and "line 5999 of the reviewer's version" in result["content"]
    assert len(stored.result["content"]) > len(edited) and "line 3000 of" in stored.result["content"]
    assert (stack.workspace / "note.txt").read_bytes() == edited


def test_saving_settings_keeps_keys_it_does_not_know_and_backs_up_the_previous_file() -> None:
    path = settings_path()
    path.write_text(json.dumps({"reviewer": "ada", "theme_from_a_newer_signoff": "dark"}), encoding="utf-8")
    before = path.read_bytes()
    save_settings(Settings(reviewer="grace", max_edit_bytes=2048))
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["theme_from_a_newer_signoff"] == "dark" and saved["reviewer"] == "grace"
    assert load_settings().max_edit_bytes == 2048
    assert path.with_name("settings.json.bak").read_bytes() == before
