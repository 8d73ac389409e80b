"""The headless commands across real processes: a runner in one, reviewers in others, the database between them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from tests.support.scripted_scenario import ScriptedScenario

GREET = "def greet(name):\n    return 'hi ' + name\n"


def signoff(*args: str, env: dict[str, str], check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"signoff {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SIGNOFF_DB"] = str(tmp_path / "queue.db")
    # A URL given in SIGNOFF_DB must name an existing database (`signoff init-db` makes one).
    signoff("init-db", env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def wait_for_queue(env, count: int, proc: subprocess.Popen) -> list[dict]:
    """Poll `signoff queue --json` (the interface other machines use) until ``count`` proposals wait."""
    for _ in range(200):
        rows = json.loads(signoff("queue", "--json", env=env).stdout)
        if len(rows) >= count:
            return rows
        if proc.poll() is not None:
            raise AssertionError(f"the runner exited early:\n{proc.stdout.read()}")
        try:
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError("no proposal appeared in the queue")


def test_a_runner_and_reviewers_in_separate_processes_work_one_session_to_the_end(tmp_path, cli_env):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "greet.py").write_text(GREET)
    replies = [
        tool_turn(
            tool_use_block(
                EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'yo '"}
            )
        ),
        tool_turn(
            tool_use_block(
                EDITOR_TOOL_NAME,
                {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'Hello '"},
            )
        ),
        tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "rm greet.py"})),
        text_turn("All done."),
    ]
    with StandinServer(ScriptedScenario(replies)) as server:
        env = dict(cli_env, ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "run",
                "--workspace",
                str(workspace),
                "--task",
                "Be polite",
                "--model",
                "claude-sonnet-5-5",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            (first,) = wait_for_queue(env, 1, runner)
            assert (
                first["kind"] == "edit" and first["path"] == "greet.py" and (first["added"], first["removed"]) == (1, 1)
            )
            shown = signoff("show", str(first["id"]), env=env).stdout
            assert "+    return 'yo ' + name" in shown
            signoff("reject", str(first["id"]), "--reason", "Too casual.", env=env)

            (second,) = wait_for_queue(env, 1, runner)
            assert second["id"] != first["id"]
            signoff("approve", str(second["id"]), "--reviewer", "bob", env=env)

            (third,) = wait_for_queue(env, 1, runner)
            assert third["kind"] == "command" and third["command"] == "rm greet.py"
            replacement = tmp_path / "cmd.txt"
            replacement.write_text("cp greet.py greet.bak\n")
            signoff("edit", str(third["id"]), "--file", str(replacement), env=env)
            output, _ = runner.communicate(timeout=60)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
        bodies = server.message_bodies

    assert runner.returncode == 0, output
    assert "Session 1 finished." in output
    assert (workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello ' + name\n"
    assert (workspace / "greet.bak").exists()
    first_result = bodies[1]["messages"][-1]["content"][0]
    assert first_result["is_error"] and "Too casual." in first_result["content"]
    last_result = bodies[3]["messages"][-1]["content"][0]
    assert "You proposed: rm greet.py" in last_result["content"]
    assert signoff("queue", env=env).stdout.strip() == "Nothing is waiting for a decision."


def test_decision_errors_are_one_clear_line_and_a_nonzero_exit(tmp_path, cli_env):
    result = signoff("approve", "42", env=cli_env, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "signoff: There is no proposal 42."
    result = signoff("edit", "1", "--file", str(tmp_path / "missing.txt"), env=cli_env, check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "There is no proposal 1." in result.stderr


def test_run_without_a_key_says_how_to_get_one_and_stores_nothing(tmp_path, cli_env):
    result = signoff("run", "--workspace", str(tmp_path), "--task", "x", env=cli_env, check=False)
    assert result.returncode == 1
    assert "No Anthropic API key" in result.stderr and "--demo" not in result.stdout
    assert json.loads(signoff("sessions", "--json", env=cli_env).stdout) == []


def test_run_with_a_missing_workspace_is_refused(tmp_path, cli_env):
    result = signoff("run", "--workspace", str(tmp_path / "nope"), "--task", "x", env=cli_env, check=False)
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_diff_prints_the_exact_patch_signoff_would_show(tmp_path, cli_env):
    old, new = tmp_path / "a.txt", tmp_path / "b.txt"
    old.write_bytes(b"one\r\ntwo\r\n")
    new.write_bytes(b"one\r\nTWO")
    patch = subprocess.run(
        [sys.executable, "-m", "app", "diff", str(old), str(new)],
        env=cli_env,
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert b"-two\r\n" in patch and b"+TWO\n\\ No newline at end of file\n" in patch
    missing = signoff("diff", str(old), str(tmp_path / "nope"), env=cli_env, check=False)
    assert missing.returncode == 1 and "Cannot read" in missing.stderr


def test_demo_runs_headless_through_the_stand_in(tmp_path, cli_env):
    workspace = tmp_path / "demo"
    import shutil

    from app.paths import resources_dir

    shutil.copytree(resources_dir() / "demo_workspace", workspace)
    runner = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--demo", "--workspace", str(workspace), "--task", "Fix greet.py"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(3):
            (row,) = wait_for_queue(cli_env, 1, runner)
            signoff("approve", str(row["id"]), env=cli_env)
            for _ in range(200):
                rows = json.loads(signoff("queue", "--json", env=cli_env).stdout)
                if not rows or rows[0]["id"] != row["id"]:
                    break
        output, _ = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode == 0, output
    assert (workspace / "test_greet.py").exists()
    assert "The tests passed" in output or "OK" in output


def test_a_database_url_naming_nothing_fails_with_one_line_and_creates_no_file(tmp_path, cli_env):
    work = tmp_path / "work"
    work.mkdir()
    for url in ("::::", str(tmp_path / "no-such-folder" / "queue.db"), str(tmp_path / "typo.db")):
        result = subprocess.run(
            [sys.executable, "-m", "app", "queue"],
            env=cli_env | {"SIGNOFF_DB": url},
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("signoff: "), result.stderr
        assert "does not exist" in lines[0] or "There is no Signoff database" in lines[0]
    assert list(work.iterdir()) == []
    assert not (tmp_path / "no-such-folder").exists() and not (tmp_path / "typo.db").exists()


def test_init_db_creates_the_database_where_asked_and_says_which_file_is_in_use(tmp_path, cli_env):
    target = tmp_path / "team.db"
    result = signoff("init-db", str(target), env=cli_env)
    assert str(target) in result.stdout
    assert target.read_bytes().startswith(b"SQLite format 3\x00")
    assert signoff("queue", "--db", str(target), env=cli_env).returncode == 0
    refused = signoff("init-db", str(tmp_path / "missing" / "x.db"), env=cli_env, check=False)
    assert refused.returncode == 1 and "does not exist" in refused.stderr
