"""The terminal review UI driven by Textual's pilot over a real SQLite store: deciding whole and by hunk, reasons, the
editor, undo, filters, search, folds, claims, and changes made by other processes showing within a second."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.services.settings import Settings
from app.store.db import open_database
from app.store.repository import Repository
from app.tui.app import SignoffTui
from tests.support.agent_harness import run
from tests.support.tui_queue import GREET_NEW, seed_queue
from tests.support.tui_screen import screen_lines

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path):
    database = open_database(str(tmp_path / "queue.db"))
    repository = Repository(database)
    ids = seed_queue(repository, tmp_path / "ws")
    yield repository, ids
    database.close()


def tui(repository: Repository, **kwargs) -> SignoffTui:
    kwargs.setdefault("host_sessions", False)
    return SignoffTui(repository, Settings(reviewer="ada", undo_seconds=5.0), **kwargs)


def text_of(app: SignoffTui) -> str:
    return "\n".join(screen_lines(app.export_screenshot()))


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds (it polls and redraws meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s:\n{text_of(pilot.app)}")
        await pilot.pause(0.05)


def test_approving_a_proposal_records_it_durably_and_shows_the_next_one(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter")
            assert "Proposal #1 · 1 of 3" in text_of(app)
            await pilot.press("a")
            decision = repository.proposals.latest_decision(ids["greet"])
            assert (decision.verdict, decision.reviewer, decision.channel) == ("approve", "ada", "tui")
            assert decision.time_on_screen_ms is not None
            await pilot.pause()
            screen = text_of(app)
            assert "Proposal #2 · 1 of 2" in screen
            assert "Approved: #1 greet.py · u undoes within 5 s" in screen

    run(scenario())
    assert repository.proposals.get(ids["greet"]).status == "decided"


def test_rejecting_needs_a_reason_and_sends_the_one_typed(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("j", "j", "r")
            assert "Why reject #3?" in text_of(app)
            await pilot.press("enter")
            assert "(it cannot be empty)" in text_of(app)
            assert repository.proposals.latest_decision(ids["command"]) is None
            await pilot.press(*"run the whole suite", "enter")
            await pilot.pause()
            assert "Rejected: #3 python3 -m unittest -v" in text_of(app)

    run(scenario())
    decision = repository.proposals.latest_decision(ids["command"])
    assert (decision.verdict, decision.reason) == ("reject", "run the whole suite")


def test_escape_in_the_reason_box_decides_nothing(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("r", *"maybe", "escape")
            await pilot.pause()
            assert "Why reject" not in text_of(app)

    run(scenario())
    assert repository.proposals.latest_decision(ids["greet"]) is None


def test_undo_takes_the_decision_back_and_shows_the_proposal_again(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter", "a")
            assert repository.proposals.get(ids["greet"]).status == "decided"
            await pilot.press("u")
            await pilot.pause()
            screen = text_of(app)
            assert "Proposal #1 · 1 of 3" in screen
            assert "Undone: #1 waits for a decision again." in screen
            await pilot.press("u")
            await pilot.pause()
            assert "Nothing decided here to undo." in text_of(app)

    run(scenario())
    assert repository.proposals.get(ids["greet"]).status == "pending"
    assert repository.proposals.visible_decision(ids["greet"]) is None


def test_hunks_judged_one_by_one_apply_only_the_approved_one(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter", "s")
            assert "Judge hunks first" in text_of(app)
            await pilot.press("A")
            assert "[approved]" in text_of(app)
            await pilot.press("R", *"keep line 35 as it is", "enter")
            await pilot.pause()
            assert "Every hunk judged: s sends the verdicts." in text_of(app)
            await pilot.press("s")

    run(scenario())
    decision = repository.proposals.latest_decision(ids["greet"])
    assert decision.verdict == "edit"
    assert decision.edited_content == GREET_NEW.replace("line 35 # checked\n", "line 35\n").encode()
    assert [entry["verdict"] for entry in decision.hunk_verdicts] == ["approve", "reject"]
    assert decision.hunk_verdicts[1]["reason"] == "keep line 35 as it is"


def test_e_opens_the_editor_on_the_proposed_content_and_approves_that_version(store, tmp_path, monkeypatch):
    repository, ids = store
    editor = tmp_path / "editor.py"
    editor.write_text(
        textwrap.dedent(
            """
            import sys
            from pathlib import Path
            path = Path(sys.argv[1])
            path.write_text(path.read_text().replace("Hello", "Good day"))
            """
        )
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter", "e")
            await pilot.pause()
            assert "Approved with your edit: #1 greet.py" in text_of(app)

    run(scenario())
    decision = repository.proposals.latest_decision(ids["greet"])
    assert decision.verdict == "edit"
    assert decision.edited_content == GREET_NEW.replace("Hello", "Good day").encode()


def test_an_editor_that_fails_decides_nothing(store, monkeypatch):
    repository, ids = store
    monkeypatch.setenv("VISUAL", "false")

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("e")
            await pilot.pause()
            assert "The editor exited with status 1: nothing decided." in text_of(app)

    run(scenario())
    assert repository.proposals.latest_decision(ids["greet"]) is None


def test_the_filter_narrows_the_queue_and_a_bad_one_says_why(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("slash", *"kind:command", "enter")
            await pilot.pause()
            assert [item.id for item in app.model.items] == [ids["command"]]
            assert "filter: kind:command" in text_of(app)
            await pilot.press("slash")
            for _ in range(len("kind:command")):
                await pilot.press("backspace")
            await pilot.press(*"kind:folder", "enter")
            await pilot.pause()
            assert "kind:folder? Use edit, create, command, effects, changeset, plan." in text_of(app)
            assert [item.id for item in app.model.items] == [ids["command"]]

    run(scenario())


def test_search_finds_text_in_the_diff_and_folds_open_with_x(store):
    repository, _ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter")
            assert "⋯ 24 unchanged lines (x expands)" in text_of(app)
            await pilot.press("x")
            await pilot.pause()
            screen = text_of(app)
            assert "unchanged lines" not in screen.split("Hunk 2/2")[0]
            assert "  8    8   line 8" in screen
            await pilot.press("slash", *"checked", "enter")
            await pilot.pause()
            assert "1 match for 'checked'" in text_of(app)
            assert "line 35 # checked" in text_of(app)
            await pilot.press("n")
            assert "Hunk 2 of 2" in text_of(app)

    run(scenario())


def test_team_mode_claims_the_proposal_on_screen_and_releases_it_on_leaving(store):
    repository, ids = store

    async def scenario():
        app = tui(repository, team=True, host_sessions=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter")
            await until(pilot, lambda: app.lease.held is not None)
            assert app.lease.held.proposal_id == ids["greet"]
            claimed = repository.queue.page(reviewer="bob")
            assert {item.id: item.claimed_by for item in claimed}[ids["greet"]] == "ada"
            await pilot.press("escape")
            await until(pilot, lambda: app.lease.held is None)
            assert {item.id: item.claimed_by for item in repository.queue.page()}[ids["greet"]] is None

    run(scenario())


def _other_process(code: str, db_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    subprocess.run([sys.executable, "-c", code, str(db_path)], env=env, check=True, timeout=60)


def test_proposals_and_decisions_from_other_processes_show_within_a_second(store, tmp_path):
    repository, ids = store
    db_path = tmp_path / "queue.db"

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            assert len(app.model.items) == 3
            _other_process(
                textwrap.dedent(
                    """
                    import sys
                    from app.store.db import open_database
                    from app.store.repository import Repository
                    from tests.support.tui_queue import add_command
                    repository = Repository(open_database(sys.argv[1]))
                    add_command(repository, 1, "late", "git status")
                    """
                ),
                db_path,
            )
            added = time.monotonic()
            await until(pilot, lambda: "git status" in text_of(app), timeout=5)
            assert time.monotonic() - added < 1.0
            env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), SIGNOFF_DB=str(db_path))
            subprocess.run(
                [sys.executable, "-m", "app", "approve", str(ids["test"]), "--reviewer", "bob"],
                env=env,
                check=True,
                timeout=60,
                capture_output=True,
            )
            decided = time.monotonic()
            await until(pilot, lambda: "test_greet.py" not in text_of(app), timeout=5)
            assert time.monotonic() - decided < 1.0
            assert len(app.model.items) == 3

    run(scenario())


def test_a_decision_someone_else_made_first_is_refused_in_one_line_and_nothing_changes(store):
    repository, ids = store

    async def scenario():
        # Polling slower than the test: the queue on screen is stale when bob decides.
        app = tui(repository, poll_s=60)
        async with app.run_test(size=(80, 24)) as pilot:
            repository.proposals.record_decision(
                ids["greet"], verdict="reject", reason="no", reviewer="bob", channel="cli"
            )
            await pilot.press("a")
            await pilot.pause()
            status = text_of(app).splitlines()[-2]
            assert "already" in status.lower(), status

    run(scenario())
    decision = repository.proposals.latest_decision(ids["greet"])
    assert (decision.reviewer, decision.verdict) == ("bob", "reject")


def test_o_orders_the_queue_riskiest_first_and_w_says_why_a_row_is_risky(store):
    repository, ids = store

    async def scenario():
        app = tui(repository)
        async with app.run_test(size=(80, 24)) as pilot:
            by_age = [item.id for item in app.model.items]
            await pilot.press("o")
            await pilot.pause()
            by_risk = [item.id for item in app.model.items]
            ordered = text_of(app)
            await pilot.press("w")
            await pilot.pause()
            why = text_of(app)
            await pilot.press("o")
            await pilot.pause()
            return by_age, by_risk, ordered, why, [item.id for item in app.model.items]

    by_age, by_risk, ordered, why, again = run(scenario())
    assert by_age == [ids["greet"], ids["test"], ids["command"]]
    assert by_risk[0] == ids["command"] and again == by_age
    assert "Riskiest first" in ordered
    assert f"#{ids['command']} risk 0.24: a command." in why
