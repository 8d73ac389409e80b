"""Compare mode in the terminal: `c` samples alternatives for the proposal's step through the real SDK (the offline
demo's stand-in answers them), shows them stacked, and a digit picks one, decided like any other decision."""

from __future__ import annotations

import time
from pathlib import Path

from app.services.settings import Settings
from app.store.db import open_database
from app.store.repository import Repository
from app.tui.app import SignoffTui
from app.tui.compare_screen import CompareScreen
from tests.support.tui_screen import screen_lines


def text_of(app: SignoffTui) -> str:
    return "\n".join(screen_lines(app.export_screenshot()))


async def until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s:\n{text_of(pilot.app)}")
        await pilot.pause(0.05)


def test_c_samples_alternatives_and_a_digit_picks_one_through_the_decision_path(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SIGNOFF_DATA_DIR", str(tmp_path / "data"))
    database = open_database(str(tmp_path / "signoff.db"))
    repository = Repository(database)

    async def scenario():
        app = SignoffTui(repository, Settings(reviewer="ada", undo_seconds=0.0), demo=True)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.model.items, timeout=60)
            await pilot.press("enter")
            await until(pilot, lambda: app.proposal_screen.proposal is not None)
            proposal = app.proposal_screen.proposal
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=60)
            screen = app.screen
            shown = text_of(app)
            assert f"Compare #{proposal.id}: the original [0] and 3 alternatives" in shown
            assert "[0] Original" in shown and "[1] Alternative 1" in shown
            picked = next(a for a in screen.record.alternatives if a.position > 0 and a.proposes_change)
            await pilot.press(str(picked.position))
            await until(pilot, lambda: not isinstance(app.screen, CompareScreen))
            return proposal, screen.record, picked

    import asyncio

    try:
        proposal, record, picked = asyncio.run(scenario())
        ((answer, decision),) = repository.proposals.decisions_for_session(proposal.session_id)
        assert (decision.reviewer, decision.channel, decision.verdict) == ("ada", "tui", "approve")
        assert repository.compares.latest(proposal.id).id == record.id
        # The pick answers the step as the agent's own call: the alternative's change, not the original's.
        assert answer.id != proposal.id and answer.new_content == picked.new_content
        assert repository.proposals.get(proposal.id).status == "replaced"
        stored = repository.compares.latest(proposal.id)
        assert stored.id == record.id and stored.channel == "tui" and stored.requested_by == "ada"
    finally:
        database.close()
