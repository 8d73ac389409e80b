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


def test_the_owner_sets_auto_approval_from_the_command_line_and_a_bad_threshold_gets_one_line(
    tmp_path: Path, capsys
) -> None:
    db = str(tmp_path / "cli.db")
    root = tiny_pytest_workspace(tmp_path / "ws")
    assert main(["init-db", db]) == 0
    capsys.readouterr()

    bad = main(["judges", "set", "--db", db, "--workspace", str(root), "--auto-approve-kappa", "high"])
    assert bad == 1 and "--auto-approve-kappa takes a number such as 0.8" in capsys.readouterr().err
    too_high = main(["judges", "set", "--db", db, "--workspace", str(root), "--auto-approve-kappa", "1.5"])
    assert too_high == 1 and "above 0 and at most 1" in capsys.readouterr().err
    args = ["judges", "set", "--db", db, "--workspace", str(root), "--reviewer", "owner"]
    assert main([*args, "--auto-approve-kappa", "0.8", "--auto-approve-over", "20"]) == 0
    shown = capsys.readouterr().out

    assert "Critic auto-approval: edit, create at risk ≤ 0.20 while kappa ≥ 0.80 over the last 20 decisions" in shown
    assert "now kappa n/a over 0 (not active)" in shown
    assert main(["judges", "show", "--db", db, "--workspace", str(root), "--json"]) == 0
    stored = printed_json(capsys)["stored"]
    assert stored["auto_approve"] == {
        "kappa_at_least": 0.8,
        "over_last": 20,
        "kinds": ["edit", "create"],
        "risk_at_most": 0.2,
        "on": True,
    }
    assert stored["updated_by"] == "owner"
    assert main([*args, "--auto-approve-kappa", "off"]) == 0
    assert "Critic auto-approval: off" in capsys.readouterr().out


def test_queue_json_lists_the_critics_auto_approval_marked_and_a_person_undoes_it(tmp_path: Path, capsys) -> None:
    from app.services import decisions, review

    db = str(tmp_path / "cli.db")
    root = tiny_pytest_workspace(tmp_path / "ws")
    database = open_database(db)
    repository = Repository(database)
    waiting = file_proposal(repository, root, "calc.py", FIXED_HALF, tool_use_id="w")
    approved = file_proposal(repository, root, "calc.py", FIXED_HALF + "# 2\n", tool_use_id="a")
    reason = "Auto-approved by the critic (score 0.80): its kappa with the people is 0.90 over the last 50 decisions."
    decisions.decide(repository, review.approve(approved.id, "", reason=reason), decisions.Actor.critic())
    database.close()

    assert main(["queue", "--db", db, "--json"]) == 0
    rows = {row["id"]: row for row in printed_json(capsys)}
    assert main(["queue", "--db", db]) == 0
    table = capsys.readouterr().out
    assert main(["undo", str(approved.id), "--db", db, "--reviewer", "bo"]) == 0
    capsys.readouterr()
    assert main(["queue", "--db", db, "--json"]) == 0
    after = printed_json(capsys)

    assert rows[waiting.id]["auto_approved"] is False
    marked = rows[approved.id]
    assert (marked["auto_approved"], marked["decided_by"], marked["reason"]) == (True, "critic", reason)
    assert {"verifier", "critic", "risk"} <= set(marked)
    assert "Approved by the critic on its own" in table and f"{approved.id:>6}  approved" in table
    assert sorted(row["id"] for row in after) == [waiting.id, approved.id]
    assert all(row["auto_approved"] is False for row in after)


def test_margin_verifier_is_refused_for_formats_without_a_margin(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.db")
    assert main(["init-db", db]) == 0
    capsys.readouterr()

    code = main(["export", "--db", db, "--format", "trl-dpo", "--out", str(tmp_path / "out"), "--margin", "verifier"])

    assert code == 1
    assert "--margin is trl-reward's column" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
