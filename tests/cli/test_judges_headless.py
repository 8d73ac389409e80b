"""A headless `signoff run` in its own process with the judges on: where the owner allows it and the critic agrees with
the people, the critic approves a passing edit on its own, says so on stderr, and the session carries on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.domain.judgments import JudgeConfig
from app.domain.tools import EDITOR_TOOL_NAME
from app.services import decisions, review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from app.store.db import open_database
from app.store.repository import Repository
from tests.cli.test_headless import cli_env, signoff  # noqa: F401 (the fixture)
from tests.support.judges import CALC, FIXED_HALF, file_proposal, tiny_pytest_workspace
from tests.support.scripted_scenario import ScriptedScenario


def _owner_allows_and_the_critic_agrees(db: str, root: Path) -> None:
    database = open_database(db)
    try:
        repository = Repository(database)
        for n in range(10):
            proposal = file_proposal(repository, root, "calc.py", FIXED_HALF + f"# h{n}\n", tool_use_id=f"h{n}")
            critic_id = repository.judgments.start_critic(proposal.id, model="m")
            says = "approve" if n % 2 == 0 else "reject"
            repository.judgments.finish_critic(critic_id, verdict=says, score=0.8, principles=["scope"], rationale="r")
            request = review.approve(proposal.id, "") if says == "approve" else review.reject(proposal.id, "", "no")
            decisions.decide(repository, request, decisions.Actor.cli("ada"))
        repository.judgments.set_config(
            str(root), JudgeConfig(auto_approve_kappa=0.8, auto_approve_window=10, auto_approve_kinds=("edit",))
        )
    finally:
        database.close()


def test_a_headless_run_lets_the_critic_approve_a_passing_edit_and_says_so_on_stderr(tmp_path, cli_env):  # noqa: F811
    root = tiny_pytest_workspace(tmp_path / "ws")
    _owner_allows_and_the_critic_agrees(cli_env["SIGNOFF_DB"], root)
    fix = tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "calc.py", "old_str": "n / 3", "new_str": "n / 2"}
    )
    with StandinServer(ScriptedScenario([tool_turn(fix), text_turn("Fixed.")])) as server:
        env = dict(cli_env, ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
        result = subprocess.run(
            [sys.executable, "-m", "app", "run", "--workspace", str(root), "--task", "Fix half"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    rows = json.loads(signoff("queue", "--json", env=env).stdout)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "finished." in result.stdout
    notice = next(line for line in result.stderr.splitlines() if line.startswith("The critic approved #"))
    assert "on its own" in notice and "kappa" in notice
    assert (root / "calc.py").read_text() == CALC.replace("n / 3", "n / 2")
    (marked,) = [row for row in rows if row["auto_approved"]]
    assert marked["decided_by"] == "critic" and marked["status"] == "applied"
