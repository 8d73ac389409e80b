"""A command's changes outside what it was granted become proposals of kind `effects`: one per file, a diff judged
like any edit (whole, edited, hunk by hunk; in the window or headless), applied exactly as decided, the agent told
what landed; grants (.git writes, network) come from a rule or an approval and are used for real under bubblewrap."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from app import cli
from app.domain.tools import COMMAND_TOOL_NAME, EFFECTS_KIND
from app.services import events, review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run, stack_factory  # noqa: F401

ALWAYS = 'version = 1\nreview_effects = "always"\n'
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


@pytest.fixture(autouse=True)
def no_undo_window(monkeypatch):
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    config = os.environ["SIGNOFF_CONFIG_DIR"]
    os.makedirs(config, exist_ok=True)
    with open(os.path.join(config, "settings.json"), "w", encoding="utf-8") as handle:
        json.dump({"undo_seconds": 0}, handle)


def one_command(stack_factory, command, files=None):  # noqa: F811
    return stack_factory(
        [tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": command})), text_turn("Done.")], files=files or {}
    )


async def approve_command(stack, **grants):
    session = await stack.start()
    command = await stack.waiting_proposal()
    assert command.kind == "command"
    await stack.manager.decide(review.approve(command.id, "ada", time_on_screen_ms=500, grants=review.grants(**grants)))
    return session, command


async def held_changes(stack, count):
    """The held changes put to a person, as the window learns of them (ProposalWaiting events), in id order."""

    def find():
        held = {e.proposal.id: e.proposal for e in stack.seen if isinstance(e, events.ProposalWaiting)}
        found = [p for p in held.values() if p.kind == EFFECTS_KIND]
        return sorted(found, key=lambda p: p.id) if len(found) >= count else None

    return await stack.until(find, timeout=30)


def test_a_change_outside_the_grant_lands_only_once_a_person_approves_it(stack_factory):  # noqa: F811
    stack = one_command(stack_factory, "echo ok > note.txt; mkdir .git && printf '[core]\\n' > .git/config")

    async def scenario():
        session, _command = await approve_command(stack)
        (held,) = await held_changes(stack, 1)
        before = (stack.workspace / ".git").exists()
        await stack.manager.decide(review.approve(held.id, "ada", time_on_screen_ms=500))
        assert await stack.manager.wait(session.id) == "finished"
        proposal = await stack.repository.read(lambda store: store.proposals.get(held.id))
        await stack.close()
        return before, proposal

    existed_before, held = run(scenario())
    assert held.path == ".git/config" and held.status == "applied", held.result
    assert b"+[core]" in held.shown_text.encode() or "+[core]" in held.shown_text
    assert not existed_before
    assert (stack.workspace / "note.txt").read_text() == "ok\n"
    assert (stack.workspace / ".git" / "config").read_text() == "[core]\n"
    (result,) = stack.last_request_tool_results()
    assert "note.txt created" in result["content"]
    assert ".git/config created: applied exactly as the command left it" in result["content"]


def test_a_rejected_change_never_lands_and_the_agent_is_told_why(stack_factory):  # noqa: F811
    stack = one_command(
        stack_factory,
        "echo new > made.txt; echo more >> kept.txt",
        {".signoff/policy.toml": ALWAYS, "kept.txt": "kept\n"},
    )

    async def scenario():
        session, command = await approve_command(stack)
        made, kept = await held_changes(stack, 2)
        assert (made.path, kept.path) == ("kept.txt", "made.txt") or (made.path, kept.path) == ("made.txt", "kept.txt")
        by_path = {made.path: made, kept.path: kept}
        await stack.manager.decide(review.reject(by_path["made.txt"].id, "ada", "no new files", time_on_screen_ms=9))
        await stack.manager.decide(review.approve(by_path["kept.txt"].id, "ada", time_on_screen_ms=9))
        assert await stack.manager.wait(session.id) == "finished"
        stored = await stack.repository.read(lambda store: store.proposals.get(command.id))
        await stack.close()
        return stored

    command = run(scenario())
    assert not (stack.workspace / "made.txt").exists()
    assert (stack.workspace / "kept.txt").read_text() == "kept\nmore\n"
    (result,) = stack.last_request_tool_results()
    assert "made.txt created: NOT applied (rejected: no new files)" in result["content"]
    assert "kept.txt modified: applied exactly as the command left it" in result["content"]
    reviewed = {entry["path"]: entry["status"] for entry in command.result["effects"]["reviewed"]}
    assert reviewed == {"made.txt": "rejected", "kept.txt": "applied"}


def test_a_commands_output_and_reviewed_effects_are_exported_with_its_decision(stack_factory, tmp_path, capsys):  # noqa: F811
    stack = one_command(stack_factory, "echo printed; echo new > made.txt", {".signoff/policy.toml": ALWAYS})

    async def scenario():
        session, _command = await approve_command(stack, network=True)
        (held,) = await held_changes(stack, 1)
        await stack.manager.decide(review.approve(held.id, "ada", time_on_screen_ms=9))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    run(scenario())
    db = str(stack.db_path)
    raw_path, trajectory_path = tmp_path / "raw.jsonl", tmp_path / "trajectory.jsonl"
    assert cli.main(["--db", db, "export", "--format", "raw", "--out", str(raw_path)]) == 0
    assert cli.main(["--db", db, "export", "--format", "trajectory", "--out", str(trajectory_path)]) == 0
    rows = [json.loads(line) for line in raw_path.read_text().splitlines()]
    by_kind = {row["proposal"]["kind"]: row for row in rows}
    command = by_kind["command"]
    assert "printed" in command["proposal"]["result"]["content"]
    assert command["decision"]["grants"] == {"network": True}
    assert command["proposal"]["result"]["effects"]["reviewed"][0]["path"] == "made.txt"
    effect = by_kind[EFFECTS_KIND]
    assert effect["proposal"]["path"] == "made.txt" and effect["proposal"]["new_content"] == "new\n"
    (trajectory,) = [json.loads(line) for line in trajectory_path.read_text().splitlines()]
    command_step = next(step for step in trajectory["steps"] if step["kind"] == "command")
    assert "printed" in command_step["result"]["content"]
    assert "+new" in trajectory["final_diff"]


def test_held_changes_are_decided_headless_hunk_by_hunk_and_applied_exactly_so(stack_factory, capsys):  # noqa: F811
    original = "".join(f"line {n}\n" for n in range(1, 31))
    stack = one_command(
        stack_factory,
        "sed -i -e 's/^line 2$/line two/' -e 's/^line 28$/line twenty-eight/' long.txt",
        {".signoff/policy.toml": ALWAYS, "long.txt": original},
    )

    async def scenario():
        session, _command = await approve_command(stack)
        (held,) = await held_changes(stack, 1)
        db = str(stack.db_path)
        assert cli.main(["--db", db, "show", str(held.id)]) == 0
        shown = capsys.readouterr().out
        assert cli.main(["--db", db, "decide", str(held.id), "--hunk", "1=approve", "--hunk", "2=reject:keep 28"]) == 0
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()
        return shown

    shown = run(scenario())
    assert "Held change of command proposal" in shown and "Hunk 2 of 2" in shown
    assert (stack.workspace / "long.txt").read_text() == original.replace("line 2\n", "line two\n")
    (result,) = stack.last_request_tool_results()
    assert "applied in part by the reviewer (hunks 1 of 2)" in result["content"]


def test_a_link_or_mode_change_is_judged_as_a_whole_and_never_edited(stack_factory):  # noqa: F811
    stack = one_command(stack_factory, "chmod 755 run.sh", {".signoff/policy.toml": ALWAYS, "run.sh": "echo\n"})

    async def scenario():
        session, _command = await approve_command(stack)
        (held,) = await held_changes(stack, 1)
        full = await stack.repository.read(lambda store: store.proposals.get(held.id))
        with pytest.raises(review.ReviewError, match="approved or rejected as a whole"):
            await stack.repository.write(
                lambda store: review.decide(store, review.edit(held.id, "ada", b"file, mode 777\n"))
            )
        await stack.manager.decide(review.approve(held.id, "ada", time_on_screen_ms=9))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()
        return full

    held = run(scenario())
    assert "-file, mode 644" in held.shown_text and "+file, mode 755" in held.shown_text
    assert os.stat(stack.workspace / "run.sh").st_mode & 0o777 == 0o755


def git_workspace(stack):
    env = dict(os.environ, **GIT_ENV)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=stack.workspace, check=True, capture_output=True, env=env)
    return env


def commits(stack, env):
    log = subprocess.run(["git", "log", "--oneline"], cwd=stack.workspace, capture_output=True, text=True, env=env)
    return len(log.stdout.splitlines())


GIT_COMMIT = "git commit -q --allow-empty -m second"


def test_git_commit_fails_read_only_without_a_grant(stack_factory):  # noqa: F811
    stack = one_command(stack_factory, GIT_COMMIT, {"a.txt": "a\n"})
    env = git_workspace(stack)

    async def scenario():
        session, _command = await approve_command(stack)
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    run(scenario())
    assert commits(stack, env) == 1
    (result,) = stack.last_request_tool_results()
    assert "Read-only file system" in result["content"]


def test_git_commit_lands_when_the_approval_grants_git_writes(stack_factory):  # noqa: F811
    stack = one_command(stack_factory, GIT_COMMIT, {"a.txt": "a\n"})
    env = git_workspace(stack)

    async def scenario():
        session, command = await approve_command(stack, git_writes=True)
        assert await stack.manager.wait(session.id) == "finished"
        decision = await stack.repository.read(lambda store: store.proposals.latest_decision(command.id))
        await stack.close()
        return decision

    decision = run(scenario())
    assert decision.grants == {"git_writes": True}
    assert commits(stack, env) == 2
    (result,) = stack.last_request_tool_results()
    assert ".git writable" in result["content"]


def test_a_rule_that_grants_git_writes_lets_git_commit_run_unasked(stack_factory):  # noqa: F811
    rule = 'version = 1\n\n[[rule]]\naction = "allow"\nkind = "command"\npattern = "git commit"\ngit_writes = true\n'
    stack = one_command(stack_factory, GIT_COMMIT, {"a.txt": "a\n", ".signoff/policy.toml": rule})
    env = git_workspace(stack)

    async def scenario():
        session = await stack.start()
        assert await stack.manager.wait(session.id) == "finished"
        ((proposal, decision),) = await stack.repository.read(
            lambda store: store.proposals.decisions_for_session(session.id)
        )
        await stack.close()
        return decision

    decision = run(scenario())
    assert decision.channel == "policy" and decision.grants == {"git_writes": True}
    assert commits(stack, env) == 2


@pytest.mark.parametrize("granted", [False, True])
def test_the_network_is_off_unless_the_approval_grants_it(stack_factory, granted):  # noqa: F811
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    probe = (
        f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2); print('connected')\""
    )
    stack = one_command(stack_factory, probe)

    async def scenario():
        session, _command = await approve_command(stack, network=granted)
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    try:
        run(scenario())
    finally:
        listener.close()
    (result,) = stack.last_request_tool_results()
    assert ("Output:\nconnected" in result["content"]) is granted, result["content"]
    assert ("network allowed" in result["content"]) is granted


def test_held_changes_survive_a_restart_and_the_command_is_not_run_again(stack_factory):  # noqa: F811
    stack = one_command(stack_factory, "echo run >> runs.log; echo new > made.txt", {".signoff/policy.toml": ALWAYS})

    async def first_run():
        session, _command = await approve_command(stack)
        held = await held_changes(stack, 2)
        await stack.close()  # the app closes while the command's changes wait
        return session, held

    session, held = run(first_run())
    stack.open()

    async def after_restart():
        for change in held:
            await stack.manager.decide(review.approve(change.id, "ada", time_on_screen_ms=9))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    run(after_restart())
    assert (stack.workspace / "runs.log").read_text() == "run\n"
    assert (stack.workspace / "made.txt").read_text() == "new\n"
    (result,) = stack.last_request_tool_results()
    assert result["content"].startswith("Ran: echo run >> runs.log")
    assert "made.txt created: applied exactly as the command left it" in result["content"]
