"""Changesets headless, across real processes: `signoff run --changeset` works in its own git worktree, `signoff show`
lists the changeset's files and numbers its hunks, `signoff decide` judges them, the runner merges exactly the approved
ones; a runner killed with SIGKILL while the changeset waits finds its worktree again on `signoff resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.domain.tools import EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from tests.cli.test_headless import cli_env, signoff, wait_for_queue  # noqa: F401 (cli_env is a fixture)
from tests.support.agent_harness import MODEL
from tests.support.scripted_scenario import ScriptedScenario

ORIGINAL = "".join(f"line {i}\n" for i in range(1, 31))


def edit(path: str, old: str, new: str) -> dict:
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new})


def git_repo(root: Path) -> None:
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def workspace_with_two_files(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text(ORIGINAL)
    (workspace / "b.txt").write_text("bee\n")
    git_repo(workspace)
    return workspace


REPLIES = [
    tool_turn(
        edit("a.txt", "line 2\n", "line two\n"),
        edit("a.txt", "line 28\n", "line twenty-eight\n"),
        edit("b.txt", "bee\n", "B\n"),
    ),
    text_turn("All three changes made."),
]


def test_show_lists_the_changesets_files_and_hunks_and_decide_merges_exactly_the_approved_ones(tmp_path, cli_env):
    workspace = workspace_with_two_files(tmp_path)
    server = StandinServer(ScriptedScenario(REPLIES)).start()
    cli_env.update(ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
    args = ["run", "--workspace", str(workspace), "--task", "Rename", "--model", MODEL, "--changeset"]
    runner = start([*args, "--max-turns", "2"], cli_env)
    try:
        (row,) = wait_for_queue(cli_env, 1, runner)
        assert row["kind"] == "changeset"
        shown = signoff("show", str(row["id"]), env=cli_env).stdout
        assert "2 file(s), 3 hunk(s):" in shown
        assert "  modified  a.txt (+2 -2)" in shown and "  modified  b.txt (+1 -1)" in shown
        headers = [line for line in shown.splitlines() if line.startswith("── Hunk")]
        assert [h.split(" · ")[1] for h in headers] == ["a.txt", "a.txt", "b.txt"]
        assert headers[0].startswith("── Hunk 1 of 3 · a.txt · @@ -1,")
        assert "+line twenty-eight" in shown

        status = json.loads(signoff("changeset", str(row["session"]), "--json", env=cli_env).stdout)
        assert status["state"] == "open" and status["branch"] == f"signoff/session-{row['session']}"
        assert Path(status["path"], "a.txt").read_text() != ORIGINAL  # the agent's edits are in its worktree …
        assert (workspace / "a.txt").read_text() == ORIGINAL  # … and not in the workspace

        bad = signoff("decide", str(row["id"]), "--hunk", "1=approve", env=cli_env, check=False)
        assert bad.returncode != 0 and "hunks 2, 3 of 3 are undecided" in bad.stderr
        decided = signoff(
            "decide",
            str(row["id"]),
            "--hunk",
            "1=approve",
            "--hunk",
            "2=reject:keep 28",
            "--hunk",
            "3=approve",
            env=cli_env,
        )
        assert "Decided hunk by hunk" in decided.stdout
        assert runner.wait(timeout=60) == 0, runner.stdout.read()
    finally:
        finish(runner)
        server.stop()
    assert (workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n")
    assert (workspace / "b.txt").read_text() == "B\n"
    after = signoff("show", str(row["id"]), env=cli_env).stdout
    assert "Hunk 2: reject: keep 28" in after and "applied" in after.splitlines()[0]
    status = json.loads(signoff("changeset", str(row["session"]), "--json", env=cli_env).stdout)
    assert status["state"] == "removed" and not Path(status["path"]).exists()


def test_a_runner_killed_while_its_changeset_waits_finds_its_worktree_again_and_merges_once(tmp_path, cli_env):
    workspace = workspace_with_two_files(tmp_path)
    server = StandinServer(ScriptedScenario(REPLIES)).start()
    cli_env.update(ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
    runner = start(["run", "--workspace", str(workspace), "--task", "Rename", "--model", MODEL, "--changeset"], cli_env)
    try:
        (row,) = wait_for_queue(cli_env, 1, runner)
        before = json.loads(signoff("changeset", str(row["session"]), "--json", env=cli_env).stdout)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        signoff("approve", str(row["id"]), env=cli_env)
        resumed = signoff("resume", str(row["session"]), env=cli_env)
        assert "finished" in resumed.stdout
        again = signoff("resume", str(row["session"]), env=cli_env, check=False)
        assert again.returncode != 0 and "finished" in again.stderr
    finally:
        finish(runner)
        server.stop()
    assert (workspace / "a.txt").read_text() == ORIGINAL.replace("line 2\n", "line two\n").replace(
        "line 28\n", "line twenty-eight\n"
    )
    assert (workspace / "b.txt").read_text() == "B\n"
    shown = json.loads(signoff("show", str(row["id"]), "--json", env=cli_env).stdout)
    assert shown["status"] == "applied" and shown["kind"] == "changeset"
    assert [f["path"] for f in shown["files"]] == ["a.txt", "b.txt"]
    assert [h["number"] for h in shown["hunks"]] == [1, 2, 3] and shown["hunks"][2]["title"].startswith("b.txt · @@")
    after = json.loads(signoff("changeset", str(row["session"]), "--json", env=cli_env).stdout)
    assert after["path"] == before["path"] and after["changesets"] == [row["id"]]
    assert after["state"] == "removed"
