"""The one path for user actions (app.services.decisions) on a real SQLite file: who acts is filled in from the actor,
a second decision is refused in one sentence that says the proposal is gone, and undo goes back through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services import decisions, review
from app.store.db import open_database
from app.store.errors import AlreadyDecidedError
from app.store.repository import Repository
from tests.services.test_queue_review_stages import add, make_session


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "decisions.db"))
    yield Repository(database)
    database.close()


def test_the_reviewer_and_channel_come_from_the_actor_not_from_the_request(repository: Repository, tmp_path: Path):
    pid = add(repository, make_session(repository, str(tmp_path)), path="a.py")
    outcome = decisions.decide(repository, review.approve(pid, ""), decisions.Actor.cli("ada"))
    assert (outcome.decision.reviewer, outcome.decision.channel, outcome.proposal.id) == ("ada", "cli", pid)


def test_a_second_decision_is_refused_in_one_sentence_that_drops_the_proposal(repository: Repository, tmp_path: Path):
    pid = add(repository, make_session(repository, str(tmp_path)), path="a.py")
    decisions.decide(repository, review.approve(pid, ""), decisions.Actor.window("ada"))
    with pytest.raises(AlreadyDecidedError) as refused:
        decisions.decide(repository, review.reject(pid, "", "late"), decisions.Actor.window("bob"))
    failure = decisions.failure(refused.value, pid)
    assert failure is not None and failure.gone and str(pid) in failure.message and "\n" not in failure.message


def test_a_rejection_without_a_reason_keeps_the_proposal_waiting(repository: Repository, tmp_path: Path):
    pid = add(repository, make_session(repository, str(tmp_path)), path="a.py")
    with pytest.raises(review.ReviewError) as refused:
        decisions.decide(repository, review.reject(pid, "", " "), decisions.Actor.window("ada"))
    assert decisions.failure(refused.value, pid) == decisions.Failure(
        "A rejection needs a reason: the agent revises from it."
    )
    assert repository.proposals.get(pid).status == "pending"


def test_undo_through_the_one_path_puts_the_proposal_back_to_waiting(repository: Repository, tmp_path: Path):
    pid = add(repository, make_session(repository, str(tmp_path)), path="a.py")
    decisions.decide(repository, review.approve(pid, ""), decisions.Actor.window("ada"))
    back = decisions.undo(repository, pid, decisions.Actor.window("ada"), window_s=60)
    assert back.status == "pending"


def test_an_error_nobody_expects_is_not_turned_into_a_sentence():
    assert decisions.failure(ZeroDivisionError("bug"), 1) is None
