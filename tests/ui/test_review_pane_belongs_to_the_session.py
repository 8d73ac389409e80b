"""The Sessions page's review pane shows only a proposal of the selected session, under that session's transcript:
selecting another session, a session with nothing waiting, and a poll answered after a decision made here all keep
pane and transcript together."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.services.settings import Settings
from app.standin.scenario import text_turn, tool_turn
from tests.support.window_harness import WindowDriver
from tests.ui.test_queue_window import GREET, edit_block, routed_scenario, session_spec

SCRIPTS = {
    "Alpha": [tool_turn(edit_block("alpha/greet.py", "'hi '", "'Hello, '")), text_turn("Done.")],
    "Beta": [tool_turn(edit_block("beta/greet.py", "'hi '", "'Hey, '")), text_turn("Done.")],
    "Gamma": [text_turn("Nothing to change.")],
}
FILES = {"alpha/greet.py": GREET, "beta/greet.py": GREET}


def shown_session(window) -> int | None:
    proposal = window.review_panel.proposal
    return None if proposal is None else proposal.session_id


def test_selecting_another_session_shows_its_own_proposal_never_the_one_before(qtbot, qasync_loop, stack_factory):
    stack = stack_factory(routed_scenario(SCRIPTS), files=FILES)
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario():
        window = await driver.open()
        alpha = await window.manager.start(session_spec(stack.workspace, "Alpha: greet politely"))
        beta = await window.manager.start(session_spec(stack.workspace, "Beta: greet warmly"))
        gamma = await window.manager.start(session_spec(stack.workspace, "Gamma: look around"))
        await driver.until(lambda: len(window.pending) == 2, what="both proposals waiting")
        await driver.until(lambda: window.sessions.get(gamma.id) is not None, what="gamma listed")
        window.select_session(alpha.id)
        assert shown_session(window) == alpha.id
        window.select_session(beta.id)
        assert shown_session(window) == beta.id, "beta's transcript with beta's proposal"
        assert window.review_panel.proposal.path == "beta/greet.py"
        window.select_session(gamma.id)
        assert window.review_panel.proposal is None, "gamma has nothing waiting: no other session's proposal"
        assert "Nothing waiting in session" in window.review_panel.title.text()
        assert "2 waiting in other sessions" in window.review_panel.title.text()
        window.grab().save("/tmp/sessions_nothing_waiting_here.png")
        # The two sessions run at once: whichever proposal was stored first is the oldest, and Ctrl+J goes there.
        oldest = min(window.pending.values(), key=lambda p: p.id).session_id
        QTest.keyClick(window, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
        assert window.selected_session_id() == oldest and shown_session(window) == oldest, "Ctrl+J moves both"
        for session in (alpha, beta):
            window.manager.stop(session.id)
        await driver.close()

    qasync_loop.run_until_complete(scenario())


def test_a_poll_read_before_a_decision_made_here_does_not_bring_the_decided_proposal_back(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory(routed_scenario(SCRIPTS), files=FILES)
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=60.0))

    async def scenario():
        window = await driver.open()
        alpha = await window.manager.start(session_spec(stack.workspace, "Alpha: greet politely"))
        await driver.until(lambda: len(window.pending) == 1, what="alpha's proposal waiting")
        QTest.keyClick(window, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
        assert window.selected_session_id() == alpha.id and window.review_panel.hasFocus()
        panel = window.review_panel
        decided = panel.proposal
        # The poll's snapshot, taken while the proposal still waited, answers only after the decision below.
        token = window.pending.snapshot_token()
        snapshot = list(window.pending.values())
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: decided.id not in window.pending, what="the decision stored")
        assert not window.pending.replace(token, snapshot), "the stale snapshot is dropped"
        window._show_next_proposal()
        assert decided.id not in window.pending and panel.proposal is None
        # A snapshot read after the decision is taken as it comes.
        await window.refresh()
        assert decided.id not in window.pending and panel.proposal is None
        window.manager.stop(alpha.id)
        await driver.close()

    qasync_loop.run_until_complete(scenario())
