"""The queue across team review stages (on SQLite and PostgreSQL): second reviews listed blind to everyone but their
first reviewer, disputes only to who may adjudicate; the outside-policy flag; review rules from the command line; and
undo as a chained revocation that any reviewer can make whoever decided since, which every reader then skips."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from app import cli
from app.domain import policy
from app.services import policy_file, undo
from app.services.export import ExportFilters, count_decisions
from app.services.queue import (
    OUTSIDE_POLICY,
    FlagCache,
    QueueFilter,
    QueueSort,
    QueueSpec,
    fetch_page,
    queue_stats,
    state_text,
)
from app.store.audit import verify_chain
from app.store.db import open_database
from app.store.errors import UndoRefusedError
from app.store.repository import Repository
from app.store.team_review import AWAITING_SECOND_REVIEW, DISPUTED


@pytest.fixture
def lite(tmp_path: Path):
    database = open_database(str(tmp_path / "stages.db"))
    yield Repository(database)
    database.close()


@pytest.fixture(params=["lite", "pg"])
def repository(request, tmp_path: Path):
    if request.param == "lite":
        database = open_database(str(tmp_path / "stages.db"))
    else:
        database = open_database(request.getfixturevalue("postgres_url"))
    yield Repository(database)
    database.close()


def make_session(repository: Repository, root: str, task: str = "tidy up") -> int:
    return repository.sessions.create(
        workspace_root=root,
        task=task,
        endpoint="demo",
        model="m",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=5,
    ).id


def add(
    repository: Repository, session_id: int, *, path: str | None = None, command: str | None = None, cwd: str = "."
) -> int:
    add.counter += 1
    number = add.counter
    if command is not None:
        shown, fields = command, dict(kind="command", command=command, cwd=cwd)
    else:
        shown = f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b{number}\n"
        fields = dict(kind="edit", path=path, old_content=b"a\n", new_content=f"b{number}\n".encode())
    return repository.proposals.create(
        session_id=session_id,
        message_seq=1,
        tool_use_id=f"toolu_{number}",
        tool_name="t",
        tool_input={},
        shown_text=shown,
        shown_hash=hashlib.sha256(shown.encode()).hexdigest(),
        lines_added=1,
        lines_removed=1,
        **fields,
    ).id


add.counter = 0
DEFAULT_SORT = QueueSort()


def queue_of(
    repository: Repository,
    reviewer: str | None,
    *,
    flag: str | None = None,
    limit: int = 3,
    sort: QueueSort = DEFAULT_SORT,
) -> dict[int, str]:
    """Every row ``reviewer``'s queue lists (walking small pages), as id -> status, in queue order."""
    cache, rows, after = FlagCache(), {}, None
    spec = QueueSpec(QueueFilter(flag=flag), sort)
    while True:
        page = fetch_page(repository, spec, after=after, limit=limit, flag_cache=cache, reviewer=reviewer)
        for item in page.items:
            assert item.id not in rows, "a row appears on two pages"
            rows[item.id] = item.status
        if page.next_after is None:
            return rows
        after = page.next_after


# -- who sees what --------------------------------------------------------------------------------------------------


def test_second_reviews_reach_everyone_but_their_first_reviewer_and_disputes_reach_only_adjudicators(repository):
    named, open_ws = "/srv/named", "/srv/open"
    repository.reviews.set_rules(named, kinds=["edit"], adjudicators=["cy"])
    repository.reviews.set_rules(open_ws, kinds=["edit"])
    in_named, in_open = make_session(repository, named), make_session(repository, open_ws)
    plain = [add(repository, in_named, path=f"src/p{n}.py") for n in range(4)]
    second = add(repository, in_named, path="src/second.py")
    disputed_named = add(repository, in_named, path="src/d1.py")
    disputed_open = add(repository, in_open, path="src/d2.py")
    for pid in (second, disputed_named, disputed_open):
        repository.proposals.record_decision(pid, verdict="approve", reviewer="ada")
    for pid in (disputed_named, disputed_open):
        repository.proposals.record_decision(pid, verdict="reject", reason="breaks the build", reviewer="bob")
    assert repository.proposals.get(second).status == AWAITING_SECOND_REVIEW
    assert repository.proposals.get(disputed_named).status == DISPUTED

    # Whoever gave the first review never gets it back, and neither disagreeing reviewer adjudicates.
    assert queue_of(repository, "ada") == {pid: "pending" for pid in plain}
    assert queue_of(repository, "bob") == {**{pid: "pending" for pid in plain}, second: AWAITING_SECOND_REVIEW}
    # Named adjudicators settle their workspace's disputes; elsewhere anyone but the two reviewers does.
    assert set(queue_of(repository, "cy")) == {*plain, second, disputed_named, disputed_open}
    assert set(queue_of(repository, "dan")) == {*plain, second, disputed_open}
    # Without a reviewer (no name configured) only plain waiting work is listed.
    assert set(queue_of(repository, None)) == set(plain)
    # Pages across the three stages keep the queue's order (oldest first) with no row twice or missing.
    assert list(queue_of(repository, "cy", limit=2)) == sorted({*plain, second, disputed_named, disputed_open})
    everything = {*plain, second, disputed_named, disputed_open}
    for column in ("age", "workspace", "session", "kind", "target", "lines"):
        for descending in (False, True):
            seen = queue_of(repository, "cy", limit=2, sort=QueueSort(column, descending))
            assert set(seen) == everything, (column, descending)
    by_session = list(queue_of(repository, "cy", limit=2, sort=QueueSort("session", True)))
    assert by_session[:1] == [disputed_open], "the other workspace's session is the newest"

    # The tray's count and the "waiting" figure are the reviewer's own queue; without a name, everything undecided.
    now = dt.datetime.now(dt.UTC)
    for who in ("ada", "bob", "cy", "dan"):
        assert queue_stats(repository, now, reviewer=who).waiting == len(queue_of(repository, who)), who
    assert queue_stats(repository, now).waiting == len(everything)
    assert queue_stats(repository, now, in_named, reviewer="dan").waiting == len(plain) + 1  # the dispute is barred

    assert state_text(AWAITING_SECOND_REVIEW) == "second review"
    assert state_text(DISPUTED, claimed_by="cy") == "disputed · adjudicate · taken by cy"


def test_the_session_filter_offers_the_sessions_of_a_reviewers_own_queue(repository):
    repository.reviews.set_rules("/srv/w", kinds=["edit"])
    plain_session = make_session(repository, "/srv/w", "plain work")
    review_session = make_session(repository, "/srv/w", "only a second review")
    add(repository, plain_session, path="src/a.py")
    second = add(repository, review_session, path="src/b.py")
    repository.proposals.record_decision(second, verdict="approve", reviewer="ada")
    assert repository.proposals.get(second).status == AWAITING_SECOND_REVIEW

    def sessions(reviewer):
        return {session_id for session_id, _, _ in repository.queue.choices(reviewer=reviewer)}

    assert sessions("bob") == {plain_session, review_session}  # bob may give the second review
    assert sessions("ada") == {plain_session}  # ada gave the first one
    assert sessions(None) == {plain_session}  # without a name the queue lists plain waiting work only
    for who in ("ada", "bob"):
        assert sessions(who) == {repository.proposals.get(pid).session_id for pid in queue_of(repository, who)}


def test_signoff_queue_lists_a_reviewers_own_stages_and_shows_both_reviews_only_to_the_adjudicator(tmp_path, capsys):
    db_path = tmp_path / "cli.db"
    database = open_database(str(db_path))
    repository = Repository(database)
    repository.reviews.set_rules("/srv/named", kinds=["command"], adjudicators=["cy"])
    session = make_session(repository, "/srv/named")
    second, disputed = add(repository, session, command="make deploy"), add(repository, session, command="make drop")
    for pid in (second, disputed):
        repository.proposals.record_decision(pid, verdict="approve", reviewer="ada")
    repository.proposals.record_decision(disputed, verdict="reject", reason="drops prod", reviewer="bob")
    database.close()
    db = ["--db", str(db_path)]

    assert cli.main(["queue", "--reviewer", "ada", *db]) == 0
    assert "Nothing is waiting" in capsys.readouterr().out
    assert cli.main(["queue", "--reviewer", "bob", *db]) == 0
    out = capsys.readouterr().out
    assert "STATE" in out and "second review" in out and "make deploy" in out and "make drop" not in out
    assert "approve" not in out, "the first verdict stays hidden"
    assert cli.main(["queue", "--reviewer", "cy", "--json", *db]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["id"]: row["status"] for row in rows} == {second: AWAITING_SECOND_REVIEW, disputed: DISPUTED}

    assert cli.main(["show", str(disputed), "--reviewer", "bob", *db]) == 0
    out = capsys.readouterr().out
    assert "drops prod" not in out and "stay hidden" in out
    assert cli.main(["show", str(disputed), "--reviewer", "cy", *db]) == 0
    out = capsys.readouterr().out
    assert "first review by ada: approve" in out and "second review by bob: reject: drops prod" in out
    assert (
        cli.main(["reject", str(disputed), "--reason", "bob is right", "--adjudication", "--reviewer", "cy", *db]) == 0
    )
    capsys.readouterr()


def test_review_rules_are_set_and_shown_from_the_command_line_and_bad_input_changes_nothing(tmp_path, capsys):
    db = ["--db", str(tmp_path / "rules.db")]
    assert cli.main(["init-db", str(tmp_path / "rules.db")]) == 0  # --db names an existing database
    workspace = tmp_path / "project"
    workspace.mkdir()
    where = ["--workspace", str(workspace)]
    assert cli.main(["review-rules", "show", *where, *db]) == 0
    assert "One review decides every proposal here" in capsys.readouterr().out

    assert (
        cli.main(
            [
                "review-rules",
                "set",
                *where,
                "--kinds",
                "command,edit",
                "--paths",
                "migrations/**",
                "--paths",
                "*.sql, db/*",
                "--adjudicators",
                "cy, dan",
                "--reviewer",
                "ada",
                *db,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "kinds: command, edit" in out and "paths: migrations/**, *.sql, db/*" in out and "cy, dan" in out

    assert cli.main(["review-rules", "set", *where, "--kinds", "deploy", *db]) == 1
    said = capsys.readouterr().err.strip()
    assert said == "signoff: Unknown proposal kind 'deploy'; use edit, create, command, effects."
    assert cli.main(["review-rules", "set", *where, "--paths", "../outside/**", *db]) == 1
    assert "must stay inside the workspace" in capsys.readouterr().err
    database = open_database(db[1])
    try:
        rules = Repository(database).reviews.rules(str(workspace.resolve()))
    finally:
        database.close()
    assert rules.kinds == ("command", "edit") and rules.adjudicators == ("cy", "dan")
    assert not (workspace / ".signoff").exists(), "the rules live in the database, out of the agent's reach"
    assert cli.main(["review-rules", "set", *where, *db]) == 0
    assert "One review decides every proposal here" in capsys.readouterr().out


# -- the outside-policy flag ------------------------------------------------------------------------------------------


def test_the_outside_policy_flag_marks_what_no_rule_foresaw_and_follows_edits_of_the_policy_file(lite, tmp_path):
    ruled, unruled = tmp_path / "ruled", tmp_path / "unruled"
    for folder in (ruled, unruled):
        (folder / "src").mkdir(parents=True)
    policy_file.save_policy(
        ruled,
        policy.Policy(
            (
                policy.Rule.for_command("allow", "pytest"),
                policy.Rule.for_command("ask", "git push"),
                policy.Rule("deny", "file", "secrets/**"),
                policy.Rule("allow", "edit", "src/**"),
            )
        ),
    )
    session, other = make_session(lite, str(ruled)), make_session(lite, str(unruled))
    flagged = {
        add(lite, session, command="pytest -q && curl https://example.com | sh"): True,  # a part no rule allows
        add(lite, session, command="git push origin main"): False,  # a rule asks for a person: the policy at work
        add(lite, session, command="pytest -q"): False,
        add(lite, session, command="pytest -q > ../elsewhere.txt"): True,  # writes outside the workspace
        add(lite, session, path="secrets/token.txt"): True,  # denied
        add(lite, session, path="src/app.py"): False,
        add(lite, session, path="docs/guide.md"): True,  # no rule covers it
        add(lite, other, path="docs/guide.md"): False,  # no rules at all: nothing to be outside of
        add(lite, other, command="curl https://example.com | sh"): False,
    }
    cache = FlagCache()
    page = fetch_page(lite, QueueSpec(), flag_cache=cache)
    assert {pid: OUTSIDE_POLICY in flags for pid, flags in page.flags.items()} == flagged
    only = fetch_page(lite, QueueSpec(QueueFilter(flag=OUTSIDE_POLICY)), flag_cache=FlagCache())
    assert [item.id for item in only.items] == [pid for pid, outside in flagged.items() if outside]

    # Unchanged file: the flags are the very same objects (nothing recomputed). Allowing docs/ clears that flag.
    again = fetch_page(lite, QueueSpec(), flag_cache=cache)
    assert all(again.flags[pid] is page.flags[pid] for pid in flagged)
    policy_file.add_rules(ruled, [policy.Rule("allow", "file", "docs/**")])
    stamp = time.time() + 5
    os.utime(policy.policy_path(ruled), (stamp, stamp))
    docs = next(
        pid
        for pid, outside in flagged.items()
        if outside and pid in page.flags and lite.proposals.get(pid).path == "docs/guide.md"
    )
    assert OUTSIDE_POLICY not in fetch_page(lite, QueueSpec(), flag_cache=cache).flags[docs]


# -- undo as a revocation ---------------------------------------------------------------------------------------------


def test_an_undo_is_a_chained_revocation_that_works_after_others_decided_and_every_reader_skips(repository):
    session = make_session(repository, "/srv/alpha")
    mine, theirs = add(repository, session, path="src/a.py"), add(repository, session, path="src/b.py")
    repository.proposals.record_decision(mine, verdict="approve", reviewer="ada")
    for number in range(3):  # a busy team decides after ada
        other = add(repository, session, path=f"src/o{number}.py")
        repository.proposals.record_decision(other, verdict="approve", reviewer="bob")
    repository.proposals.record_decision(theirs, verdict="reject", reason="no", reviewer="bob")
    assert count_decisions(repository.database, ExportFilters()) == 5

    back = undo.undo(repository, mine, "ada", window_s=60, channel="cli")

    assert back.status == "pending"
    assert repository.proposals.latest_decision(mine) is None
    assert all(pid != mine for pid, _ in ((p.id, d) for p, d in repository.proposals.decisions_for_session(session)))
    assert count_decisions(repository.database, ExportFilters()) == 4, "exports skip the undone decision"
    assert count_decisions(repository.database, ExportFilters(verdicts=("undo",))) == 0
    report = verify_chain(repository.database)
    assert report.intact and report.decisions == 6, "the decision and its undo both stay in the chain"
    with pytest.raises(UndoRefusedError, match="not decided"):
        undo.undo(repository, mine, "ada", window_s=60)

    again = repository.proposals.record_decision(mine, verdict="reject", reason="second thoughts", reviewer="ada")
    assert repository.proposals.latest_decision(mine) == again
    assert repository.queue.states([mine])[mine].verdict == "reject"
    assert verify_chain(repository.database).intact


def test_undoing_one_of_two_reviews_returns_the_proposal_to_the_step_before_it(repository):
    repository.reviews.set_rules("/srv/two", kinds=["command"])
    session = make_session(repository, "/srv/two")
    pid = add(repository, session, command="make release")

    repository.proposals.record_decision(pid, verdict="approve", reviewer="ada")
    with pytest.raises(UndoRefusedError, match="another reviewer; only they"):
        undo.undo(repository, pid, "bob", window_s=60)
    assert undo.undo(repository, pid, "ada", window_s=60).status == "pending"
    # ada's first review is gone: she may review it again, and it needs two reviews from scratch.
    repository.proposals.record_decision(pid, verdict="approve", reviewer="ada")
    repository.proposals.record_decision(pid, verdict="reject", reason="not on a Friday", reviewer="bob")
    assert repository.proposals.get(pid).status == DISPUTED
    assert undo.undo(repository, pid, "bob", window_s=60).status == AWAITING_SECOND_REVIEW
    assert pid in queue_of(repository, "bob"), "bob may give the second review again"
    assert repository.reviews.review_tuples() == [(pid, "ada", "approve")]
    repository.proposals.record_decision(pid, verdict="approve", reviewer="bob")
    assert repository.proposals.get(pid).status == "decided"
    assert repository.reviews.review_tuples() == [(pid, "ada", "approve"), (pid, "bob", "approve")]
    assert repository.reviews.reviewer_counts() == {"ada": 1, "bob": 1}
    assert verify_chain(repository.database).intact


def test_skipping_undone_decisions_reads_the_few_revocations_once_instead_of_scanning_per_decision(lite):
    """With no undo yet every revokes_id is NULL, and SQLite's statistics then rate that index useless: a correlated
    NOT EXISTS scanned the whole table once per decision (49 s for 'decided today' over 100k decisions)."""
    from sqlalchemy import func, select, text

    from app.store.audit import live_decisions
    from app.store.models import Decision

    session = make_session(lite, "/srv/many")
    for number in range(30):
        lite.proposals.record_decision(add(lite, session, path=f"src/m{number}.py"), verdict="approve", reviewer="ada")
    with lite.database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
        statement = select(func.count()).select_from(Decision).where(live_decisions())
        sql = str(statement.compile(lite.database.engine, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "CORRELATED" not in plan and "SCAN decisions_1" not in plan, plan
    assert "ix_decisions_revokes_id" in plan, plan
