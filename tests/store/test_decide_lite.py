"""A plain decision written with sqlite3 alone (app.store.decide_lite) is the row the repository writes: the same
columns in the same stored formats, the same record back, and a link the audit chain verifies, however the two
writers interleave. Whatever is not plain is refused before a byte is written, and the repository records it."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import pytest

from app.paths import migrations_dir
from app.services import decisions, review
from app.store import audit
from app.store.db import open_database
from app.store.decide_lite import NeedsRepository, open_lite_decisions
from app.store.errors import AlreadyDecidedError, ProposalClaimedError
from app.store.models import Decision
from app.store.repository import Repository
from app.store.revisions import scan_revisions
from tests.support.judges import file_proposal

HEAD = scan_revisions(migrations_dir()).head  # type: ignore[union-attr]
# Columns holding the moment of deciding or creating (and the hashes over it): equal in kind, not value, across runs.
TIMED = {"id", "decided_at", "created_at", "content_hash", "chain_hash", "prev_hash"}


def _command_proposal(repository: Repository, root: Path, command: str, *, tool_use_id: str):
    session = repository.sessions.create(
        workspace_root=str(root),
        task="Run the tests",
        endpoint="anthropic",
        model="m",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=5,
    )
    return repository.proposals.create(
        session_id=session.id,
        message_seq=1,
        tool_use_id=tool_use_id,
        tool_name="bash",
        tool_input={"command": command},
        kind="command",
        path=None,
        command=command,
        cwd=".",
        shown_text=f"$ {command}\n",
        shown_hash=hashlib.sha256(command.encode()).hexdigest(),
        lines_added=0,
        lines_removed=0,
    )


def _database(folder: Path) -> tuple[Path, Repository, list[int]]:
    """A database with four waiting proposals: three edits of a workspace file and a command."""
    root = folder / "ws"
    root.mkdir(parents=True)
    (root / "calc.py").write_text("def half(x):\n    return x / 2\n")
    path = folder / "signoff.db"
    repository = Repository(open_database(str(path)))
    ids = [
        file_proposal(repository, root, "calc.py", f"def half(x):\n    return x // {n}\n", tool_use_id=f"t{n}").id
        for n in (2, 3, 4)
    ]
    ids.append(_command_proposal(repository, root, "python -m pytest -q", tool_use_id="c").id)
    return path, repository, ids


def _requests(ids: list[int]) -> list[review.DecisionRequest]:
    edit, reject, edited, command = ids
    return [
        review.DecisionRequest(edit, "approve", ""),
        review.DecisionRequest(reject, "reject", "", reason="  keep the float  division\n"),
        review.DecisionRequest(edited, "edit", "", edited_content=b"def half(x):\n    return x / 2.0\n"),
        review.DecisionRequest(command, "approve", "", grants=review.grants(git_writes=True, network=True)),
    ]


def _rows(path: Path, table: str) -> list[dict[str, object]]:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute(f"SELECT *, typeof(decided_at) AS decided_type FROM {table} ORDER BY id").fetchall()
        return [dict(row) for row in rows]
    finally:
        connection.close()


def _lite(path: Path):
    store = open_lite_decisions(path, HEAD)
    assert store is not None
    return store


def test_a_plain_decision_written_with_sqlite3_is_the_row_the_repository_writes(tmp_path):
    by_orm, orm_repository, ids = _database(tmp_path / "orm")
    by_lite, lite_repository, lite_ids = _database(tmp_path / "lite")
    assert ids == lite_ids
    actor = decisions.Actor.cli("ada")
    lite = _lite(by_lite)
    try:
        returned = []
        for request in _requests(ids):
            decisions.decide(orm_repository, request, actor)
            returned.append(decisions.decide(lite, request, actor).decision)
    finally:
        lite.close()

    for table in ("decisions", "proposals"):
        orm_rows, lite_rows = _rows(by_orm, table), _rows(by_lite, table)
        assert len(orm_rows) == len(lite_rows) == 4
        for orm_row, lite_row in zip(orm_rows, lite_rows, strict=True):
            assert {k: v for k, v in lite_row.items() if k not in TIMED} == {
                k: v for k, v in orm_row.items() if k not in TIMED
            }, table
            assert len(str(lite_row["decided_at"])) == len(str(orm_row["decided_at"])), "same stored time format"
    # What decide returned is what the repository reads back afterwards, field for field.
    assert returned == [lite_repository.proposals.latest_decision(i) for i in ids]
    assert returned[1].reason == "keep the float  division", "trimmed at the ends as there; inner spaces kept"
    assert returned[3].grants == {"git_writes": True, "network": True}
    report = audit.verify_chain(lite_repository.database)
    assert report.intact and report.decisions == 4, report.summary()


def test_the_chain_stays_whole_when_the_two_writers_take_turns_and_an_undo_follows(tmp_path):
    path, repository, ids = _database(tmp_path)
    actor = decisions.Actor.cli("ada")
    requests = _requests(ids)
    for number, request in enumerate(requests):
        if number % 2 == 0:
            lite = _lite(path)
            try:
                decisions.decide(lite, request, actor)
            finally:
                lite.close()
        else:
            decisions.decide(repository, request, actor)
    # The repository takes back a decision the lite writer recorded, as a chained entry of its own.
    decisions.undo(repository, ids[2], actor, window_s=60)
    assert repository.proposals.status(ids[2]) == "pending"
    with repository.database.session() as orm:
        rows = list(orm.query(Decision).order_by(Decision.id))
        assert [row.content_hash == audit.content_hash_of(row) for row in rows] == [True] * 5
    report = audit.verify_chain(repository.database)
    assert report.intact and report.decisions == 5, report.summary()
    # Decided again by the lite writer after the undo: the chain goes on from the undo entry.
    lite = _lite(path)
    try:
        decisions.decide(lite, requests[2], actor)
    finally:
        lite.close()
    assert audit.verify_chain(repository.database).intact


def _unchanged(path: Path):
    return _rows(path, "decisions"), _rows(path, "proposals")


def test_what_is_not_plain_raises_needs_repository_with_nothing_written(tmp_path):
    path, repository, ids = _database(tmp_path)
    edit, second, third, command = ids
    actor = decisions.Actor.cli("ada")
    repository.claims.claim(second, "bo", lease=dt.timedelta(minutes=10))
    decisions.decide(repository, review.DecisionRequest(third, "approve", ""), actor)
    before = _unchanged(path)
    lite = _lite(path)
    try:
        for request, why in (
            (review.DecisionRequest(second, "approve", ""), "bo holds a live claim"),
            (review.DecisionRequest(third, "reject", "", reason="no"), "already decided"),
            (review.DecisionRequest(edit, "approve", "", adjudication=True), "an adjudication"),
            (
                review.DecisionRequest(edit, "approve", "", hunk_verdicts=[{"hunk": 0, "verdict": "approve"}]),
                "hunk by hunk",
            ),
        ):
            with pytest.raises(NeedsRepository):
                decisions.decide(lite, request, actor)
            assert _unchanged(path) == before, why
    finally:
        lite.close()
    # The repository words what the lite writer left to it.
    with pytest.raises(ProposalClaimedError):
        decisions.decide(repository, review.DecisionRequest(second, "approve", ""), actor)
    with pytest.raises(AlreadyDecidedError):
        decisions.decide(repository, review.DecisionRequest(third, "reject", "", reason="no"), actor)

    # Team review rules on the workspace: two reviews may be needed, which only the repository records.
    repository.reviews.set_rules(repository.proposals.get(command).workspace_root, kinds=["command"])
    before = _unchanged(path)
    lite = _lite(path)
    try:
        with pytest.raises(NeedsRepository):
            decisions.decide(lite, review.DecisionRequest(command, "approve", ""), actor)
    finally:
        lite.close()
    assert _unchanged(path) == before


def test_an_expired_claim_or_the_reviewers_own_claim_does_not_stop_a_plain_decision(tmp_path):
    path, repository, ids = _database(tmp_path)
    repository.claims.claim(ids[0], "bo", lease=dt.timedelta(microseconds=1))
    repository.claims.claim(ids[1], "ada", lease=dt.timedelta(minutes=10))
    lite = _lite(path)
    try:
        for proposal_id in ids[:2]:
            decisions.decide(lite, review.DecisionRequest(proposal_id, "approve", ""), decisions.Actor.cli("ada"))
    finally:
        lite.close()
    assert [repository.proposals.status(i) for i in ids[:2]] == ["decided", "decided"]
    claims = {row["id"]: (row["claimed_by"], row["claim_expires_at"]) for row in _rows(path, "proposals")}
    assert [claims[i] for i in ids[:2]] == [(None, None), (None, None)], "deciding ends the claims, as it does there"


def test_a_file_at_another_schema_revision_or_not_a_database_is_left_to_the_repository(tmp_path):
    path, _repository, _ids = _database(tmp_path)
    assert open_lite_decisions(path, "0001_not_the_head") is None
    assert open_lite_decisions(tmp_path / "missing.db", HEAD) is None
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    assert open_lite_decisions(text, HEAD) is None


def test_an_edit_piped_on_stdin_reaches_the_repository_whole_when_the_decision_is_not_plain(tmp_path):
    """`signoff edit ID --file /dev/stdin` on a workspace with team review rules: the lite writer leaves the decision
    to the repository, and the edit it records is what was piped, read once (a second read of a pipe is empty)."""
    import os
    import subprocess
    import sys

    path, repository, ids = _database(tmp_path)
    edit = ids[0]
    repository.reviews.set_rules(repository.proposals.get(edit).workspace_root, kinds=["edit"])
    piped = "def half(x):\n    return x / 2  # piped\n"
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), SIGNOFF_CONFIG_DIR=str(tmp_path / "config"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "edit",
            str(edit),
            "--file",
            "/dev/stdin",
            "--db",
            str(path),
            "--reviewer",
            "ada",
        ],
        input=piped,
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "awaiting second review" in result.stdout
    (stored,) = [row for row in _rows(path, "decisions") if row["proposal_id"] == edit]
    assert stored["edited_content"] == piped.encode()
