"""The API fault matrix: 429, 529, 500, a reset connection, a hung response (timeout), a stream cut mid-message.

HTTP-level faults are retried by the SDK itself, with its backoff (counted here at the stand-in); the session's status
says so while it waits; no tool call runs twice; and once the retries run out the session is interrupted and resumes.
Real SDK over HTTP against the stand-in, real SQLite file.
"""

from __future__ import annotations

import pytest

from app.domain.tools import COMMAND_TOOL_NAME
from app.services import events, review
from app.standin.scenario import (
    ConnectionReset,
    Fault,
    Stall,
    StreamFault,
    text_block,
    text_turn,
    tool_turn,
    tool_use_block,
)
from tests.support.agent_harness import run


def once_command():
    return tool_use_block(COMMAND_TOOL_NAME, {"command": "echo once >> log.txt"})


def retry_notes(stack) -> list[str]:
    return [e.detail for e in stack.seen if isinstance(e, events.StatusChanged) and e.status == "retrying"]


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (Fault.rate_limited(retry_after=0.01), "Rate limited by the API (429), retrying 1/4…"),
        (Fault.overloaded(retry_after=0.01), "API overloaded (529), retrying 1/4…"),
        (Fault.api_error(retry_after=0.01), "The API had an error (HTTP 500), retrying 1/4…"),
        (ConnectionReset(), "The connection to the API failed, retrying 1/4…"),
        (Stall(30.0), "The API did not answer in time, retrying 1/4…"),
    ],
    ids=["429", "529", "500", "reset", "timeout"],
)
def test_http_faults_are_retried_by_the_sdk_the_status_says_so_and_no_tool_runs_twice(stack_factory, fault, said):
    # A fault before the tool call and another right after its result went back.
    stack = stack_factory([fault, tool_turn(once_command()), fault, text_turn("Done.")])
    stack.manager.api_timeout_s = 1.0

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal(timeout=20)
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    run(scenario())
    assert (stack.workspace / "log.txt").read_text() == "once\n"
    assert retry_notes(stack) == [said, said]
    # Each retry is a real second HTTP request, sent by the SDK (it numbers its attempts in a header).
    attempts = [
        r.headers.get("x-stainless-retry-count") for r in stack.server.requests if r.path.startswith("/v1/messages")
    ]
    assert attempts == ["0", "1", "0", "1"]
    recovered = [e.detail for e in stack.seen if isinstance(e, events.StatusChanged) and "answered again" in e.detail]
    assert recovered == ["The API answered again after 1 retry."] * 2


def test_an_overloaded_api_shows_each_retry_then_interrupts_and_resume_continues_without_rerunning_tools(stack_factory):
    overloaded = Fault.overloaded(retry_after=0.01)
    stack = stack_factory([tool_turn(once_command()), *[overloaded] * 5, text_turn("Back.")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        assert await stack.manager.wait(session.id) == "interrupted"
        interrupted = await stack.repository.read(lambda store: store.sessions.get(session.id))
        await stack.manager.resume(session.id)
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()
        return interrupted

    interrupted = run(scenario())
    assert retry_notes(stack) == [f"API overloaded (529), retrying {n}/4…" for n in range(1, 5)]
    assert interrupted.status == "interrupted"
    assert "overloaded (529)" in interrupted.error and "Gave up after 4 retries" in interrupted.error
    assert (stack.workspace / "log.txt").read_text() == "once\n"
    # 1 turn + 5 overloaded attempts + 1 after the resume; the resumed request carries the same tool result.
    bodies = stack.server.message_bodies
    assert len(bodies) == 7
    assert bodies[-1]["messages"] == bodies[1]["messages"]


def test_a_stream_cut_is_retried_by_signoff_once_per_cut_not_again_by_the_sdk(stack_factory):
    stack = stack_factory(
        [
            StreamFault(after_blocks=1, mode="drop", then=tool_turn(text_block("partial"), once_command())),
            tool_turn(once_command()),
            text_turn("ok"),
        ]
    )

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal(timeout=20)
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    assert (stack.workspace / "log.txt").read_text() == "once\n"
    notes = retry_notes(stack)
    assert len(notes) == 1 and notes[0].startswith("The connection to the API broke off")
    assert len(stack.server.message_bodies) == 3
