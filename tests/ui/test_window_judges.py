"""The machine judges in the window: a proposal that breaks a test shows red on the review pane before the person
decides, naming the test; the critic's verdict appears beside it; `v` runs the verifier again on request."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.tools import EDITOR_TOOL_NAME
from app.services.settings import Settings
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block
from app.ui.queue_view import COLUMN
from tests.support.judges import CALC, TESTS, git
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import start_task


def test_a_proposal_that_breaks_a_test_shows_red_with_the_critic_before_the_decision(qtbot, qasync_loop, stack_factory):
    breaking = tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "calc.py", "old_str": "a + b", "new_str": "a - b"}
    )
    stack = stack_factory(
        [tool_turn(text_block("Tidying add."), breaking), text_turn("Done.")],
        files={"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"},
    )
    git(stack.workspace, "init", "-q")
    git(stack.workspace, "add", "-A")
    git(stack.workspace, "commit", "-qm", "calc")
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario():
        await start_task(driver, stack.workspace, "Tidy calc.py")
        window = driver.window
        badge = window.judges.badge
        await driver.until(lambda: window.review_panel.proposal is not None, what="a proposal on screen")
        await driver.until(lambda: badge.status == "failed", timeout=120, what="the verifier's red result")
        await driver.until(lambda: "Critic: reject" in badge.critic_label.text(), timeout=30, what="the critic")
        shown = (badge.verifier_label.text(), badge.critic_label.text(), badge.risk_label.toolTip())
        runs_before = window.judges.verifier.baseline_runs
        QTest.keyClick(window.review_panel, Qt.Key.Key_V)
        await driver.until(lambda: badge.status == "running", timeout=30, what="the run asked for with v")
        await driver.until(lambda: badge.status == "failed", timeout=120, what="the second red result")
        repeated_baselines = window.judges.verifier.baseline_runs - runs_before
        assert window.review_panel.proposal is not None, "nothing was decided for the person"
        proposal_id = window.review_panel.proposal.id
        window.show_queue()
        model = window.queue_view.model
        await driver.until(lambda: model.tests.get(proposal_id) == "failed", what="the queue's Tests column")
        cell = model.data(model.index(model.row_of(proposal_id), COLUMN["tests"]))
        assert cell == "failed"
        await driver.close()
        return shown, repeated_baselines

    (verifier_text, critic_text, risk_reasons), repeated_baselines = qasync_loop.run_until_complete(scenario())
    assert "RED" in verifier_text and "test_calc.py::test_add" in verifier_text
    assert critic_text.startswith("Critic: reject")
    assert "newly failing" in risk_reasons
    assert repeated_baselines == 0


def test_the_stats_view_shows_human_critic_agreement_per_reviewer_with_kappa(qtbot):
    from app.services.judges import critic_agreement
    from app.ui.stats_view import StatsView

    view = StatsView()
    qtbot.addWidget(view)
    rows = [
        (1, "/ws", "ada", "approve", "approve"),
        (2, "/ws", "ada", "reject", "reject"),
        (3, "/ws", "bo", "approve", "reject"),
    ]

    view.show_critic_agreement([])
    empty = view.critic_label.text()
    view.show_critic_agreement(critic_agreement(rows))

    assert "nothing a person decided" in empty
    text = view.critic_label.text()
    assert "reviewer ada: 2 items, 100.0% agree, κ 1.00" in text
    assert "everyone: 3 items, 66.7% agree" in text
