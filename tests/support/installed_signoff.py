"""Driving an installed `signoff` (the bundle, a pipx install) as a user would, with no Python settings of this test
run: make the database, run the offline demo headless until its first proposal waits, approve it from the CLI."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from app.store.db import open_database
from app.store.repository import Repository

REPO_ROOT = Path(__file__).resolve().parents[2]


def bundled_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No Python on the PATH and none of this test run's Python settings: the installed program must bring its own."""
    env = {
        "PATH": str(tmp_path / "no-python-here"),
        "HOME": str(tmp_path / "home"),
        "SIGNOFF_DATA_DIR": str(tmp_path / "data"),
        "SIGNOFF_CONFIG_DIR": str(tmp_path / "config"),
        "SIGNOFF_DB": str(tmp_path / "signoff.db"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def init_db(signoff: Path, env: dict[str, str]) -> None:
    """Commands and the window open an existing database only; `signoff init-db` makes it (SIGNOFF_DB)."""
    made = subprocess.run([str(signoff), "init-db"], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr


def _wait_a_little(runner: subprocess.Popen, deadline: float) -> None:
    assert runner.poll() is None and time.monotonic() < deadline, runner.stdout.read()
    try:
        runner.wait(timeout=0.1)
    except subprocess.TimeoutExpired:
        pass


def demo_until_first_proposal_then_approve(signoff: Path, env: dict[str, str], tmp_path: Path, *, reviewer: str):
    """`signoff run --demo` headless on a copy of the demo workspace until a proposal waits; `signoff approve` it;
    the decision is stored as the reviewer's, from the CLI."""
    workspace = tmp_path / "ws"
    shutil.copytree(REPO_ROOT / "resources" / "demo_workspace", workspace)
    runner = subprocess.Popen(
        [str(signoff), "run", "--demo", "--workspace", str(workspace), "--task", "Fix greet.py"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    db_path = Path(env["SIGNOFF_DB"])
    try:
        deadline = time.monotonic() + 120
        while not db_path.exists():
            _wait_a_little(runner, deadline)
        database = open_database(str(db_path))
        try:
            repository = Repository(database)
            while not repository.queue.page(limit=1):
                _wait_a_little(runner, deadline)
            first = repository.queue.page(limit=1)[0]
            approved = subprocess.run(
                [str(signoff), "approve", str(first.id), "--reviewer", reviewer],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert approved.returncode == 0, approved.stdout + approved.stderr
            assert approved.stdout.startswith(f"Approved: proposal {first.id}")
            decision = repository.proposals.latest_decision(first.id)
            assert (decision.verdict, decision.reviewer, decision.channel) == ("approve", reviewer, "cli")
        finally:
            database.close()
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait()
        runner.stdout.close()
