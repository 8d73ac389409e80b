"""How stored decisions become labelled completions and pairs (app.domain.preference), including property tests that a
pair never mixes prompts, and the secret patterns redaction catches."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import preference as pref
from app.domain.redaction import Redactor, redact

OLD_FILE = "def greet(name):\n    return 'hi ' + name\n"


def step(
    index: int,
    verdict: str,
    *,
    target: str = "greet.py",
    tool_input: dict | None = None,
    edited: bytes | None = None,
    old: str = OLD_FILE,
    new: str | None = None,
    hunks: list | None = None,
    reason: str | None = None,
) -> pref.DecidedStep:
    is_command = target == "$"
    if tool_input is None:
        tool_input = (
            {"command": f"echo {index}"}
            if is_command
            else {"command": "str_replace", "path": target, "old_str": "'hi '", "new_str": f"'v{index} '"}
        )
    if new is None and not is_command:
        new = old.replace("'hi '", tool_input.get("new_str", "'hi '"), 1)
    return pref.DecidedStep(
        proposal_id=index + 1,
        message_seq=2 * index + 1,
        tool_use_id=f"toolu_{index}",
        tool_name="run_command" if is_command else "str_replace_based_edit_tool",
        tool_input=tool_input,
        kind="command" if is_command else "edit",
        path=None if is_command else target,
        command=tool_input.get("command") if is_command else None,
        cwd="." if is_command else None,
        old_content=None if is_command else old.encode(),
        new_content=None if is_command else new.encode(),
        decision_id=100 + index,
        verdict=verdict,
        reason=reason or ("no" if verdict == "reject" else None),
        edited_content=edited,
        reviewer="ada",
        time_on_screen_ms=1000,
        decided_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        channel="window",
        hunk_verdicts=hunks,
        strength=None,
    )


def transcript(steps: list[pref.DecidedStep]) -> list[dict]:
    messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": "Do the task."}]}]
    for s in steps:
        assert s.message_seq == len(messages)
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Step {s.proposal_id}."},
                    {"type": "tool_use", "id": s.tool_use_id, "name": s.tool_name, "input": s.tool_input},
                ],
            }
        )
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": s.tool_use_id, "content": "ok"}]}
        )
    return messages


def test_approve_is_desirable_and_reject_undesirable_with_the_assistant_text_and_call():
    steps = [step(0, "approve"), step(1, "reject", target="other.py")]
    result = pref.session_examples(transcript(steps), steps)
    assert [(c.source, c.label) for c in result.completions] == [("approve", True), ("reject", False)]
    assert result.pairs == []
    first = result.completions[0]
    assert first.prompt_seq == 1 and first.completion.text == "Step 1." and first.completion.tool_use_id == "toolu_0"


def test_an_edited_str_replace_pairs_the_reviewers_new_str_against_the_models():
    applied = OLD_FILE.replace("'hi '", "'Good day, '").encode()
    steps = [step(0, "edit", edited=applied)]
    result = pref.session_examples(transcript(steps), steps)
    (pair,) = result.pairs
    assert pair.source == "edit" and pair.prompt_seq == 1
    assert pair.chosen.tool_input == {
        "command": "str_replace",
        "path": "greet.py",
        "old_str": "'hi '",
        "new_str": "'Good day, '",
    }
    assert pair.rejected.tool_input["new_str"] == "'v0 '"
    assert pair.chosen.text == pair.rejected.text == "Step 1."
    assert [(c.label, c.role) for c in result.completions] == [(True, "chosen"), (False, "rejected")]


def test_an_edit_outside_the_replaced_region_becomes_a_create_of_the_whole_applied_file():
    applied = b"# greeting\n" + OLD_FILE.replace("'hi '", "'Hello '").encode()
    (pair,) = pref.session_examples(transcript([s := step(0, "edit", edited=applied)]), [s]).pairs
    assert pair.chosen.tool_input == {"command": "create", "path": "greet.py", "file_text": applied.decode()}


def test_an_edited_command_pairs_the_reviewers_command_and_keeps_the_cwd():
    s = step(0, "edit", target="$", tool_input={"command": "rm -rf build", "cwd": "sub"}, edited=b"rm -rf build/cache")
    (pair,) = pref.session_examples(transcript([s]), [s]).pairs
    assert pair.chosen.tool_input == {"command": "rm -rf build/cache", "cwd": "sub"}
    assert pair.rejected.tool_input == {"command": "rm -rf build", "cwd": "sub"}


def test_a_whitespace_only_edit_makes_no_pair():
    proposed = step(0, "approve").new_content
    s = step(0, "edit", edited=proposed.replace(b"return", b"return  "))
    result = pref.session_examples(transcript([s]), [s])
    assert result.pairs == [] and result.skipped == {"whitespace_only_edit": 1}
    assert [(c.label, c.source) for c in result.completions] == [(True, "edit")]


def test_a_rejection_then_an_approved_revision_of_the_same_file_is_a_pair_on_the_original_prompt():
    steps = [step(0, "reject"), step(1, "approve", target="unrelated.py"), step(2, "approve")]
    result = pref.session_examples(transcript(steps), steps)
    (pair,) = result.pairs
    assert pair.source == "revision" and pair.prompt_seq == steps[0].message_seq
    assert pair.step is steps[0] and pair.related is steps[2]
    assert pair.rejected.tool_input == steps[0].tool_input and pair.chosen.tool_input == steps[2].tool_input
    assert pair.chosen.text == pair.rejected.text == ""


def test_per_hunk_verdicts_pair_what_was_applied_against_the_full_proposal():
    applied = OLD_FILE.replace("'hi '", "'hey '").encode()
    verdicts = [{"hunk": 0, "verdict": "edit", "edited": "'hey '"}]
    s = step(0, "edit", edited=applied, hunks=verdicts)
    (pair,) = pref.session_examples(transcript([s]), [s]).pairs
    assert pair.source == "hunks" and pair.rejected.tool_input == s.tool_input
    assert pair.chosen.tool_input["new_str"] == "'hey '"


def test_per_hunk_verdicts_that_approve_everything_are_an_approval():
    s = step(0, "approve", hunks=[{"hunk": 0, "verdict": "approve"}])
    result = pref.session_examples(transcript([s]), [s])
    assert result.pairs == [] and [(c.source, c.label) for c in result.completions] == [("approve", True)]


def test_non_utf8_edits_are_skipped_and_counted():
    s = step(0, "edit", edited=b"\xff\xfe\x00binary")
    result = pref.session_examples(transcript([s]), [s])
    assert result.pairs == [] and result.skipped == {"binary_content": 1}


def test_tool_results_become_named_tool_messages_for_trl_and_tool_call_ids_for_openai():
    steps = [step(0, "approve")]
    messages = transcript(steps)
    names = pref.tool_names_by_id(messages)
    assert pref.chat_messages(messages[2], "trl", names) == [
        {"role": "tool", "name": "str_replace_based_edit_tool", "content": "ok"}
    ]
    assert pref.chat_messages(messages[2], "openai", names) == [
        {"role": "tool", "tool_call_id": "toolu_0", "content": "ok"}
    ]
    (openai_call,) = pref.chat_messages(messages[1], "openai", names)[0]["tool_calls"]
    assert (
        openai_call["function"]["arguments"]
        == '{"command": "str_replace", "path": "greet.py", "old_str": "\'hi \'", "new_str": "\'v0 \'"}'
    )


# -- properties --------------------------------------------------------------------------------------------------------

TARGETS = st.sampled_from(["a.py", "b.py", "$"])
VERDICTS = st.sampled_from(["approve", "reject", "edit", "edit_ws"])


@st.composite
def sessions(draw) -> list[pref.DecidedStep]:
    plan = draw(st.lists(st.tuples(TARGETS, VERDICTS, st.text(alphabet="xyz \n", min_size=0, max_size=6)), max_size=14))
    steps = []
    for index, (target, verdict, extra) in enumerate(plan):
        base = step(index, "approve", target=target)
        proposed = base.command.encode() if target == "$" else base.new_content
        if verdict == "approve" or verdict == "reject":
            steps.append(step(index, verdict, target=target))
        elif verdict == "edit_ws":
            steps.append(step(index, "edit", target=target, edited=proposed + b" \n"))
        else:
            steps.append(step(index, "edit", target=target, edited=proposed + b"!" + extra.encode()))
    return steps


@settings(max_examples=200, deadline=None)
@given(sessions())
def test_pairs_never_mix_prompts(steps):
    messages = transcript(steps)
    result = pref.session_examples(messages, steps)
    for pair in result.pairs:
        # The prompt is the anchor decision's own conversation, cut right before its proposal.
        assert pair.prompt_seq == pair.step.message_seq
        ids_in_prompt = {
            b.get("id") for m in messages[: pair.prompt_seq] for b in m["content"] if b["type"] == "tool_use"
        }
        assert pair.rejected.tool_use_id == pair.step.tool_use_id
        assert pair.rejected.tool_use_id not in ids_in_prompt and pair.chosen.tool_use_id not in ids_in_prompt
        assert pair.chosen.tool_input != pair.rejected.tool_input
        assert pair.chosen.tool_name == pair.rejected.tool_name
        if pair.source == "revision":
            assert pair.step.verdict == "reject" and pair.related.verdict == "approve"
            assert pair.related.proposal_id > pair.step.proposal_id and pair.related.target == pair.step.target
            between = [s for s in steps if pair.step.proposal_id < s.proposal_id < pair.related.proposal_id]
            assert all(s.verdict == "reject" for s in between if s.target == pair.step.target)
            assert pair.chosen.text == pair.rejected.text == ""
        else:
            assert pair.source == "edit" and pair.related is None
            assert pair.chosen.text == pair.rejected.text  # same turn, only the call differs
    for item in result.completions:
        assert item.prompt_seq == item.step.message_seq
    labels = {(c.step.decision_id, c.label) for c in result.completions if c.source in ("approve", "reject")}
    assert labels == {(s.decision_id, s.verdict == "approve") for s in steps if s.verdict in ("approve", "reject")}


# -- redaction ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "kept"),
    [
        ("key sk-ant-api03-" + "x" * 24 + " here", "anthropic_key", "key "),
        ("OPENAI sk-proj-" + "A1" * 12, "openai_key", "OPENAI "),
        ("push with ghp_" + "Z9" * 18, "github_token", "push with "),
        ("github_pat_" + "11ABC" * 6, "github_token", ""),
        ("aws AKIAIOSFODNN7EXAMPLE done", "aws_access_key", "aws "),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----", "private_key", ""),
        ("postgres://app:s3cr3t@db.internal/prod", "url_password", "postgres://app:"),
        ("export SLACK_TOKEN=xoxb-12345-abc", "assignment", "export SLACK_TOKEN="),
        ('STRIPE_API_KEY="rk_live_abcdef"', "assignment", 'STRIPE_API_KEY="'),
    ],
)
def test_each_kind_of_secret_is_replaced_and_counted(text, kind, kept):
    redacted, counts = redact(text)
    assert counts == {kind: 1}
    assert f"[REDACTED:{kind}]" in redacted and redacted.startswith(kept)


@pytest.mark.parametrize(
    "text",
    [
        "the KEY point",
        "GITHUB_TOKEN=$GITHUB_TOKEN",
        "see https://example.com/a:b",
        "sk-short",
        "PASSWORD=<your password>",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == (text, {})


def test_a_redactor_counts_across_nested_values_and_leaves_keys_alone():
    redactor = Redactor()
    value = {"sk-ant-api03-keyname": ["AKIAIOSFODNN7EXAMPLE", {"x": "ghp_" + "a" * 36}], "n": 3}
    assert redactor.value(value) == {
        "sk-ant-api03-keyname": ["[REDACTED:aws_access_key]", {"x": "[REDACTED:github_token]"}],
        "n": 3,
    }
    assert redactor.counts == {"aws_access_key": 1, "github_token": 1} and redactor.total == 2


def test_team_reviews_keep_the_adjudication_or_one_of_two_agreeing_reviews_and_drop_disagreements():
    from dataclasses import replace

    agree = [
        replace(step(0, "approve"), decision_id=1, review_stage="first"),
        replace(step(0, "approve"), decision_id=2, review_stage="second"),
    ]
    disagree = [
        replace(step(1, "approve", target="b.py"), decision_id=3, review_stage="first"),
        replace(step(1, "reject", target="b.py"), decision_id=4, review_stage="second"),
    ]
    settled = [
        replace(step(2, "approve", target="c.py"), decision_id=5, review_stage="first"),
        replace(step(2, "reject", target="c.py"), decision_id=6, review_stage="second"),
        replace(step(2, "reject", target="c.py"), decision_id=7, review_stage="adjudication"),
    ]
    kept, disagreements = pref.settled_steps(agree + disagree + settled)
    assert [s.decision_id for s in kept] == [2, 7] and disagreements == 1
