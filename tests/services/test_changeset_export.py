"""A changeset decided hunk by hunk is exported like single proposals: per file, the file as merged ≻ the file as the
agent wrote it (source "hunks"), a file approved whole is a desirable completion, one rejected whole an undesirable
one. A real changeset session through the stand-in API, real SDK, real git and SQLite."""

from __future__ import annotations

import json

from app.domain import hunks
from app.services import review
from app.services.export import ExportOptions, export_dataset
from app.standin.scenario import text_turn, tool_turn
from app.store.db import open_database
from tests.services.test_changeset_mode import ORIGINAL, create, edit, make_repo
from tests.support.agent_harness import run, stack_factory  # noqa: F401 (fixture)


def test_changeset_hunk_verdicts_are_exported_as_pairs_like_single_proposals(stack_factory, tmp_path):  # noqa: F811
    replies = [
        tool_turn(edit("a.txt", "line 2\n", "line two\n"), edit("a.txt", "line 29\n", "line twenty-nine\n")),
        tool_turn(create("keep.md", "kept\n"), create("drop.md", "dropped\n")),
        text_turn("Done."),
    ]
    stack = stack_factory(replies, files={"a.txt": ORIGINAL})
    make_repo(stack.workspace)

    async def scenario():
        session = await stack.start("Tidy", changeset=True, max_turns=2)
        proposal = await stack.waiting_proposal()
        verdicts = [
            hunks.HunkVerdict(0, "approve"),
            hunks.HunkVerdict(1, "reject", reason="29 stays numeric"),
            hunks.HunkVerdict(2, "reject", reason="no drop file"),
            hunks.HunkVerdict(3, "approve"),
        ]
        await stack.manager.decide(review.by_hunk(proposal.id, "ada", verdicts, time_on_screen_ms=2000))
        await stack.manager.wait(session.id)
        await stack.close()

    run(scenario())
    database = open_database(str(stack.db_path))
    try:
        pairs = export_dataset(database, ExportOptions("trl-dpo", tmp_path / "dpo")).files["train"]
        kto = export_dataset(database, ExportOptions("trl-kto", tmp_path / "kto")).files["train"]
        trajectory = export_dataset(database, ExportOptions("trajectory", tmp_path / "traj")).files["train"]
    finally:
        database.close()

    (pair,) = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert pair["source"] == "hunks"
    chosen = pair["chosen"][0]["tool_calls"][0]["function"]["arguments"]
    rejected = pair["rejected"][0]["tool_calls"][0]["function"]["arguments"]
    assert chosen == {"command": "create", "path": "a.txt", "file_text": ORIGINAL.replace("line 2\n", "line two\n")}
    assert rejected["file_text"] == ORIGINAL.replace("line 2\n", "line two\n").replace(
        "line 29\n", "line twenty-nine\n"
    )

    labelled = {}
    for line in kto.read_text().splitlines():
        row = json.loads(line)
        arguments = row["completion"][0]["tool_calls"][0]["function"]["arguments"]
        labelled[(arguments["path"], row["source"], arguments["file_text"])] = row["label"]
    assert labelled[("keep.md", "approve", "kept\n")] is True
    assert labelled[("drop.md", "reject", "dropped\n")] is False
    assert labelled[("a.txt", "hunks", ORIGINAL.replace("line 2\n", "line two\n"))] is True

    (session,) = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert [(step["path"], step["verdict"]) for step in session["steps"]] == [
        ("a.txt", "edit"),
        ("drop.md", "reject"),
        ("keep.md", "approve"),
    ]
    assert "+line two" in session["final_diff"] and "+kept" in session["final_diff"]
    assert "twenty-nine" not in session["final_diff"] and "dropped" not in session["final_diff"]
