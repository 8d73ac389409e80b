"""Plan mode in the window: the plan as a rendered numbered list, approve / reject / edit it from the keyboard, the
tree of agents in the sidebar with the plan's steps ticking off, and Stop for the whole tree."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain import plans
from app.services import events
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.window_harness import WindowDriver

EDITED = """# Fix name capitalisation in greet.py and cover it with tests

1. Fix tidy_name in greet.py
   Capitalise every word.
   Files: greet.py
2. Add unit tests for tidy_name and greet
"""


def record(window) -> list:
    seen: list = []
    window.session_event.connect(seen.append)
    return seen


def root_finished(seen, root_id) -> bool:
    return any(isinstance(e, events.StatusChanged) and e.session_id == root_id and e.status == "finished" for e in seen)


def shown_kind(window, kind):
    proposal = window.review_panel.proposal
    return proposal is not None and proposal.kind == kind and not window.review_panel.is_busy


async def open_without_the_plain_demo(driver):
    """Open the window (with no key it starts the plain demo) and stop that demo, so only the plan demo runs."""
    window = await driver.open()
    await driver.until(lambda: window.sessions, what="the plain demo to start")
    for session_id in list(window.sessions):
        window.manager.stop(session_id)
    await driver.until(lambda: not any(window.manager.is_running(s) for s in window.sessions), what="it to stop")
    return window


def read_db(db_path, fn):
    database = open_database(str(db_path))
    try:
        return fn(Repository(database))
    finally:
        database.close()


def test_the_plan_demo_is_edited_in_the_window_then_two_coders_finish_and_the_steps_tick_off(
    qtbot, qasync_loop, tmp_path
):
    db_path = tmp_path / "plan.db"
    driver = WindowDriver(qtbot, db_path)
    seen = record(driver.window)

    async def scenario():
        window = await open_without_the_plain_demo(driver)
        window.session_tree.plan_demo_action.trigger()
        await driver.until(lambda: shown_kind(window, "plan"), what="the plan")
        panel = window.review_panel
        assert panel.plan_view.isVisible() and not panel.diff_view.isVisible()
        rendered = panel.plan_view.toPlainText()
        assert "Fix tidy_name in greet.py" in rendered and "Mention the tests in the README" in rendered
        window.grab().save("/tmp/plan_window_plan.png")
        plan_id = panel.proposal.id
        root_id = panel.proposal.session_id

        QTest.keyClick(panel, Qt.Key.Key_E)
        assert panel.edit_box.isVisible() and panel.edit_box.toPlainText().startswith("# Fix name")
        panel.edit_box.setPlainText(EDITED)
        QTest.keyClick(panel.edit_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

        for _ in range(2):
            await driver.until(lambda: shown_kind(window, "changeset"), what="a coder's changeset")
            QTest.keyClick(panel, Qt.Key.Key_A)
            await driver.until(lambda: panel.proposal is None or not panel.is_busy)
        await driver.until(lambda: root_finished(seen, root_id), what="the planner to finish")
        window.select_session(root_id)
        await driver.until(
            lambda: (
                window.session_tree.panel.view is not None
                and all(row.state == "done" for row in window.session_tree.panel.view.rows)
                and len(window.session_tree.panel.view.rows) == 3
            ),
            what="the tree to show three finished agents",
        )
        tree_panel = window.session_tree.panel
        labels = [tree_panel.tree.topLevelItem(0).text(0)] + [
            tree_panel.tree.topLevelItem(0).child(i).text(0)
            for i in range(tree_panel.tree.topLevelItem(0).childCount())
        ]
        progress = tree_panel.plan_label.text()
        window.grab().save("/tmp/plan_window_tree.png")
        await driver.close()
        return plan_id, root_id, labels, progress

    plan_id, root_id, labels, progress = qasync_loop.run_until_complete(scenario())
    assert labels[0] == f"#{root_id} planner" and [label.split(" ", 1)[1] for label in labels[1:]] == ["coder", "coder"]
    assert "☑ 1. Fix tidy_name in greet.py" in progress and "☑ 2. Add unit tests for tidy_name and greet" in progress
    decision = read_db(db_path, lambda repo: repo.proposals.latest_decision(plan_id))
    assert decision.verdict == "edit"
    assert len(plans.plan_from_bytes(decision.edited_content).steps) == 2
    workspace = Path(read_db(db_path, lambda repo: repo.sessions.get(root_id)).workspace_root)
    assert ".title()" in (workspace / "greet.py").read_text() and (workspace / "test_greet.py").exists()


def test_a_plan_rejected_in_the_window_is_revised_and_a_bad_edit_is_refused_with_one_message(
    qtbot, qasync_loop, tmp_path
):
    db_path = tmp_path / "plan.db"
    driver = WindowDriver(qtbot, db_path)
    record(driver.window)

    async def scenario():
        window = await open_without_the_plain_demo(driver)
        window.session_tree.plan_demo_action.trigger()
        await driver.until(lambda: shown_kind(window, "plan"), what="the plan")
        panel = window.review_panel
        first = panel.proposal.id

        QTest.keyClick(panel, Qt.Key.Key_E)
        panel.edit_box.setPlainText("# Title\nno numbered steps\n")
        QTest.keyClick(panel.edit_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await driver.until(lambda: panel.banner.isVisible() and not panel.is_busy, what="the refusal")
        refusal = panel.banner.text()
        still_waiting = panel.proposal is not None and panel.proposal.id == first

        QTest.keyClick(panel, Qt.Key.Key_Escape)
        QTest.keyClick(panel, Qt.Key.Key_R)
        QTest.keyClicks(panel.reason_box, "Leave the README alone.")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Return)
        await driver.until(lambda: shown_kind(window, "plan") and panel.proposal.id != first, what="a revised plan")
        revised = panel.plan_view.toPlainText()
        await driver.close()
        return refusal, still_waiting, revised

    refusal, still_waiting, revised = qasync_loop.run_until_complete(scenario())
    assert "Line 2 is neither" in refusal and still_waiting
    assert "README" not in revised and "Fix tidy_name in greet.py" in revised


def test_plan_first_from_the_form_then_stop_one_agent_then_the_whole_tree(qtbot, qasync_loop, stack_factory):
    from app.domain.tools import DELEGATE_TOOL_NAME, EDITOR_TOOL_NAME, PLAN_TOOL_NAME
    from app.standin.scenario import text_turn, tool_turn, tool_use_block
    from tests.support.tree_scenario import TreeScenario

    def edit(path, old, new):
        return tool_use_block(
            EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new}
        )

    plan = {"title": "Two parts", "steps": [{"title": "Part one", "detail": ""}, {"title": "Part two", "detail": ""}]}
    scripts = {
        "Do both parts.": [
            tool_turn(tool_use_block(PLAN_TOOL_NAME, plan)),
            tool_turn(
                tool_use_block(DELEGATE_TOOL_NAME, {"task": "Part one: edit a.", "role": "coder", "step": 1}),
                tool_use_block(DELEGATE_TOOL_NAME, {"task": "Part two: edit b.", "role": "tester", "step": 2}),
            ),
            text_turn("Stopped early."),
        ],
        "Part one:": [tool_turn(edit("a.txt", "a", "A")), text_turn("One done.")],
        "Part two:": [tool_turn(edit("b.txt", "b", "B")), text_turn("Two done.")],
    }
    stack = stack_factory(TreeScenario(scripts), files={"a.txt": "a\n", "b.txt": "b\n"})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    seen = record(driver.window)

    async def scenario():
        window = await driver.open()
        window.show_composer()
        window.composer.workspace_edit.setText(str(stack.workspace))
        QTest.keyClicks(window.composer.task_edit, "Do both parts.")
        window.composer.plan_check.setChecked(True)
        QTest.keyClick(window.composer.task_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await driver.until(lambda: shown_kind(window, "plan"), what="the plan")
        root_id = window.review_panel.proposal.session_id
        QTest.keyClick(window.review_panel, Qt.Key.Key_A)

        def waiting_children():
            waiting = {
                e.session_id for e in seen if isinstance(e, events.ProposalWaiting) and e.proposal.kind == "edit"
            }
            return waiting if len(waiting) == 2 else None

        first, second = sorted(await driver.until(waiting_children, what="both sub-agents waiting"))
        window.select_session(root_id)
        tree_panel = window.session_tree.panel
        await driver.until(
            lambda: (
                tree_panel.view is not None
                and [row.state for row in tree_panel.view.rows][1:] == ["waiting on a person"] * 2
            ),
            what="the tree of three, both sub-agents waiting on a person",
        )
        states = {row.session_id: row.state for row in tree_panel.view.rows}
        # Stop one agent: pick it in the tree, press Stop agent.
        child_item = tree_panel.tree.topLevelItem(0).child(0)
        tree_panel.tree.setCurrentItem(child_item)
        tree_panel.stop_agent_button.click()
        await driver.until(lambda: not window.manager.is_running(first), what="the first sub-agent to stop")
        still_running = window.manager.is_running(root_id) and window.manager.is_running(second)
        window.session_tree.stop_tree_action.trigger()
        await driver.until(
            lambda: not window.manager.is_running(root_id) and not window.manager.is_running(second),
            what="the tree to stop",
        )
        tree = await window.repository.read(lambda store: store.sessions.tree(root_id))
        await driver.close()
        return states, still_running, tree, first

    states, still_running, tree, first = qasync_loop.run_until_complete(scenario())
    assert list(states.values()) == ["waiting on sub-agents", "waiting on a person", "waiting on a person"]
    assert still_running
    assert [(s.role, s.status) for s in tree] == [("planner", "stopped"), ("coder", "stopped"), ("tester", "stopped")]
    assert (stack.workspace / "a.txt").read_text() == "a\n" and (stack.workspace / "b.txt").read_text() == "b\n"
