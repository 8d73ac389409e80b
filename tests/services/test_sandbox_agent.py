"""The agent loop runs every command sandboxed: a policy-allowed command's effects land and are stored with its result
(`signoff show` names the sandbox); where no sandbox can be had, allow rules ask a person and say why."""

from __future__ import annotations

from app import cli
from app.domain.tools import COMMAND_TOOL_NAME
from app.services import events, review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run, stack_factory  # noqa: F401

POLICY = 'version = 1\n\n[[rule]]\naction = "allow"\nkind = "command"\npattern = "touch"\n'


def scripted(stack_factory):  # noqa: F811
    return stack_factory(
        [tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "touch made.txt"})), text_turn("Done.")],
        files={".signoff/policy.toml": POLICY},
    )


def test_a_policy_allowed_command_runs_sandboxed_and_its_effects_are_stored_and_shown(stack_factory, capsys):  # noqa: F811
    stack = scripted(stack_factory)

    async def scenario():
        session = await stack.start()
        assert await stack.manager.wait(session.id) == "finished"
        ((proposal, _),) = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        await stack.close()
        return proposal

    proposal = run(scenario())
    assert (stack.workspace / "made.txt").exists()
    assert proposal.result["effects"]["sandbox"].startswith("bubblewrap on")
    assert [entry["path"] for entry in proposal.result["effects"]["applied"]] == ["made.txt"]
    (result,) = stack.last_request_tool_results()
    assert "Sandbox: bubblewrap on" in result["content"] and "made.txt created" in result["content"]
    assert cli.main(["--db", str(stack.db_path), "show", str(proposal.id)]) == 0
    shown = capsys.readouterr().out
    assert "Sandbox: bubblewrap on" in shown and "applied: made.txt created" in shown


def test_without_a_sandbox_an_allow_rule_asks_a_person_and_says_why(stack_factory, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SIGNOFF_SANDBOX", "none")
    stack = scripted(stack_factory)

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        said = [e.detail for e in stack.seen if isinstance(e, events.StatusChanged) and "No sandbox" in e.detail]
        await stack.manager.decide(review.approve(proposal.id, "ada", time_on_screen_ms=500))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()
        return said

    said = run(scenario())
    assert said and "waits for a person" in said[0]
    (result,) = stack.last_request_tool_results()
    assert "Sandbox: none: it ran unsandboxed" in result["content"]
