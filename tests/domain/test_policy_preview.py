"""What "always allow" would add, previewed: the rules' exact text and the past proposals they would have matched."""

from __future__ import annotations

from app.domain.policy import Policy, Rule, loads, rule_text, rules_to_always_allow
from app.domain.policy_preview import preview_always_allow
from tests.domain.test_policy import _decision, _proposal


def test_the_preview_lists_past_matches_newest_first_and_counts_the_rejected_ones() -> None:
    now = _proposal(9, "command", command="pytest -q && ruff check")
    history = [
        (_proposal(1, "command", command="pytest -q"), _decision(1)),
        (_proposal(2, "command", command="pytest -q -x"), _decision(2)),
        (_proposal(3, "command", command="cd src && ruff check"), _decision(3, "reject")),
        (_proposal(4, "edit", path="pytest"), _decision(4)),
    ]
    preview = preview_always_allow(now, rules_to_always_allow(now), Policy(), history)
    assert [m.proposal_id for m in preview.matches] == [3, 1]
    assert (preview.matched_count, preview.history_count, preview.rejected_matches) == (2, 4, 1)
    assert preview.matches[0].target == "$ cd src && ruff check" and preview.matches[0].verdict == "reject"


def test_the_text_is_what_the_policy_file_gets_and_rules_already_there_are_not_offered_again() -> None:
    now = _proposal(5, "edit", path="docs/[draft].md")
    rules = rules_to_always_allow(now)
    preview = preview_always_allow(now, rules, Policy(), [(_proposal(1, "edit", path="docs/[draft].md"), _decision(1))])
    assert preview.text == rule_text(rules[0])
    assert loads("version = 1\n\n" + preview.text).rules == tuple(rules)
    assert [m.proposal_id for m in preview.matches] == [1]
    already = preview_always_allow(now, rules, Policy(tuple(rules)), [])
    assert already.rules == () and already.text == ""
    assert preview_always_allow(now, [Rule("allow", "file", "src/**")], Policy(), []).history_count == 0
