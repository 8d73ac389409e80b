"""Each headless command imports only what it uses (issue #12 item 2): the parser nothing heavy, the anthropic SDK
only commands that call the API, SQLAlchemy only commands that open the database, Alembic only when a database needs
migrating, Qt never. Checked in fresh processes, since one test process has imported everything already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.queue_data import build_queue_database

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("anthropic", "httpx", "sqlalchemy", "alembic", "psycopg", "pygit2", "PySide6", "qasync", "keyring")

PROBE = """
import contextlib, io, json, sys
from app.cli import main
sink = io.TextIOWrapper(io.BytesIO())
with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def imported(*argv: str, env: dict[str, str], code: int | None = 0) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] in ((0, None) if code == 0 else (code,)), report["code"]
    return {name.split(".")[0] for name in report["modules"]} & set(HEAVY)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "queue.db"
    build_queue_database(db, decided=5, waiting=5)
    environment = dict(os.environ, SIGNOFF_DB=str(db), PYTHONPATH=str(REPO_ROOT))
    return environment


def test_help_imports_nothing_heavy(env):
    assert imported("--help", env=env) == set()


def test_the_database_commands_load_sqlalchemy_but_not_the_sdk_alembic_or_qt(env):
    for argv in (["show", "7"], ["stats"], ["sessions"]):
        assert imported(*argv, env=env) == {"sqlalchemy"}, argv
    # Proposal 1 was decided already: the repository says by whom (exit 1), so approving it again loads SQLAlchemy.
    assert imported("approve", "1", env=env, code=1) == {"sqlalchemy"}


def test_a_plain_decision_on_a_sqlite_file_at_head_is_recorded_without_sqlalchemy(env):
    assert imported("approve", "6", env=env) == set()
    assert imported("reject", "7", "--reason", "not this way", env=env) == set()


def test_the_queue_of_a_sqlite_file_at_head_is_read_without_sqlalchemy(env):
    assert imported("queue", "--json", env=env) == set()
    assert imported("queue", env=env) == set()


def test_commands_without_a_database_do_not_load_sqlalchemy(env, tmp_path):
    old, new = tmp_path / "a.py", tmp_path / "b.py"
    old.write_text("a = 1\n")
    new.write_text("a = 2\n")
    assert imported("policy", "show", "--workspace", str(tmp_path), env=env) == set()
    assert imported("diff", str(old), str(new), env=env) == {"pygit2"}


def test_a_database_behind_head_still_gets_alembic_and_is_migrated(env, tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    from app.store.db import alembic_config, head_revision, open_database

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0006")
    engine.dispose()
    assert "alembic" in imported("queue", "--json", "--db", str(path), env=env)
    with open_database(str(path), migrate=False) as database:
        assert database.revision == head_revision()


def test_the_window_paints_before_the_api_sdk_is_imported():
    """Importing the window's modules leaves the SDK out: it loads on a worker thread after the first paint
    (app.services.sessions.load_agent_loop), so the window never waits seconds for it before it shows."""
    probe = "import sys, app.ui.application, app.ui.main_window; print('anthropic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO_ROOT)),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "False", result.stdout + result.stderr
