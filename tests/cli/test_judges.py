"""The judges from the command line: settings kept in the database, `verify` on request, and the contract fields
("verifier", "critic", "risk") in `show --json` and `queue --json`, sorted by risk on request; agreement in `stats`."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import main
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.judges import BROKEN_ADD, FIXED_HALF, file_proposal, tiny_pytest_workspace


def printed_json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_verify_on_request_then_show_and_queue_carry_the_contract(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.db")
    root = tiny_pytest_workspace(tmp_path / "ws")
    database = open_database(db)
    repository = Repository(database)
    broken = file_proposal(repository, root, "calc.py", BROKEN_ADD, tool_use_id="t1")
    fixed = file_proposal(repository, root, "calc.py", FIXED_HALF, tool_use_id="t2")
    database.close()

    assert main(["judges", "set", "--db", db, "--workspace", str(root), "--verify-on", "request"]) == 0
    assert "runs on: request" in capsys.readouterr().out
    assert main(["verify", str(broken.id), "--db", db, "--json"]) == 0
    red = printed_json(capsys)
    assert main(["verify", str(fixed.id), "--db", db]) == 0
    assert "Verifier: passed" in capsys.readouterr().out

    assert main(["show", str(broken.id), "--db", db, "--json"]) == 0
    shown = printed_json(capsys)
    assert main(["queue", "--db", db, "--json", "--sort", "risk"]) == 0
    queue = printed_json(capsys)

    assert red["status"] == "failed" and red["newly_failing"] == ["test_calc.py::test_add"]
    assert shown["verifier"]["status"] == "failed"
    assert set(shown["verifier"]) >= {"status", "newly_failing", "newly_passing", "passed", "failed", "seconds"}
    assert shown["critic"] is None and 0 <= shown["risk"] <= 1
    assert [row["id"] for row in queue] == [broken.id, fixed.id]
    assert queue[0]["risk"] > queue[1]["risk"]
    assert queue[1]["verifier"]["newly_passing"] == ["test_calc.py::test_half"]


def test_bad_judge_settings_get_one_clear_line_and_change_nothing(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.db")
    root = tiny_pytest_workspace(tmp_path / "ws")
    assert main(["init-db", db]) == 0
    capsys.readouterr()

    code = main(["judges", "set", "--db", db, "--workspace", str(root), "--verify-timeout", "-3"])

    assert code == 1
    assert "time limit" in capsys.readouterr().err
    assert main(["judges", "show", "--db", db, "--workspace", str(root), "--json"]) == 0
    shown = printed_json(capsys)
    assert shown["stored"]["verify_timeout_s"] is None
    assert shown["verify_command_in_force"] == "python3 -m pytest"


def test_stats_says_when_there_is_no_human_critic_agreement_yet(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.db")
    assert main(["init-db", db]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", db]) == 0
    assert "no human-critic agreement" in capsys.readouterr().out
    assert main(["stats", "--db", db, "--json"]) == 0
    assert printed_json(capsys)["critic_agreement"] == []
