"""Compare mode end to end without a window: alternatives sampled through the real SDK from the stand-in API, stored in
a real SQLite file, picked, applied by the runner, sealed in the audit chain, and exported as ranked pairs that
`datasets` loads."""

from __future__ import annotations

import json

import pytest

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import compare, review
from app.services.export import ExportFilters, ExportOptions, export_dataset
from app.services.review import ReviewError
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block
from app.store.audit import verify_chain
from app.store.compare import REPLACED
from app.store.models import Alternative, Decision
from tests.support.agent_harness import run
from tests.support.scripted_scenario import Alternatives
from tests.support.store_queries import list_proposals

datasets = pytest.importorskip("datasets")
# Progress bars start tqdm's monitor thread, which outlives the test (tests/support/leaks.py fails on that).
datasets.disable_progress_bars()
pytest.importorskip("tqdm").tqdm.monitor_interval = 0

GREET = "def greet(name):\n    return 'hi ' + name\n"


def edit(new: str, id: str | None = None):
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": new}, id
    )


def step_with_alternatives():
    """The original answer, then three alternatives: two other edits and one that only talks."""
    return Alternatives(
        tool_turn(text_block("Politer."), edit("'Hello, '", "toolu_original")),
        tool_turn(text_block("Warmer."), edit("'Welcome, '", "toolu_alt1")),
        tool_turn(text_block("Formal."), edit("'Good day, '", "toolu_alt2")),
        text_turn("I would rather ask first: which greeting do you want?"),
    )


def test_compare_samples_each_alternative_from_the_original_prompt_and_records_its_sampling(stack_factory):
    stack = stack_factory([step_with_alternatives(), text_turn("Done.")], files={"greet.py": GREET})

    async def scenario():
        await stack.start("Greet politely.")
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 3, requested_by="ada")
        again = await stack.repository.read(lambda store: store.compares.latest(proposal.id))
        await stack.close()
        return proposal, record, again

    proposal, record, again = run(scenario())
    assert again == record and record.count == 3 and record.requested_by == "ada"
    positions = [a.position for a in record.alternatives]
    assert positions == [0, 1, 2, 3]
    original = record.alternatives[0]
    warm, formal, words = (
        record.alternatives[position_of(record, text)] for text in ("Welcome", "Good day", "rather ask")
    )
    assert (original.tool_use_id, original.shown_hash) == (proposal.tool_use_id, proposal.shown_hash)
    assert "+    return 'Welcome, ' + name" in warm.shown_text and warm.kind == "edit" and warm.lines_added == 1
    assert "+    return 'Good day, ' + name" in formal.shown_text
    assert words.kind == "none" and "only answered in words" in words.note and words.tool_use_id is None
    assert all(a.sampling == {"max_tokens": 1024} for a in record.alternatives)
    assert all(a.usage and a.usage["output_tokens"] > 0 for a in record.alternatives[1:])
    bodies = stack.server.message_bodies
    first, resamples = bodies[0], bodies[1:4]
    assert len(bodies) == 4
    for body in resamples:
        assert body["messages"] == first["messages"] and body["system"] == first["system"]
        assert body["tools"] == first["tools"] and body["max_tokens"] == first["max_tokens"] == 1024
    # Nothing was applied, and the proposal still waits.
    assert (stack.workspace / "greet.py").read_text() == GREET


def test_a_picked_alternative_is_applied_and_the_agent_sees_it_as_its_own_tool_call(stack_factory):
    stack = stack_factory([step_with_alternatives(), text_turn("Done.")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start("Greet politely.")
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 3, requested_by="ada")
        decision = await stack.manager.pick(
            compare.PickRequest(
                proposal.id, record.id, position_of(record, "Good day"), "ada", strength=4, time_on_screen_ms=900
            )
        )
        status = await stack.manager.wait(session.id)
        original = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        proposals = await stack.repository.read(list_proposals, session_id=session.id)
        messages = await stack.repository.read(lambda store: store.sessions.messages(session.id))
        await stack.close()
        return status, record, decision, original, proposals, messages

    status, record, decision, original, proposals, messages = run(scenario())
    assert status == "finished"
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Good day, ' + name\n"
    assert original.status == REPLACED
    picked = [p for p in proposals if p.id != original.id]
    assert [(p.tool_use_id, p.status) for p in picked] == [("toolu_alt2", "applied")]
    assert decision.proposal_id == picked[0].id and decision.verdict == "approve" and decision.strength == 4
    # The history holds the picked answer in place of the original, with the result for its own tool call.
    assert messages[1].content == [
        {"type": "text", "text": "Formal."},
        {
            "type": "tool_use",
            "id": "toolu_alt2",
            "name": EDITOR_TOOL_NAME,
            "input": {"command": "str_replace", "path": "greet.py", "old_str": "'hi '", "new_str": "'Good day, '"},
        },
    ]
    last = stack.server.message_bodies[-1]["messages"]
    assert [b["id"] for b in last[1]["content"] if b["type"] == "tool_use"] == ["toolu_alt2"]
    (result,) = [b for b in last[2]["content"] if b["type"] == "tool_result"]
    assert result["tool_use_id"] == "toolu_alt2" and not result.get("is_error")
    # The original answer is kept as position 0 of the compare.
    assert record.alternatives[0].content[1]["id"] == "toolu_original"
    # The pick is sealed in the audit chain: what was shown (by hash) and which was picked.
    with _reopened(stack) as database:
        report = verify_chain(database)
        assert report.intact, report.summary()
        with database.session() as orm:
            row = orm.get(Decision, decision.id)
            assert row.compare["picked"] == position_of(record, "Good day") and row.compare["compare_id"] == record.id
            assert [a["shown_hash"] for a in row.compare["alternatives"]] == [a.shown_hash for a in record.alternatives]
            row.compare = {**row.compare, "picked": position_of(record, "Welcome")}
            orm.commit()
        tampered = verify_chain(database)
        assert not tampered.intact and tampered.first_bad_id == decision.id
        with database.session() as orm:
            row = orm.get(Decision, decision.id)
            row.compare = {**row.compare, "picked": position_of(record, "Good day")}
            orm.commit()
        assert verify_chain(database).intact
        # Changing what an alternative said, after the pick, is found too.
        with database.session() as orm:
            alternative = orm.get(Alternative, record.alternatives[position_of(record, "Welcome")].id)
            alternative.content = [{"type": "text", "text": "Something else."}]
            orm.commit()
        changed = verify_chain(database)
        assert (
            changed.first_bad_id == decision.id and "no longer matches what the reviewer was shown" in changed.problem
        )


def _reopened(stack):
    from app.store.db import open_database

    return open_database(str(stack.db_path))


def test_rejecting_every_alternative_tells_the_agent_why_and_applies_nothing(stack_factory):
    stack = stack_factory([step_with_alternatives(), text_turn("Understood.")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 2, requested_by="ada")
        with pytest.raises(ReviewError, match="needs a reason"):
            await stack.manager.pick(compare.PickRequest(proposal.id, record.id, None, "ada", reason="  "))
        decision = await stack.manager.pick(
            compare.PickRequest(proposal.id, record.id, None, "ada", reason="None of these keeps the old tone.")
        )
        await stack.manager.wait(session.id)
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return decision, stored

    decision, stored = run(scenario())
    assert (decision.verdict, decision.proposal_id) == ("reject", stored.id) and stored.status == "rejected"
    assert (stack.workspace / "greet.py").read_text() == GREET
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] and "None of these keeps the old tone." in result["content"]


def test_picking_the_original_is_an_approval_and_an_answer_without_a_change_cannot_be_picked(stack_factory):
    stack = stack_factory([step_with_alternatives(), text_turn("Done.")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 3, requested_by="ada")
        words = position_of(record, "rather ask")
        with pytest.raises(compare.CompareError, match=f"Alternative {words} proposes no change"):
            await stack.manager.pick(compare.PickRequest(proposal.id, record.id, words, "ada"))
        with pytest.raises(compare.CompareError, match="has no alternative 7"):
            await stack.manager.pick(compare.PickRequest(proposal.id, record.id, 7, "ada"))
        decision = await stack.manager.pick(compare.PickRequest(proposal.id, record.id, 0, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()
        return proposal, decision

    proposal, decision = run(scenario())
    assert decision.proposal_id == proposal.id and decision.verdict == "approve"
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Hello, ' + name\n"


def test_compare_is_refused_for_a_decided_proposal_and_for_a_bad_count(stack_factory):
    stack = stack_factory([step_with_alternatives(), text_turn("Done.")], files={"greet.py": GREET})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        with pytest.raises(compare.CompareError, match="Ask for 2 to 4 alternatives, not 9"):
            await stack.manager.compare(proposal.id, 9, requested_by="ada")
        await stack.manager.decide(review.approve(proposal.id, "ada"))
        await stack.manager.wait(session.id)
        with pytest.raises(compare.CompareError, match="no longer waits"):
            await stack.manager.compare(proposal.id, 2, requested_by="ada")
        await stack.close()

    run(scenario())


def test_a_pick_made_while_no_runner_drives_the_session_resumes_it_and_applies_the_pick(stack_factory):
    stack = stack_factory([step_with_alternatives(), text_turn("Done.")], files={"greet.py": GREET})

    async def first_run():
        await stack.start()
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 2, requested_by="ada")
        await stack.close()  # the app closes: the session detaches, its proposal still waits
        return proposal, record

    proposal, record = run(first_run())
    stack.open()

    async def after_restart():
        await stack.manager.pick(compare.PickRequest(proposal.id, record.id, position_of(record, "Welcome"), "ada"))
        status = await stack.manager.wait(proposal.session_id)
        await stack.close()
        return status

    assert run(after_restart()) == "finished"
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Welcome, ' + name\n"


# -- exports ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def compared_session(stack_factory):
    """A session whose step was compared (original + 3) and alternative 2 picked, then a command approved."""
    stack = stack_factory(
        [
            step_with_alternatives(),
            tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "echo ok"})),
            text_turn("Done."),
        ],
        files={"greet.py": GREET},
    )

    async def scenario():
        session = await stack.start("Greet politely.")
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 3, requested_by="ada")
        await stack.manager.pick(
            compare.PickRequest(proposal.id, record.id, position_of(record, "Good day"), "ada", strength=5)
        )
        command = await stack.until(lambda: _waiting_other_than(stack, proposal.id))
        await stack.manager.decide(review.approve(command.id, "ada"))
        await stack.manager.wait(session.id)
        await stack.close()
        return record

    record = run(scenario())
    stack.open()
    yield stack, record
    run(stack.close())


def _waiting_other_than(stack, proposal_id):
    from app.services import events

    for event in reversed(stack.seen):
        if (
            isinstance(event, events.ProposalWaiting)
            and event.proposal.id != proposal_id
            and event.proposal.kind == "command"
        ):
            return event.proposal
    return None


def position_of(record, needle: str) -> int:
    """Resamples run in parallel, so which answer lands at which position depends on arrival: find it by content."""
    (position,) = [a.position for a in record.alternatives if needle in json.dumps(a.content)]
    return position


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.mark.parametrize("fmt", ["trl-dpo", "openai-dpo", "trl-reward", "hh-rlhf"])
def test_compare_pairs_load_with_datasets_and_rank_the_pick_over_every_other_answer(compared_session, tmp_path, fmt):
    stack, record = compared_session
    out = tmp_path / f"{fmt}.jsonl"
    report = export_dataset(stack.database, ExportOptions(format=fmt, out=out))
    rows = [row for row in _rows(out) if "-compare-" in row["id"]]
    assert report.by_source.get("compare") == 3 == len(rows)
    picked, words = position_of(record, "Good day"), position_of(record, "rather ask")
    assert sorted(row["id"].rsplit("-", 2)[-2:] for row in rows) == [
        [f"a{picked}", f"a{other}"] for other in sorted({0, 1, 2, 3} - {picked})
    ]
    loaded = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == report.total_rows
    by_id = {row["id"]: row for row in rows}
    versus_original = next(row for key, row in by_id.items() if key.endswith(f"-a{picked}-a0"))
    versus_words = next(row for key, row in by_id.items() if key.endswith(f"-a{picked}-a{words}"))
    if fmt == "trl-dpo":
        assert versus_original["chosen"][0]["tool_calls"][0]["function"]["arguments"]["new_str"] == "'Good day, '"
        assert versus_original["rejected"][0]["tool_calls"][0]["function"]["arguments"]["new_str"] == "'Hello, '"
        assert versus_words["rejected"] == [
            {"role": "assistant", "content": "I would rather ask first: which greeting do you want?"}
        ]
        assert [m["role"] for m in versus_original["prompt"]] == ["system", "user"]
        assert versus_original["source"] == "compare" and versus_original["strength"] == 5
        assert loaded.features["chosen"] is not None and "prompt" in loaded.column_names
    elif fmt == "openai-dpo":
        assert (
            json.loads(versus_original["preferred_output"][0]["tool_calls"][0]["function"]["arguments"])["new_str"]
            == "'Good day, '"
        )
        assert versus_original["non_preferred_output"][0]["tool_calls"][0]["id"] == "toolu_original"
        assert set(versus_original) == {"id", "input", "preferred_output", "non_preferred_output"}
    elif fmt == "trl-reward":
        assert versus_original["margin"] == 1.0
        assert versus_original["chosen"][:-1] == versus_original["rejected"][:-1]
        assert versus_original["chosen"][-1]["tool_calls"][0]["function"]["arguments"]["new_str"] == "'Good day, '"
    else:
        assert versus_original["chosen"].endswith("'Good day, '\"}}</tool_call>")
        assert "\n\nAssistant: Politer.\n<tool_call>" in versus_original["rejected"]
        assert versus_words["rejected"].endswith("\n\nAssistant: I would rather ask first: which greeting do you want?")


def test_compare_rows_in_kto_and_raw_say_what_was_not_picked_and_how_each_answer_was_sampled(
    compared_session, tmp_path
):
    stack, record = compared_session
    kto = tmp_path / "kto.jsonl"
    export_dataset(stack.database, ExportOptions(format="trl-kto", out=kto))
    compare_rows = [row for row in _rows(kto) if row["source"] == "compare"]
    picked = position_of(record, "Good day")
    assert sorted(row["id"].rsplit("-", 1)[-1] for row in compare_rows) == [
        f"a{p}" for p in sorted({0, 1, 2, 3} - {picked})
    ]
    assert all(row["label"] is False for row in compare_rows)
    datasets.load_dataset("json", data_files=str(kto), split="train", cache_dir=str(tmp_path / "hf"))

    only = tmp_path / "only-compare.jsonl"
    report = export_dataset(
        stack.database, ExportOptions(format="trl-dpo", out=only, filters=ExportFilters(sources=("compare",)))
    )
    assert report.by_source == {"compare": 3} and all("-compare-" in row["id"] for row in _rows(only))

    raw = tmp_path / "raw.jsonl"
    export_dataset(stack.database, ExportOptions(format="raw", out=raw))
    (picked_row,) = [row for row in _rows(raw) if row["decision"]["compare"]]
    compared = picked_row["decision"]["compare"]
    assert compared["picked"] == picked and compared["compare_id"] == record.id
    assert [json.loads(a["sampling"]) for a in compared["alternatives"]][1:] == [{"max_tokens": 1024}] * 3
    assert [a["kind"] for a in compared["alternatives"]] == [a.kind for a in record.alternatives]
    assert sorted(a["kind"] for a in compared["alternatives"]) == ["edit", "edit", "edit", "none"]
    datasets.load_dataset("json", data_files=str(raw), split="train", cache_dir=str(tmp_path / "hf"))


# -- the command line, across real processes ---------------------------------------------------------------------------


def test_signoff_compare_samples_in_its_own_process_and_signoff_pick_reaches_the_runner(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app.standin.server import StandinServer
    from tests.cli.test_headless import signoff, wait_for_queue
    from tests.support.scripted_scenario import ScriptedScenario

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "greet.py").write_text(GREET)
    env = dict(os.environ, SIGNOFF_DB=str(tmp_path / "queue.db"), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    signoff("init-db", env=env)
    with StandinServer(ScriptedScenario([step_with_alternatives(), text_turn("Done.")])) as server:
        env.update(ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-ant-cli-test")
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "run",
                "--workspace",
                str(workspace),
                "--task",
                "Be polite",
                "--model",
                "claude-sonnet-5-5",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            (waiting,) = wait_for_queue(env, 1, runner)
            bad = signoff("compare", str(waiting["id"]), "-n", "7", env=env, check=False)
            assert bad.returncode == 1 and bad.stderr.strip() == "signoff: Ask for 2 to 4 alternatives, not 7."
            shown = signoff("compare", str(waiting["id"]), "-n", "3", env=env).stdout
            assert shown.count("=== [") == 4 and "=== [0] Original · edit greet.py (+1 −1)" in shown
            assert "+    return 'Good day, ' + name" in shown and "no change proposed" in shown
            again = signoff("compare", str(waiting["id"]), "--last", env=env).stdout
            assert again == shown
            lines = shown.splitlines()
            header = lines[lines.index("    says: Formal.") - 1]
            position = header.split("]", 1)[0].removeprefix("=== [")
            no_reason = signoff("pick", str(waiting["id"]), "--reject-all", env=env, check=False)
            assert no_reason.returncode == 1 and "needs --reason" in no_reason.stderr
            picked = signoff("pick", str(waiting["id"]), "--alternative", position, "--reviewer", "bob", env=env).stdout
            assert f"Picked alternative {position}" in picked
            twice = signoff("pick", str(waiting["id"]), "--alternative", "0", env=env, check=False)
            assert twice.returncode == 1 and twice.stderr.startswith(
                "signoff: Proposal 1 was already decided in compare mode: Replaced by alternative"
            )
            output, _ = runner.communicate(timeout=60)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
    assert runner.returncode == 0, output
    assert (workspace / "greet.py").read_text() == "def greet(name):\n    return 'Good day, ' + name\n"


def test_the_offline_demo_offers_distinct_alternatives_for_its_fix_including_one_without_a_change(stack_factory):
    import shutil

    from app.standin.demo import DEMO_PROMPT, DemoScenario, demo_workspace_source

    stack = stack_factory(DemoScenario())
    shutil.copytree(demo_workspace_source(), stack.workspace, dirs_exist_ok=True)

    async def scenario():
        session = await stack.start(DEMO_PROMPT)
        fix = await stack.waiting_proposal()
        record = await stack.manager.compare(fix.id, 3, requested_by="ada")
        title = position_of(record, "title()")
        await stack.manager.pick(compare.PickRequest(fix.id, record.id, title, "ada"))
        tests = await stack.until(lambda: _waiting_create(stack))
        stack.manager.stop(session.id)
        await stack.close()
        return record, tests

    record, tests = run(scenario())
    kinds = sorted(a.kind for a in record.alternatives[1:])
    assert kinds == ["edit", "edit", "none"]
    assert len({a.shown_hash for a in record.alternatives}) == 4
    assert "raw.strip().title()" in (stack.workspace / "greet.py").read_text()
    assert tests.path == "test_greet.py"


def _waiting_create(stack):
    from app.services import events

    for event in reversed(stack.seen):
        if isinstance(event, events.ProposalWaiting) and event.proposal.kind == "create":
            return event.proposal
    return None


def test_an_alternative_the_workspace_policy_denies_cannot_be_picked(stack_factory):
    from app.domain import policy
    from app.services import policy_file

    risky = tool_turn(
        text_block("Start over."), tool_use_block(COMMAND_TOOL_NAME, {"command": "rm -rf build"}, "toolu_rm")
    )
    stack = stack_factory(
        [Alternatives(tool_turn(edit("'Hello, '", "toolu_original")), risky), text_turn("Done.")],
        files={"greet.py": GREET},
    )
    policy_file.add_rules(stack.workspace, [policy.Rule.for_command("deny", "rm", None, "never delete")])

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 2, requested_by="ada")
        (rm,) = [a for a in record.alternatives if a.command == "rm -rf build"]
        # The script serves the original answer again as the second resample: its reused tool id is made unique.
        (again,) = [a for a in record.alternatives[1:] if a.kind == "edit"]
        assert again.tool_use_id == f"toolu_original_alt{again.position}"
        with pytest.raises(
            compare.CompareError, match=f"Alternative {rm.position} is denied by this workspace's policy"
        ):
            await stack.manager.pick(compare.PickRequest(proposal.id, record.id, rm.position, "ada"))
        still = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        stack.manager.stop(session.id)
        await stack.close()
        return still

    assert run(scenario()).status == "pending"


@pytest.mark.postgres
def test_a_pick_on_postgresql_is_applied_and_sealed(stack_factory, postgres_url):
    from app.store.db import open_database

    stack = stack_factory(
        [step_with_alternatives(), text_turn("Done.")], files={"greet.py": GREET}, db_url=postgres_url
    )

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        record = await stack.manager.compare(proposal.id, 3, requested_by="ada")
        await stack.manager.pick(compare.PickRequest(proposal.id, record.id, position_of(record, "Welcome"), "ada"))
        status = await stack.manager.wait(session.id)
        await stack.close()
        return status

    assert run(scenario()) == "finished"
    assert (stack.workspace / "greet.py").read_text() == "def greet(name):\n    return 'Welcome, ' + name\n"
    with open_database(postgres_url) as database:
        assert verify_chain(database).intact
