"""Bad input to the headless commands (issue #12 item 17): one clear line and a non-zero exit, never a traceback or
a hang, and nothing changed in the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.cli.common import MAX_EDIT_FILE_BYTES
from tests.benchmarks.queue_data import build_queue_database

HUGE_ID = str(2**63)
WAITING_ID = "4"  # decided=3: ids 1-3 are decided history, 4-6 wait


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "queue.db"
    build_queue_database(path, decided=3, waiting=3)
    return path


def snapshot(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["show", HUGE_ID],
        ["approve", HUGE_ID],
        ["reject", HUGE_ID, "--reason", "no"],
        ["resume", HUGE_ID],
        ["claim", HUGE_ID],
        ["undo", HUGE_ID],
        ["show", "-1"],
        ["approve", "0"],
    ],
)
def test_an_id_beyond_the_databases_integers_is_one_clear_line(argv, db, capsys):
    before = snapshot(db)
    line = usage_error([*argv, "--db", str(db)], capsys)
    assert "is not an id; ids are whole numbers from 1 to 9223372036854775807" in line
    assert snapshot(db) == before


@pytest.mark.parametrize("lease", ["nan", "inf", "-inf", "0", "-5", "1e300", "soon"])
def test_claim_refuses_a_lease_that_is_not_a_finite_positive_number_of_seconds(lease, db, capsys):
    before = snapshot(db)
    line = usage_error(["claim", WAITING_ID, f"--lease={lease}", "--db", str(db)], capsys)
    assert "lease" in line or "seconds" in line
    assert snapshot(db) == before


@pytest.mark.parametrize("turns", ["0", "-3"])
def test_run_refuses_zero_turns_instead_of_hanging(turns, db, tmp_path, capsys):
    before = snapshot(db)
    line = usage_error(
        ["run", "--workspace", str(tmp_path), "--task", "t", "--max-turns", turns, "--demo", "--db", str(db)], capsys
    )
    assert "--max-turns" in line and "give 1 or more" in line
    assert snapshot(db) == before


def test_edit_reads_at_most_the_limit_so_dev_zero_is_refused_quickly(db, capsys):
    before = snapshot(db)
    assert main(["edit", WAITING_ID, "--file", "/dev/zero", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "larger than 5 MB" in err
    assert snapshot(db) == before


def test_edit_refuses_a_file_over_the_limit(db, tmp_path, capsys):
    big = tmp_path / "big.py"
    big.write_bytes(b"x" * (MAX_EDIT_FILE_BYTES + 1))
    before = snapshot(db)
    assert main(["edit", WAITING_ID, "--file", str(big), "--db", str(db)]) == 1
    assert "larger than 5 MB" in capsys.readouterr().err
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"), ("café\n".encode("latin-1"), "not UTF-8")],
)
def test_edit_and_decide_refuse_a_binary_or_non_utf8_file(content, said, db, tmp_path, capsys):
    path = tmp_path / "edit.bin"
    path.write_bytes(content)
    before = snapshot(db)
    assert main(["edit", WAITING_ID, "--file", str(path), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err
    assert main(["decide", WAITING_ID, "--hunk", f"1=edit:{path}", "--db", str(db)]) == 1
    assert said in capsys.readouterr().err
    assert snapshot(db) == before


def test_a_utf8_edit_within_the_limit_is_still_recorded(db, tmp_path, capsys):
    path = tmp_path / "edit.py"
    path.write_text("value = 'é'\n", encoding="utf-8")
    assert main(["edit", WAITING_ID, "--file", str(path), "--db", str(db)]) == 0
    assert "Approved with your edit" in capsys.readouterr().out
