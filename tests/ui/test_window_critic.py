"""The judges in the window, continued: a proposal that fixes a test shows green; in blind mode (the workspace's, or by
default on a team's PostgreSQL queue) the critic's verdict appears only after the person decides; the queue sorts by
risk and says why on hover; the critic's auto-approval is marked in the queue, said aloud and taken back with u."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from app.domain.judgments import JudgeConfig
from app.domain.tools import EDITOR_TOOL_NAME
from app.services import decisions, review
from app.services.settings import Settings
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block
from app.store.repository import Repository
from app.ui.queue_view import COLUMN
from tests.support.judges import CALC, FIXED_HALF, TESTS, file_proposal, git
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import start_task

FIX_HALF = tool_use_block(
    EDITOR_TOOL_NAME, {"command": "str_replace", "path": "calc.py", "old_str": "n / 3", "new_str": "n / 2"}
)
FILES = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}


def _git_workspace(stack) -> None:
    git(stack.workspace, "init", "-q")
    git(stack.workspace, "add", "-A")
    git(stack.workspace, "commit", "-qm", "calc")


def _critic_done(window, proposal_id: int) -> bool:
    task = window.judges.critic._tasks.get(proposal_id)
    return task is not None and task.done()


def test_a_fix_shows_green_and_in_blind_mode_the_critic_appears_only_after_the_decision(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([tool_turn(text_block("Fixing half."), FIX_HALF), text_turn("Done.")], files=FILES)
    _git_workspace(stack)
    stack.repository.sync.judgments.set_config(str(stack.workspace.resolve()), JudgeConfig(critic_blind=True))
    stack.repository.close()
    stack.database.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario():
        await start_task(driver, stack.workspace, "Fix half")
        window = driver.window
        badge = window.judges.badge
        await driver.until(lambda: window.review_panel.proposal is not None, what="a proposal on screen")
        pid = window.review_panel.proposal.id
        await driver.until(lambda: badge.status == "passed", timeout=120, what="the verifier's green result")
        await driver.until(lambda: _critic_done(window, pid), timeout=30, what="the critic's answer")
        await driver.until(lambda: "after you decide" in badge.critic_label.text(), what="the critic kept hidden")
        before = (badge.verifier_label.text(), badge.critic_label.text(), badge.critic_label.toolTip())
        window.grab().save("/tmp/judges_blind_before.png")
        QTest.keyClick(window.review_panel, Qt.Key.Key_A)
        await driver.until(lambda: window.judges.revealed, timeout=30, what="the critic shown after the decision")
        after = (window.judges.revealed, window.statusBar().currentMessage())
        window.grab().save("/tmp/judges_blind_after.png")
        QTest.keySequence(window, QKeySequence("Ctrl+Shift+S"))
        await driver.until(lambda: "Human vs critic" in window.team_mode.stats_view.critic_label.text(), what="Stats")
        agreement = window.team_mode.stats_view.critic_label.text()
        window.team_mode.stats_view.close()
        await driver.close()
        return pid, before, after, agreement

    pid, (tests, critic, rationale), (revealed, status_bar), agreement = qasync_loop.run_until_complete(scenario())
    assert tests.startswith("Tests: green") and "newly passing 1" in tests
    assert critic == "Critic: shown after you decide" and rationale == ""
    assert revealed.startswith(f"Critic on #{pid}: approve") and "you agreed" in revealed
    assert status_bar == revealed
    assert "reviewer ada: 1 item, 100.0% agree" in agreement


def test_on_a_teams_postgresql_queue_blind_mode_is_on_without_being_asked(
    qtbot, qasync_loop, stack_factory, postgres_url
):
    stack = stack_factory([tool_turn(FIX_HALF), text_turn("Done.")], files=FILES, db_url=postgres_url)
    # Only the critic: the verifier runs on request here, so the test waits on nothing else.
    stack.repository.sync.judgments.set_config(str(stack.workspace.resolve()), JudgeConfig(verify_on="request"))
    stack.repository.close()
    stack.database.close()
    driver = WindowDriver(qtbot, postgres_url, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario():
        await start_task(driver, stack.workspace, "Fix half")
        window = driver.window
        badge = window.judges.badge
        await driver.until(lambda: window.review_panel.proposal is not None, what="a proposal on screen")
        pid = window.review_panel.proposal.id
        await driver.until(lambda: _critic_done(window, pid), timeout=30, what="the critic's answer")
        await driver.until(lambda: "after you decide" in badge.critic_label.text(), what="the critic kept hidden")
        QTest.keyClick(window.review_panel, Qt.Key.Key_R)
        QTest.keyClicks(window.review_panel.reason_box, "not now")
        QTest.keyClick(window.review_panel.reason_box, Qt.Key.Key_Return)
        await driver.until(lambda: window.judges.revealed, timeout=30, what="the critic shown after the decision")
        revealed = window.judges.revealed
        await driver.close()
        driver.database.close()  # the pooled PostgreSQL connections, which the harness leaves to SQLite's end
        return pid, revealed

    pid, revealed = qasync_loop.run_until_complete(scenario())
    assert revealed.startswith(f"Critic on #{pid}: approve") and "you disagreed" in revealed


def test_the_queue_sorts_by_risk_and_says_why_an_item_is_risky_on_hover(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([text_turn("Done.")], files={**FILES, ".github/ci.yml": "on: push\n"})
    root = stack.workspace.resolve()
    plain = file_proposal(stack.repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="plain")
    ci = file_proposal(stack.repository.sync, root, ".github/ci.yml", "on: [push, pull_request]\n", tool_use_id="ci")
    stack.repository.close()
    stack.database.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        model = view.model
        await driver.until(lambda: model.row_of(ci.id) is not None and ci.id in model.risks, what="the rows")
        by_age = [item.id for item in model.rows]
        header = view.table.horizontalHeader()
        middle = header.sectionViewportPosition(COLUMN["risk"]) + header.sectionSize(COLUMN["risk"]) // 2
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(middle, header.height() // 2))
        await driver.until(lambda: model.spec.sort.column == "risk" and model.rows[0].id == ci.id, what="risk sort")
        by_risk = [item.id for item in model.rows]
        row = model.row_of(ci.id)
        cell = model.data(model.index(row, COLUMN["risk"]))
        tip = model.data(model.index(row, COLUMN["risk"]), Qt.ItemDataRole.ToolTipRole)
        view.grab().save("/tmp/queue_risk_sorted.png")
        view.focus_list()
        QTest.keyClick(view.table, Qt.Key.Key_O)
        await driver.until(lambda: model.spec.sort.column == "age" and model.rows[0].id == plain.id, what="by age")
        QTest.keyClick(view.table, Qt.Key.Key_O)
        await driver.until(lambda: model.spec.sort.column == "risk" and model.rows[0].id == ci.id, what="o: by risk")
        view._select_row(model.row_of(ci.id))
        QTest.keyClick(view.table, Qt.Key.Key_W)
        why = view.message_label.text()
        await driver.close()
        return by_age, by_risk, cell, tip, why

    by_age, by_risk, cell, tip, why = qasync_loop.run_until_complete(scenario())
    assert by_age == [plain.id, ci.id] and by_risk == [ci.id, plain.id]
    assert float(cell) >= 0.4
    assert tip.startswith(f"Risk {cell}, because of:") and "• a sensitive path (.github/**)" in tip
    assert why == f"#{ci.id} · Risk {cell}: a sensitive path (.github/**)"


def _agreeing_history(repository: Repository, root, count: int = 10) -> None:
    """``count`` earlier proposals the critic judged and ada decided the same way (half approved, half rejected)."""
    for n in range(count):
        proposal = file_proposal(repository, root, "calc.py", FIXED_HALF + f"# h{n}\n", tool_use_id=f"h{n}")
        critic_id = repository.judgments.start_critic(proposal.id, model="m")
        says = "approve" if n % 2 == 0 else "reject"
        repository.judgments.finish_critic(critic_id, verdict=says, score=0.8, principles=["scope"], rationale="r")
        request = review.approve(proposal.id, "ada") if says == "approve" else review.reject(proposal.id, "ada", "no")
        decisions.decide(repository, request, decisions.Actor.cli("ada"))


def test_the_critics_auto_approval_is_marked_in_the_queue_said_aloud_and_taken_back_with_u(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([tool_turn(text_block("Fixing half."), FIX_HALF), text_turn("Done.")], files=FILES)
    _git_workspace(stack)
    root = stack.workspace.resolve()
    _agreeing_history(stack.repository.sync, root)
    stack.repository.sync.judgments.set_config(
        str(root), JudgeConfig(auto_approve_kappa=0.8, auto_approve_window=10, auto_approve_kinds=("edit",))
    )
    stack.repository.close()
    stack.database.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=120.0))

    async def scenario():
        await start_task(driver, stack.workspace, "Fix half")
        window = driver.window
        window.show_queue()
        view = window.queue_view
        model = view.model
        await driver.until(
            lambda: any(state.by == "critic" for state in model.local.values()), timeout=120, what="the auto-approval"
        )
        pid = next(pid for pid, state in model.local.items() if state.by == "critic")
        await driver.until(lambda: model.row_of(pid) is not None, what="its row")
        row = model.row_of(pid)
        state = model.data(model.index(row, COLUMN["state"]))
        tip = model.data(model.index(row, COLUMN["state"]), Qt.ItemDataRole.ToolTipRole)
        said = (window.statusBar().currentMessage(), view.message_label.text())
        view.grab().save("/tmp/queue_auto_approved.png")
        view.focus_list()
        QTest.keyClick(view.table, Qt.Key.Key_U)
        await driver.until(lambda: model.is_waiting(pid), what="the item waiting again")
        decision = await window.repository.read(lambda store: store.proposals.visible_decision(pid))
        status = await window.repository.read(lambda store: store.proposals.get(pid).status)
        await driver.close()
        return pid, state, tip, said, decision, status

    pid, state, tip, (status_bar, queue_message), decision, status = qasync_loop.run_until_complete(scenario())
    assert state.startswith("approved by the critic · applies in")
    assert "on its own" in tip
    assert status_bar.startswith(f"The critic approved #{pid}") and "kappa" in status_bar
    assert queue_message == status_bar
    assert decision is None and status == "pending"
    assert (stack.workspace / "calc.py").read_text() == CALC, "nothing was applied"


def test_the_owner_turns_on_auto_approval_in_the_judges_dialog_from_settings_and_bad_input_is_kept(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory([text_turn("Done.")], files=FILES)
    root = stack.workspace.resolve()
    file_proposal(stack.repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="plain")
    stack.repository.close()
    stack.database.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="owner", undo_seconds=0.0))

    async def scenario():
        window = await driver.open()
        window.show_queue()
        await driver.until(lambda: window.queue_view.current_item() is not None, what="the item current")
        assert window.judges_action.shortcut() == QKeySequence("Ctrl+Shift+J")
        await window.open_settings()
        await driver.until(lambda: window.settings_dialog.isVisible(), what="Settings")
        settings_dialog = window.settings_dialog
        assert settings_dialog.critic_enabled.isChecked() and not settings_dialog.critic_blind.isChecked()
        settings_dialog.findChild(QPushButton, "openJudges").click()
        await driver.until(lambda: window.judges_settings.dialog and window.judges_settings.dialog.isVisible())
        dialog = window.judges_settings.dialog
        assert dialog.current_workspace() == str(root)
        await driver.until(lambda: dialog.agreement_label.text().startswith("Now: κ"), what="the stored settings")
        dialog.auto_box.setChecked(True)
        dialog.kappa.setValue(0.9)
        dialog.window_spin.setValue(20)
        for box in dialog.kind_boxes.values():
            box.setChecked(False)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        refused = (dialog.isVisible(), dialog.error_label.text(), dialog.kappa.value())
        dialog.kind_boxes["edit"].setChecked(True)
        dialog.grab().save("/tmp/judges_dialog.png")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        await driver.until(lambda: not dialog.isVisible(), what="the dialog saved and closed")
        said = window.statusBar().currentMessage()
        settings_dialog.reject()
        stored = await window.repository.read(lambda store: store.judgments.config(str(root)))
        await driver.close()
        return refused, said, stored

    (visible, error, kappa), said, stored = qasync_loop.run_until_complete(scenario())
    assert visible and error.startswith("Tick at least one kind") and kappa == 0.9
    assert "the critic approves edit on its own while κ ≥ 0.90" in said
    assert (stored.auto_approve_kappa, stored.auto_approve_window, stored.auto_approve_kinds) == (0.9, 20, ("edit",))
    assert stored.updated_by == "owner"
