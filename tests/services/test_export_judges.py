"""Exports carry the machine judges' signals: a real session on a git pytest workspace (stand-in API, real SDK,
SQLite), its proposals verified by real pytest runs and judged by the critic, exported and loaded with `datasets`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.domain.tools import EDITOR_TOOL_NAME
from app.services import review
from app.services.critic import Critic
from app.services.export import FORMATS, ExportOptions, export_dataset
from app.services.verifier import Verifier
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block
from app.store.db import open_database
from tests.services.test_critic import StandinEndpoints
from tests.support.agent_harness import run
from tests.support.judges import CALC, TESTS, git

datasets = pytest.importorskip("datasets")
datasets.disable_progress_bars()
tqdm = pytest.importorskip("tqdm")
tqdm.tqdm.monitor_interval = 0


def replace_in_calc(old: str, new: str) -> dict:
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "calc.py", "old_str": old, "new_str": new}
    )


@pytest.fixture
def judged_db(stack_factory) -> Path:
    """One finished session: a change that breaks test_add (rejected), then one that fixes test_half (approved)."""
    stack = stack_factory(
        [
            tool_turn(text_block("Tidying add."), replace_in_calc("a + b", "a - b")),
            tool_turn(text_block("Fixing half."), replace_in_calc("n / 3", "n / 2")),
            text_turn("Done."),
        ],
        files={"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"},
    )
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "calc")):
        git(stack.workspace, *args)

    async def record() -> None:
        verifier = Verifier(stack.repository)
        critic = Critic(stack.repository, StandinEndpoints(stack.server))
        session = await stack.start("Tidy calc.py")
        for verdict in ("reject", "approve"):
            proposal = await stack.waiting_proposal()
            await verifier.verify(proposal)
            await critic.critique(proposal)
            if verdict == "reject":
                request = review.reject(proposal.id, "ada", "It breaks add.")
            else:
                request = review.approve(proposal.id, "ada")
            await stack.manager.decide(request)
            await stack.until(lambda proposal=proposal: stack._resolved(proposal.id))
        assert await stack.manager.wait(session.id) == "finished"
        await stack.close()

    run(record())
    return stack.db_path


def export(db_path: Path, fmt: str, out: Path):
    database = open_database(str(db_path))
    try:
        return export_dataset(database, ExportOptions(fmt, out))
    finally:
        database.close()


def load(path: Path, tmp_path: Path):
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache"))


def test_rows_carry_the_verifier_reward_and_the_critic_verdict_and_trajectories_say_resolved(judged_db, tmp_path):
    kto_report = export(judged_db, "trl-kto", tmp_path / "kto")
    kto = load(kto_report.files["train"], tmp_path)
    raw = load(export(judged_db, "raw", tmp_path / "raw").files["train"], tmp_path)
    trajectory = load(export(judged_db, "trajectory", tmp_path / "trajectory").files["train"], tmp_path)

    by_source = {row["source"]: row for row in kto}
    rejected, approved = by_source["reject"], by_source["approve"]
    assert rejected["verifier_status"] == "failed" and rejected["critic_verdict"] == "reject"
    assert json.loads(rejected["verifier_newly_failing"]) == ["test_calc.py::test_add"]
    assert approved["verifier_reward"] == 1.0 and approved["critic_verdict"] == "approve"
    assert {row["judges"]["verifier_status"] for row in raw} == {"failed", "passed"}

    (session,) = trajectory
    assert session["resolved"] is True
    assert [step["verdict"] for step in session["steps"]] == ["reject", "approve"]
    assert [step["verifier_status"] for step in session["steps"]] == ["failed", "passed"]
    assert "-    return n / 3" in session["final_diff"] and "+    return n / 2" in session["final_diff"]
    assert "a - b" not in session["final_diff"]
    assert session["task"] == "Tidy calc.py"
    card = kto_report.card.read_text()
    assert "Verifier results (reward, counts): 2 of 2 decisions (100.0%)." in card
    assert "Human-critic agreement: 100.0%, Cohen's kappa 1.00 over 2 decisions." in card


def test_trl_reward_can_take_its_margin_from_the_verifier_and_the_card_says_so(judged_db, tmp_path):
    database = open_database(str(judged_db))
    try:
        by_verifier = export_dataset(database, ExportOptions("trl-reward", tmp_path / "verifier", margin="verifier"))
        by_strength = export_dataset(database, ExportOptions("trl-reward", tmp_path / "strength"))
    finally:
        database.close()

    (revision,) = load(by_verifier.files["train"], tmp_path)
    (plain,) = load(by_strength.files["train"], tmp_path)

    # The revision passes every test (reward 1.0); the rejected change passed none of them (reward 0.0).
    assert revision["source"] == "revision" and revision["margin"] == 1.0
    assert plain["margin"] == 0.0
    card = by_verifier.card.read_text()
    assert "--margin verifier" in card and "the verifier's reward of the chosen proposal minus" in card


def test_every_format_that_allows_extra_columns_carries_the_judges_signals(judged_db, tmp_path):
    database = open_database(str(judged_db))
    try:
        reports = {fmt: export_dataset(database, ExportOptions(fmt, tmp_path / fmt)) for fmt in FORMATS}
    finally:
        database.close()

    for fmt, report in reports.items():
        rows = list(load(report.files["train"], tmp_path))
        assert rows, fmt
        if fmt == "openai-dpo":
            # OpenAI's fine-tuning validator refuses unknown keys: the row id is all it carries.
            assert set(rows[0]) == {"id", "input", "preferred_output", "non_preferred_output"}
            continue
        if fmt == "raw":
            signals = rows[0]["judges"]
        elif fmt == "trajectory":
            signals = rows[0]["steps"][0]
        else:
            signals = rows[0]
        assert {"verifier_status", "verifier_reward", "critic_verdict", "critic_score"} <= set(signals), fmt
        assert signals["verifier_status"] in ("passed", "failed") and signals["critic_verdict"] in ("approve", "reject")
        assert "Verifier results (reward, counts)" in report.card.read_text(), fmt


def test_the_card_says_how_many_rows_the_critic_approved_on_its_own(tmp_path):
    from app.services.export import ExportReport, dataset_card

    report = ExportReport("trl-kto", {"train": tmp_path / "trl-kto.jsonl"}, tmp_path / "README.md", {"train": 3}, 3, 3)
    report.reviewers = {"ada": 2, "critic": 1}

    card = dataset_card(report, ExportOptions("trl-kto", tmp_path))
    human_only = dataset_card(replace(report, reviewers={"ada": 2}), ExportOptions("trl-kto", tmp_path))

    assert "1 rows were approved by the critic model on its own (reviewer `critic`" in card
    assert "approved by the critic model on its own" not in human_only
