"""A person at the window: start a task, judge each proposal from the keyboard, see the files change, restart."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import events
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.store_queries import pending_proposals
from tests.support.window_harness import WindowDriver

GREET = "def greet(name):\n    return 'hi ' + name\n"


def edit(old: str, new: str):
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": old, "new_str": new}
    )


def decisions_in(db_path):
    database = open_database(str(db_path))
    try:
        repository = Repository(database)
        return [d for s in repository.sessions.recent() for _, d in repository.proposals.decisions_for_session(s.id)]
    finally:
        database.close()


async def start_task(driver: WindowDriver, workspace, task: str = "Make the greeting polite.") -> None:
    window = await driver.open()
    window.show_composer()
    window.composer.workspace_edit.setText(str(workspace))
    QTest.keyClicks(window.composer.task_edit, task)
    QTest.keyClick(window.composer.task_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def session_finished(window) -> bool:
    return any(isinstance(e, events.StatusChanged) and e.status == "finished" for e in window_events(window))


def window_events(window):
    return getattr(window, "_test_events", [])


def record_events(window) -> None:
    window._test_events = []
    window.session_event.connect(window._test_events.append)


def test_task_to_proposal_to_approve_key_puts_the_bytes_on_disk_and_stores_the_decision(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory(
        [tool_turn(text_block("Fixing."), edit("'hi '", "'Hello, '")), text_turn("Done.")], files={"greet.py": GREET}
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        await driver.until(lambda: window.review_panel.proposal is not None, what="a proposal on screen")
        assert window.review_panel.hasFocus(), "focus lands on the review pane, ready for A/R/E"
        assert "Edit greet.py" in window.review_panel.title.text()
        QTest.keyClick(window.review_panel, Qt.Key.Key_A)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        transcript = window.transcripts[window.selected_session_id()].plain_text()
        await driver.close()
        return transcript

    transcript = qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello, ' + name\n"
    (decision,) = decisions_in(stack.db_path)
    assert decision.verdict == "approve" and decision.reviewer == "ada" and decision.channel == "window"
    assert decision.time_on_screen_ms is not None
    assert "Fixing." in transcript and "Done." in transcript and "str_replace greet.py" in transcript


def test_reject_key_asks_for_a_reason_and_enter_sends_it_to_the_agent(qtbot, qasync_loop, stack_factory):
    stack = stack_factory(
        [tool_turn(edit("'hi '", "'yo '")), text_turn("I will be formal.")], files={"greet.py": GREET}
    )
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        QTest.keyClick(panel, Qt.Key.Key_R)
        assert panel.reason_box.isVisible() and panel.reason_box.hasFocus()
        QTest.keyClicks(panel.reason_box, "Too informal; say Hello.")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Return)
        await driver.until(lambda: session_finished(driver.window))
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == GREET
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] and "Too informal; say Hello." in result["content"]
    (decision,) = decisions_in(stack.db_path)
    assert decision.verdict == "reject" and decision.reason == "Too informal; say Hello."


def test_escape_cancels_a_rejection_and_nothing_is_decided(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([tool_turn(edit("'hi '", "'yo '")), text_turn("ok")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        QTest.keyClick(panel, Qt.Key.Key_R)
        QTest.keyClicks(panel.reason_box, "hmm")
        QTest.keyClick(panel.reason_box, Qt.Key.Key_Escape)
        assert not panel.reason_box.isVisible() and panel.hasFocus()
        assert panel.proposal is not None and panel.approve_button.isVisible()
        pending = await driver.context.repository.read(pending_proposals)
        assert [p.id for p in pending] == [panel.proposal.id]
        driver.window.stop_selected()
        await driver.close()

    qasync_loop.run_until_complete(scenario())


def test_edit_key_opens_the_proposed_content_and_ctrl_enter_applies_the_edited_bytes(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([tool_turn(edit("'hi '", "'hey '")), text_turn("ok")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        QTest.keyClick(panel, Qt.Key.Key_E)
        assert panel.edit_box.isVisible() and panel.edit_box.hasFocus()
        assert panel.edit_box.toPlainText() == "def greet(name):\n    return 'hey ' + name\n"
        panel.edit_box.setPlainText("def greet(name):\n    return 'Good day, ' + name\n")
        QTest.keyClick(panel.edit_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await driver.until(lambda: session_finished(driver.window))
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Good day, ' + name\n"
    (result,) = stack.last_request_tool_results()
    assert "edited your change" in result["content"] and "'Good day, '" in result["content"]
    (decision,) = decisions_in(stack.db_path)
    assert decision.verdict == "edit"


def test_a_command_shows_with_its_working_directory_and_runs_only_after_approval(qtbot, qasync_loop, stack_factory):
    run = tool_use_block(COMMAND_TOOL_NAME, {"command": "echo hi > out.txt", "cwd": "sub"})
    stack = stack_factory([tool_turn(run), text_turn("ok")], files={"sub/keep": ""})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None)
        assert "Run command in sub" in panel.title.text()
        assert not (stack.workspace / "sub" / "out.txt").exists()
        panel.approve_button.click()
        await driver.until(lambda: session_finished(driver.window))
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert (stack.workspace / "sub" / "out.txt").read_text() == "hi\n"


def test_stop_while_a_proposal_waits_withdraws_it(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([tool_turn(edit("'hi '", "'yo '"))], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        await driver.until(lambda: window.review_panel.proposal is not None)
        window.stop_action.trigger()
        await driver.until(
            lambda: any(isinstance(e, events.StatusChanged) and e.status == "stopped" for e in window_events(window))
        )
        await driver.until(lambda: window.review_panel.proposal is None, what="the withdrawn proposal to leave")
        status = (
            await driver.context.repository.read(lambda store: store.sessions.get(window.selected_session_id()))
        ).status
        await driver.close()
        return status

    assert qasync_loop.run_until_complete(scenario()) == "stopped"
    assert (stack.workspace / "greet.py").read_text() == GREET


def test_after_a_restart_the_waiting_proposal_and_history_are_back_and_approving_resumes(
    qtbot, qasync_loop, stack_factory
):
    stack = stack_factory(
        [tool_turn(text_block("First look."), edit("'hi '", "'Hello '")), text_turn("Resumed.")],
        files={"greet.py": GREET},
    )
    stack.repository.close()
    first = WindowDriver(qtbot, stack.db_path)

    async def before_restart():
        await start_task(first, stack.workspace)
        await first.until(lambda: first.window.review_panel.proposal is not None)
        await first.close()

    qasync_loop.run_until_complete(before_restart())
    second = WindowDriver(qtbot, stack.db_path)
    record_events(second.window)

    async def after_restart():
        window = await second.open()
        await second.until(lambda: window.review_panel.proposal is not None, what="the waiting proposal")
        session_id = window.review_panel.proposal.session_id
        window.select_session(session_id)
        await second.until(lambda: "First look." in window.transcripts[session_id].plain_text(), what="history")
        QTest.keyClick(window.review_panel, Qt.Key.Key_A)
        await second.until(lambda: session_finished(window), what="the resumed session to finish")
        await second.close()

    qasync_loop.run_until_complete(after_restart())
    assert "'Hello '" in (stack.workspace / "greet.py").read_text()


def test_offline_demo_starts_without_a_key_and_runs_through_the_sdk_to_the_end(qtbot, qasync_loop, tmp_path):
    driver = WindowDriver(qtbot, tmp_path / "demo.db")
    record_events(driver.window)

    async def scenario():
        window = await driver.open()
        assert window.demo_mode
        decided = 0
        while not session_finished(window):
            await driver.until(
                lambda: window.review_panel.proposal is not None or session_finished(window),
                what="the next demo proposal",
            )
            if window.review_panel.proposal is not None:
                QTest.keyClick(window.review_panel, Qt.Key.Key_A)
                decided += 1
                await driver.until(lambda: window.review_panel.proposal is None or window.review_panel.is_busy is False)
        session = window.sessions[window.selected_session_id()]
        await driver.close()
        return decided, session

    decided, session = qasync_loop.run_until_complete(scenario())
    assert decided == 3  # the fix, the new test file, the test run
    assert session.endpoint == "demo"
    from pathlib import Path

    workspace = Path(session.workspace_root)
    assert (
        "capitalize() for word" in (workspace / "greet.py").read_text()
        or "upper()" in (workspace / "greet.py").read_text()
    )
    assert (workspace / "test_greet.py").exists()


def test_the_model_picker_lists_the_apis_models_and_the_status_bar_shows_token_usage(qtbot, qasync_loop, stack_factory):
    stack = stack_factory([text_turn("Nothing to change.")])
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        models = [window.composer.model_combo.itemText(i) for i in range(window.composer.model_combo.count())]
        await driver.until(lambda: session_finished(window))
        await driver.until(
            lambda: "tokens in" in window.usage_label.text() and "out 0" not in window.usage_label.text()
        )
        usage = window.usage_label.text()
        await driver.close()
        return models, usage

    models, usage = qasync_loop.run_until_complete(scenario())
    assert {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"} <= set(models)
    assert "cache write" in usage and "claude-sonnet-5-5" in usage
    assert stack.server.message_bodies[0]["model"] == "claude-sonnet-5-5"


def test_the_window_shows_the_sdk_retrying_an_overloaded_api_and_clears_it_when_it_answers(
    qtbot, qasync_loop, stack_factory
):
    from app.standin.scenario import Fault

    stack = stack_factory([Fault.overloaded(retry_after=0.3), text_turn("Done after the overload.")])
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        shown = await driver.until(
            lambda: "retrying" in window.statusBar().currentMessage() and window.statusBar().currentMessage(),
            what="the retry state in the status bar",
        )
        window.grab().save(str(stack.workspace.parent / "retrying.png"))
        await driver.until(lambda: session_finished(window), what="the session to finish")
        after = window.statusBar().currentMessage()
        transcript = window.transcripts[window.selected_session_id()].plain_text()
        await driver.close()
        return shown, after, transcript

    shown, after, transcript = qasync_loop.run_until_complete(scenario())
    assert shown == "Session 1: API overloaded (529), retrying 1/4…"
    assert after == ""
    assert "API overloaded (529), retrying 1/4…" in transcript and "Done after the overload." in transcript


def test_an_approved_change_that_cannot_be_written_shows_the_failed_state_and_writes_nothing(
    qtbot, qasync_loop, stack_factory
):
    create = tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "out/new.txt", "file_text": "hello\n"})
    stack = stack_factory([tool_turn(create), text_turn("I see it failed.")])
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)

    async def scenario():
        await start_task(driver, stack.workspace)
        panel = driver.window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="the proposal")
        # Before it is applied, a file takes the place of the folder it goes in: the write really fails (ENOTDIR).
        (stack.workspace / "out").write_text("a file, not a folder\n")
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: session_finished(driver.window), what="the session to finish")
        notice = panel.notice.text() if panel.notice.isVisibleTo(driver.window) else ""
        await driver.close()
        return notice

    notice = qasync_loop.run_until_complete(scenario())
    assert notice.startswith("Proposal #1: Approved by the reviewer but applying it failed")
    assert "a part of the path is a file, not a folder" in notice and "Nothing was changed in out/new.txt" in notice
    assert (stack.workspace / "out").read_text() == "a file, not a folder\n"
    assert sorted(p.name for p in stack.workspace.iterdir()) == ["out"]
