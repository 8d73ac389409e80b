"""`signoff queue` reads a SQLite file at the current schema with sqlite3 alone (app.store.queue_lite), and prints
exactly what the repository's reads print: claims, flags, the judges' results and settings included. Where only the
repository can answer for sure (team review stages, a flag filter), it answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import app.cli.queue as cli_queue
from app.cli import main
from app.domain.judgments import JudgeConfig
from app.paths import migrations_dir
from app.store.db import open_database
from app.store.models import Proposal
from app.store.queue_lite import open_lite_queue
from app.store.repository import Repository
from app.store.revisions import scan_revisions
from tests.benchmarks.queue_data import build_queue_database
from tests.support.store_queries import pending_proposals


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SIGNOFF_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SIGNOFF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNOFF_DB", raising=False)
    path = tmp_path / "queue.db"
    build_queue_database(path, decided=10, waiting=60)
    return path


def _judged(path: Path) -> Repository:
    """Verifier runs, critic verdicts (twice for one proposal: the latest counts), judge settings, a live and an
    expired claim."""
    repository = Repository(open_database(str(path)))
    waiting = pending_proposals(repository)
    first, second, third, fourth = waiting[:4]
    run = repository.judgments.start_verifier_run(first.id, command="pytest -q")
    repository.judgments.finish_verifier_run(
        run, status="failed", failed=2, passed=7, newly_failing=["test_a", "test_b"], seconds=1.5, exit_code=1
    )
    early = repository.judgments.start_critic(second.id, model="claude-critic")
    repository.judgments.finish_critic(early, verdict="approve", score=0.9, principles=["tests"], rationale="ok")
    late = repository.judgments.start_critic(second.id, model="claude-critic")
    repository.judgments.finish_critic(late, verdict="reject", score=0.2, principles=["scope"], rationale="too much")
    repository.judgments.set_config(
        third.workspace_root, JudgeConfig(sensitive_globs=("src/**",), critic_blind=False, updated_by="ana")
    )
    repository.claims.claim(third.id, "ana", lease=dt.timedelta(minutes=10))
    repository.claims.claim(fourth.id, "bo", lease=dt.timedelta(microseconds=1))
    return repository


def _printed(capsys, argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_the_sqlite3_queue_prints_exactly_what_the_repository_prints(db_path, capsys, monkeypatch):
    _judged(db_path)
    real = cli_queue._lite_store
    opened: list[object] = []
    use_lite = [True]

    def chosen(db_url):
        store = real(db_url) if use_lite[0] else None
        opened.append(store)
        return store

    monkeypatch.setattr(cli_queue, "_lite_store", chosen)
    for argv in (
        ["queue", "--db", str(db_path), "--json"],
        ["queue", "--db", str(db_path), "--json", "--sort", "risk"],
        ["queue", "--db", str(db_path)],
    ):
        use_lite[0] = True
        lite = _printed(capsys, argv)
        use_lite[0] = False
        full = _printed(capsys, argv)
        assert lite == full, argv
    assert [store is not None for store in opened] == [True, False] * 3
    use_lite[0] = True
    rows = {row["id"]: row for row in json.loads(_printed(capsys, ["queue", "--db", str(db_path), "--json"]))}
    assert any(row["verifier"] and row["verifier"]["status"] == "failed" for row in rows.values())
    assert any(row["critic"] and row["critic"]["verdict"] == "reject" for row in rows.values())
    assert [row["claimed_by"] for row in rows.values() if row["claimed_by"]] == ["ana"]
    assert any("a sensitive path (src/**)" in row["risk_reasons"] for row in rows.values())


def test_items_in_a_review_stage_or_another_schema_revision_leave_the_queue_to_the_repository(db_path, monkeypatch):
    head = scan_revisions(migrations_dir()).head
    assert open_lite_queue(db_path, head) is not None
    assert open_lite_queue(db_path, "0001") is None
    assert open_lite_queue(db_path.with_name("missing.db"), head) is None
    repository = Repository(open_database(str(db_path)))
    proposal = pending_proposals(repository)[0]
    with repository.database.session() as orm, orm.begin():
        orm.get(Proposal, proposal.id).status = "awaiting_second_review"
    assert open_lite_queue(db_path, head) is None
