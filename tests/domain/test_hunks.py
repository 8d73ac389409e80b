"""Per-hunk decisions as pure bytes: approving every hunk gives the proposal, rejecting every hunk gives the old file,
any subset gives the old file plus exactly those hunks (checked with the real `git apply` and by diffing again)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import hunks
from app.domain.diff_types import FileDiff
from app.domain.diffing import compute_diff
from app.domain.hunks import HunkError, HunkVerdict
from tests.domain.test_diff_roundtrip import edited_pairs
from tests.support.git_apply import GitApplier
from tests.support.store_queries import pending_proposals

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATH = "pkg/module.py"


@pytest.fixture(scope="module")
def applier(tmp_path_factory) -> GitApplier:
    return GitApplier(tmp_path_factory.mktemp("git-apply-hunks"))


def patch_of(diff: FileDiff, indexes: list[int], *, on_top_of: list[int] = ()) -> bytes:
    """A git patch holding only the hunks at ``indexes``: against the old file, or against the old file with the
    hunks ``on_top_of`` already applied (its old-side line numbers then move by what those hunks added)."""
    out = [f"diff --git a/{diff.path} b/{diff.path}\n--- a/{diff.path}\n+++ b/{diff.path}\n".encode()]
    old_shift = new_shift = 0
    for index, hunk in enumerate(diff.hunks):
        growth = hunk.new_lines - hunk.old_lines
        if index not in indexes:
            if index in on_top_of:
                old_shift += growth
            else:
                new_shift -= growth
            continue
        old_start = hunk.old_start + old_shift
        new_start = hunk.new_start if on_top_of else hunk.new_start + new_shift
        out.append(f"@@ -{old_start},{hunk.old_lines} +{new_start},{hunk.new_lines} @@\n".encode())
        for line in hunk.lines:
            out.append(line.origin.encode() + line.raw)
            if not line.raw.endswith(b"\n"):
                out.append(b"\n\\ No newline at end of file\n")
    return b"".join(out)


@st.composite
def pairs_with_a_subset(draw):
    old, new = draw(edited_pairs())
    diff = compute_diff(old, new, PATH)
    chosen = sorted(draw(st.sets(st.integers(min_value=0, max_value=max(0, len(diff.hunks) - 1)))))
    return old, new, diff, [i for i in chosen if i < len(diff.hunks)]


@PROPERTY_SETTINGS
@given(pair=edited_pairs())
def test_approving_every_hunk_gives_the_proposed_bytes_and_rejecting_every_hunk_gives_the_old_bytes(pair):
    old, new = pair
    diff = compute_diff(old, new, PATH)
    if not diff.hunks:
        return
    every = range(len(diff.hunks))
    approved = hunks.apply_verdicts(old, diff, [HunkVerdict(i, hunks.APPROVE) for i in every])
    rejected = hunks.apply_verdicts(old, diff, [HunkVerdict(i, hunks.REJECT, reason="no") for i in every])
    assert approved.content == new and hunks.summary(approved) == ("approve", None)
    assert rejected.content == old and hunks.summary(rejected)[0] == "reject"


@PROPERTY_SETTINGS
@given(case=pairs_with_a_subset())
def test_any_subset_is_the_old_file_plus_exactly_those_hunks_by_git_apply(applier, case):
    old, new, diff, chosen = case
    if not diff.hunks:
        return
    result = hunks.apply_verdicts(old, diff, hunks.verdicts_for(chosen, len(diff.hunks)))
    assert [o.hunk for o in result.applied] == chosen
    if chosen:
        assert applier.apply(old, patch_of(diff, chosen), PATH) == result.content
    else:
        assert result.content == old
    # What the reviewer held back, applied on top, completes the proposal.
    rest = [i for i in range(len(diff.hunks)) if i not in chosen]
    if rest:
        assert applier.apply(result.content, patch_of(diff, rest, on_top_of=chosen), PATH) == new


@st.composite
def distinct_line_edits(draw):
    """A file of distinct lines and an edit of it whose new lines are distinct too, so a diff aligns one way only."""
    size = draw(st.integers(min_value=1, max_value=60))
    old_lines = [f"line {i}\n".encode() for i in range(size)]
    new_lines = list(old_lines)
    fresh = iter(range(10_000))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        index = draw(st.integers(min_value=0, max_value=len(new_lines)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or index == len(new_lines):
            new_lines[index:index] = [f"new {next(fresh)}\n".encode() for _ in range(draw(st.integers(1, 3)))]
        elif action == "delete":
            del new_lines[index]
        else:
            new_lines[index] = f"changed {next(fresh)}\r\n".encode()
    return b"".join(old_lines), b"".join(new_lines)


def changes(diff: FileDiff) -> list[list[tuple[str, int | None, bytes]]]:
    """Each hunk's changed lines: origin, old line number of removals, exact bytes."""
    return [
        [
            (line.origin, line.old_lineno if line.origin == "-" else None, line.raw)
            for line in hunk.lines
            if line.origin != " "
        ]
        for hunk in diff.hunks
    ]


@PROPERTY_SETTINGS
@given(pair=distinct_line_edits(), data=st.data())
def test_diffing_the_result_against_the_old_file_shows_exactly_the_chosen_hunks(pair, data):
    old, new = pair
    diff = compute_diff(old, new, PATH)
    if not diff.hunks:
        return
    chosen = sorted(data.draw(st.sets(st.integers(0, len(diff.hunks) - 1))))
    result = hunks.apply_verdicts(old, diff, hunks.verdicts_for(chosen, len(diff.hunks)))
    again = compute_diff(old, result.content, PATH)
    assert changes(again) == [changes(diff)[i] for i in chosen]


@PROPERTY_SETTINGS
@given(case=pairs_with_a_subset(), data=st.data())
def test_an_edited_hunk_puts_the_reviewers_bytes_exactly_where_the_hunk_was(case, data):
    old, new, diff, _chosen = case
    if not diff.hunks:
        return
    target = data.draw(st.integers(0, len(diff.hunks) - 1))
    mine = data.draw(st.sampled_from([b"", b"mine\n", b"mine\r\n", b"a\nb", "é\u202e\n".encode()]))
    verdicts = [
        HunkVerdict(i, hunks.EDIT, edited=mine) if i == target else HunkVerdict(i, hunks.REJECT, reason="no")
        for i in range(len(diff.hunks))
    ]
    result = hunks.apply_verdicts(old, diff, verdicts)
    hunk = diff.hunks[target]
    old_numbers = [line.old_lineno for line in hunk.lines if line.origin != "+"]
    start = old_numbers[0] - 1 if old_numbers else hunk.old_start
    lines = hunks.split_lines(old)
    before = b"".join(lines[:start])
    after = b"".join(lines[start + len(old_numbers) :])
    assert result.content == before + mine + after
    assert hunks.summary(result)[0] == "edit"


def greet_diff() -> tuple[bytes, bytes, FileDiff]:
    old = b"".join(b"line %d\r\n" % i for i in range(30))
    new = old.replace(b"line 2\r\n", b"line two\r\n").replace(b"line 20\r\n", b"line twenty\r\n")
    new = new[:-2]  # and the last line loses its final newline
    return old, new, compute_diff(old, new, "greet.txt")


def test_crlf_and_a_missing_final_newline_survive_a_partial_decision():
    old, new, diff = greet_diff()
    assert len(diff.hunks) == 3
    result = hunks.apply_verdicts(old, diff, hunks.verdicts_for([0, 2], 3))
    assert result.content == old.replace(b"line 2\r\n", b"line two\r\n")[:-2]
    assert [o.number for o in result.not_applied] == [2]


def test_invalid_utf8_bytes_are_applied_as_bytes():
    old = b"a\n\xff\xfe bad\nc\n" + b"".join(b"pad %d\n" % i for i in range(10)) + b"z\n"
    new = old.replace(b"\xff\xfe bad\n", b"\xff\xfd worse\n").replace(b"z\n", b"\x80\n")
    diff = compute_diff(old, new, "blob.txt")
    result = hunks.apply_verdicts(old, diff, hunks.verdicts_for([0], len(diff.hunks)))
    assert result.content == old.replace(b"\xff\xfe bad\n", b"\xff\xfd worse\n")


def test_a_new_file_judged_by_hunk_is_all_or_nothing():
    diff = compute_diff(None, b"a\nb\n", "new.txt")
    assert hunks.apply_verdicts(None, diff, [HunkVerdict(0, hunks.APPROVE)]).content == b"a\nb\n"
    assert hunks.apply_verdicts(None, diff, [HunkVerdict(0, hunks.REJECT, "no")]).content == b""


@pytest.mark.parametrize(
    ("verdicts", "message"),
    [
        ([HunkVerdict(0, "approve"), HunkVerdict(1, "approve")], "hunk 3 of 3 is undecided"),
        ([HunkVerdict(0, "approve"), HunkVerdict(1, "reject", "  "), HunkVerdict(2, "approve")], "without a reason"),
        (
            [
                HunkVerdict(0, "approve"),
                HunkVerdict(0, "approve"),
                HunkVerdict(1, "approve"),
                HunkVerdict(2, "approve"),
            ],
            "judged twice",
        ),
        ([HunkVerdict(5, "approve")], "There is no hunk 6; this change has 3 hunks."),
        ([HunkVerdict(0, "maybe"), HunkVerdict(1, "approve"), HunkVerdict(2, "approve")], "unknown verdict 'maybe'"),
        ([HunkVerdict(0, "edit"), HunkVerdict(1, "approve"), HunkVerdict(2, "approve")], "no edited content"),
    ],
)
def test_incomplete_or_malformed_verdicts_are_refused_with_one_clear_line(verdicts, message):
    old, _new, diff = greet_diff()
    with pytest.raises(HunkError, match=message.replace("(", r"\(")) as caught:
        hunks.apply_verdicts(old, diff, verdicts)
    assert "\n" not in str(caught.value)


def test_binary_and_unchanged_files_cannot_be_split():
    with pytest.raises(HunkError, match="binary"):
        hunks.apply_verdicts(b"\0a", compute_diff(b"\0a", b"\0b", "x.bin"), [])
    with pytest.raises(HunkError, match="no hunks"):
        hunks.apply_verdicts(b"a\n", compute_diff(b"a\n", b"a\n", "x.txt"), [])


def test_a_diff_of_other_content_is_refused_instead_of_writing_a_mix():
    _old, _new, diff = greet_diff()
    with pytest.raises(HunkError, match="does not match the old content"):
        hunks.apply_verdicts(b"something else\n", diff, hunks.verdicts_for([0], 3))


def test_stored_form_round_trips_and_keeps_edits_as_text():
    verdicts = [
        HunkVerdict(1, "reject", " too broad "),
        HunkVerdict(0, "edit", edited=b"x\r\ny"),
        HunkVerdict(2, "approve"),
    ]
    stored = hunks.to_json(verdicts)
    assert stored == [
        {"hunk": 0, "verdict": "edit", "reason": None, "edited": "x\r\ny"},
        {"hunk": 1, "verdict": "reject", "reason": "too broad", "edited": None},
        {"hunk": 2, "verdict": "approve", "reason": None, "edited": None},
    ]
    assert hunks.from_json(stored) == sorted(
        [HunkVerdict(0, "edit", edited=b"x\r\ny"), HunkVerdict(1, "reject", "too broad"), HunkVerdict(2, "approve")],
        key=lambda v: v.hunk,
    )
    with pytest.raises(HunkError, match="not valid UTF-8"):
        hunks.to_json([HunkVerdict(0, "edit", edited=b"\xff")])
    with pytest.raises(HunkError, match="must be a list"):
        hunks.from_json({"hunk": 0})


def test_editor_text_goes_back_with_the_hunks_line_endings_and_final_newline():
    old, _new, diff = greet_diff()
    first, last = diff.hunks[0], diff.hunks[-1]
    assert hunks.edited_bytes(first, hunks.edit_text(first)) == hunks.new_side(first)
    assert hunks.edited_bytes(last, hunks.edit_text(last)) == hunks.new_side(last)
    assert hunks.edited_bytes(first, "a\nb") == b"a\r\nb\r\n"
    assert hunks.edited_bytes(last, "a\nb\n") == b"a\r\nb"
    assert hunks.edited_bytes(first, "") == b""


def test_summary_joins_the_reasons_of_held_back_hunks():
    old, _new, diff = greet_diff()
    verdicts = [
        HunkVerdict(0, "reject", "wrong name"),
        HunkVerdict(1, "approve"),
        HunkVerdict(2, "reject", "keep newline"),
    ]
    result = hunks.apply_verdicts(old, diff, verdicts)
    assert hunks.summary(result) == ("edit", "Hunk 1: wrong name; Hunk 3: keep newline")
    assert hunks.hunk_title(diff, 1).startswith("Hunk 2 of 3 · @@ -")


# ------------------------------------------------------------------------------------------- through the agent loop

ORIGINAL = "".join(f"line {i}\r\n" for i in range(1, 31))
REWRITTEN = (
    ORIGINAL.replace("line 2\r\n", "line two\r\n")
    .replace("line 15\r\n", "line fifteen\r\n")
    .replace("line 28\r\n", "line twenty-eight\r\n")
)


def rewrite_turns():
    from app.domain.tools import EDITOR_TOOL_NAME
    from app.standin.scenario import text_turn, tool_turn, tool_use_block

    create = tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "notes.txt", "file_text": REWRITTEN})
    return [tool_turn(create), text_turn("Continuing from the file as it is.")]


def test_mixed_hunk_decision_writes_old_plus_approved_hunks_and_tells_the_agent_which_and_why(stack_factory):
    from app.services import review
    from tests.support.agent_harness import run

    stack = stack_factory(rewrite_turns(), files={"notes.txt": ORIGINAL.encode()})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        verdicts = [
            HunkVerdict(0, hunks.APPROVE),
            HunkVerdict(1, hunks.REJECT, reason="keep the digits in the middle"),
            HunkVerdict(
                2, hunks.EDIT, edited=b"line 25\r\nline 26\r\nline 27\r\nline 28 (reviewed)\r\nline 29\r\nline 30\r\n"
            ),
        ]
        await stack.manager.decide(review.by_hunk(proposal.id, "ada", verdicts))
        assert await stack.manager.wait(session.id) == "finished"
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return decisions, stored

    ((_, decision),), stored = run(scenario())
    assert stored.status == "applied"
    expected = ORIGINAL.replace("line 2\r\n", "line two\r\n").replace("line 28\r\n", "line 28 (reviewed)\r\n").encode()
    assert (stack.workspace / "notes.txt").read_bytes() == expected
    assert decision.verdict == "edit" and decision.edited_content == expected
    assert decision.reason == "Hunk 2: keep the digits in the middle"
    assert [(v["hunk"], v["verdict"], v["reason"]) for v in decision.hunk_verdicts] == [
        (0, "approve", None),
        (1, "reject", "keep the digits in the middle"),
        (2, "edit", None),
    ]
    assert decision.hunk_verdicts[2]["edited"].endswith("line 28 (reviewed)\r\nline 29\r\nline 30\r\n")
    (result,) = stack.last_request_tool_results()
    text = result["content"]
    assert not result.get("is_error")
    assert "2 of 3 hunks applied, 1 not applied" in text
    assert "hunk 1 (@@ -1,5 +1,5 @@): applied as you proposed." in text
    assert "hunk 2 (@@ -12,7 +12,7 @@" in text and "NOT applied. Reason: keep the digits in the middle" in text
    assert "hunk 3 (@@ -25,6 +25,6 @@" in text and "applied with the reviewer's edits" in text
    assert "now holds exactly its old content plus the applied hunks" in text
    # The proposed -> applied diff makes the state exact: line 15 stayed, line 28 is the reviewer's.
    assert "-line fifteen\r\n+line 15\r\n" in text
    assert "-line twenty-eight\r\n+line 28 (reviewed)\r\n" in text


def test_rejecting_every_hunk_changes_nothing_and_the_agent_reads_each_reason(stack_factory):
    from app.services import review
    from tests.support.agent_harness import run

    stack = stack_factory(rewrite_turns(), files={"notes.txt": ORIGINAL.encode()})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        verdicts = [HunkVerdict(i, hunks.REJECT, reason=f"reason {i + 1}") for i in range(3)]
        await stack.manager.decide(review.by_hunk(proposal.id, "ada", verdicts))
        await stack.manager.wait(session.id)
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        await stack.close()
        return decisions

    ((_, decision),) = run(scenario())
    assert (stack.workspace / "notes.txt").read_bytes() == ORIGINAL.encode()
    assert decision.verdict == "reject" and decision.edited_content is None
    assert decision.reason == "Hunk 1: reason 1; Hunk 2: reason 2; Hunk 3: reason 3"
    (result,) = stack.last_request_tool_results()
    assert result["is_error"] is True
    assert "rejected every hunk" in result["content"] and "Nothing was changed" in result["content"]
    assert all(f"NOT applied. Reason: reason {i}" in result["content"] for i in (1, 2, 3))


def test_approving_every_hunk_is_an_ordinary_approval_with_the_hunks_kept(stack_factory):
    from app.services import review
    from tests.support.agent_harness import run

    stack = stack_factory(rewrite_turns(), files={"notes.txt": ORIGINAL.encode()})

    async def scenario():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.manager.decide(review.by_hunk(proposal.id, "ada", hunks.verdicts_for([0, 1, 2], 3)))
        await stack.manager.wait(session.id)
        decisions = await stack.repository.read(lambda store: store.proposals.decisions_for_session(session.id))
        await stack.close()
        return decisions

    ((_, decision),) = run(scenario())
    assert (stack.workspace / "notes.txt").read_bytes() == REWRITTEN.encode()
    assert decision.verdict == "approve" and decision.edited_content is None and len(decision.hunk_verdicts) == 3
    (result,) = stack.last_request_tool_results()
    assert "Approved by the reviewer and applied" in result["content"]


def test_an_undecided_hunk_is_refused_and_nothing_is_recorded(stack_factory):
    from app.services import review
    from app.services.review import ReviewError
    from tests.support.agent_harness import run

    stack = stack_factory(rewrite_turns(), files={"notes.txt": ORIGINAL.encode()})

    async def scenario():
        await stack.start()
        proposal = await stack.waiting_proposal()
        with pytest.raises(ReviewError, match="hunk 3 of 3 is undecided"):
            await stack.manager.decide(
                review.by_hunk(proposal.id, "ada", [HunkVerdict(0, "approve"), HunkVerdict(1, "approve")])
            )
        pending = await stack.repository.read(pending_proposals)
        stack.manager.stop(proposal.session_id)
        await stack.close()
        return pending, proposal

    pending, proposal = run(scenario())
    assert [p.id for p in pending] == [proposal.id]
    assert (stack.workspace / "notes.txt").read_bytes() == ORIGINAL.encode()
