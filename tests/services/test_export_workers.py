"""Large exports render in worker processes (forked, or started afresh where forking is unsafe): the files are byte
for byte those of an export in one process, dedupe holds across workers, a worker that dies fails the export with a
clear message and leaves nothing behind, and the collector is back on afterwards."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

from app.services import export_batches, export_workers
from app.services.export import FORMATS, ExportCancelled, ExportError, ExportOptions, export_dataset
from app.store.db import open_database
from tests.benchmarks.bench_export import build_database

SESSIONS = 250
COPIED = 40


@pytest.fixture(scope="module")
def repeated_db(tmp_path_factory) -> Path:
    """250 sessions of 10 decisions; sessions 211-250 repeat sessions 1-40 word for word, so their rows are
    duplicates found in a later batch (batches hold 200 sessions) than the rows they repeat."""
    path = tmp_path_factory.mktemp("workers") / "repeated.db"
    build_database(path, (SESSIONS - COPIED) * 10)
    connection = sqlite3.connect(path)
    with connection:
        offset = SESSIONS - COPIED
        proposal_offset = connection.execute("SELECT max(id) FROM proposals").fetchone()[0]
        columns = {
            table: [row[1] for row in connection.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
            for table in ("sessions", "messages", "proposals", "decisions")
        }

        def copy(table: str, rename: dict[str, str], where: str) -> None:
            names = columns[table]
            picked = [rename.get(name, name) for name in names]
            connection.execute(
                f"INSERT INTO {table} (id, {', '.join(names)}) "
                f"SELECT {rename['id']}, {', '.join(picked)} FROM {table} WHERE {where}"
            )

        connection.execute(
            f"INSERT INTO sessions (id, {', '.join(columns['sessions'])}) "
            f"SELECT id + {offset}, {', '.join(columns['sessions'])} FROM sessions WHERE id <= {COPIED}"
        )
        message_names = columns["messages"]
        connection.execute(
            f"INSERT INTO messages ({', '.join(message_names)}) SELECT "
            + ", ".join(f"session_id + {offset}" if n == "session_id" else n for n in message_names)
            + f" FROM messages WHERE session_id <= {COPIED}"
        )
        proposal_names = columns["proposals"]
        connection.execute(
            f"INSERT INTO proposals (id, {', '.join(proposal_names)}) SELECT id + {proposal_offset}, "
            + ", ".join(f"session_id + {offset}" if n == "session_id" else n for n in proposal_names)
            + f" FROM proposals WHERE session_id <= {COPIED}"
        )
        decision_names = [n for n in columns["decisions"]]
        connection.execute(
            f"INSERT INTO decisions ({', '.join(decision_names)}) SELECT "
            + ", ".join(f"proposal_id + {proposal_offset}" if n == "proposal_id" else n for n in decision_names)
            + f" FROM decisions WHERE proposal_id IN (SELECT id FROM proposals WHERE session_id <= {COPIED})"
        )
    connection.close()
    return path


@pytest.fixture
def collector_on():
    """Automatic collection on, as in the app (the test session keeps it off: tests/conftest.py)."""
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def export(db_path: Path, out: Path, fmt: str, **options):
    database = open_database(str(db_path))
    try:
        return export_dataset(database, ExportOptions(fmt, out, **options))
    finally:
        database.close()


def files_of(report) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in report.files.items()}


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "started"])
def test_workers_write_exactly_what_one_process_writes_in_every_format(
    repeated_db, tmp_path, monkeypatch, fork, collector_on
):
    # Small parts, so batches are placed in many pieces from both workers.
    monkeypatch.setattr(export_batches, "PART_BYTES", 64 << 10)
    monkeypatch.setattr(export_workers, "fork_is_safe", lambda: fork)
    for fmt in FORMATS:
        alone = export(repeated_db, tmp_path / f"{fmt}-alone", fmt, split=0.3, seed=4, workers=1)
        shared = export(repeated_db, tmp_path / f"{fmt}-shared", fmt, split=0.3, seed=4, workers=2)
        assert alone.workers == 0 and shared.workers == 2
        assert files_of(shared) == files_of(alone), fmt
        assert shared.rows == alone.rows and shared.total_rows > 0
        assert shared.duplicates_dropped == alone.duplicates_dropped
        assert (shared.by_source, shared.by_label, shared.reviewers, shared.models) == (
            alone.by_source,
            alone.by_label,
            alone.reviewers,
            alone.models,
        )
        assert (shared.first_decision, shared.last_decision, shared.skipped, shared.redactions) == (
            alone.first_decision,
            alone.last_decision,
            alone.skipped,
            alone.redactions,
        )
        assert (shared.decisions, shared.sessions) == (alone.decisions, alone.sessions) == (SESSIONS * 10, SESSIONS)
        if fmt != "raw":
            # The repeated sessions' rows sit in the second batch, rendered by the other worker, and are dropped.
            everything = export(repeated_db, tmp_path / f"{fmt}-all", fmt, split=0.3, seed=4, workers=2, dedupe=False)
            assert shared.duplicates_dropped == everything.total_rows - shared.total_rows > 0
        assert len(shared.worker_peaks_mb) == 2 and all(peak > 0 for peak in shared.worker_peaks_mb)
    assert gc.isenabled()


def _children() -> set[int]:
    tid = threading.get_native_id()
    with open(f"/proc/self/task/{tid}/children", encoding="ascii") as listing:
        return {int(pid) for pid in listing.read().split()}


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "started"])
def test_a_worker_killed_mid_export_fails_it_clearly_and_leaves_no_file(
    repeated_db, tmp_path, monkeypatch, fork, collector_on
):
    monkeypatch.setattr(export_batches, "PART_BYTES", 16 << 10)
    monkeypatch.setattr(export_workers, "fork_is_safe", lambda: fork)
    before = _children()
    killed: list[int] = []

    def kill_one_worker(progress) -> None:
        if not killed:
            for pid in sorted(_children() - before):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break

    out = tmp_path / "killed"
    out.mkdir()
    database = open_database(str(repeated_db))
    try:
        with pytest.raises(ExportError, match="An export worker stopped unexpectedly"):
            export_dataset(database, ExportOptions("trl-kto", out / "rows.jsonl", workers=2), progress=kill_one_worker)
    finally:
        database.close()
    assert killed
    assert list(out.iterdir()) == []
    assert _children() - before == set()  # every worker reaped
    assert gc.isenabled()


def test_the_command_takes_a_worker_count_and_refuses_zero(repeated_db, tmp_path, capsys):
    from app.cli import main

    assert (
        main(["export", "--db", str(repeated_db), "--format", "sft", "--out", str(tmp_path / "sft"), "--workers", "2"])
        == 0
    )
    card = (tmp_path / "sft" / "README.md").read_text()
    assert "by 2 worker processes" in card and "--workers 2" in card
    # The summary line (a line saying why there are fewer rows than decisions may follow it).
    (printed,) = [line for line in capsys.readouterr().out.splitlines() if " rows in " in line]
    assert "by 2 worker processes;" in printed
    assert (
        main(["export", "--db", str(repeated_db), "--format", "sft", "--out", str(tmp_path / "x"), "--workers", "0"])
        != 0
    )
    assert "--workers" in capsys.readouterr().err


def test_cancelling_an_export_in_workers_stops_them_and_leaves_no_file(
    repeated_db, tmp_path, monkeypatch, collector_on
):
    monkeypatch.setattr(export_batches, "PART_BYTES", 16 << 10)
    before = _children()
    cancel = threading.Event()
    seen: list[int] = []

    def cancel_on_first_progress(progress) -> None:
        seen.append(progress.decisions_done)
        cancel.set()

    database = open_database(str(repeated_db))
    try:
        with pytest.raises(ExportCancelled):
            export_dataset(
                database,
                ExportOptions("raw", tmp_path / "cancelled", workers=2),
                progress=cancel_on_first_progress,
                cancel=cancel,
            )
    finally:
        database.close()
    assert seen and seen[0] < SESSIONS * 10  # cancelled part way, not after the end
    assert not (tmp_path / "cancelled").exists()
    assert _children() - before == set()
    assert gc.isenabled()


def test_workers_read_the_same_rows_from_postgresql(stack_factory, postgres_url, tmp_path):
    from tests.support.agent_harness import run
    from tests.support.reviewed_session import GREET, REPLIES, record_reviewed_session

    stack = stack_factory(REPLIES, files={"greet.py": GREET}, db_url=postgres_url)

    async def record() -> None:
        await record_reviewed_session(stack)
        await stack.close()

    run(record())
    database = open_database(postgres_url)
    try:
        for fmt in ("trl-dpo", "raw"):
            alone = export_dataset(database, ExportOptions(fmt, tmp_path / f"{fmt}-alone", workers=1))
            shared = export_dataset(database, ExportOptions(fmt, tmp_path / f"{fmt}-shared", workers=2))
            assert shared.workers == 2 and shared.total_rows == alone.total_rows > 0
            assert files_of(shared) == files_of(alone)
    finally:
        database.close()


def test_an_export_never_collects_garbage_on_its_thread_where_the_window_collects_on_its_own(
    repeated_db, tmp_path, monkeypatch
):
    from app.services import export as export_module

    # As in the window (app.ui.garbage): automatic collection off, collections made on the GUI thread only.
    monkeypatch.setattr(export_module, "_COLLECT_EVERY", 1)
    collections: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    was_enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(seen)
    try:
        export(repeated_db, tmp_path / "quiet", "trl-kto", workers=1)
        assert collections == [] and not gc.isenabled()
        gc.enable()
        export(repeated_db, tmp_path / "collected", "trl-kto", workers=1)
        assert 1 in collections  # where automatic collection is on, the export collects young cycles between batches
    finally:
        gc.callbacks.remove(seen)
        if not was_enabled:
            gc.disable()
