"""The agent loop end to end without a window: real SDK, stand-in API over HTTP, real SQLite file."""

from __future__ import annotations

import hashlib

import pytest

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import events, review
from app.standin.scenario import Fault, StreamFault, text_block, text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run
from tests.support.store_queries import list_proposals, pending_proposals

GREET = "def greet(name):\n    return 'hi ' + name\n"


def edit(path: str, old: str, new: str, id: str | None = None):
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new}, id
    )


def command(text: str, id: str | None = None):
    return tool_use_block(COMMAND_TOOL_NAME, {"command": text}, id)


def test_approved_edit_writes_the_exact_bytes_and_records_the_decision(stack_factory):
    stack = stack_factory(
        [tool_turn(text_block("Fixing."), edit("greet.py", "'hi '", "'Hello, '")), text_turn("Done.")],
        files={"greet.py": GREET},
    )

    async def scenario():
        session = await stack.start("Greet politely.")
        proposal = await stack.waiting_proposal()
        assert proposal.kind == "edit" and proposal.path == "greet.py"
        assert "-    return 'hi ' + name" in proposal.shown_text
        assert "+    return 'Hello, ' + name" in proposal.shown_text
        await stack.manager.decide(review.approve(proposal.id, "ada", time_on_screen_ms=1200))
        assert await stack.manager.wait(session.id) == "finished"
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return decisions, stored

    decisions, stored = run(scenario())
    assert (stack.workspace / "greet.py").read_bytes() == b"def greet(name):\n    return 'Hello, ' + name\n"
    assert [(d.verdict, d.reviewer, d.time_on_screen_ms) for _, d in decisions] == [("approve", "ada", 1200)]
    assert stored.status == "applied"
    assert stored.base_hash == hashlib.sha256(GREET.encode()).hexdigest()
    (result,) = stack.last_request_tool_results()
    assert "applied" in result["content"] and not result.get("is_error")


def test_rejected_edit_leaves_the_file_untouched_and_the_reason_reaches_the_next_request(stack_factory):
    stack = stack_factory(
        [tool_turn(edit("greet.py", "'hi '", "'yo '")), text_turn("Understood.")], files={"greet.py": GREET}
    )

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.reject(proposal.id, "ada", "Too informal for customers."))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    assert (stack.workspace / "greet.py").read_text() == GREET
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] is True
    assert "Too informal for customers." in result["content"]
    assert "Nothing was changed" in result["content"]


def test_edited_change_lands_as_the_reviewer_wrote_it_and_the_agent_is_told_the_difference(stack_factory):
    stack = stack_factory(
        [tool_turn(edit("greet.py", "'hi '", "'hey '")), text_turn("Noted.")], files={"greet.py": GREET}
    )
    mine = b"def greet(name):\n    return 'Good day, ' + name\n"

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.edit(proposal.id, "ada", mine))
        await stack.manager.wait(session.id)
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        await stack.close()
        return decisions

    decisions = run(scenario())
    assert (stack.workspace / "greet.py").read_bytes() == mine
    ((_, decision),) = decisions
    assert decision.verdict == "edit" and decision.edited_content == mine
    (result,) = stack.last_request_tool_results()
    assert "edited your change" in result["content"]
    assert "-    return 'hey ' + name" in result["content"]
    assert "+    return 'Good day, ' + name" in result["content"]


def test_new_file_is_shown_as_all_added_and_created_on_approval(stack_factory):
    create = tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "pkg/new.txt", "file_text": "a\nb\n"})
    stack = stack_factory([tool_turn(create), text_turn("ok")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        assert proposal.kind == "create" and proposal.lines_added == 2 and proposal.lines_removed == 0
        assert proposal.base_hash is None
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    assert (stack.workspace / "pkg" / "new.txt").read_bytes() == b"a\nb\n"


def test_approved_command_runs_in_the_workspace_and_its_output_and_exit_code_go_back(stack_factory):
    stack = stack_factory([tool_turn(command("echo out; echo err >&2; exit 3")), text_turn("ok")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        assert proposal.kind == "command" and proposal.cwd == "."
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    (result,) = stack.last_request_tool_results()
    assert "Exit code: 3" in result["content"]
    assert "out" in result["content"] and "err" in result["content"]


def test_rejected_command_is_never_run(stack_factory):
    stack = stack_factory([tool_turn(command("touch ran.txt")), text_turn("ok")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.reject(proposal.id, "ada", "No side effects please."))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    assert not (stack.workspace / "ran.txt").exists()
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] and "NOT run" in result["content"]


def test_edited_command_runs_instead_and_the_agent_is_told_what_ran(stack_factory):
    stack = stack_factory([tool_turn(command("rm -rf build")), text_turn("ok")], files={"build/x": "x"})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.edit(proposal.id, "ada", b"touch safe.txt"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    assert (stack.workspace / "build" / "x").exists()
    assert (stack.workspace / "safe.txt").exists()
    (result,) = stack.last_request_tool_results()
    assert "You proposed: rm -rf build" in result["content"] and "Ran: touch safe.txt" in result["content"]


def test_command_environment_has_no_api_key_or_tokens(stack_factory, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    stack = stack_factory([tool_turn(command("env")), text_turn("ok")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    (result,) = stack.last_request_tool_results()
    assert "sk-ant-test-key" not in result["content"] and "ghp_secret" not in result["content"]
    assert "PATH=" in result["content"]


def test_stop_while_a_proposal_waits_withdraws_it_and_changes_nothing(stack_factory):
    stack = stack_factory([tool_turn(edit("greet.py", "'hi '", "'yo '"))], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        assert stack.manager.stop(session.id)
        assert await stack.manager.wait(session.id) == "stopped"
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        final = await stack.repository.read(lambda store: store.sessions.get(session.id))
        await stack.close()
        return stored, final

    stored, final = run(scenario())
    assert stored.status == "cancelled"
    assert final.status == "stopped"
    assert (stack.workspace / "greet.py").read_text() == GREET


def test_a_waiting_proposal_survives_a_restart_and_deciding_it_resumes_the_session(stack_factory):
    stack = stack_factory(
        [tool_turn(edit("greet.py", "'hi '", "'Hello '")), text_turn("Resumed and done.")],
        files={"greet.py": GREET},
    )

    async def first_run():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.close()  # the app closes while the proposal waits
        return session, proposal

    session, proposal = run(first_run())
    stack.open()

    async def after_restart():
        pending = await stack.repository.read(pending_proposals)
        assert [p.id for p in pending] == [proposal.id]
        assert (await stack.repository.read(lambda store: store.sessions.get(session.id))).status == "waiting"
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    run(after_restart())
    assert "'Hello '" in (stack.workspace / "greet.py").read_text()
    assert len(stack.server.message_bodies) == 2


def test_a_file_changed_on_disk_after_the_proposal_is_a_conflict_and_is_not_overwritten(stack_factory):
    stack = stack_factory([tool_turn(edit("greet.py", "'hi '", "'yo '")), text_turn("ok")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        (stack.workspace / "greet.py").write_text("someone else's version\n")
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return stored

    stored = run(scenario())
    assert stored.status == "conflict"
    assert (stack.workspace / "greet.py").read_text() == "someone else's version\n"
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] and "NOT applied" in result["content"] and "changed on disk" in result["content"]


def test_bad_tool_inputs_get_clear_errors_and_make_no_proposal(stack_factory, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    calls = [
        tool_use_block(EDITOR_TOOL_NAME, {"command": "view", "path": "../outside.txt"}, "toolu_outside"),
        tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": str(outside), "file_text": "x"}, "toolu_abs"),
        tool_use_block("delete_everything", {}, "toolu_unknown_tool"),
        tool_use_block(EDITOR_TOOL_NAME, {"command": "view", "path": "latin1.txt"}, "toolu_latin1"),
        tool_use_block(
            EDITOR_TOOL_NAME,
            {"command": "str_replace", "path": "missing.py", "old_str": "a", "new_str": "b"},
            "toolu_missing",
        ),
        tool_use_block(
            EDITOR_TOOL_NAME,
            {"command": "str_replace", "path": "twice.py", "old_str": "x = 1", "new_str": "x = 2"},
            "toolu_twice",
        ),
        tool_use_block(
            EDITOR_TOOL_NAME,
            {"command": "str_replace", "path": "twice.py", "old_str": "nope", "new_str": "y"},
            "toolu_notfound",
        ),
        tool_use_block(
            EDITOR_TOOL_NAME, {"command": "insert", "path": "twice.py", "insert_line": "3"}, "toolu_malformed"
        ),
        tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": ".git/config", "file_text": "x"}, "toolu_git"),
        tool_use_block(COMMAND_TOOL_NAME, {"command": "  "}, "toolu_empty_command"),
        tool_use_block(EDITOR_TOOL_NAME, {"command": "undo_edit", "path": "twice.py"}, "toolu_unknown_command"),
    ]
    stack = stack_factory(
        [tool_turn(*calls), text_turn("ok")],
        files={"latin1.txt": "café".encode("latin-1"), "twice.py": "x = 1\nx = 1\n", ".git/config": "[core]\n"},
    )

    async def scenario():
        session = await stack.start()
        await stack.manager.wait(session.id)
        proposals = await stack.repository.read(list_proposals, session_id=session.id)
        await stack.close()
        return proposals

    proposals = run(scenario())
    assert proposals == []
    results = {r["tool_use_id"]: r for r in stack.last_request_tool_results()}
    assert all(r["is_error"] for r in results.values())
    assert "outside the workspace" in results["toolu_outside"]["content"]
    assert "outside the workspace" in results["toolu_abs"]["content"]
    assert "no tool named 'delete_everything'" in results["toolu_unknown_tool"]["content"]
    assert "not valid UTF-8" in results["toolu_latin1"]["content"]
    assert "does not exist" in results["toolu_missing"]["content"]
    assert "occurs 2 times" in results["toolu_twice"]["content"] and "lines 1, 2" in results["toolu_twice"]["content"]
    assert "was not found" in results["toolu_notfound"]["content"]
    assert "insert_line" in results["toolu_malformed"]["content"]
    assert ".git" in results["toolu_git"]["content"]
    assert "non-empty `command`" in results["toolu_empty_command"]["content"]
    assert "Unknown command 'undo_edit'" in results["toolu_unknown_command"]["content"]
    assert outside.read_text() == "secret"
    # Results answer every call, in order, in one message: the API contract.
    assert list(results) == [c["id"] for c in calls]


def test_views_run_without_asking_and_proposals_in_one_message_wait_in_order(stack_factory):
    stack = stack_factory(
        [
            tool_turn(
                tool_use_block(EDITOR_TOOL_NAME, {"command": "view", "path": "greet.py"}),
                edit("greet.py", "'hi '", "'a '"),
                edit("greet.py", "greet(name)", "greet(who)"),
            ),
            text_turn("ok"),
        ],
        files={"greet.py": GREET},
    )

    async def scenario():
        session = await stack.start()
        first = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(first.id, "ada"))
        second = await stack.until(
            lambda: [
                e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.id != first.id
            ]
        )
        await stack.manager.decide(review.approve(second[0].id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    # The second edit was computed against the file as the first left it, so both apply cleanly.
    assert (stack.workspace / "greet.py").read_text() == "def greet(who):\n    return 'a ' + name\n"
    results = stack.last_request_tool_results()
    assert "1\tdef greet(name):" in results[0]["content"]


def test_requests_use_prompt_caching_and_usage_is_totalled_per_session(stack_factory):
    stack = stack_factory([tool_turn(command("true")), text_turn("ok")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        final = await stack.repository.read(lambda store: store.sessions.get(session.id))
        await stack.close()
        return final

    final = run(scenario())
    first, second = stack.server.message_bodies
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"} in first["tools"]
    assert first["stream"] is True
    assert final.cache_creation_input_tokens > 0 and final.cache_read_input_tokens > 0
    assert final.input_tokens > 0 and final.output_tokens > 0 and final.turns == 2


def test_the_turn_limit_ends_the_session(stack_factory):
    stack = stack_factory([tool_turn(tool_use_block(EDITOR_TOOL_NAME, {"command": "view", "path": "."}))] * 5)

    async def scenario():
        session = await stack.start(max_turns=2)
        await stack.manager.wait(session.id)
        final = await stack.repository.read(lambda store: store.sessions.get(session.id))
        await stack.close()
        return final

    final = run(scenario())
    assert final.status == "finished" and final.stop_reason == "max_turns" and final.turns == 2


def test_a_stream_cut_mid_message_is_retried_without_running_any_tool_twice(stack_factory):
    call = command("echo once >> log.txt")
    stack = stack_factory(
        [
            StreamFault(after_blocks=1, mode="error_event", then=tool_turn(text_block("x"), call)),
            StreamFault(after_blocks=0, mode="drop"),
            tool_turn(call),
            text_turn("ok"),
        ]
    )

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal(timeout=20)
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    assert (stack.workspace / "log.txt").read_text() == "once\n"
    assert any(isinstance(e, events.StatusChanged) and e.status == "retrying" for e in stack.seen)


def test_an_api_error_interrupts_the_session_with_a_clear_message_and_resume_continues(stack_factory):
    stack = stack_factory([Fault(400, "invalid_request_error", "prompt is too long"), text_turn("Back again.")])

    async def scenario():
        session = await stack.start()
        assert await stack.manager.wait(session.id) == "interrupted"
        interrupted = await stack.repository.read(lambda store: store.sessions.get(session.id))
        await stack.manager.resume(session.id)
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()
        return interrupted

    interrupted = run(scenario())
    assert interrupted.status == "interrupted"
    assert "prompt is too long" in interrupted.error and "400" in interrupted.error


def test_several_sessions_run_at_once(stack_factory, tmp_path):
    stack = stack_factory(lambda request: text_turn("done"))
    other = tmp_path / "other"
    other.mkdir()

    async def scenario():
        first = await stack.start("one")
        stack.workspace, original = other, stack.workspace
        second = await stack.start("two")
        stack.workspace = original
        results = [await stack.manager.wait(first.id), await stack.manager.wait(second.id)]
        await stack.close()
        return results

    assert run(scenario()) == ["finished", "finished"]


def test_an_already_decided_proposal_is_refused_with_a_clear_message(stack_factory):
    stack = stack_factory([tool_turn(edit("greet.py", "'hi '", "'yo '")), text_turn("ok")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        with pytest.raises(Exception, match=r"already decided by ada \(approve\)"):
            await stack.manager.decide(review.reject(proposal.id, "bob", "late"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())


@pytest.mark.postgres
def test_the_whole_flow_works_on_postgresql_from_the_start(stack_factory, postgres_url):
    stack = stack_factory(
        [tool_turn(edit("greet.py", "'hi '", "'Hello '")), tool_turn(command("true")), text_turn("Done.")],
        files={"greet.py": GREET},
        db_url=postgres_url,
    )

    async def scenario():
        session = await stack.start()
        first = await stack.waiting_proposal()
        await stack.manager.decide(review.edit(first.id, "ada", b"def greet(name):\n    return 'Hi ' + name\n"))
        second = await stack.until(
            lambda: [
                e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.id != first.id
            ]
        )
        await stack.manager.decide(review.reject(second[0].id, "bob", "Not needed."))
        with pytest.raises(Exception, match="already decided by bob"):
            await stack.manager.decide(review.approve(second[0].id, "ada"))
        assert await stack.manager.wait(session.id) == "finished"
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        messages = await stack.repository.read(lambda store: store.sessions.messages(session.id))
        stored = await stack.repository.read(lambda store: store.sessions.get(session.id))
        await stack.close()
        return decisions, messages, stored

    decisions, messages, stored = run(scenario())
    assert [(d.verdict, d.reviewer) for _, d in decisions] == [("edit", "ada"), ("reject", "bob")]
    assert decisions[0][1].edited_content == b"def greet(name):\n    return 'Hi ' + name\n"
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert stored.status == "finished" and stored.created_at.tzinfo is not None
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hi ' + name\n"
