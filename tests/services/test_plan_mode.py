"""Plan mode and delegation end to end: real SDK against the stand-in, real SQLite file, the SessionManager."""

from __future__ import annotations

import asyncio
import json

from app.domain import plans
from app.domain.tools import DELEGATE_TOOL_NAME, EDITOR_TOOL_NAME, PLAN_TOOL_NAME
from app.services import events, review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run
from tests.support.tree_scenario import TreeScenario

GREET = "def greet(name):\n    return 'hi ' + name\n"
PLAN = {
    "title": "Greet politely",
    "steps": [
        {"title": "Change the greeting", "detail": "Say Hello.", "files": ["greet.py"]},
        {"title": "Add a test", "detail": "One unit test.", "files": ["test_greet.py"]},
        {"title": "Update the README", "detail": "Mention it."},
    ],
    "open_questions": ["Keep the trailing newline?"],
}


def edit(path, old, new, id=None):
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new}, id
    )


def create(path, text, id=None):
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": path, "file_text": text}, id)


def propose(plan=PLAN, id=None):
    return tool_use_block(PLAN_TOOL_NAME, plan, id)


def delegate(task, role="coder", step=None, id=None):
    payload = {"task": task, "role": role, "workspace": "shared"}
    if step is not None:
        payload["step"] = step
    return tool_use_block(DELEGATE_TOOL_NAME, payload, id)


def results_sent(stack, name):
    return [e for e in stack.seen if isinstance(e, events.ToolResultSent) and e.tool_name == name]


def test_edits_are_refused_in_plan_mode_and_an_approved_plan_lets_the_agent_act(stack_factory):
    stack = stack_factory(
        [
            tool_turn(edit("greet.py", "'hi '", "'Hello, '")),
            tool_turn(propose()),
            tool_turn(edit("greet.py", "'hi '", "'Hello, '")),
            text_turn("Done."),
        ],
        files={"greet.py": GREET},
    )

    async def scenario():
        session = await stack.start("Greet politely.", plan=True)
        plan_proposal = await stack.waiting_proposal()
        assert plan_proposal.kind == "plan" and plan_proposal.command == "Greet politely"
        assert "1. Change the greeting" in plan_proposal.shown_text
        assert (await stack.repository.read(lambda s: s.sessions.get(session.id))).mode == "plan"
        await stack.manager.decide(review.approve(plan_proposal.id, "ada"))
        edit_proposal = await stack.until(
            lambda: next(
                (e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind == "edit"),
                None,
            )
        )
        await stack.manager.decide(review.approve(edit_proposal.id, "ada"))
        assert await stack.manager.wait(session.id) == "finished"
        final = await stack.repository.read(lambda s: s.sessions.get(session.id))
        await stack.close()
        return final

    final = run(scenario())
    assert final.mode == "act"
    first_refusal = stack.server.message_bodies[1]["messages"][-1]["content"][0]
    assert first_refusal["is_error"] and "plan mode" in first_refusal["content"]
    plan_result = stack.server.message_bodies[2]["messages"][-1]["content"][0]
    assert "APPROVED" in plan_result["content"]
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello, ' + name\n"


def test_a_rejected_plan_keeps_plan_mode_and_the_reason_reaches_the_agent(stack_factory):
    revised = {**PLAN, "steps": PLAN["steps"][:2]}
    stack = stack_factory(
        [tool_turn(propose()), tool_turn(propose(revised)), text_turn("Ok.")], files={"greet.py": GREET}
    )

    async def scenario():
        session = await stack.start("Greet politely.", plan=True)
        first = await stack.waiting_proposal()
        await stack.manager.decide(review.reject(first.id, "ada", "No README step, please."))
        second = await stack.until(
            lambda: next(
                (e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.id != first.id),
                None,
            )
        )
        mode_between = (await stack.repository.read(lambda s: s.sessions.get(session.id))).mode
        await stack.manager.decide(review.approve(second.id, "ada"))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()
        return mode_between

    assert run(scenario()) == "plan"
    rejected = stack.server.message_bodies[1]["messages"][-1]["content"][0]
    assert rejected["is_error"] and "No README step, please." in rejected["content"]


def test_an_edited_plan_tells_the_agent_exactly_which_steps_changed(stack_factory):
    stack = stack_factory([tool_turn(propose()), text_turn("Following the edited plan.")], files={"greet.py": GREET})
    edited_markdown = "# Greet politely\n1. Add a test\n   One unit test.\n2. Change the greeting to Hello there\n"

    async def scenario():
        session = await stack.start("Greet politely.", plan=True)
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.edit(proposal.id, "ada", edited_markdown.encode()))
        assert await stack.manager.wait(session.id) == "finished"
        decisions = await stack.repository.read(lambda s: s.proposals.decisions_for_session(session.id))
        await stack.close()
        return decisions

    ((_, decision),) = run(scenario())
    assert decision.verdict == "edit"
    assert [s.title for s in plans.plan_from_bytes(decision.edited_content).steps] == [
        "Add a test",
        "Change the greeting to Hello there",
    ]
    told = stack.server.message_bodies[1]["messages"][-1]["content"][0]["content"]
    assert "EDITED" in told
    assert "Removed step 3 ('Update the README')." in told
    assert "Moved step 2 ('Add a test') to position 1." in told or "Moved step 1" in told
    assert '"change": "reworded"' in told


def test_a_hostile_plan_is_refused_with_a_reason_and_nothing_waits(stack_factory):
    stack = stack_factory(
        [tool_turn(propose({"title": "x", "steps": "all of them"})), text_turn("Sorry.")], files={"greet.py": GREET}
    )

    async def scenario():
        session = await stack.start("Greet politely.", plan=True)
        assert await stack.manager.wait(session.id) == "finished"
        waiting = await stack.repository.read(lambda s: s.proposals.waiting_count(session.id))
        await stack.close()
        return waiting

    assert run(scenario()) == 0
    refused = stack.server.message_bodies[1]["messages"][-1]["content"][0]
    assert refused["is_error"] and "non-empty list of steps" in refused["content"]


def _tree_stack(stack_factory, root_replies, limits=None):
    scripts = {
        "Greet politely.": root_replies,
        "Change the greeting": [tool_turn(edit("greet.py", "'hi '", "'Hello, '")), text_turn("Greeting changed.")],
        "Add a test": [tool_turn(create("test_greet.py", "import greet\n")), text_turn("Test added.")],
    }
    return stack_factory(TreeScenario(scripts), files={"greet.py": GREET})


def _approved_plan_then(*turns):
    return [tool_turn(propose()), *turns]


def test_two_delegated_coders_run_in_parallel_and_their_reports_return_to_the_parent(stack_factory):
    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(
            tool_turn(delegate("Change the greeting to Hello.", step=1), delegate("Add a test for greet.", step=2)),
            text_turn("Both steps done."),
        ),
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True)
        plan_proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(plan_proposal.id, "ada"))

        def both_waiting():
            waiting = [
                e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind != "plan"
            ]
            return waiting if len(waiting) == 2 else None

        # Both children wait on a person at the same time: they run in parallel.
        child_proposals = await stack.until(both_waiting)
        for proposal in child_proposals:
            await stack.manager.decide(review.approve(proposal.id, "ada"))
        assert await stack.manager.wait(root.id) == "finished"
        tree = await stack.repository.read(lambda s: s.sessions.tree(root.id))
        await stack.close()
        return root, tree, child_proposals

    root, tree, child_proposals = run(scenario())
    children = tree[1:]
    assert [(c.parent_id, c.role, c.depth, c.plan_step, c.status) for c in children] == [
        (root.id, "coder", 1, 1, "finished"),
        (root.id, "coder", 1, 2, "finished"),
    ]
    assert {p.session_id for p in child_proposals} == {c.id for c in children}
    results = stack.server.message_bodies[-1]["messages"][-1]["content"]
    texts = [r["content"] for r in results]
    assert "Greeting changed." in texts[0] and "Test added." in texts[1]
    assert (stack.workspace / "test_greet.py").read_text() == "import greet\n"


def test_budget_refuses_a_sub_agent_beyond_the_per_session_limit(stack_factory):
    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(
            tool_turn(delegate("Change the greeting to Hello.", step=1), delegate("Add a test for greet.", step=2)),
            text_turn("One step done."),
        ),
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True, delegation_limits={"max_subagents": 1})
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        child_edit = await stack.until(
            lambda: next(
                (e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind == "edit"),
                None,
            )
        )
        await stack.manager.decide(review.approve(child_edit.id, "ada"))
        assert await stack.manager.wait(root.id) == "finished"
        tree = await stack.repository.read(lambda s: s.sessions.tree(root.id))
        await stack.close()
        return tree

    tree = run(scenario())
    assert len(tree) == 2
    second = stack.server.message_bodies[-1]["messages"][-1]["content"][1]
    assert second["is_error"] and "its budget's limit of 1" in second["content"]


def test_budget_refuses_depth_and_tokens_with_a_clear_reason(stack_factory):
    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(tool_turn(delegate("Change the greeting to Hello.")), text_turn("Stopped.")),
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True, delegation_limits={"max_tree_tokens": 1})
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        assert await stack.manager.wait(root.id) == "finished"
        await stack.close()

    run(scenario())
    refused = stack.server.message_bodies[-1]["messages"][-1]["content"][0]
    assert refused["is_error"] and "tokens, its budget's limit of 1" in refused["content"]

    depth_stack = _tree_stack(
        stack_factory,
        _approved_plan_then(tool_turn(delegate("Change the greeting to Hello.")), text_turn("Stopped.")),
    )

    async def depth_scenario():
        root = await depth_stack.start("Greet politely.", plan=True, delegation_limits={"max_depth": 0})
        await depth_stack.manager.decide(review.approve((await depth_stack.waiting_proposal()).id, "ada"))
        assert await depth_stack.manager.wait(root.id) == "finished"
        await depth_stack.close()

    run(depth_scenario())
    refused = depth_stack.server.message_bodies[-1]["messages"][-1]["content"][0]
    assert refused["is_error"] and "depth 1; the budget allows 0" in refused["content"]


def test_delegating_waits_for_a_person_when_the_policy_asks_and_a_rejection_starts_nobody(stack_factory):
    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(tool_turn(delegate("Change the greeting to Hello.", role="coder")), text_turn("Ok.")),
    )
    (stack.workspace / ".signoff").mkdir()
    (stack.workspace / ".signoff" / "policy.toml").write_text(
        '[[rules]]\naction = "ask"\nkind = "delegate"\npattern = "*"\n'
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True)
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        delegation = await stack.until(
            lambda: next(
                (
                    e.proposal
                    for e in stack.seen
                    if isinstance(e, events.ProposalWaiting) and e.proposal.kind == "delegate"
                ),
                None,
            )
        )
        await stack.manager.decide(review.reject(delegation.id, "ada", "Do it yourself."))
        assert await stack.manager.wait(root.id) == "finished"
        tree = await stack.repository.read(lambda s: s.sessions.tree(root.id))
        await stack.close()
        return tree, delegation

    tree, delegation = run(scenario())
    assert len(tree) == 1 and delegation.command.startswith("coder: Change the greeting")
    told = stack.server.message_bodies[-1]["messages"][-1]["content"][0]
    assert told["is_error"] and "Do it yourself." in told["content"]


def test_stopping_the_tree_stops_every_agent_and_withdraws_their_waiting_proposals(stack_factory):
    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(
            tool_turn(delegate("Change the greeting to Hello.", step=1), delegate("Add a test for greet.", step=2)),
            text_turn("Both steps done."),
        ),
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True)
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        await stack.until(
            lambda: (
                len([e for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind != "plan"]) == 2
            )
        )
        stopped = await stack.manager.stop_tree(root.id)
        assert await stack.manager.wait(root.id) == "stopped"
        for task in [stack.manager.task(s) for s in (root.id + 1, root.id + 2)]:
            await asyncio.wait({task})
        tree = await stack.repository.read(lambda s: s.sessions.tree(root.id))
        waiting = [await stack.repository.read(lambda s, i=s.id: s.proposals.waiting_count(i)) for s in tree]
        await stack.close()
        return stopped, tree, waiting

    stopped, tree, waiting = run(scenario())
    assert stopped == 3
    assert [s.status for s in tree] == ["stopped", "stopped", "stopped"]
    assert waiting == [0, 0, 0]


def _export(db_path, fmt, out):
    from app.services.export import ExportOptions, export_dataset
    from app.store.db import open_database

    database = open_database(str(db_path))
    try:
        report = export_dataset(database, ExportOptions(fmt, out))
    finally:
        database.close()
    import json

    return [json.loads(line) for path in report.files.values() for line in path.read_text().splitlines()]


def test_the_export_pairs_an_edited_plan_over_the_proposed_one_and_a_revision_over_the_rejected_one(
    stack_factory, tmp_path
):
    revised = {**PLAN, "steps": PLAN["steps"][:2]}
    stack = stack_factory(
        [tool_turn(propose()), tool_turn(propose(revised)), text_turn("Ok."), tool_turn(propose()), text_turn("Ok.")],
        files={"greet.py": GREET},
    )
    edited_markdown = "# Greet politely\n1. Change the greeting\n   Say Hello there.\n   Files: greet.py\n"

    async def scenario():
        first_session = await stack.start("Greet politely.", plan=True)
        rejected = await stack.waiting_proposal()
        await stack.manager.decide(review.reject(rejected.id, "ada", "No README step."))
        await stack.until(
            lambda: any(isinstance(e, events.ProposalWaiting) and e.proposal.id != rejected.id for e in stack.seen)
        )
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        assert await stack.manager.wait(first_session.id) == "finished"
        second_session = await stack.start("Greet politely, again.", plan=True)
        edited = await stack.until(
            lambda: next(
                (
                    e.proposal
                    for e in stack.seen
                    if isinstance(e, events.ProposalWaiting) and e.proposal.session_id == second_session.id
                ),
                None,
            )
        )
        await stack.manager.decide(review.edit(edited.id, "ada", edited_markdown.encode()))
        assert await stack.manager.wait(second_session.id) == "finished"
        await stack.close()

    run(scenario())
    rows = _export(stack.db_path, "trl-dpo", tmp_path / "dpo")
    by_source = {row["metadata"]["source"] if "metadata" in row else row.get("source"): row for row in rows}
    assert {"revision", "edit"} <= set(by_source), rows[0].keys()
    edit_row = by_source["edit"]
    chosen_plan = edit_row["chosen"][0]["tool_calls"][0]["function"]["arguments"]
    rejected_plan = edit_row["rejected"][0]["tool_calls"][0]["function"]["arguments"]
    chosen_plan = json.loads(chosen_plan) if isinstance(chosen_plan, str) else chosen_plan
    rejected_plan = json.loads(rejected_plan) if isinstance(rejected_plan, str) else rejected_plan
    assert [s["title"] for s in chosen_plan["steps"]] == ["Change the greeting"]
    assert chosen_plan["steps"][0]["detail"] == "Say Hello there."
    assert len(rejected_plan["steps"]) == 3
    revision = by_source["revision"]
    revision_chosen = revision["chosen"][0]["tool_calls"][0]["function"]["arguments"]
    revision_chosen = json.loads(revision_chosen) if isinstance(revision_chosen, str) else revision_chosen
    assert len(revision_chosen["steps"]) == 2


def test_the_trajectory_export_keeps_the_tree_of_agents(stack_factory, tmp_path):
    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(tool_turn(delegate("Change the greeting to Hello.", step=1)), text_turn("Done.")),
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True)
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        child_edit = await stack.until(
            lambda: next(
                (e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind == "edit"),
                None,
            )
        )
        await stack.manager.decide(review.approve(child_edit.id, "ada"))
        assert await stack.manager.wait(root.id) == "finished"
        await stack.close()
        return root

    root = run(scenario())
    rows = _export(stack.db_path, "trajectory", tmp_path / "trajectory")
    tree = sorted(((row["parent_session"], row["role"], row["depth"]) for row in rows), key=lambda entry: entry[2])
    assert tree == [(None, "planner", 0), (root.id, "coder", 1)]


def test_a_sub_agent_asked_for_its_own_worktree_gets_one_with_changeset_mode_or_is_told_it_shares_the_workspace(
    stack_factory,
):
    from app.services.sessions import own_worktree_note

    stack = _tree_stack(
        stack_factory,
        _approved_plan_then(
            tool_turn(
                tool_use_block(
                    DELEGATE_TOOL_NAME,
                    {"task": "Change the greeting to Hello.", "role": "coder", "workspace": "worktree"},
                )
            ),
            text_turn("Done."),
        ),
    )

    async def scenario():
        root = await stack.start("Greet politely.", plan=True)
        await stack.manager.decide(review.approve((await stack.waiting_proposal()).id, "ada"))
        child_proposal = await stack.until(
            lambda: next(
                (e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind != "plan"),
                None,
            )
        )
        await stack.manager.decide(review.approve(child_proposal.id, "ada"))
        assert await stack.manager.wait(root.id) == "finished"
        await stack.close()

    run(scenario())
    told = stack.server.message_bodies[-1]["messages"][-1]["content"][0]["content"]
    if own_worktree_note() is None:
        assert "own worktrees are not available in this build" in told and "shared workspace" in told
    else:
        assert "its own worktree" in told
