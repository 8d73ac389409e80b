"""A headless runner ended by its supervisor (SIGTERM, SIGHUP) lets go of its session: nothing is withdrawn."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from app.domain.tools import EDITOR_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from tests.cli.test_headless import GREET, cli_env, signoff, wait_for_queue  # noqa: F401 (cli_env is a fixture)
from tests.support.scripted_scenario import ScriptedScenario


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_runner_leaves_its_proposal_waiting_and_the_session_resumable(tmp_path, cli_env, signum):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "greet.py").write_text(GREET)
    edit = {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'yo '"}
    replies = [tool_turn(tool_use_block(EDITOR_TOOL_NAME, edit)), text_turn("Done.")]
    with StandinServer(ScriptedScenario(replies)) as server:
        env = dict(cli_env, ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
        runner = subprocess.Popen(
            [sys.executable, "-m", "app", "run", "--workspace", str(workspace), "--task", "Say yo"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            [waiting] = wait_for_queue(env, 1, runner)
            runner.send_signal(signum)
            output, _ = runner.communicate(timeout=30)
        finally:
            runner.kill()

        assert runner.returncode == 128 + signum, output
        assert f"Runner ended by {signum.name}" in output and "1 waiting proposal(s)" in output
        assert "withdrawn" not in output and "Stopped by the reviewer" not in output
        rows = json.loads(signoff("queue", "--json", env=env).stdout)
        assert [row["id"] for row in rows] == [waiting["id"]], "the proposal still waits"
        [session] = json.loads(signoff("sessions", "--json", env=env).stdout)
        assert session["status"] not in ("stopped", "cancelled")

        signoff("approve", str(waiting["id"]), env=env)
        resumed = signoff("resume", str(session["id"]), env=env, timeout=90)

    assert "Stopped by the reviewer" not in resumed.stdout
    assert (workspace / "greet.py").read_text() == GREET.replace("'hi '", "'yo '")
