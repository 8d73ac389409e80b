"""The Export dialog and the 1-5 strength keys: a reviewer rates a decision from the keyboard, opens Export with
Ctrl+Shift+E, and writes a dataset off the UI thread with progress; Cancel leaves nothing behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.services import export as export_module
from app.standin.scenario import text_turn, tool_turn
from app.store.db import open_database
from app.ui.export_dialog import ExportDialog
from tests.benchmarks.bench_export import build_database
from tests.support.window_harness import WindowDriver
from tests.ui.test_window_review import GREET, decisions_in, edit, record_events, session_finished, start_task


@pytest.fixture
def large_db(tmp_path: Path):
    """5,000 decisions in 500 sessions, bulk-inserted."""
    path = tmp_path / "large.db"
    build_database(path, 5_000)
    database = open_database(str(path))
    yield database
    database.close()


def test_keys_1_to_5_rate_the_decision_and_ctrl_shift_e_exports_it(qtbot, qasync_loop, stack_factory, tmp_path):
    stack = stack_factory([tool_turn(edit("'hi '", "'Hello, '")), text_turn("Done.")], files={"greet.py": GREET})
    stack.repository.close()
    driver = WindowDriver(qtbot, stack.db_path)
    record_events(driver.window)
    out = tmp_path / "dataset"

    async def scenario():
        await start_task(driver, stack.workspace)
        window = driver.window
        panel = window.review_panel
        await driver.until(lambda: panel.proposal is not None, what="a proposal on screen")
        assert panel.strength is None and "[1–5]" in panel.strength_label.text()
        QTest.keyClick(panel, Qt.Key.Key_2)
        QTest.keyClick(panel, Qt.Key.Key_2)  # the same key again clears it
        assert panel.strength is None
        QTest.keyClick(panel, Qt.Key.Key_4)
        assert panel.strength == 4 and "4/5" in panel.strength_label.text()
        panel.grab().save("/tmp/exp/strength.png")
        QTest.keyClick(panel, Qt.Key.Key_A)
        await driver.until(lambda: session_finished(window), what="the session to finish")
        assert panel.strength is None  # the rating belongs to one decision

        QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        dialog = await driver.until(lambda: getattr(window, "export_dialog", None), what="the export dialog")
        assert dialog.isVisible()
        dialog.set_format("trl-kto")
        dialog.out_edit.setText(str(out))
        assert "signoff export --format trl-kto --out" in dialog.command_label.text()
        assert dialog.start_export()
        await driver.until(lambda: dialog.report is not None, what="the export to finish")
        dialog.grab().save("/tmp/exp/export-dialog.png")
        status = dialog.status_label.text()
        dialog.close()
        # Opened again (as the menu and Ctrl+Shift+E do): the same dialog, its choices kept, the last result gone.
        window.open_export()
        await driver.until(lambda: dialog.isVisible(), what="the export dialog again")
        assert window.export_dialog is dialog and dialog.format_combo.currentData() == "trl-kto"
        assert dialog.status_label.text() == "" and dialog.report is None and dialog.progress.value() == 0
        dialog.close()
        await driver.close()
        return status

    status = qasync_loop.run_until_complete(scenario())
    (decision,) = decisions_in(stack.db_path)
    assert decision.strength == 4
    (row,) = [json.loads(line) for line in (out / "trl-kto.jsonl").read_text().splitlines()]
    assert row["label"] is True and row["strength"] == 4 and row["decision_id"] == decision.id
    assert (out / "README.md").exists()
    assert "Wrote 1 row from 1 decision in" in status


@pytest.mark.parametrize("in_workers", [False, True], ids=["in-process", "worker-processes"])
def test_the_dialog_exports_a_large_database_off_the_ui_thread_with_progress(
    qtbot, large_db, tmp_path, monkeypatch, in_workers
):
    if in_workers:
        # As from 20,000 decisions: worker processes, started afresh (the dialog exports from a thread).
        monkeypatch.setattr(export_module, "WORKERS_FROM_DECISIONS", 1_000)
    dialog = ExportDialog(large_db, default_folder=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_format("trl-dpo")
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.exported, timeout=120_000) as finished:
        assert dialog.start_export()
        assert dialog.is_running and not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    report = finished.args[0]
    assert report.decisions == 5_000 and report.total_rows > 0
    cores = min(os.cpu_count() or 1, export_module.MAX_WORKERS)
    assert report.workers == (cores if in_workers and cores > 1 else 0)
    assert report.files["train"] == tmp_path / "trl-dpo" / "trl-dpo.jsonl"
    assert len(report.files["train"].read_text().splitlines()) == report.total_rows
    assert dialog.progress.value() == dialog.progress.maximum() and seen
    assert dialog.export_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert f"Wrote {report.total_rows:,} rows" in dialog.status_label.text()
    assert report.total_rows < report.decisions
    assert "Fewer rows than decisions: a pair needs a rejection" in dialog.status_label.text(), "it says why"
    label = dialog.status_label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=5000)  # never cut off
    assert (f"by {report.workers} worker processes" in dialog.status_label.text()) == bool(report.workers)
    dialog.grab().save(f"/tmp/exp/export-large-{'workers' if in_workers else 'alone'}.png")


def test_cancelling_an_export_leaves_no_file_behind(qtbot, large_db, tmp_path):
    dialog = ExportDialog(large_db, default_folder=tmp_path)
    qtbot.addWidget(dialog)
    dialog.set_format("raw")
    dialog.split_spin.setValue(0.2)
    with qtbot.waitSignal(dialog._relay.cancelled, timeout=60_000):
        assert dialog.start_export()
        dialog.cancel_export()
    assert dialog.report is None and not dialog.is_running
    assert "nothing was written" in dialog.status_label.text()
    assert not (tmp_path / "raw").exists()
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob("*.jsonl"))


def test_a_form_that_cannot_run_says_why_and_starts_nothing(qtbot, large_db, tmp_path):
    dialog = ExportDialog(large_db, default_folder=tmp_path)
    qtbot.addWidget(dialog)
    for box in dialog.verdict_boxes.values():
        box.setChecked(False)
    assert not dialog.start_export() and not dialog.is_running
    assert "at least one verdict" in dialog.status_label.text()
    for box in dialog.verdict_boxes.values():
        box.setChecked(True)
    dialog.since_edit.setText("last tuesday")
    assert not dialog.start_export()
    assert "is not a date" in dialog.status_label.text()
    assert "is not a date" in dialog.command_label.text()


def test_the_card_of_a_jsonl_export_goes_beside_it_and_never_replaces_the_folders_readme(qtbot, large_db, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# My project\n", encoding="utf-8")
    dialog = ExportDialog(large_db, default_folder=tmp_path)
    qtbot.addWidget(dialog)
    asked: list[list[Path]] = []
    dialog.confirm_overwrite = lambda paths: asked.append(paths) or False
    dialog.set_format("trl-dpo")
    dialog.out_edit.setText(str(tmp_path / "x.jsonl"))
    with qtbot.waitSignal(dialog.exported, timeout=120_000) as finished:
        assert dialog.start_export()
    report = finished.args[0]
    assert report.card == tmp_path / "x.card.md" and report.card.read_text().startswith("---")
    assert readme.read_text(encoding="utf-8") == "# My project\n"
    assert asked == []  # nothing existed, so nothing was asked


def test_the_dialog_asks_before_replacing_an_existing_export_and_keeps_it_when_told_no(qtbot, large_db, tmp_path):
    data, card = tmp_path / "x.jsonl", tmp_path / "x.card.md"
    data.write_text("keep me\n", encoding="utf-8")
    dialog = ExportDialog(large_db, default_folder=tmp_path)
    qtbot.addWidget(dialog)
    asked: list[list[Path]] = []
    dialog.confirm_overwrite = lambda paths: asked.append(paths) or False
    dialog.set_format("trl-dpo")
    dialog.out_edit.setText(str(data))

    assert not dialog.start_export() and not dialog.is_running
    assert asked == [[data]]
    assert data.read_text(encoding="utf-8") == "keep me\n" and not card.exists()
    assert "kept" in dialog.status_label.text() and str(data) in dialog.status_label.text()

    dialog.confirm_overwrite = lambda paths: asked.append(paths) or True
    with qtbot.waitSignal(dialog.exported, timeout=120_000) as finished:
        assert dialog.start_export()
    assert asked[-1] == [data]
    report = finished.args[0]
    assert data.read_text(encoding="utf-8") != "keep me\n" and report.total_rows > 0 and card.exists()
