"""A reviewer works the queue page: proposals from two sessions and another process, judged from the keyboard, in bulk,
taken back inside the undo window, and final after it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME, SYSTEM_PROMPT, tool_definitions
from app.services.desktop_notify import DesktopNotifier
from app.services.endpoints import ANTHROPIC
from app.services.sessions import NewSession
from app.services.settings import Settings
from app.standin.scenario import Turn, text_turn, tool_turn, tool_use_block
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.session_bus import session_bus
from tests.support.store_queries import list_proposals
from tests.support.window_harness import WindowDriver

GREET = "def greet(name):\n    return 'hi ' + name\n"


def routed_scenario(scripts: dict[str, list[Turn]]):
    """Answers each session from its own script, chosen by the task it was started with."""

    def answer(request: dict[str, Any]) -> Turn:
        first = request["messages"][0]["content"]
        task = first if isinstance(first, str) else first[0]["text"]
        turns_so_far = sum(1 for m in request["messages"] if m["role"] == "assistant")
        for key, script in scripts.items():
            if task.startswith(key):
                return script[min(turns_so_far, len(script) - 1)]
        return text_turn("I have nothing to do.")

    return answer


def edit_block(path: str, old: str, new: str):
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new})


def create_block(path: str, text: str):
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": path, "file_text": text})


def command_block(command: str):
    return tool_use_block(COMMAND_TOOL_NAME, {"command": command})


def insert_from_another_process(db_path: Path, workspace: Path, task: str, command: str) -> int:
    """What ``signoff run`` on another machine leaves behind: a session whose runner stopped at a waiting command."""
    database = open_database(str(db_path))
    try:
        repository = Repository(database)
        session = repository.sessions.create(
            workspace_root=str(workspace),
            task=task,
            endpoint=ANTHROPIC,
            model="claude-sonnet-5-5",
            system_prompt=SYSTEM_PROMPT,
            tools=tool_definitions(),
            sampling={"max_tokens": 1024},
            max_turns=5,
        )
        repository.sessions.append_message(session.id, "user", [{"type": "text", "text": task}])
        block = command_block(command)
        seq = repository.sessions.append_message(session.id, "assistant", [block], stop_reason="tool_use")
        proposal = repository.proposals.create(
            session_id=session.id,
            message_seq=seq,
            tool_use_id=block["id"],
            tool_name=COMMAND_TOOL_NAME,
            tool_input=block["input"],
            kind="command",
            command=command,
            cwd=".",
            shown_text=command,
            shown_hash=hashlib.sha256(command.encode()).hexdigest(),
            lines_added=0,
            lines_removed=0,
        )
        return proposal.id
    finally:
        database.close()


def stored(db_path: Path):
    database = open_database(str(db_path))
    try:
        repository = Repository(database)
        proposals = {p.id: p for p in list_proposals(repository)}
        decisions = {pid: repository.proposals.latest_decision(pid) for pid in proposals}
        return proposals, decisions
    finally:
        database.close()


def key(widget, key_code, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key_code, modifier)


def waiting_rows(view) -> list:
    return [item for item in view.model.rows if view.model.is_waiting(item.id)]


def row_for(view, target: str):
    for item in view.model.rows:
        if item.target == target:
            return item
    return None


async def move_to(driver, view, target: str) -> None:
    """Press j or k until the row whose path or command is ``target`` is current (and shown in the pane)."""
    wanted = view.model.row_of(row_for(view, target).id)
    while view.table.currentIndex().row() != wanted:
        key(view.table, Qt.Key.Key_J if view.table.currentIndex().row() < wanted else Qt.Key.Key_K)
    await driver.until(
        lambda: view.panel.proposal is not None and view.panel.proposal.target == target,
        what=f"{target} in the review pane",
    )


def session_spec(workspace: Path, task: str) -> NewSession:
    return NewSession(
        workspace_root=str(workspace),
        task=task,
        model="claude-sonnet-5-5",
        max_turns=10,
        max_tokens=1024,
        endpoint=ANTHROPIC,
    )


def test_a_mixed_queue_from_two_sessions_and_another_process_is_worked_entirely_from_the_keyboard(
    qtbot, qasync_loop, stack_factory
):
    scenario = routed_scenario(
        {
            "Alpha": [
                tool_turn(edit_block("greet.py", "'hi '", "'Hello, '"), command_block("echo alpha")),
                text_turn("Alpha done."),
            ],
            "Beta": [tool_turn(create_block("notes.txt", "remember\n")), text_turn("Beta revised.")],
            "Gamma": [text_turn("Gamma done.")],
        }
    )
    stack = stack_factory(scenario, files={"alpha/greet.py": GREET, "beta/.keep": "", "gamma/.keep": ""})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    alpha, beta, gamma = (stack.workspace / name for name in ("alpha", "beta", "gamma"))

    async def scenario_run():
        window = await driver.open()
        view = window.queue_view
        await window.manager.start(session_spec(alpha, "Alpha: polish the greeting"))
        await window.manager.start(session_spec(beta, "Beta: keep notes"))
        other = insert_from_another_process(stack.db_path, gamma, "Gamma: run the tests", "echo gamma")
        key(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
        assert window.pages.currentWidget() is view and view.table.hasFocus()
        await driver.until(
            lambda: {i.target for i in waiting_rows(view)} >= {"greet.py", "notes.txt", "echo gamma"},
            what="three waiting proposals from three sources",
        )
        assert {i.kind for i in waiting_rows(view)} == {"edit", "create", "command"}
        assert len({i.workspace_root for i in waiting_rows(view)}) == 3
        view.table.grab().save("/tmp/queue_mixed_table.png")
        view.grab().save("/tmp/queue_mixed.png")

        # a approves the edit; the next item comes on screen at once, before the decision is even stored.
        await move_to(driver, view, "greet.py")
        greet_id = view.current_item().id
        key(view.table, Qt.Key.Key_A)
        assert view.current_item().id != greet_id and view.model.local[greet_id].status in ("deciding", "decided")
        # s skips the new file: it stays waiting.
        await move_to(driver, view, "notes.txt")
        notes_id = view.current_item().id
        key(view.table, Qt.Key.Key_S)
        assert view.current_item().id != notes_id and view.model.is_waiting(notes_id)
        # Enter opens the other process's command in the pane, where a approves it.
        await move_to(driver, view, "echo gamma")
        key(view.table, Qt.Key.Key_Return)
        assert view.panel.hasFocus()
        key(view.panel, Qt.Key.Key_A)
        # Back to the skipped file: r asks for a reason, Enter sends it.
        await move_to(driver, view, "notes.txt")
        key(view.table, Qt.Key.Key_R)
        assert view.panel.reason_box.isVisible()
        QTest.keyClicks(view.panel.reason_box, "No notes in the repo.")
        key(view.panel.reason_box, Qt.Key.Key_Return)
        # The alpha session's next proposal (a command) arrives once the edit is applied; e edits it.
        await driver.until(lambda: row_for(view, "echo alpha") is not None, what="alpha's second proposal")
        await move_to(driver, view, "echo alpha")
        key(view.table, Qt.Key.Key_E)
        assert view.panel.edit_box.isVisible()
        view.panel.edit_box.setPlainText("echo beta")
        key(view.panel.edit_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

        def all_final():
            proposals, _ = stored(stack.db_path)
            return len(proposals) == 4 and all(
                p.status not in ("pending", "decided", "applying") for p in proposals.values()
            )

        await driver.until(all_final, what="every proposal carried out")
        await driver.until(lambda: not waiting_rows(view), what="an empty queue")
        view.grab().save("/tmp/queue_done.png")
        await driver.close()
        return greet_id, notes_id, other

    greet_id, notes_id, other = qasync_loop.run_until_complete(scenario_run())
    assert (alpha / "greet.py").read_text() == "def greet(name):\n    return 'Hello, ' + name\n"
    assert not (beta / "notes.txt").exists()
    proposals, decisions = stored(stack.db_path)
    assert proposals[greet_id].status == "applied" and decisions[greet_id].verdict == "approve"
    assert proposals[notes_id].status == "rejected" and decisions[notes_id].reason == "No notes in the repo."
    assert proposals[other].status == "applied" and decisions[other].verdict == "approve", proposals[other].result
    (echo,) = [p for p in proposals.values() if p.command == "echo alpha"]
    assert decisions[echo.id].verdict == "edit" and decisions[echo.id].edited_content == b"echo beta"
    assert "beta" in echo.result["content"]
    assert {d.reviewer for d in decisions.values()} == {"ada"} and {d.channel for d in decisions.values()} == {"window"}


def test_bulk_approve_lists_exactly_the_selected_items_and_decides_them_after_confirmation(
    qtbot, qasync_loop, stack_factory
):
    scenario = routed_scenario({"Gamma": [text_turn("Done.")]})
    stack = stack_factory(scenario, files={"gamma/.keep": ""})
    stack.repository.close()
    ids = [
        insert_from_another_process(stack.db_path, stack.workspace / "gamma", f"Gamma {n}", f"echo {n}")
        for n in range(4)
    ]
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario_run():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        await driver.until(lambda: len(waiting_rows(view)) == 4, what="four waiting rows")
        # Shift+j selects the first three; a opens the confirmation instead of deciding.
        key(view.table, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
        key(view.table, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
        key(view.table, Qt.Key.Key_A)
        dialog = view.bulk_dialog
        await driver.until(dialog.isVisible, what="the confirmation dialog")
        assert dialog.proposal_ids == ids[:3]
        assert [dialog.list.item(i).text().split(" · ")[0] for i in range(dialog.list.count())] == [
            f"#{i}" for i in ids[:3]
        ]
        dialog.grab().save("/tmp/queue_bulk.png")
        assert all(view.model.is_waiting(i) for i in ids), "nothing is decided before the confirmation"
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        await driver.until(
            lambda: (
                all(view.model.local.get(i) is None or view.model.local[i].status != "deciding" for i in ids[:3])
                and not any(view.model.is_waiting(i) for i in ids[:3])
            ),
            what="three decisions stored",
        )
        assert view.model.is_waiting(ids[3]) and view.current_item().id == ids[3]
        await driver.until(
            lambda: all(stored(stack.db_path)[0][i].status == "applied" for i in ids[:3]), what="three commands run"
        )
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())
    proposals, decisions = stored(stack.db_path)
    assert proposals[ids[3]].status == "pending" and decisions[ids[3]] is None


def test_u_inside_the_undo_window_puts_the_item_back_and_nothing_is_applied(qtbot, qasync_loop, stack_factory):
    scenario = routed_scenario({"Alpha": [tool_turn(edit_block("greet.py", "'hi '", "'Hello, '")), text_turn("Done.")]})
    stack = stack_factory(scenario, files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=60.0))

    async def scenario_run():
        window = await driver.open()
        view = window.queue_view
        session = await window.manager.start(session_spec(stack.workspace, "Alpha: greet politely"))
        window.show_queue()
        await driver.until(lambda: waiting_rows(view) and view.panel.proposal is not None, what="the edit on screen")
        pid = view.current_item().id
        key(view.table, Qt.Key.Key_A)
        await driver.until(lambda: view.model.local.get(pid) and view.model.local[pid].status == "decided")
        assert "applies in" in view.model.state_text(view.model.rows[view.model.row_of(pid)])
        view.grab().save("/tmp/queue_undo_window.png")
        key(view.table, Qt.Key.Key_U)
        await driver.until(lambda: view.model.is_waiting(pid), what="the item waiting again")
        assert view.current_item().id == pid and view.panel.proposal.id == pid
        proposals, decisions = stored(stack.db_path)
        assert proposals[pid].status == "pending" and decisions[pid] is None
        assert window.manager.is_running(session.id), "the runner still waits for a decision"
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())
    assert (stack.workspace / "greet.py").read_text() == GREET


def test_after_the_undo_window_the_decision_is_applied_and_u_says_it_is_final(qtbot, qasync_loop, stack_factory):
    scenario = routed_scenario({"Alpha": [tool_turn(edit_block("greet.py", "'hi '", "'Hello, '")), text_turn("Done.")]})
    stack = stack_factory(scenario, files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path, settings=Settings(reviewer="ada", undo_seconds=1.0))

    async def scenario_run():
        window = await driver.open()
        view = window.queue_view
        await window.manager.start(session_spec(stack.workspace, "Alpha: greet politely"))
        window.show_queue()
        await driver.until(lambda: waiting_rows(view) and view.panel.proposal is not None, what="the edit on screen")
        pid = view.current_item().id
        key(view.table, Qt.Key.Key_A)
        await driver.until(lambda: view.model.local.get(pid) and view.model.local[pid].status == "decided")
        assert (stack.workspace / "greet.py").read_text() == GREET, "not applied inside the window"
        await driver.until(
            lambda: view.model.local.get(pid) and view.model.local[pid].status == "applied",
            what="the queue showing it applied",
        )
        assert view.model.state_text(view.model.rows[view.model.row_of(pid)]) == "applied"
        key(view.table, Qt.Key.Key_U)
        await driver.until(lambda: view.message_label.isVisible(), what="a message")
        assert "no decision to undo" in view.message_label.text()
        await driver.close()

    qasync_loop.run_until_complete(scenario_run())
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello, ' + name\n"


def test_new_items_from_another_process_appear_and_a_reviewer_looking_elsewhere_is_told(
    qtbot, qasync_loop, stack_factory, tmp_path
):
    stack = stack_factory(routed_scenario({"Gamma": [text_turn("Done.")]}), files={"gamma/.keep": ""})
    stack.repository.close()
    first = insert_from_another_process(stack.db_path, stack.workspace / "gamma", "Gamma one", "echo one")
    driver = WindowDriver(qtbot, stack.db_path)
    bus_context = session_bus(tmp_path)
    bus = bus_context.__enter__()

    async def scenario_run():
        window = await driver.open()
        window.show_queue()
        view = window.queue_view
        view.window_is_focused = lambda: False
        # The desktop's notification service: a real process on a real session bus.
        view.notifier.desktop = DesktopNotifier(bus.address)
        await driver.until(lambda: [i.id for i in waiting_rows(view)] == [first], what="the first item")
        assert view.notifier.last_message is None, "nothing new yet"
        second = insert_from_another_process(
            stack.db_path, stack.workspace / "gamma", "Gamma two: deploy", "make deploy"
        )
        await driver.until(lambda: row_for(view, "make deploy") is not None, what="the new item in the list")
        await driver.until(lambda: view.notifier.last_message is not None, what="a notification")
        assert "1 new proposal to review" in view.notifier.last_message
        await driver.until(lambda: bus.notifications(), what="the notification on the desktop's service")
        (shown,) = bus.notifications()
        assert (shown["app"], shown["summary"]) == ("Signoff", "1 new proposal to review")
        assert shown["body"].endswith("waiting in Signoff.")
        await driver.until(lambda: view.notifier.waiting == 2 and "2 waiting" in view.notifier.tooltip)
        await driver.until(
            lambda: view.stats_label.text().endswith("2 waiting · 0 decided today · 0/h · median – per decision")
        )
        # Ctrl+F, type, and the list narrows; Esc hands the keyboard back to the list.
        key(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert view.filter_bar.search.hasFocus()
        QTest.keyClicks(view.filter_bar.search, "deploy")
        await driver.until(lambda: [i.id for i in view.model.rows] == [second], what="the search to narrow the list")
        key(view.filter_bar.search, Qt.Key.Key_Escape)
        assert view.table.hasFocus()
        view.grab().save("/tmp/queue_search.png")
        await driver.close()

    try:
        qasync_loop.run_until_complete(scenario_run())
    finally:
        bus_context.__exit__(None, None, None)
