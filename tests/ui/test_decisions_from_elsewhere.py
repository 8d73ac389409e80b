"""A decision made by another process (`signoff approve` / `reject` in a terminal) reaches the open window within a
second, and the window's agent loop carries it out, without Ctrl+R."""

from __future__ import annotations

import pytest

from app.services import events
from app.standin.scenario import text_turn, tool_turn
from app.store.models import utcnow
from app.ui.background import run_in_thread
from tests.support.window_harness import WindowDriver
from tests.ui.test_one_path_for_decisions import signoff_in_a_process_of_its_own
from tests.ui.test_window_review import GREET, edit, record_events, start_task, window_events

# The window polls every 0.5 s; the rest is the runner writing the file and the loaded machine.
WITHIN_S = 1.5


async def since_recorded(window, proposal_id: int) -> float:
    """Seconds from the moment the other process recorded its decision until now (the database's clock is UTC)."""
    decision = await window.repository.read(lambda store: store.proposals.latest_decision(proposal_id))
    return (utcnow() - decision.decided_at).total_seconds()


def database_of(stack):
    return stack.db_url or stack.db_path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest):
    """None: a SQLite file of the stack's own; else a reviewer's shared PostgreSQL."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def _left_waiting_by_a_closed_window(qtbot, qasync_loop, stack) -> None:
    """A first window starts the task and is closed while the proposal waits: nobody runs the session now."""
    first = WindowDriver(qtbot, database_of(stack))

    async def before():
        await start_task(first, stack.workspace)
        await first.until(lambda: first.window.review_panel.proposal is not None, what="the proposal")
        await first.close()

    qasync_loop.run_until_complete(before())


def test_an_approval_typed_in_a_terminal_is_carried_out_by_the_open_window_within_a_second(
    qtbot, qasync_loop, stack_factory, database_url
):
    stack = stack_factory(
        [tool_turn(edit("'hi '", "'Hello, '")), text_turn("Done.")], files={"greet.py": GREET}, db_url=database_url
    )
    stack.repository.close()
    stack.endpoints.close()
    stack.database.close()
    _left_waiting_by_a_closed_window(qtbot, qasync_loop, stack)
    driver = WindowDriver(qtbot, database_of(stack))
    record_events(driver.window)
    target = stack.workspace / "greet.py"

    async def scenario():
        window = await driver.open()
        await driver.until(lambda: window.review_panel.proposal is not None, what="the waiting proposal")
        proposal = window.review_panel.proposal
        assert not window.manager.is_running(proposal.session_id), "nobody runs it: the state the issue found"
        # The same reviewer at a terminal (on PostgreSQL the window claims what it shows, in that reviewer's name).
        outside = await run_in_thread(
            signoff_in_a_process_of_its_own,
            "approve",
            str(proposal.id),
            "--reviewer",
            "ada",
            "--db",
            str(database_of(stack)),
        )
        await driver.until(lambda: "Hello, " in target.read_text(), timeout=10, what="the file written")
        written = await since_recorded(window, proposal.id)
        await driver.until(
            lambda: any(
                isinstance(e, events.StatusChanged) and e.session_id == proposal.session_id and e.status == "finished"
                for e in window_events(window)
            ),
            what="the agent to carry on to the end",
        )
        await driver.close()
        return outside, written, proposal

    outside, written, proposal = qasync_loop.run_until_complete(scenario())
    assert outside.returncode == 0, outside.stderr
    assert "No process is running" not in outside.stdout
    assert "the Signoff window open on" in outside.stdout
    assert "carries the decision out within a second" in outside.stdout
    assert written <= WITHIN_S, f"the file was written {written:.2f} s after the decision was recorded"
    assert target.read_text() == "def greet(name):\n    return 'Hello, ' + name\n"


def test_a_rejection_typed_in_a_terminal_sends_its_reason_to_the_agent_through_the_open_window(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([tool_turn(edit("'hi '", "'yo '")), text_turn("Formal it is.")], files={"greet.py": GREET})
    stack.repository.close()
    stack.endpoints.close()
    stack.database.close()
    _left_waiting_by_a_closed_window(qtbot, qasync_loop, stack)
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        window = await driver.open()
        await driver.until(lambda: window.review_panel.proposal is not None, what="the waiting proposal")
        proposal = window.review_panel.proposal
        view = window.transcripts.get(proposal.session_id) or window._transcript_for(proposal.session_id)
        outside = await run_in_thread(
            signoff_in_a_process_of_its_own,
            "reject",
            str(proposal.id),
            "--reason",
            "Too casual.",
            "--reviewer",
            "bo",
            "--db",
            str(stack.db_path),
        )
        await driver.until(lambda: stack.last_request_tool_results(), timeout=10, what="the reason sent to the agent")
        sent = await since_recorded(window, proposal.id)
        await driver.until(lambda: "Formal it is." in view.plain_text(), what="the transcript moving on")
        assert window.review_panel.proposal is None, "the pane moved on"
        await driver.close()
        return outside, sent

    outside, sent = qasync_loop.run_until_complete(scenario())
    assert outside.returncode == 0, outside.stderr
    assert sent <= WITHIN_S, f"the reason reached the agent {sent:.2f} s after the decision was recorded"
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] and "Too casual." in result["content"]
    assert (stack.workspace / "greet.py").read_text() == GREET
