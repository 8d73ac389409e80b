"""Layout that holds still and words that count right: filter widths do not jump when choices change, buttons of one
row share one height, and counts in the window say "1 row", "1 rule"."""

from __future__ import annotations

import pytest

from app.services.export import ExportProgress
from app.store.db import open_database
from app.ui.export_dialog import ExportDialog
from app.ui.queue_filters import FilterBar
from app.ui.review_panel import ReviewPanel
from app.ui.theme import apply_theme


@pytest.fixture
def styled(qapp):
    """The window's stylesheet, as the app runs it (its padding is what made heights differ)."""
    apply_theme(qapp, "light")
    yield
    apply_theme(qapp, "system")


def widths(bar: FilterBar) -> list[int]:
    return [w.width() for w in (bar.search, bar.workspace, bar.session, bar.kind, bar.path_glob, bar.flag)]


def test_the_queue_filters_keep_their_widths_when_workspaces_and_sessions_come_and_go(qtbot, styled):
    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.resize(1100, 40)
    bar.show()
    qtbot.waitExposed(bar)
    before = widths(bar)

    bar.set_choices(
        ["/home/ada/projects/a-workspace-with-a-very-long-name-indeed", "/w/x"],
        [(123456, "a session task that goes on and on about what the agent should do " * 2)],
    )
    bar.session.setCurrentIndex(1)
    bar.workspace.setCurrentIndex(1)
    bar.layout().activate()
    after_long = widths(bar)
    bar.set_choices([], [])
    bar.layout().activate()

    assert after_long == before
    assert widths(bar) == before


def row_heights(buttons) -> set[int]:
    return {button.height() for button in buttons if button.isVisible()}


def test_the_buttons_of_each_review_row_have_one_height(qtbot, styled):
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 500)
    panel.compare_button.show()
    panel.hunk_row.show()
    panel.show()
    qtbot.waitExposed(panel)
    verdicts = [
        panel.approve_button,
        panel.reject_button,
        panel.edit_button,
        panel.always_allow_button,
        panel.compare_button,
    ]

    assert all(button.isVisible() for button in verdicts)
    assert len(row_heights(verdicts)) == 1, [(b.text(), b.height()) for b in verdicts]
    assert len(row_heights(panel.hunk_buttons)) == 1, [(b.text(), b.height()) for b in panel.hunk_buttons]
    # Compare mode's row and the reason row too.
    panel._show_compare_buttons(True)
    panel.layout().activate()
    assert len(row_heights(panel.compare_buttons)) == 1


def test_export_progress_counts_one_row_and_one_decision_in_the_singular(qtbot, tmp_path):
    database = open_database(str(tmp_path / "s.db"))
    try:
        dialog = ExportDialog(database, default_folder=tmp_path)
        qtbot.addWidget(dialog)
        dialog._on_progress(ExportProgress(decisions_done=1, decisions_total=1, rows_written=1))
        text = dialog.status_label.text()
    finally:
        database.close()

    assert text == "1 of 1 decision read · 1 row written"


def test_a_finished_session_reopened_in_the_window_says_how_it_ended_in_words(qtbot, qasync_loop, tmp_path):
    from app.store.repository import Repository
    from tests.support.window_harness import WindowDriver

    database = open_database(str(tmp_path / "s.db"))
    try:
        repository = Repository(database)
        session = repository.sessions.create(
            workspace_root=str(tmp_path), task="Tidy up.", endpoint="demo", model="m", system_prompt="s", tools=[],
            sampling={}, max_turns=5,
        )  # fmt: skip
        repository.sessions.update(session.id, status="finished", stop_reason="end_turn")
    finally:
        database.close()
    driver = WindowDriver(qtbot, tmp_path / "s.db")

    async def scenario():
        window = await driver.open()
        try:
            window.select_session(session.id)
            return await driver.until(
                lambda: "Finished" in (text := window.transcripts[session.id].plain_text()) and text,
                what="the transcript's last line",
            )
        finally:
            await driver.close()

    text = qasync_loop.run_until_complete(scenario())
    assert "Finished: the agent ended its turn." in text
    assert "end_turn" not in text
