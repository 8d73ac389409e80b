"""The plan's checks, its numbered Markdown form and the step-by-step difference between two plans."""

from __future__ import annotations

import pytest

from app.domain.plans import (
    MAX_STEPS,
    Plan,
    PlanError,
    PlanStep,
    describe_changes,
    parse_markdown,
    plan_changes,
    plan_from_bytes,
    plan_from_input,
    render_markdown,
)

PLAN_INPUT = {
    "title": "Fix greet.py",
    "steps": [
        {"title": "Fix tidy_name", "detail": "Capitalise every word.\nKeep the stranger case.", "files": ["greet.py"]},
        {"title": "Add tests", "detail": "Unit tests for tidy_name and greet.", "files": ["test_greet.py"]},
        {"title": "Update the README", "detail": ""},
    ],
    "open_questions": ["Should runs of spaces collapse to one?"],
}


def test_a_well_formed_plan_round_trips_through_markdown_and_bytes():
    plan = plan_from_input(PLAN_INPUT)
    assert parse_markdown(render_markdown(plan)) == plan
    assert plan_from_bytes(plan.to_bytes()) == plan


def test_markdown_shows_numbered_steps_with_details_and_files():
    text = render_markdown(plan_from_input(PLAN_INPUT))
    assert "1. Fix tidy_name\n   Capitalise every word.\n   Keep the stranger case.\n   Files: greet.py" in text
    assert "3. Update the README" in text
    assert "## Open questions\n- Should runs of spaces collapse to one?" in text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a plan", "must be an object"),
        ({"title": "T", "steps": []}, "non-empty list of steps"),
        ({"title": "", "steps": [{"title": "a"}]}, "title is empty"),
        ({"title": 7, "steps": [{"title": "a"}]}, "must be a string"),
        ({"title": "T", "steps": ["do it"]}, "Step 1 must be an object"),
        ({"title": "T", "steps": [{"title": "a\nb"}]}, "must be one line"),
        ({"title": "T", "steps": [{"title": "x" * 201}]}, "the limit is 200"),
        ({"title": "T", "steps": [{"title": "a"}] * (MAX_STEPS + 1)}, f"the limit is {MAX_STEPS}"),
        ({"title": "T", "steps": [{"title": "a", "files": "greet.py"}]}, "list of paths"),
        ({"title": "T", "steps": [{"title": "a\u202eb"}]}, "hidden character"),
        ({"title": "T", "steps": [{"title": "a\x07"}]}, "control characters"),
        ({"title": "T", "steps": [{"title": "a"}], "open_questions": "why?"}, "list of strings"),
    ],
)
def test_hostile_plan_input_is_refused_with_one_sentence(raw, message):
    with pytest.raises(PlanError, match=message):
        plan_from_input(raw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no numbered steps"),
        ("# Title\n\nJust prose, no steps.\n", "Line 3 is neither"),
        ("# Title\n1. \n", "title is empty"),
        ("1. Step\n", "needs a '# title'"),
        ("# T\n1. a\n## Open questions\nnot a bullet\n", "Line 4"),
        ("# T\n1. a\x00b\n", "control characters"),
        ("# T\n" + "1. a\n" * (MAX_STEPS + 1), f"the limit is {MAX_STEPS}"),
    ],
)
def test_bad_markdown_plans_name_what_is_wrong(text, message):
    with pytest.raises(PlanError, match=message):
        parse_markdown(text)


def test_markdown_order_wins_over_the_numbers_written():
    plan = parse_markdown("# T\n2. second\n1. first\n")
    assert [s.title for s in plan.steps] == ["second", "first"]


def test_markdown_without_a_title_can_keep_the_proposed_title():
    assert parse_markdown("1) only step\n", default_title="Kept").title == "Kept"


def test_changes_name_each_removed_added_moved_and_reworded_step():
    old = plan_from_input(PLAN_INPUT)
    new = Plan(
        "Fix greet.py",
        (
            PlanStep("Add tests", "Unit tests for tidy_name and greet.", ("test_greet.py",)),
            PlanStep("Fix tidy_name in greet.py", "Capitalise every word.\nKeep the stranger case.", ("greet.py",)),
            PlanStep("Run the tests", "python3 -m unittest"),
        ),
        (),
    )
    changes = plan_changes(old, new)
    kinds = sorted((c["change"], c.get("old_number"), c.get("new_number")) for c in changes["steps"])
    assert kinds == [
        ("added", None, 3),
        ("moved", 1, 2),
        ("removed", 3, None),
        ("reworded", 1, 2),
    ]
    assert changes["open_questions"] == {"removed": ["Should runs of spaces collapse to one?"], "added": []}
    sentences = describe_changes(changes)
    assert "Removed step 3 ('Update the README')." in sentences
    assert "Added step 3: 'Run the tests'." in sentences
    assert any(s.startswith("Reworded step 1 (now 2): changed its title") for s in sentences)


def test_an_unchanged_plan_has_no_changes():
    plan = plan_from_input(PLAN_INPUT)
    assert plan_changes(plan, plan) == {"steps": []}


def test_delegating_is_allowed_without_a_rule_and_a_delegate_rule_can_ask_or_deny_by_role():
    from app.domain.policy import Policy, PolicyError, Rule

    assert Policy().check_delegate("coder").action == "allow"
    policy = Policy((Rule("deny", "delegate", "tester"), Rule("ask", "delegate", "*")))
    assert policy.check_delegate("tester").action == "deny"
    verdict = policy.check_delegate("coder")
    assert verdict.action == "ask" and "ask delegating to `*`" in verdict.reason
    # A delegate rule never matches a file, whatever its pattern.
    assert Policy((Rule("allow", "delegate", "*"),)).check_file("edit", "a.py").action == "ask"
    with pytest.raises(PolicyError, match="delegate"):
        Rule("allow", "delegates", "*")
