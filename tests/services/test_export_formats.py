"""Exports of a real reviewed session (stand-in API, real SDK, SQLite) in every format, loaded with the `datasets`
library the trainers use, and checked against each format's documented columns; plus the command, filters, split,
dedupe, redaction and cancellation."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from app.cli import main
from app.services.export import (
    FORMATS,
    ExportCancelled,
    ExportError,
    ExportFilters,
    ExportOptions,
    export_dataset,
)
from app.store.db import open_database
from tests.support.agent_harness import run
from tests.support.reviewed_session import AWS_KEY, GITHUB_TOKEN, GREET, REPLIES, record_reviewed_session

datasets = pytest.importorskip("datasets")
# Progress bars start tqdm's monitor thread, which outlives the test (tests/support/leaks.py fails on that).
datasets.disable_progress_bars()
tqdm = pytest.importorskip("tqdm")
tqdm.tqdm.monitor_interval = 0


@pytest.fixture
def reviewed_db(stack_factory) -> Path:
    """A SQLite file holding one finished session with every kind of decision."""
    stack = stack_factory(REPLIES, files={"greet.py": GREET})

    async def record() -> None:
        await record_reviewed_session(stack)
        await stack.close()

    run(record())
    return stack.db_path


def export(db_path: Path, fmt: str, out: Path, **options) -> object:
    database = open_database(str(db_path))
    try:
        return export_dataset(database, ExportOptions(fmt, out, **options))
    finally:
        database.close()


def load(path: Path, tmp_path: Path):
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache"))


def assert_tool_call_message(message: dict, *, arguments_as: type) -> None:
    assert message["role"] == "assistant"
    (call,) = message["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] in {"str_replace_based_edit_tool", "run_command"}
    arguments = call["function"]["arguments"]
    assert isinstance(arguments, arguments_as)
    if arguments_as is str:
        assert isinstance(json.loads(arguments), dict)


def assert_conversation(messages: list[dict]) -> None:
    assert messages[0]["role"] == "system"
    assert messages[1]["role"] == "user" and "Greet politely" in messages[1]["content"]
    assert {m["role"] for m in messages} <= {"system", "user", "assistant", "tool"}


def assert_tools(tools: list[dict]) -> None:
    names = {tool["function"]["name"] for tool in tools}
    assert names == {"str_replace_based_edit_tool", "run_command"}
    for tool in tools:
        assert tool["type"] == "function"
        assert tool["function"]["parameters"]["type"] == "object"


def test_every_format_loads_with_datasets_and_has_the_documented_columns(reviewed_db, tmp_path):
    reports = {fmt: export(reviewed_db, fmt, tmp_path / fmt) for fmt in FORMATS}
    loaded = {fmt: load(report.files["train"], tmp_path) for fmt, report in reports.items()}

    dpo = loaded["trl-dpo"]
    assert {"id", "prompt", "chosen", "rejected", "tools"} <= set(dpo.column_names)
    assert dpo.num_rows == 3  # edited command, edited file, revision (the whitespace-only edit makes none)
    assert sorted(dpo["source"]) == ["edit", "edit", "revision"]
    for row in dpo:
        assert_conversation(row["prompt"])
        assert row["prompt"][-1]["role"] in {"user", "tool"}
        assert_tool_call_message(row["chosen"][0], arguments_as=dict)
        assert_tool_call_message(row["rejected"][0], arguments_as=dict)
        assert row["chosen"] != row["rejected"]
        assert_tools(row["tools"])
    command_pair = next(row for row in dpo if row["chosen"][0]["tool_calls"][0]["function"]["name"] == "run_command")
    assert command_pair["chosen"][0]["tool_calls"][0]["function"]["arguments"]["command"] == "rm -rf build/cache"
    assert command_pair["rejected"][0]["tool_calls"][0]["function"]["arguments"]["command"] == "rm -rf build"
    assert command_pair["strength"] == 3

    kto = loaded["trl-kto"]
    assert {"id", "prompt", "completion", "label", "tools"} <= set(kto.column_names)
    assert kto.features["label"].dtype == "bool"
    assert sorted(kto["label"]) == [False] * 4 + [True] * 6
    rejected_reasons = {row["reason"] for row in kto if row["source"] == "reject"}
    assert rejected_reasons == {"Too informal for customers.", "No network calls."}

    reward = loaded["trl-reward"]
    assert {"chosen", "rejected", "margin"} <= set(reward.column_names) and "prompt" not in reward.column_names
    for row in reward:
        assert_conversation(row["chosen"])
        assert row["chosen"][:-1] == row["rejected"][:-1]  # implicit prompt: the same conversation before
    assert sorted(reward["margin"]) == [0.0, 0.5, 1.0]  # unrated, strength 3, strength 5 (the rejection's)

    openai = loaded["openai-dpo"]
    assert set(openai.column_names) == {"id", "input", "preferred_output", "non_preferred_output"}
    for row in openai:
        assert_conversation(row["input"]["messages"])
        tool_messages = [m for m in row["input"]["messages"] if m["role"] == "tool"]
        assert tool_messages and all(m["tool_call_id"].startswith("toolu_") for m in tool_messages)
        assert_tool_call_message(row["preferred_output"][0], arguments_as=str)
        assert_tool_call_message(row["non_preferred_output"][0], arguments_as=str)
        assert row["input"]["parallel_tool_calls"] is False

    hh = loaded["hh-rlhf"]
    assert {"chosen", "rejected"} <= set(hh.column_names)
    for row in hh:
        for text in (row["chosen"], row["rejected"]):
            assert text.startswith("\n\nHuman: ") and "\n\nAssistant: " in text
        cut = row["chosen"].rindex("\n\nAssistant: ")
        assert row["rejected"].rindex("\n\nAssistant: ") == cut and row["chosen"][:cut] == row["rejected"][:cut]

    sft = loaded["sft"]
    assert {"prompt", "completion", "tools"} <= set(sft.column_names)
    assert sorted(sft["source"]) == ["approve", "approve", "edit", "edit", "edit"]
    for row in sft:
        assert_tool_call_message(row["completion"][0], arguments_as=dict)

    raw = loaded["raw"]
    assert raw.num_rows == 7  # one per decision
    assert {"id", "prompt", "completion", "session", "proposal", "decision", "tools", "sources"} <= set(
        raw.column_names
    )
    by_id = {row["decision"]["id"]: row for row in raw}
    for row in raw:
        assert row["id"] == f"signoff-d{row['decision']['id']}"
        assert row["session"]["model"] and len(row["session"]["system_prompt_sha256"]) == 64
        assert row["proposal"]["step_index"] == len(row["prompt"])
    assert {row["decision"]["verdict"] for row in by_id.values()} == {"approve", "reject", "edit"}

    # Every row's id leads back to its decision.
    decision_ids = set(by_id)
    for fmt in ("trl-dpo", "trl-kto", "trl-reward", "hh-rlhf", "sft"):
        for row in loaded[fmt]:
            assert row["decision_id"] in decision_ids
            assert row["id"].startswith(f"signoff-d{row['decision_id']}-")


def test_a_reviewer_edit_of_a_str_replace_stays_a_str_replace_and_a_new_file_edit_becomes_a_create(
    reviewed_db, tmp_path
):
    rows = [
        json.loads(line)
        for line in export(reviewed_db, "trl-dpo", tmp_path / "dpo").files["train"].read_text().splitlines()
    ]
    calls = {row["source"] + ":" + row["chosen"][0]["tool_calls"][0]["function"]["name"]: row for row in rows}
    created = calls["edit:str_replace_based_edit_tool"]["chosen"][0]["tool_calls"][0]["function"]["arguments"]
    assert created == {"command": "create", "path": "notes.txt", "file_text": "todo\n- write tests\n"}


def test_secrets_in_prompts_are_redacted_by_default_and_counted_and_kept_with_no_redact(reviewed_db, tmp_path):
    redacted = export(reviewed_db, "trl-kto", tmp_path / "r")
    text = redacted.files["train"].read_text()
    assert GITHUB_TOKEN not in text and AWS_KEY not in text
    assert "[REDACTED:github_token]" in text and "[REDACTED:aws_access_key]" in text
    assert redacted.redactions == {"github_token": 1, "aws_access_key": 1}
    card = redacted.card.read_text()
    assert "2 secrets replaced" in card

    kept = export(reviewed_db, "trl-kto", tmp_path / "k", redact=False)
    assert GITHUB_TOKEN in kept.files["train"].read_text() and kept.redactions == {}


def test_the_dataset_card_counts_sources_labels_reviewers_models_and_names_the_command(reviewed_db, tmp_path):
    report = export(reviewed_db, "trl-kto", tmp_path / "kto", command="signoff export --format trl-kto --out kto")
    card = report.card.read_text()
    assert report.card == tmp_path / "kto" / "README.md"
    assert "signoff export --format trl-kto --out kto" in card
    assert "| edit | 5 |" in card and "| approve | 2 |" in card and "| reject | 2 |" in card
    assert "| desirable | 6 |" in card and "| undesirable | 4 |" in card
    assert "Balance: 60.0% desirable" in card
    assert "| ada | 10 |" in card and "claude-sonnet-5-5" in card
    assert "str_replace" in card and "create" in card  # how edits are expressed
    assert "path: trl-kto.jsonl" in card


def test_filters_select_by_verdict_source_reviewer_and_time_on_screen(reviewed_db, tmp_path):
    only_rejects = export(reviewed_db, "trl-kto", tmp_path / "a", filters=ExportFilters(verdicts=("reject",)))
    assert only_rejects.by_source == {"reject": 2}
    no_revisions = export(reviewed_db, "trl-dpo", tmp_path / "b", filters=ExportFilters(sources=("edit",)))
    assert no_revisions.by_source == {"edit": 2}
    nobody = export(reviewed_db, "trl-dpo", tmp_path / "c", filters=ExportFilters(reviewer="grace"))
    assert nobody.total_rows == 0 and nobody.files["train"].read_text() == ""
    too_quick = export(reviewed_db, "trl-kto", tmp_path / "d", filters=ExportFilters(min_seconds=2))
    assert too_quick.total_rows == 0
    other_model = export(reviewed_db, "raw", tmp_path / "e", filters=ExportFilters(model="claude-other"))
    assert other_model.total_rows == 0


def test_the_export_command_writes_the_file_and_card_and_reports_counts(reviewed_db, tmp_path, capsys):
    out = tmp_path / "cli" / "pairs.jsonl"
    (tmp_path / "cli").mkdir()
    code = main(["export", "--db", str(reviewed_db), "--format", "openai-dpo", "--out", str(out), "--source", "edit"])
    printed = capsys.readouterr().out
    assert code == 0
    assert len(out.read_text().splitlines()) == 2
    assert "2 rows" in printed and re.search(r"\b\d+ secrets? redacted\.", printed)
    # Beside the file under its name, never the folder's README.md (issue #12: an export replaced one).
    card = (tmp_path / "cli" / "pairs.card.md").read_text()
    assert "--format openai-dpo" in card and "--source edit" in card
    assert not (tmp_path / "cli" / "README.md").exists()


def test_the_export_command_explains_bad_input_in_one_line(reviewed_db, tmp_path, capsys):
    assert main(["export", "--db", str(reviewed_db), "--format", "alpaca", "--out", str(tmp_path / "x")]) == 1
    assert "Unknown format 'alpaca'" in capsys.readouterr().err
    assert (
        main(["export", "--db", str(reviewed_db), "--format", "raw", "--out", str(tmp_path / "x"), "--since", "May 1"])
        == 1
    )
    assert "is not a date" in capsys.readouterr().err
    assert (
        main(["export", "--db", str(reviewed_db), "--format", "raw", "--out", str(tmp_path / "x"), "--split", "1.5"])
        == 1
    )
    assert "between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_bad_options_raise_a_clear_error_before_anything_is_written(reviewed_db, tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export(reviewed_db, "raw", tmp_path / "missing" / "out.jsonl")
    with pytest.raises(ExportError, match="Unknown source"):
        export(reviewed_db, "raw", tmp_path / "o", filters=ExportFilters(sources=("vibes",)))


def test_a_cancelled_export_leaves_no_file_behind(reviewed_db, tmp_path):
    cancel = threading.Event()
    cancel.set()
    database = open_database(str(reviewed_db))
    try:
        with pytest.raises(ExportCancelled):
            export_dataset(database, ExportOptions("trl-kto", tmp_path / "cancelled"), cancel=cancel)
        (tmp_path / "kept").mkdir()
        with pytest.raises(ExportCancelled):
            export_dataset(database, ExportOptions("trl-kto", tmp_path / "kept" / "rows.jsonl"), cancel=cancel)
    finally:
        database.close()
    assert not (tmp_path / "cancelled").exists()
    assert list((tmp_path / "kept").iterdir()) == []


def test_identical_rows_are_written_once(stack_factory, tmp_path):
    # Two sessions with the same task and replies, approved the same way: identical training rows.
    stack = stack_factory(REPLIES + REPLIES, files={"greet.py": GREET})

    async def record() -> None:
        await record_reviewed_session(stack)
        (stack.workspace / "greet.py").write_text(GREET)
        (stack.workspace / "notes.txt").unlink()
        await record_reviewed_session(stack)
        await stack.close()

    run(record())
    deduped = export(stack.db_path, "trl-kto", tmp_path / "a")
    everything = export(stack.db_path, "trl-kto", tmp_path / "b", dedupe=False)
    assert everything.total_rows == 20
    assert deduped.total_rows == 10 and deduped.duplicates_dropped == 10


@pytest.fixture
def many_sessions_db(tmp_path: Path) -> Path:
    """200 sessions of 10 decisions each, bulk-inserted (the benchmark's generator)."""
    from tests.benchmarks.bench_export import build_database

    path = tmp_path / "many.db"
    build_database(path, 2_000)
    return path


def session_ids(path: Path) -> set[int]:
    return {json.loads(line)["session"]["id"] for line in path.read_text().splitlines()}


def test_the_split_is_by_session_seeded_and_loads_as_train_and_test_through_the_card(many_sessions_db, tmp_path):
    first = export(many_sessions_db, "raw", tmp_path / "a", split=0.3, seed=1)
    train, test = session_ids(first.files["train"]), session_ids(first.files["test"])
    assert train.isdisjoint(test) and len(train | test) == 200
    assert 30 <= len(test) <= 90  # about 30% of sessions
    again = export(many_sessions_db, "raw", tmp_path / "b", split=0.3, seed=1)
    assert again.files["test"].read_bytes() == first.files["test"].read_bytes()
    other_seed = export(many_sessions_db, "raw", tmp_path / "c", split=0.3, seed=2)
    assert session_ids(other_seed.files["test"]) != test

    # The card's front matter names the files, so the folder loads as a DatasetDict.
    loaded = datasets.load_dataset(str(tmp_path / "a"), cache_dir=str(tmp_path / "hf-cache"))
    assert set(loaded) == {"train", "test"}
    assert loaded["train"].num_rows == first.rows["train"] and loaded["test"].num_rows == first.rows["test"]


def test_a_jsonl_path_with_a_split_writes_two_files_and_the_card_beside_them(many_sessions_db, tmp_path):
    report = export(many_sessions_db, "trl-kto", tmp_path / "prefs.jsonl", split=0.5, seed=3)
    assert report.files == {"train": tmp_path / "prefs.train.jsonl", "test": tmp_path / "prefs.test.jsonl"}
    assert report.card == tmp_path / "prefs.card.md"
    assert len(report.files["train"].read_text().splitlines()) == report.rows["train"] > 0
    assert len(report.files["test"].read_text().splitlines()) == report.rows["test"] > 0


def test_an_export_reads_the_same_rows_from_postgresql(stack_factory, postgres_url, tmp_path):
    stack = stack_factory(REPLIES, files={"greet.py": GREET}, db_url=postgres_url)

    async def record() -> None:
        await record_reviewed_session(stack)
        await stack.close()

    run(record())
    database = open_database(postgres_url)
    try:
        dpo = export_dataset(database, ExportOptions("trl-dpo", tmp_path / "dpo"))
        raw = export_dataset(database, ExportOptions("raw", tmp_path / "raw"))
    finally:
        database.close()
    assert dpo.by_source == {"edit": 2, "revision": 1} and raw.total_rows == 7
    assert load(dpo.files["train"], tmp_path).num_rows == 3
    assert GITHUB_TOKEN not in raw.files["train"].read_text()
