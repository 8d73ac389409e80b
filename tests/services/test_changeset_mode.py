"""Changeset mode end to end: the agent edits and runs commands in its own git worktree at once, its turn's work is
one proposal of kind 'changeset' judged hunk by hunk, approved hunks are merged into the real workspace, a rejection
goes back to the agent, which revises and proposes again. Stand-in API over HTTP, real SDK, real SQLite, real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.domain import hunks
from app.domain.lifecycle import ProposalStatus
from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run, stack_factory  # noqa: F401 (fixture)

ORIGINAL = "".join(f"line {i}\n" for i in range(1, 31))


def edit(path: str, old: str, new: str) -> dict:
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new})


def create(path: str, text: str) -> dict:
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": path, "file_text": text})


def git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    import os

    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, env={**os.environ, **env}
    ).stdout


def make_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")


def request_texts(stack) -> list[str]:
    texts = []
    for body in stack.server.message_bodies:
        for block in body["messages"][-1]["content"]:
            texts.append(block.get("text") or str(block.get("content", "")))
    return texts


def test_a_changeset_session_edits_its_worktree_at_once_and_merges_only_the_approved_hunks(stack_factory):  # noqa: F811
    replies = [
        tool_turn(edit("a.txt", "line 2\n", "line two\n"), edit("a.txt", "line 29\n", "line twenty-nine\n")),
        tool_turn(create("notes.md", "# Notes\n")),
        text_turn("Done: two edits and notes."),
        tool_turn(edit("a.txt", "line twenty-nine\n", "line 29 (kept, as asked)\n")),
        text_turn("Revised."),
    ]
    stack = stack_factory(replies, files={"a.txt": ORIGINAL})
    make_repo(stack.workspace)

    async def scenario():
        session = await stack.start("Tidy a.txt", changeset=True)
        proposal = await stack.waiting_proposal()
        assert proposal.kind == "changeset"
        # Nothing reached the real workspace while the agent worked.
        assert (stack.workspace / "a.txt").read_text() == ORIGINAL
        assert not (stack.workspace / "notes.md").exists()
        files = await stack.repository.read(lambda store: store.changesets.files(proposal.id))
        assert [f.path for f in files] == ["a.txt", "notes.md"]

        verdicts = [
            hunks.HunkVerdict(0, "approve"),
            hunks.HunkVerdict(1, "reject", reason="leave line 29 alone"),
            hunks.HunkVerdict(2, "approve"),
        ]
        await stack.manager.decide(review.by_hunk(proposal.id, "ada", verdicts))
        second = await stack.until(
            lambda: stack.repository.read(
                lambda store: [p for p in store.changesets.proposals_of(session.id) if p != proposal.id]
            )
        )
        first = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        assert first.status == ProposalStatus.APPLIED
        assert (stack.workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n")
        assert (stack.workspace / "notes.md").read_text() == "# Notes\n"

        # The new changeset holds only what is still unmerged, revised.
        revised = await stack.repository.read(lambda store: store.changesets.files(second[0]))
        assert [f.path for f in revised] == ["a.txt"]
        await stack.manager.decide(review.approve(second[0], "ada"))
        assert await stack.manager.wait(session.id) == "finished"
        tree = await stack.repository.read(lambda store: store.changesets.worktree(session.id))
        return session, tree

    session, tree = run(scenario())
    try:
        assert (stack.workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n").replace(
            "line 29\n", "line 29 (kept, as asked)\n"
        )
        told = "\n".join(request_texts(stack))
        assert "leave line 29 alone" in told and "NOT merged" in told
        assert tree.state == "removed" and not Path(tree.path).exists()
        assert "signoff/session" not in git(stack.workspace, "branch", "--list")
        assert git(stack.workspace, "status", "--porcelain") == " M a.txt\n?? notes.md\n"
    finally:
        run(stack.close())


def test_commands_run_in_the_worktree_sandboxed_and_their_files_join_the_changeset(stack_factory):  # noqa: F811
    replies = [
        tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "echo built > out.txt && cat a.txt | head -1"})),
        text_turn("Built."),
    ]
    stack = stack_factory(replies, files={"a.txt": ORIGINAL})
    make_repo(stack.workspace)

    async def scenario():
        session = await stack.start("Build", changeset=True)
        proposal = await stack.waiting_proposal()
        files = await stack.repository.read(lambda store: store.changesets.files(proposal.id))
        assert [(f.path, f.new) for f in files] == [("out.txt", b"built\n")]
        assert not (stack.workspace / "out.txt").exists()
        await stack.manager.decide(review.reject(proposal.id, "ada", "no build outputs in the repo"))
        # The reason reaches the model in the next request (the runner carries the rejection out first).
        await stack.until(lambda: "no build outputs in the repo" in "\n".join(request_texts(stack)))
        return session

    from app.services.sandbox import sandbox_info

    if not sandbox_info().available:
        run(stack.close())
        import pytest

        pytest.skip("no sandbox here: commands wait for a person instead")
    try:
        run(scenario())
        results = [b for b in stack.server.message_bodies[0:2][-1]["messages"][-1]["content"]]
        assert any("Sandbox:" in str(block.get("content", "")) for block in results)
        assert not (stack.workspace / "out.txt").exists()
        assert "no build outputs in the repo" in "\n".join(request_texts(stack))
    finally:
        run(stack.close())


def test_a_changeset_refused_by_a_conflict_writes_nothing_and_the_agent_is_told_what_changed(stack_factory):  # noqa: F811
    replies = [
        tool_turn(edit("a.txt", "line 3\n", "line three\n")),
        text_turn("Done."),
        text_turn("Understood; leaving it."),
    ]
    stack = stack_factory(replies, files={"a.txt": ORIGINAL})
    make_repo(stack.workspace)

    async def scenario():
        session = await stack.start("Edit a", changeset=True, max_turns=3)
        proposal = await stack.waiting_proposal()
        (stack.workspace / "a.txt").write_text(ORIGINAL.replace("line 10\n", "line 10 by the person\n"))
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.until(
            lambda: stack.repository.read(
                lambda store: (
                    store.proposals.get(proposal.id).status != "applying"
                    and store.proposals.get(proposal.id).result is not None
                )
            )
        )
        return await stack.repository.read(lambda store: store.proposals.get(proposal.id)), session

    try:
        proposal, _session = run(scenario())
        assert proposal.status == ProposalStatus.CONFLICT
        assert proposal.result["conflicts"] == ["a.txt"]
        assert (stack.workspace / "a.txt").read_text() == ORIGINAL.replace("line 10\n", "line 10 by the person\n")
        assert "line 10 by the person" in proposal.result["content"]
    finally:
        run(stack.close())


def test_a_runner_killed_in_the_middle_of_a_merge_finishes_it_on_resume_without_writing_anything_twice(
    stack_factory,  # noqa: F811
):
    replies = [
        tool_turn(edit("a.txt", "line 2\n", "line two\n"), create("b.txt", "bee\n"), create("c.txt", "sea\n")),
        text_turn("Done."),
    ]
    stack = stack_factory(replies, files={"a.txt": ORIGINAL})
    make_repo(stack.workspace)

    async def until_waiting():
        session = await stack.start("Three files", changeset=True)
        proposal = await stack.waiting_proposal()
        await stack.manager.shutdown()  # the process goes away; the changeset stays waiting
        return session, proposal

    async def as_if_killed_mid_merge(proposal):
        # The state a SIGKILL leaves half way through writing: decided, claimed, its intent recorded, one file written.
        await stack.repository.write(
            lambda store: store.proposals.record_decision(proposal.id, verdict="approve", reviewer="ada")
        )
        assert await stack.repository.write(lambda store: store.proposals.claim_for_apply(proposal.id, window_s=0))
        assert await stack.repository.write(lambda store: store.proposals.record_apply_intent(proposal.id, "x"))
        (stack.workspace / "b.txt").write_text("bee\n")

    async def resume(session):
        stack.open()
        await stack.manager.resume(session.id)
        return await stack.manager.wait(session.id)

    try:
        session, proposal = run(until_waiting())
        run(as_if_killed_mid_merge(proposal))
        inode = (stack.workspace / "b.txt").stat().st_ino
        assert run(resume(session)) == "finished"
        merged = run(stack.repository.read(lambda store: store.proposals.get(proposal.id)))
        tree = run(stack.repository.read(lambda store: store.changesets.worktree(session.id)))
    finally:
        run(stack.close())
    assert merged.status == ProposalStatus.APPLIED
    assert merged.result["already_merged"] == ["b.txt"] and merged.result["merged"] == ["a.txt", "b.txt", "c.txt"]
    assert (stack.workspace / "b.txt").stat().st_ino == inode, "the file written before the crash was not rewritten"
    assert (stack.workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n")
    assert (stack.workspace / "c.txt").read_text() == "sea\n"
    assert tree.state == "removed"


def test_a_session_whose_worktree_vanished_is_reported_on_resume_and_the_workspace_is_untouched(stack_factory):  # noqa: F811
    stack = stack_factory(
        [tool_turn(edit("a.txt", "line 2\n", "line two\n")), text_turn("Done.")], files={"a.txt": ORIGINAL}
    )
    make_repo(stack.workspace)

    async def until_waiting():
        session = await stack.start("Edit", changeset=True)
        await stack.waiting_proposal()
        await stack.manager.shutdown()
        return session

    async def resume(session):
        stack.open()
        await stack.manager.resume(session.id)
        status = await stack.manager.wait(session.id)
        return status, await stack.repository.read(lambda store: store.sessions.get(session.id))

    try:
        session = run(until_waiting())
        tree = run(stack.repository.read(lambda store: store.changesets.worktree(session.id)))
        import shutil

        shutil.rmtree(tree.path)
        status, stored = run(resume(session))
    finally:
        run(stack.close())
    assert status == "failed" and stored.status == "failed"
    assert "worktree" in stored.error and "is gone" in stored.error
    assert (stack.workspace / "a.txt").read_text() == ORIGINAL


def test_the_worktree_of_a_stopped_session_is_swept_when_the_next_changeset_session_starts(
    stack_factory,  # noqa: F811
):
    stack = stack_factory(
        [tool_turn(edit("a.txt", "line 2\n", "line two\n")), text_turn("ok"), text_turn("ok")],
        files={"a.txt": ORIGINAL},
    )
    make_repo(stack.workspace)

    async def scenario():
        first = await stack.start("Edit", changeset=True)
        proposal = await stack.waiting_proposal()
        stack.manager.stop(first.id)  # its waiting changeset is withdrawn; the worktree stays on disk
        assert await stack.manager.wait(first.id) == "stopped"
        left = await stack.repository.read(lambda store: store.changesets.worktree(first.id))
        assert Path(left.path).is_dir()
        assert (await stack.repository.read(lambda store: store.proposals.get(proposal.id))).status == "cancelled"
        await stack.start("Nothing", changeset=True, max_turns=1)
        return left, await stack.repository.read(lambda store: store.changesets.worktree(first.id))

    try:
        left, swept = run(scenario())
    finally:
        run(stack.close())
    assert swept.state == "removed" and not Path(left.path).exists()
    assert "signoff/session-1" not in git(stack.workspace, "branch", "--list")


def test_the_workspaces_deny_rules_still_hold_for_commands_in_changeset_mode(stack_factory):  # noqa: F811
    replies = [
        tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "rm -rf docs"})),
        text_turn("Could not."),
    ]
    policy = 'version = 1\n\n[[rule]]\naction = "deny"\nkind = "command"\npattern = "rm"\n'
    stack = stack_factory(replies, files={"a.txt": ORIGINAL, "docs/x.md": "x\n", ".signoff/policy.toml": policy})
    make_repo(stack.workspace)

    async def scenario():
        session = await stack.start("Clean", changeset=True)
        return await stack.manager.wait(session.id), session

    try:
        status, session = run(scenario())
        tree = run(stack.repository.read(lambda store: store.changesets.worktree(session.id)))
    finally:
        run(stack.close())
    told = "\n".join(request_texts(stack))
    assert status == "finished" and "denied by this workspace's policy" in told
    assert tree.state == "removed"  # nothing changed, nothing to review


def test_a_changeset_proposed_on_demand_and_rejected_holds_the_rest_of_the_turn(stack_factory):  # noqa: F811
    from app.store.db import open_database
    from app.store.repository import Repository
    from tests.support.scripted_scenario import ScriptedScenario

    script = ScriptedScenario(
        [
            tool_turn(edit("a.txt", "line 2\n", "line two\n")),
            tool_turn(edit("a.txt", "line 29\n", "line twenty-nine\n"), create("notes.md", "n\n")),
            text_turn("Understood; keeping line two as the only change."),
        ]
    )
    state: dict = {}

    def scenario(request):
        if script.used == 1:
            # `signoff changeset N --propose` from another process, just before the second turn is answered.
            database = open_database(str(state["db"]))
            try:
                assert Repository(database).changesets.request_propose(state["session"])
            finally:
                database.close()
        return script(request)

    stack = stack_factory(scenario, files={"a.txt": ORIGINAL})
    state["db"] = stack.db_path
    make_repo(stack.workspace)

    async def run_it():
        session = await stack.start("Tidy", changeset=True)
        state["session"] = session.id
        first = await stack.waiting_proposal()
        files = await stack.repository.read(lambda store: store.changesets.files(first.id))
        assert first.tool_input["origin"] == "on_demand" and [f.path for f in files] == ["a.txt"]
        await stack.manager.decide(review.reject(first.id, "ada", "Stop here and explain first."))
        second = await stack.until(
            lambda: stack.repository.read(
                lambda store: [p for p in store.changesets.proposals_of(session.id) if p != first.id]
            )
        )
        await stack.manager.decide(review.approve(second[0], "ada"))
        return await stack.manager.wait(session.id)

    try:
        assert run(run_it()) == "finished"
    finally:
        run(stack.close())
    third = stack.server.message_bodies[2]["messages"][-1]["content"]
    held = [block for block in third if block.get("type") == "tool_result"]
    assert len(held) == 2 and all("held because your changeset was just rejected" in b["content"] for b in held)
    assert "Stop here and explain first." in third[-1]["text"]
    assert (stack.workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n")
    assert not (stack.workspace / "notes.md").exists()
