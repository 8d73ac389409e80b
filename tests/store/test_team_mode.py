"""Team mode on a real PostgreSQL server: claims with a lease, two independent reviews, adjudication, agreement
figures and LISTEN/NOTIFY; plus the SQLite fallbacks (conditional-UPDATE claims, polling listener) and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.domain.agreement import pairwise_agreement
from app.domain.review_rules import ReviewRulesError
from app.services.decision_wait import DecisionWaiter
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.errors import AlreadyDecidedError, DecisionRefusedError, ProposalClaimedError
from app.store.models import Decision, Proposal
from app.store.notify import QueueChange, open_queue_listener
from app.store.repository import Repository
from app.store.team_review import AWAITING_SECOND_REVIEW, DISPUTED
from tests.support.store_queries import (
    claim_next,
    current_claim,
    expire_claims,
    live_claims,
    renew_claim,
    review_item,
    reviewable_proposal_ids,
)

WORKSPACE = "/srv/team-project"
CLOCK = r"\d\d:\d\d:\d\d"


def make_proposals(repository: Repository, count: int, *, kind: str = "edit", path: str = "src/app.py") -> list[int]:
    session = repository.sessions.create(
        workspace_root=WORKSPACE,
        task="tidy up",
        endpoint="demo",
        model="m",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=5,
    )
    ids = []
    for number in range(count):
        shown = (
            f"$ make test {number}"
            if kind == "command"
            else f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b{number}\n"
        )
        fields = dict(
            session_id=session.id,
            message_seq=1,
            tool_use_id=f"toolu_{number}",
            tool_name="t",
            tool_input={},
            kind=kind,
            shown_text=shown,
            shown_hash=hashlib.sha256(shown.encode()).hexdigest(),
            lines_added=1,
            lines_removed=1,
        )
        if kind == "command":
            fields.update(command=f"make test {number}", cwd=".")
        else:
            fields.update(path=path, old_content=b"a\n", new_content=f"b{number}\n".encode())
        ids.append(repository.proposals.create(**fields).id)
    return ids


@pytest.fixture
def pg(postgres_url: str):
    database = open_database(postgres_url)
    try:
        yield Repository(database)
    finally:
        database.close()


@pytest.fixture
def lite(tmp_path: Path):
    database = open_database(str(tmp_path / "team.db"))
    try:
        yield Repository(database)
    finally:
        database.close()


def decisions_per_proposal(repository: Repository) -> Counter[int]:
    with repository.database.session() as orm:
        return Counter(
            dict(orm.execute(select(Decision.proposal_id, func.count()).group_by(Decision.proposal_id)).all())
        )


# -- claims ------------------------------------------------------------------------------------------------------------


def _work_the_queue(
    repository: Repository, reviewer: str, taken: list[tuple[str, int]], errors: list[BaseException]
) -> None:
    try:
        while (claim := claim_next(repository, reviewer)) is not None:
            taken.append((reviewer, claim.proposal_id))
            repository.proposals.record_decision(claim.proposal_id, verdict="approve", reviewer=reviewer, channel="cli")
    except BaseException as err:  # reported by the test, not lost in the thread
        errors.append(err)


@pytest.mark.parametrize("backend", ["pg", "lite"])
def test_reviewers_racing_for_the_next_item_never_take_or_decide_the_same_one(backend, request) -> None:
    repository: Repository = request.getfixturevalue(backend)
    ids = make_proposals(repository, 120)
    taken: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    workers = [
        threading.Thread(target=_work_the_queue, args=(repository, f"reviewer-{n}", taken, errors)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert sorted(proposal_id for _, proposal_id in taken) == ids
    assert set(decisions_per_proposal(repository).values()) == {1}
    assert repository.reviews.status_counts() == {"decided": 120}


def test_a_decision_on_an_item_claimed_by_someone_else_is_refused_and_names_the_holder(pg: Repository) -> None:
    [proposal_id] = make_proposals(pg, 1)
    claim = pg.claims.claim(proposal_id, "alice")

    with pytest.raises(ProposalClaimedError, match=rf"^Proposal {proposal_id} is claimed by alice until {CLOCK}\.$"):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="bob")
    with pytest.raises(ProposalClaimedError, match="claimed by alice"):
        pg.claims.claim(proposal_id, "bob")

    assert current_claim(pg, proposal_id) == claim
    assert live_claims(pg) == {proposal_id: claim}
    assert pg.proposals.get(proposal_id).status == "pending"
    decision = pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
    assert decision.reviewer == "alice"
    assert current_claim(pg, proposal_id) is None


def test_an_expired_lease_lets_another_reviewer_take_the_item(pg: Repository) -> None:
    first, second = make_proposals(pg, 2)
    # A lease of zero length has lapsed the moment it is granted: the reviewer walked away.
    pg.claims.claim(first, "alice", lease=dt.timedelta(0))

    assert current_claim(pg, first) is None
    taken = claim_next(pg, "bob")
    assert taken is not None and taken.proposal_id == first
    pg.claims.claim(second, "alice", lease=dt.timedelta(0))
    pg.proposals.record_decision(second, verdict="reject", reason="not now", reviewer="bob")
    assert pg.proposals.latest_decision(second).reviewer == "bob"


def test_renewing_a_claim_extends_it_and_releasing_frees_it(pg: Repository) -> None:
    [proposal_id] = make_proposals(pg, 1)
    short = pg.claims.claim(proposal_id, "alice", lease=dt.timedelta(seconds=5))
    longer = renew_claim(pg, proposal_id, "alice", lease=dt.timedelta(seconds=300))
    assert longer.expires_at > short.expires_at

    assert pg.claims.release(proposal_id, "bob") is False
    assert pg.claims.release(proposal_id, "alice") is True
    assert pg.claims.claim(proposal_id, "bob").reviewer == "bob"


def test_expire_claims_clears_only_lapsed_ones(lite: Repository) -> None:
    lapsed, live = make_proposals(lite, 2)
    lite.claims.claim(lapsed, "alice", lease=dt.timedelta(0))
    lite.claims.claim(live, "bob")

    assert expire_claims(lite) == 1
    assert set(live_claims(lite)) == {live}


def test_a_decided_item_cannot_be_claimed_and_a_second_decision_is_still_refused(pg: Repository) -> None:
    [proposal_id] = make_proposals(pg, 1)
    pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")

    with pytest.raises(DecisionRefusedError, match="no longer waits"):
        pg.claims.claim(proposal_id, "bob")
    with pytest.raises(AlreadyDecidedError, match="already decided by alice"):
        pg.proposals.record_decision(proposal_id, verdict="reject", reason="late", reviewer="bob")


# -- two independent reviews -------------------------------------------------------------------------------------------


def test_the_second_reviewer_does_not_see_the_first_verdict(pg: Repository) -> None:
    pg.reviews.set_rules(WORKSPACE, kinds=["command"], adjudicators=["carol"])
    [proposal_id] = make_proposals(pg, 1, kind="command")

    pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")

    assert pg.proposals.get(proposal_id).status == AWAITING_SECOND_REVIEW
    item = review_item(pg, proposal_id, "bob")
    assert item.status_text == "awaiting second review"
    assert item.needs_two_reviews and item.stage == "second"
    assert not any("verdict" in name or "reviewer" in name for name in vars(item))
    assert pg.proposals.visible_decision(proposal_id) is None
    with pytest.raises(DecisionRefusedError, match="Only an adjudicator"):
        pg.reviews.earlier_verdicts(proposal_id, "bob")
    assert [(v.reviewer, v.verdict) for v in pg.reviews.earlier_verdicts(proposal_id, "carol")] == [
        ("alice", "approve")
    ]
    # The second review is offered to bob, never back to alice.
    assert proposal_id in reviewable_proposal_ids(pg, "bob")
    assert proposal_id not in reviewable_proposal_ids(pg, "alice")
    assert claim_next(pg, "alice") is None


def test_the_same_person_cannot_give_both_reviews(pg: Repository) -> None:
    pg.reviews.set_rules(WORKSPACE, path_globs=["migrations/**"])
    [proposal_id] = make_proposals(pg, 1, path="migrations/0009_drop.sql")
    pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")

    with pytest.raises(DecisionRefusedError, match="the second must come from someone else"):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
    with pytest.raises(DecisionRefusedError, match="first review"):
        pg.claims.claim(proposal_id, "alice")


def test_files_outside_the_globs_need_one_review(pg: Repository) -> None:
    pg.reviews.set_rules(WORKSPACE, path_globs=["migrations/**", "*.sql"])
    [plain] = make_proposals(pg, 1, path="src/app.py")
    pg.proposals.record_decision(plain, verdict="approve", reviewer="alice")
    assert pg.proposals.get(plain).status == "decided"


def test_agreeing_reviews_release_the_runner_with_the_final_decision(pg: Repository) -> None:
    pg.reviews.set_rules(WORKSPACE, kinds=["command"])
    [proposal_id] = make_proposals(pg, 1, kind="command")
    repository = AsyncRepository(pg)
    waiter = DecisionWaiter(repository, poll_interval_s=0.05)

    async def scenario():
        waiting = asyncio.create_task(waiter.wait(proposal_id))
        await repository.write(
            lambda store: store.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
        )
        waiter.notify(proposal_id)
        # The first of two reviews is not final: the runner is still waiting after several polls.
        done, _ = await asyncio.wait({waiting}, timeout=0.3)
        assert not done
        await repository.write(
            lambda store: store.proposals.record_decision(proposal_id, verdict="approve", reviewer="bob")
        )
        waiter.notify(proposal_id)
        return await asyncio.wait_for(waiting, 10)

    try:
        decision = asyncio.run(scenario())
    finally:
        repository.close()
    assert (decision.reviewer, decision.verdict) == ("bob", "approve")


def test_a_disagreement_waits_for_adjudication_which_decides(pg: Repository) -> None:
    pg.reviews.set_rules(WORKSPACE, kinds=["command"])
    [proposal_id] = make_proposals(pg, 1, kind="command")
    pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
    pg.proposals.record_decision(proposal_id, verdict="reject", reason="drops the table", reviewer="bob")

    assert pg.proposals.get(proposal_id).status == DISPUTED
    assert pg.proposals.visible_decision(proposal_id) is None
    with pytest.raises(DecisionRefusedError, match="disputed .* waits for adjudication"):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="carol")
    with pytest.raises(DecisionRefusedError, match="someone other than its two reviewers"):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice", adjudication=True)
    assert [v.verdict for v in pg.reviews.earlier_verdicts(proposal_id, "carol")] == ["approve", "reject"]

    final = pg.proposals.record_decision(
        proposal_id, verdict="reject", reason="agree with bob", reviewer="carol", adjudication=True
    )

    assert pg.proposals.get(proposal_id).status == "decided"
    assert pg.proposals.latest_decision(proposal_id) == final
    assert pg.proposals.visible_decision(proposal_id) == final
    with pytest.raises(AlreadyDecidedError):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="dave", adjudication=True)


def test_adjudicating_an_item_that_is_not_disputed_is_refused(pg: Repository) -> None:
    [proposal_id] = make_proposals(pg, 1)
    with pytest.raises(DecisionRefusedError, match="not disputed"):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="carol", adjudication=True)


def test_bad_review_rules_are_refused_and_nothing_is_stored(pg: Repository) -> None:
    with pytest.raises(ReviewRulesError, match="Unknown proposal kind 'comand'"):
        pg.reviews.set_rules(WORKSPACE, kinds=["comand"])
    with pytest.raises(ReviewRulesError, match=r"must stay inside the workspace"):
        pg.reviews.set_rules(WORKSPACE, path_globs=["../secrets/*"])
    assert pg.reviews.rules(WORKSPACE).is_empty


def test_agreement_figures_come_from_the_independent_reviews_only(pg: Repository) -> None:
    pg.reviews.set_rules(WORKSPACE, kinds=["command"])
    ids = make_proposals(pg, 4, kind="command")
    verdicts = [("approve", "approve"), ("approve", "approve"), ("reject", "reject"), ("approve", "reject")]
    for proposal_id, (alice, bob) in zip(ids, verdicts, strict=False):
        pg.proposals.record_decision(proposal_id, verdict=alice, reason="r", reviewer="alice")
        pg.proposals.record_decision(proposal_id, verdict=bob, reason="r", reviewer="bob")
    pg.proposals.record_decision(ids[3], verdict="approve", reviewer="carol", adjudication=True)

    [pair] = pairwise_agreement(pg.reviews.review_tuples())

    # po = 3/4; alice approves 3/4, bob 2/4: pe = 3/4*2/4 + 1/4*2/4 = 1/2; kappa = (0.75 - 0.5) / 0.5.
    assert (pair.reviewer_a, pair.reviewer_b, pair.items) == ("alice", "bob", 4)
    assert pair.percent_agreement == pytest.approx(0.75)
    assert pair.kappa == pytest.approx(0.5)


# -- live updates ------------------------------------------------------------------------------------------------------


def _next_change(changes: queue.Queue[QueueChange], wanted) -> QueueChange:
    while True:
        change = changes.get(timeout=10)
        if wanted(change):
            return change


def test_notify_reaches_the_listener_for_new_proposals_claims_and_decisions(pg: Repository) -> None:
    changes: queue.Queue[QueueChange] = queue.Queue()
    listener = open_queue_listener(pg.database, changes.put)
    try:
        [proposal_id] = make_proposals(pg, 1)
        assert _next_change(changes, lambda c: c.event == "proposal") == QueueChange(proposal_id, "pending", "proposal")
        pg.claims.claim(proposal_id, "alice")
        assert _next_change(changes, lambda c: c.event == "claim").proposal_id == proposal_id
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
        assert _next_change(changes, lambda c: c.event == "status") == QueueChange(proposal_id, "decided", "status")
    finally:
        listener.stop()
    assert not listener.is_running


def test_a_rolled_back_change_notifies_nobody(pg: Repository) -> None:
    changes: queue.Queue[QueueChange] = queue.Queue()
    listener = open_queue_listener(pg.database, changes.put)
    try:
        [proposal_id] = make_proposals(pg, 1)
        _next_change(changes, lambda c: c.event == "proposal")
        with pg.database.session() as orm:
            orm.execute(update(Proposal).where(Proposal.id == proposal_id).values(status="cancelled"))
            orm.rollback()
        pg.claims.claim(proposal_id, "alice")
        # The claim committed after the rollback is the next thing heard, not the rolled-back status change.
        assert changes.get(timeout=10).event == "claim"
    finally:
        listener.stop()


def test_the_sqlite_listener_polls_and_reports_changes_from_other_connections(lite: Repository) -> None:
    changes: queue.Queue[QueueChange] = queue.Queue()
    listener = open_queue_listener(lite.database, changes.put, poll_interval_s=0.05)
    try:
        make_proposals(lite, 1)
        assert changes.get(timeout=10).event == "changed"
    finally:
        listener.stop()
    assert not listener.is_running


# -- command line ------------------------------------------------------------------------------------------------------


def signoff(*args: str) -> subprocess.CompletedProcess:
    """The real command in its own process, as a reviewer on another machine would run it."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        cwd=Path(__file__).resolve().parents[2],
    )


def test_cli_claims_releases_and_prints_agreement_stats(pg: Repository, postgres_url: str) -> None:
    pg.reviews.set_rules(WORKSPACE, kinds=["command"])
    first, second = make_proposals(pg, 2, kind="command")
    for proposal_id, bob in ((first, "approve"), (second, "reject")):
        pg.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
        pg.proposals.record_decision(proposal_id, verdict=bob, reason="no", reviewer="bob")
    [waiting] = make_proposals(pg, 1)

    claimed = signoff("claim", str(waiting), "--reviewer", "dora", "--db", postgres_url)
    assert claimed.returncode == 0, claimed.stderr
    assert re.search(rf"Claimed proposal {waiting} until {CLOCK}", claimed.stdout)
    refused = signoff("approve", str(waiting), "--reviewer", "erin", "--db", postgres_url)
    assert refused.returncode == 1
    assert re.fullmatch(rf"signoff: Proposal {waiting} is claimed by dora until {CLOCK}\.\n", refused.stderr)
    assert signoff("release", str(waiting), "--reviewer", "dora", "--db", postgres_url).returncode == 0
    assert current_claim(pg, waiting) is None

    stats = json.loads(signoff("stats", "--json", "--db", postgres_url).stdout)
    assert stats["pairs"] == [
        {"reviewer_a": "alice", "reviewer_b": "bob", "items": 2, "percent_agreement": 50.0, "kappa": 0.0}
    ]
    assert stats["waiting"] == {"pending": 1, "awaiting_second_review": 0, "disputed": 1}
    text = signoff("stats", "--db", postgres_url).stdout
    assert re.search(r"alice\s+bob\s+2\s+50\.0%\s+0\.00", text), text


def test_cli_keeps_the_first_verdict_hidden_and_adjudicates(pg: Repository, postgres_url: str) -> None:
    pg.reviews.set_rules(WORKSPACE, kinds=["command"])
    [proposal_id] = make_proposals(pg, 1, kind="command")
    pg.proposals.record_decision(proposal_id, verdict="reject", reason="secret reason", reviewer="alice")

    shown = signoff("show", str(proposal_id), "--db", postgres_url)
    assert shown.returncode == 0, shown.stderr
    assert "secret reason" not in shown.stdout and "alice" not in shown.stdout
    assert "awaiting second review" in shown.stdout

    second = signoff("approve", str(proposal_id), "--reviewer", "bob", "--db", postgres_url)
    assert second.returncode == 0, second.stderr
    assert "it is now disputed: waits for adjudication" in second.stdout
    settled = signoff("approve", str(proposal_id), "--reviewer", "carol", "--adjudication", "--db", postgres_url)
    assert settled.returncode == 0, settled.stderr
    assert settled.stdout.startswith(f"Approved: proposal {proposal_id}")
    assert pg.proposals.get(proposal_id).status == "decided"


# -- the window --------------------------------------------------------------------------------------------------------


def test_window_on_postgres_refreshes_on_notify_claims_what_is_on_screen_and_shows_agreement(
    qtbot, qasync_loop, postgres_url: str, tmp_path: Path
) -> None:
    from app.services.settings import Settings
    from tests.support.window_harness import WindowDriver

    other_database = open_database(postgres_url)
    other = Repository(other_database)  # another reviewer, another machine
    other.reviews.set_rules(WORKSPACE, kinds=["command"])
    for proposal_id, bob in zip(make_proposals(other, 2, kind="command"), ("approve", "reject"), strict=False):
        other.proposals.record_decision(proposal_id, verdict="approve", reviewer="alice")
        other.proposals.record_decision(proposal_id, verdict=bob, reason="no", reviewer="bob")
    driver = WindowDriver(qtbot, postgres_url, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario() -> list[list[str]]:
        window = await driver.open()
        try:
            # No polling from here on: only a notification can bring the new proposal in.
            window.poll_timer.stop()
            window.queue_view.poll_timer.stop()
            [proposal_id] = await asyncio.to_thread(make_proposals, other, 1)
            await driver.until(lambda: proposal_id in window.pending, what="the NOTIFY-driven refresh")
            await driver.until(lambda: window.review_panel.proposal is not None, what="the proposal on screen")
            keeper = window.team_mode.lease_keeper
            await driver.until(
                lambda: keeper.held is not None and keeper.held.proposal_id == proposal_id, what="a claim"
            )
            claim = await asyncio.to_thread(current_claim, other, proposal_id)
            assert claim is not None and claim.reviewer == "ada"
            with pytest.raises(ProposalClaimedError, match=rf"claimed by ada until {CLOCK}"):
                await asyncio.to_thread(other.proposals.record_decision, proposal_id, verdict="approve", reviewer="bob")

            window.stats_action.trigger()
            view = await driver.until(
                lambda: (
                    window.team_mode.stats_view
                    if window.team_mode.stats_view and window.team_mode.stats_view.stats
                    else None
                ),
                what="the stats view",
            )
            view.grab().save(str(tmp_path / "stats_view.png"))
            return view.cell_texts()
        finally:
            await driver.close()
            other_database.close()

    cells = qasync_loop.run_until_complete(scenario())
    assert cells == [["alice", "bob", "2", "50.0%", "0.00"]]


# -- the runner --------------------------------------------------------------------------------------------------------


def test_a_runner_applies_a_two_review_change_only_after_the_second_review_even_across_a_restart(
    stack_factory, postgres_url: str
) -> None:
    from app.domain.tools import EDITOR_TOOL_NAME
    from app.services import events, review
    from app.standin.scenario import text_turn, tool_turn, tool_use_block
    from tests.support.agent_harness import run

    original = "def greet(name):\n    return 'hi ' + name\n"
    stack = stack_factory(
        [
            tool_turn(
                tool_use_block(
                    EDITOR_TOOL_NAME,
                    {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'Hello '"},
                )
            ),
            text_turn("Done."),
        ],
        files={"greet.py": original},
        db_url=postgres_url,
    )

    async def scenario():
        await stack.repository.write(
            lambda store: store.reviews.set_rules(str(stack.workspace.resolve()), path_globs=["*.py"])
        )
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(proposal.id, "alice"))
        assert (
            await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        ).status == AWAITING_SECOND_REVIEW
        assert (stack.workspace / "greet.py").read_text() == original
        # The app closes and opens again: the resumed runner must keep waiting, not apply the first review.
        await stack.close()
        stack.open()
        await stack.manager.resume(session.id)
        await stack.until(
            lambda: (
                sum(1 for e in stack.seen if isinstance(e, events.ProposalWaiting) and e.proposal.id == proposal.id)
                == 2
            )
        )
        assert (stack.workspace / "greet.py").read_text() == original
        with pytest.raises(DecisionRefusedError, match="someone else"):
            await stack.manager.decide(review.approve(proposal.id, "alice"))
        await stack.manager.decide(review.approve(proposal.id, "bob"))
        status = await stack.manager.wait(session.id)
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        await stack.close()
        return status, decisions

    status, decisions = run(scenario())
    assert status == "finished"
    assert [(d.reviewer, d.verdict) for _, d in decisions] == [("alice", "approve"), ("bob", "approve")]
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello ' + name\n"


# -- review rules and the lease keeper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("migrations/**", "migrations/2026/0009.sql", True),
        ("migrations/**", "src/migrations/0009.sql", False),
        ("*.sql", "db/schema.sql", True),
        ("src/*.py", "src/pkg/mod.py", False),
        ("src/**/*.py", "src/mod.py", True),
        ("src/**/*.py", "src/pkg/mod.py", True),
        ("build/", "build/out/app.bin", True),
        ("Makefile", "Makefile", True),
        ("Makefile", "docs/Makefile.md", False),
    ],
)
def test_path_globs_match_like_gitignore(pattern: str, path: str, matches: bool) -> None:
    from app.domain.review_rules import ReviewRules

    assert ReviewRules(path_globs=(pattern,)).needs_two_reviews("edit", path) is matches


def test_the_lease_keeper_claims_renews_moves_and_reports_a_refusal(pg: Repository) -> None:
    from app.services.claim_lease import LeaseKeeper

    first, second, taken = make_proposals(pg, 3)
    pg.claims.claim(taken, "bob")
    refusals: list[str] = []
    repository = AsyncRepository(pg)

    async def until_settled(keeper: LeaseKeeper) -> None:
        keeper.settled.clear()
        await asyncio.wait_for(keeper.settled.wait(), 10)

    async def scenario():
        keeper = LeaseKeeper(
            repository, lambda: "ada", lease=dt.timedelta(seconds=0.3), on_refused=lambda e: refusals.append(str(e))
        )
        keeper.hold(first)
        await asyncio.wait_for(keeper.settled.wait(), 10)
        held = keeper.held
        # Renewed while it stays on screen: a later attempt extends the lease.
        await until_settled(keeper)
        assert keeper.held.expires_at > held.expires_at
        keeper.hold(second)
        await asyncio.wait_for(keeper.settled.wait(), 10)
        on_second = await repository.read(current_claim, second)
        released_first = await repository.read(current_claim, first)
        keeper.hold(taken)
        await asyncio.wait_for(keeper.settled.wait(), 10)
        held_after_refusal = keeper.held
        await keeper.close()
        return on_second, released_first, held_after_refusal, await repository.read(current_claim, second)

    try:
        on_second, released_first, held_after_refusal, after_close = asyncio.run(scenario())
    finally:
        repository.close()
    assert on_second.reviewer == "ada" and released_first is None
    assert held_after_refusal is None
    assert re.fullmatch(rf"Proposal {taken} is claimed by bob until {CLOCK}\.", refusals[0])
    assert after_close is None


@pytest.mark.parametrize("backend", ["pg", "lite"])
def test_the_team_mode_migration_steps_down_and_up_again(backend, request) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from app.store.db import alembic_config

    repository: Repository = request.getfixturevalue(backend)
    engine = repository.database.engine

    def triggers() -> list[str]:
        if engine.dialect.name != "postgresql":
            return []
        with engine.connect() as connection:
            return list(connection.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").scalars())

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0003")
    with engine.connect() as connection:
        assert "review_rules" not in inspect(connection).get_table_names()
        assert "claimed_by" not in {c["name"] for c in inspect(connection).get_columns("proposals")}
    assert triggers() == []
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "head")
    assert triggers() == (["signoff_notify_queue"] if backend == "pg" else [])
