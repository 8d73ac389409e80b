"""One path for a decision: an approval pressed in the window and approvals typed at the command line (in this process
and in a process of its own) run the same service function, app.services.decisions.decide, and leave one trail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import cli
from app.services import decisions
from app.standin.scenario import text_turn, tool_turn
from app.store.audit import verify_chain
from app.store.db import open_database
from app.ui.background import run_in_thread
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import GREET, decisions_in, edit, record_events, session_finished, start_task

ROOT = Path(__file__).resolve().parents[2]


def signoff_in_a_process_of_its_own(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=120)


def test_an_approval_from_the_window_and_from_the_cli_run_the_same_service_function_and_leave_one_trail(
    qtbot, qasync_loop, stack_factory, monkeypatch
):
    stack = stack_factory(
        [
            tool_turn(edit("'hi '", "'Hello, '")),
            tool_turn(edit("'Hello, '", "'Hello there, '")),
            tool_turn(edit("+ name", "+ name.title()")),
            text_turn("Done."),
        ],
        files={"greet.py": GREET},
    )
    stack.repository.close()
    # A pass-through spy: the real function runs against the real database; only who called it is noted.
    calls: list[tuple[int, str]] = []
    real_decide = decisions.decide

    def noting_decide(repository, request, actor):
        calls.append((request.proposal_id, actor.channel))
        return real_decide(repository, request, actor)

    monkeypatch.setattr(decisions, "decide", noting_decide)
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)
    db = str(stack.db_path)

    async def scenario() -> list[subprocess.CompletedProcess]:
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the first proposal on screen")
        first = panel.proposal.id
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id != first, what="the second")
        second = panel.proposal.id
        outside = await run_in_thread(
            signoff_in_a_process_of_its_own, "approve", str(second), "--reviewer", "ada", "--db", db
        )
        await driver.until(lambda: panel.proposal is not None and panel.proposal.id != second, what="the third")
        third = panel.proposal.id
        code = await run_in_thread(cli.main, ["approve", str(third), "--reviewer", "ada", "--db", db])
        await driver.until(lambda: session_finished(window), what="the session to finish")
        await driver.close()
        return [outside, code, (first, second, third)]

    outside, code, (first, second, third) = qasync_loop.run_until_complete(scenario())
    assert outside.returncode == 0, outside.stderr
    assert code == 0
    assert calls == [(first, "window"), (third, "cli")], "the window and the CLI call decisions.decide"
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello there, ' + name.title()\n"
    trail = [(d.proposal_id, d.verdict, d.reviewer, d.channel) for d in decisions_in(stack.db_path)]
    assert sorted(trail) == [
        (first, "approve", "ada", "window"),
        (second, "approve", "ada", "cli"),
        (third, "approve", "ada", "cli"),
    ]
    database = open_database(db)
    try:
        report = verify_chain(database)
    finally:
        database.close()
    assert report.intact and report.decisions == 3
