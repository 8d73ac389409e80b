"""The queue without widgets: keyset pages in every sort and filter, progress figures counted in SQL, and taking a
decision back only while its undo window is open and nothing was carried out."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import update

from app import cli
from app.domain.tools import EDITOR_TOOL_NAME
from app.services import events, undo
from app.services.queue import FlagCache, QueueFilter, QueueSort, QueueSpec, fetch_page, glob_to_like, state_text
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.store.audit import verify_chain
from app.store.db import open_database
from app.store.errors import UndoRefusedError
from app.store.models import Decision, Proposal
from app.store.repository import Repository
from tests.support.agent_harness import run
from tests.support.store_queries import list_proposals


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "queue.db"))
    yield Repository(database)
    database.close()


def make_session(repository: Repository, root: str, task: str) -> int:
    return repository.sessions.create(
        workspace_root=root,
        task=task,
        endpoint="anthropic",
        model="m",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=5,
    ).id


def add_proposal(
    repository: Repository,
    session_id: int,
    number: int,
    *,
    kind: str = "edit",
    path: str | None = None,
    added: str = "x = 1",
    lines: int = 1,
) -> int:
    command = f"echo {number}" if kind == "command" else None
    shown = command if kind == "command" else f"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n+{added}\n"
    return repository.proposals.create(
        session_id=session_id,
        message_seq=1,
        tool_use_id=f"toolu_{number}",
        tool_name="t",
        tool_input={},
        kind=kind,
        path=None if kind == "command" else (path or f"src/file_{number}.py"),
        command=command,
        shown_text=shown,
        shown_hash=hashlib.sha256(shown.encode()).hexdigest(),
        lines_added=lines,
        lines_removed=0,
    ).id


def every_page(repository: Repository, spec: QueueSpec, limit: int = 7) -> list[int]:
    cache = FlagCache()
    seen: list[int] = []
    after = None
    while True:
        page = fetch_page(repository, spec, after=after, limit=limit, flag_cache=cache)
        seen.extend(item.id for item in page.items)
        if page.next_after is None:
            return seen
        after = page.next_after


def test_keyset_pages_visit_every_waiting_row_once_in_order_for_every_sort(repository):
    alpha = make_session(repository, "/srv/alpha", "Alpha task")
    beta = make_session(repository, "/srv/beta", "Beta task")
    ids = []
    for number in range(40):
        session = alpha if number % 2 else beta
        kind = ("edit", "create", "command")[number % 3]
        ids.append(add_proposal(repository, session, number, kind=kind, lines=number % 5))
    repository.proposals.record_decision(ids[0], verdict="approve", reviewer="ada")
    waiting = set(ids[1:])
    for column in ("age", "workspace", "session", "kind", "target", "lines"):
        for descending in (False, True):
            seen = every_page(repository, QueueSpec(sort=QueueSort(column, descending)))
            assert len(seen) == len(waiting) and set(seen) == waiting, (column, descending)
    by_lines = every_page(repository, QueueSpec(sort=QueueSort("lines", True)))
    lines = {p.id: p.lines_added + p.lines_removed for p in list_proposals(repository)}
    assert [lines[i] for i in by_lines] == sorted((lines[i] for i in by_lines), reverse=True)


def test_filters_narrow_the_queue_in_sql_and_the_hidden_character_flag_in_python(repository):
    alpha = make_session(repository, "/srv/alpha", "Alpha task")
    beta = make_session(repository, "/srv/beta", "Beta: rename things")
    plain = add_proposal(repository, alpha, 1, path="src/app/main.py")
    sneaky = add_proposal(repository, alpha, 2, path="src/app/util.py", added="ok = True  # \u202e evil")
    command = add_proposal(repository, beta, 3, kind="command")
    docs = add_proposal(repository, beta, 4, path="docs/100%_done.md")

    def ids(**filters) -> list[int]:
        return every_page(repository, QueueSpec(QueueFilter(**filters)))

    assert ids() == [plain, sneaky, command, docs]
    assert ids(workspace="/srv/beta") == [command, docs]
    assert ids(kind="command") == [command]
    assert ids(session_id=alpha) == [plain, sneaky]
    assert ids(path_glob="src/*/u?il.py") == [sneaky]
    assert ids(path_glob="docs/100%*") == [docs] and glob_to_like("a%_*") == "a\\%\\_%"
    assert ids(text="rename") == [command, docs]
    assert ids(text="echo 3") == [command]
    assert ids(flag="hidden") == [sneaky]
    page = fetch_page(repository, QueueSpec(), flag_cache=FlagCache())
    assert page.flags[sneaky] == {"hidden"} and page.flags[plain] == frozenset()


def test_progress_figures_are_counted_in_sql_per_session_and_overall(repository):
    alpha = make_session(repository, "/srv/alpha", "Alpha")
    beta = make_session(repository, "/srv/beta", "Beta")
    now = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)
    day_start = dt.datetime(2026, 11, 22, 0, 0, tzinfo=dt.UTC)
    # (session, seconds on screen, decided how long before now)
    history = [
        (alpha, 1.0, dt.timedelta(minutes=5)),
        (alpha, 3.0, dt.timedelta(minutes=30)),
        (alpha, 8.0, dt.timedelta(hours=3)),
        (beta, 5.0, dt.timedelta(minutes=50)),
        (beta, 10.0, dt.timedelta(days=1)),
    ]
    for number, (session, seconds, ago) in enumerate(history):
        pid = add_proposal(repository, session, number)
        decision = repository.proposals.record_decision(
            pid, verdict="approve", reviewer="ada", time_on_screen_ms=int(seconds * 1000)
        )
        with repository.database.session() as orm, orm.begin():
            orm.execute(update(Decision).where(Decision.id == decision.id).values(decided_at=now - ago))
    add_proposal(repository, alpha, 10)
    add_proposal(repository, beta, 11)
    add_proposal(repository, beta, 12)
    cli_decided = add_proposal(repository, beta, 13)
    repository.proposals.record_decision(cli_decided, verdict="approve", reviewer="ada", channel="cli")
    with repository.database.session() as orm, orm.begin():
        orm.execute(
            update(Decision).where(Decision.proposal_id == cli_decided).values(decided_at=now - dt.timedelta(minutes=1))
        )

    hour_ago = now - dt.timedelta(hours=1)
    overall = repository.queue.stats(day_start=day_start, hour_ago=hour_ago)
    assert (overall.waiting, overall.decided_today, overall.decided_last_hour) == (3, 5, 4)
    assert overall.median_ms == 4000  # 1, 3, 5, 8 s on screen today; the CLI decision has no time on screen
    only_alpha = repository.queue.stats(day_start=day_start, hour_ago=hour_ago, session_id=alpha)
    assert (only_alpha.waiting, only_alpha.decided_today, only_alpha.decided_last_hour, only_alpha.median_ms) == (
        1,
        3,
        2,
        3000,
    )
    only_beta = repository.queue.stats(day_start=day_start, hour_ago=hour_ago, session_id=beta)
    assert (only_beta.waiting, only_beta.decided_today, only_beta.median_ms) == (2, 2, 5000)


def test_undo_returns_the_proposal_to_waiting_only_inside_the_window_and_only_for_its_reviewer(repository):
    session = make_session(repository, "/srv/alpha", "Alpha")
    first, second, third = (add_proposal(repository, session, n) for n in range(3))
    repository.proposals.record_decision(first, verdict="approve", reviewer="ada")
    with pytest.raises(UndoRefusedError, match="decided by ada; only they"):
        undo.undo(repository, first, "bob", window_s=30)
    back = undo.undo(repository, first, "ada", window_s=30)
    assert back.status == "pending" and repository.proposals.latest_decision(first) is None
    with pytest.raises(UndoRefusedError, match="not decided"):
        undo.undo(repository, first, "ada", window_s=30)

    repository.proposals.record_decision(second, verdict="reject", reviewer="ada", reason="no")
    with repository.database.session() as orm, orm.begin():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
        orm.execute(update(Proposal).where(Proposal.id == second).values(decided_at=old))
    with pytest.raises(UndoRefusedError, match="undo window has passed"):
        undo.undo(repository, second, "ada", window_s=5)
    assert repository.proposals.claim_for_apply(second, window_s=5)
    with pytest.raises(UndoRefusedError, match="being carried out"):
        undo.undo(repository, second, "ada", window_s=60)

    # Someone else deciding meanwhile no longer blocks an undo: it is appended to the chain as its own entry.
    repository.proposals.record_decision(first, verdict="approve", reviewer="ada")
    repository.proposals.record_decision(third, verdict="approve", reviewer="bob")
    assert undo.undo(repository, first, "ada", window_s=60).status == "pending"
    assert repository.proposals.get(third).status == "decided"
    undo.undo(repository, third, "bob", window_s=60)
    assert verify_chain(repository.database).intact


def test_claim_for_apply_waits_for_the_window_and_loses_to_an_undo(repository):
    session = make_session(repository, "/srv/alpha", "Alpha")
    pid = add_proposal(repository, session, 1)
    repository.proposals.record_decision(pid, verdict="approve", reviewer="ada")
    assert not repository.proposals.claim_for_apply(pid, window_s=60), "inside the window it is not final"
    undo.undo(repository, pid, "ada", window_s=60)
    assert not repository.proposals.claim_for_apply(pid, window_s=0), "an undone decision is never applied"
    repository.proposals.record_decision(pid, verdict="approve", reviewer="ada")
    assert repository.proposals.claim_for_apply(pid, window_s=0)
    assert repository.proposals.get(pid).status == "applying"


def test_state_texts_say_what_became_of_a_proposal():
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    decided = now - dt.timedelta(seconds=2)
    assert state_text("pending") == "waiting"
    assert state_text("pending", claimed_by="bob") == "taken by bob"
    assert (
        state_text("decided", verdict="approve", decided_at=decided, now=now, undo_window_s=5)
        == "approved · applies in 3 s"
    )
    assert (
        state_text("decided", verdict="reject", decided_at=decided, now=now, undo_window_s=5)
        == "rejected · sent in 3 s"
    )
    assert state_text("decided", verdict="approve", decided_at=decided, now=now, undo_window_s=1) == "approved · final"
    assert state_text("applied") == "applied" and state_text("conflict") == "conflict: not applied"


GREET = "def greet(name):\n    return 'hi ' + name\n"


def test_the_runner_applies_a_decision_only_after_the_window_and_an_undo_inside_it_applies_nothing(stack_factory):
    edit = tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'Hello, '"}
    )
    stack = stack_factory([tool_turn(edit), text_turn("Done.")], files={"greet.py": GREET})
    stack.manager.waiter.undo_window_s = 60.0

    async def scenario():
        from app.services import review

        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        assert (await stack.repository.read(lambda store: store.proposals.get(proposal.id))).status == "decided"
        await stack.repository.write(undo.undo, proposal.id, "ada", window_s=60.0)
        stack.manager.waiter.notify(proposal.id)
        assert (await stack.repository.read(lambda store: store.proposals.get(proposal.id))).status == "pending"
        assert stack.manager.is_running(session.id)
        assert (stack.workspace / "greet.py").read_text() == GREET
        # A short window: the decision waits it out, then applies.
        stack.manager.waiter.undo_window_s = 0.3
        decided = await stack.manager.decide(review.approve(proposal.id, "ada"))
        assert (stack.workspace / "greet.py").read_text() == GREET
        await stack.until(lambda: stack.manager.task(session.id).done(), timeout=20)
        final = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return decided, final

    decided, final = run(scenario())
    assert final.status == "applied"
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello, ' + name\n"


def test_a_session_resumed_by_a_decision_in_its_undo_window_is_waiting_and_still_waiting_after_an_undo(stack_factory):
    # Found under Xvfb: after a restart, approving the waiting proposal resumed its session, which read "running"
    # (sidebar, agents table, `signoff sessions`) through the undo window and after an undo put the proposal back.
    edit = tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'Hello, '"}
    )
    stack = stack_factory([tool_turn(edit), text_turn("Done.")], files={"greet.py": GREET})

    async def stored(session_id: int, status: str) -> bool:
        return (await stack.repository.read(lambda store: store.sessions.get(session_id))).status == status

    async def scenario():
        from app.services import review

        session_id = (await stack.start()).id
        proposal_id = (await stack.waiting_proposal()).id
        await stack.close()
        stack.open()  # as a restarted app: nothing runs the session
        stack.manager.waiter.undo_window_s = 60.0
        assert not stack.manager.is_running(session_id)
        fresh = len(stack.seen)

        def said() -> list[str]:
            return [e.status for e in stack.seen[fresh:] if isinstance(e, events.StatusChanged)]

        await stack.manager.decide(review.approve(proposal_id, "ada"))
        assert stack.manager.is_running(session_id), "the decision resumed its session"
        # The resumed runner says "running", then "waiting" while the decision can still be taken back.
        await stack.until(lambda: said()[-1:] == ["waiting"])
        assert said()[0] == "running" and await stored(session_id, "waiting")
        await stack.repository.write(undo.undo, proposal_id, "ada", window_s=60.0)
        stack.manager.waiter.notify(proposal_id)
        await stack.until(lambda: stored(session_id, "waiting"))
        assert said()[-1] == "waiting"
        assert stack.manager.is_running(session_id)
        await stack.close()

    run(scenario())
    assert (stack.workspace / "greet.py").read_text() == GREET


def test_signoff_undo_takes_back_a_command_line_decision_inside_the_window(tmp_path, capsys):
    db_path = tmp_path / "queue.db"
    database = open_database(str(db_path))
    repository = Repository(database)
    pid = add_proposal(repository, make_session(repository, "/srv/alpha", "Alpha"), 1)
    database.close()
    assert cli.main(["approve", str(pid), "--reviewer", "ada", "--db", str(db_path)]) == 0
    assert f"signoff undo {pid}" in capsys.readouterr().out
    assert cli.main(["undo", str(pid), "--reviewer", "bob", "--db", str(db_path)]) == 1
    assert "only they can undo it" in capsys.readouterr().err
    assert cli.main(["undo", str(pid), "--reviewer", "ada", "--db", str(db_path)]) == 0
    assert "waits for a decision again" in capsys.readouterr().out
    database = open_database(str(db_path))
    try:
        assert Repository(database).proposals.get(pid).status == "pending"
    finally:
        database.close()
