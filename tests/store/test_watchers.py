"""Watchers (an open window) on SQLite and PostgreSQL: announced, alive while they beat, gone when withdrawn or stale;
and the one indexed read they poll: decided proposals whose session no live process runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update

from app.services import decisions, review
from app.store.db import open_database
from app.store.models import AgentSession, Watcher, utcnow
from app.store.repository import Repository
from tests.store.test_team_mode import WORKSPACE, make_proposals


@pytest.fixture(params=["sqlite", "postgresql"])
def repository(request: pytest.FixtureRequest, tmp_path: Path):
    url = str(tmp_path / "w.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    database = open_database(url)
    try:
        yield Repository(database)
    finally:
        database.close()


def test_a_watcher_is_live_while_it_beats_and_gone_when_withdrawn_or_stale(repository: Repository) -> None:
    repository.watchers.announce("h:1:a", kind="window", host="h", pid=1)
    repository.watchers.announce("h:2:b", kind="window", host="h", pid=2)
    assert {w.runner_id for w in repository.watchers.live()} == {"h:1:a", "h:2:b"}
    repository.watchers.withdraw("h:1:a")
    with repository.database.session() as orm, orm.begin():
        orm.execute(update(Watcher).values(heartbeat_at=utcnow() - dt.timedelta(minutes=5)))
    assert repository.watchers.live() == []
    repository.watchers.heartbeat("h:2:b")
    assert [(w.runner_id, w.host, w.pid) for w in repository.watchers.live()] == [("h:2:b", "h", 2)]


def test_only_decided_proposals_of_sessions_nobody_runs_are_found(repository: Repository) -> None:
    first, second, third = make_proposals(repository, 3)
    session_id = repository.proposals.get(first).session_id
    assert repository.watchers.unowned_decisions() == []
    actor = decisions.Actor.cli("ada")
    decisions.decide(repository, review.approve(first, ""), actor)
    assert repository.watchers.unowned_decisions() == [(first, session_id, WORKSPACE)]
    assert repository.sessions.claim(session_id, "h:9:live")
    assert repository.watchers.unowned_decisions() == [], "its runner carries it out"
    with repository.database.session() as orm, orm.begin():
        orm.execute(update(AgentSession).values(heartbeat_at=utcnow() - dt.timedelta(minutes=5)))
    decisions.decide(repository, review.reject(second, "", "no"), actor)
    assert [pid for pid, _, _ in repository.watchers.unowned_decisions()] == [first, second], "a stale runner is gone"
    assert third not in [pid for pid, _, _ in repository.watchers.unowned_decisions()], "still waiting"
