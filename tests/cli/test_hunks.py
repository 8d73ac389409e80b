"""Per-hunk decisions from the command line, across real processes: `signoff show` numbers the hunks, `signoff decide`
judges each, the runner in another process writes exactly the old file plus the approved hunks."""

from __future__ import annotations

import json
import subprocess
import sys

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from tests.cli.test_headless import cli_env, signoff, wait_for_queue  # noqa: F401 (cli_env is a fixture)
from tests.support.agent_harness import MODEL
from tests.support.scripted_scenario import ScriptedScenario

ORIGINAL = "".join(f"line {i}\n" for i in range(1, 31))
REWRITTEN = (
    ORIGINAL.replace("line 2\n", "line two\n").replace("line 15\n", "line fifteen\n").replace("line 28\n", "line 28!\n")
)


def start_runner(workspace, env, replies) -> tuple[StandinServer, subprocess.Popen]:
    server = StandinServer(ScriptedScenario(replies)).start()
    env.update(ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
    runner = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--workspace", str(workspace), "--task", "Rename lines", "--model", MODEL],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return server, runner


def stop(server: StandinServer, runner: subprocess.Popen) -> None:
    if runner.poll() is None:
        runner.kill()
        runner.wait()
    if runner.stdout is not None:
        runner.stdout.close()
    server.stop()


def test_show_numbers_the_hunks_and_decide_applies_exactly_the_chosen_ones(tmp_path, cli_env):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text(ORIGINAL)
    mine = tmp_path / "hunk3.txt"
    mine.write_bytes(b"line 25\nline 26\nline 27\nline 28 (reviewed)\nline 29\nline 30\n")
    replies = [
        tool_turn(tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "notes.txt", "file_text": REWRITTEN})),
        text_turn("Carrying on."),
    ]
    server, runner = start_runner(workspace, cli_env, replies)
    try:
        (row,) = wait_for_queue(cli_env, 1, runner)
        shown = signoff("show", str(row["id"]), env=cli_env).stdout
        assert [line for line in shown.splitlines() if line.startswith("── Hunk")] == [
            "── Hunk 1 of 3 ──",
            "── Hunk 2 of 3 ──",
            "── Hunk 3 of 3 ──",
        ]
        assert shown.index("── Hunk 2 of 3 ──") < shown.index("+line fifteen") < shown.index("── Hunk 3 of 3 ──")
        decided = signoff(
            "decide",
            str(row["id"]),
            "--hunk",
            "1=approve",
            "--hunk",
            "2=reject:keep the digits",
            "--hunk",
            f"3=edit:{mine}",
            "--reviewer",
            "cli-bob",
            env=cli_env,
        ).stdout
        assert "hunk 1 applied, hunk 2 NOT applied (keep the digits), hunk 3 applied with your edit" in decided
        output, _ = runner.communicate(timeout=60)
        bodies = server.message_bodies
    finally:
        stop(server, runner)

    assert runner.returncode == 0, output
    expected = ORIGINAL.replace("line 2\n", "line two\n").replace("line 28\n", "line 28 (reviewed)\n")
    assert (workspace / "notes.txt").read_text() == expected
    result = bodies[1]["messages"][-1]["content"][0]
    assert "2 of 3 hunks applied, 1 not applied" in result["content"]
    assert "NOT applied. Reason: keep the digits" in result["content"]
    after = signoff("show", str(row["id"]), env=cli_env).stdout
    assert "Decision: edit by cli-bob: Hunk 2: keep the digits" in after
    assert "  Hunk 1: approve\n  Hunk 2: reject: keep the digits\n  Hunk 3: edit\n" in after


def test_decide_errors_are_one_line_and_leave_the_proposal_waiting(tmp_path, cli_env):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text(ORIGINAL)
    replies = [
        tool_turn(tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "notes.txt", "file_text": REWRITTEN})),
        tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "echo hi"})),
        text_turn("ok"),
    ]
    server, runner = start_runner(workspace, cli_env, replies)
    try:
        (row,) = wait_for_queue(cli_env, 1, runner)
        proposal = str(row["id"])
        cases = [
            (
                ["--hunk", "1=approve", "--hunk", "2=approve"],
                "signoff: Every hunk needs a verdict; hunk 3 of 3 is undecided.",
            ),
            (["--hunk", "1=approve", "--hunk", "2=reject", "--hunk", "3=approve"], "a rejected hunk needs a reason"),
            (["--hunk", "one=approve"], "write N=approve, N=reject:REASON or N=edit:PATH"),
            (["--hunk", "1=maybe"], "unknown verdict 'maybe'"),
            (["--hunk", "4=approve", "--hunk", "1=approve"], "There is no hunk 4; this change has 3 hunks."),
            (["--hunk", f"1=edit:{tmp_path / 'missing.txt'}"], "Cannot read"),
        ]
        for extra, message in cases:
            result = signoff("decide", proposal, *extra, env=cli_env, check=False)
            assert result.returncode == 1, (extra, result.stdout)
            assert message in result.stderr and result.stderr.count("\n") == 1, (extra, result.stderr)
        assert [r["id"] for r in json.loads(signoff("queue", "--json", env=cli_env).stdout)] == [row["id"]]

        signoff("decide", proposal, "--hunk", "1=approve", "--hunk", "2=approve", "--hunk", "3=approve", env=cli_env)
        (command,) = _next_row(cli_env, runner, row["id"])
        result = signoff("decide", str(command["id"]), "--hunk", "1=approve", env=cli_env, check=False)
        assert result.returncode == 1
        assert result.stderr == "signoff: A command has no hunks; approve, reject or edit it as a whole.\n"
        signoff("reject", str(command["id"]), "--reason", "not needed", env=cli_env)
        output, _ = runner.communicate(timeout=60)
    finally:
        stop(server, runner)
    assert runner.returncode == 0, output
    assert (workspace / "notes.txt").read_text() == REWRITTEN


def _next_row(env, runner, after_id: int) -> list[dict]:
    for _ in range(200):
        rows = [r for r in json.loads(signoff("queue", "--json", env=env).stdout) if r["id"] != after_id]
        if rows:
            return rows
        try:
            runner.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError("the next proposal never appeared")
