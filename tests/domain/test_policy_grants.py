"""Rules that grant a sandboxed command .git writes or network: how they are written, read, labelled and matched."""

from __future__ import annotations

import pytest

from app.domain import policy
from app.domain.policy import Policy, PolicyError, Rule


def test_a_granting_rule_survives_a_round_trip_through_the_file():
    rule = Rule.for_command("allow", "git commit", git_writes=True, network=True)
    text = policy.dumps(Policy((rule,), "always"))
    assert "git_writes = true" in text and "network = true" in text and 'review_effects = "always"' in text
    loaded = policy.loads(text)
    assert loaded.rules == (rule,) and loaded.review_effects == "always"
    assert rule.label == "allow command `git commit` with .git writes and network"


def test_only_allow_rules_for_commands_may_grant():
    with pytest.raises(PolicyError, match="Only an allow rule for commands"):
        Rule("allow", "file", "src/**", git_writes=True)
    with pytest.raises(PolicyError, match="Only an allow rule for commands"):
        Rule.for_command("deny", "git", network=True)
    with pytest.raises(PolicyError, match="must be true or false"):
        policy.loads('version = 1\n[[rule]]\naction = "allow"\nkind = "command"\npattern = "x"\nnetwork = "yes"\n')


def test_review_effects_must_be_one_of_three_and_says_where(tmp_path):
    with pytest.raises(PolicyError, match=r"line 2: review_effects must be one of"):
        policy.loads('version = 1\nreview_effects = "sometimes"\n')
    text, changed = policy.text_with_review_effects("# mine\nversion = 1\n", "never")
    assert text.startswith("# mine") and changed.review_effects == "never"


def test_a_rule_granting_git_writes_allows_git_commit_by_prefix_but_not_options_before_it(tmp_path):
    granting = Policy((Rule.for_command("allow", "git commit", git_writes=True),))
    plain = Policy((Rule.for_command("allow", "git commit"),))
    verdict = granting.check_command("git commit -q -m 'a message'", root=tmp_path)
    assert verdict.action == "allow" and verdict.git_writes and not verdict.network
    assert plain.check_command("git commit -q -m x", root=tmp_path).action == "ask"
    assert granting.check_command("git -c core.hooksPath=/tmp commit -m x", root=tmp_path).action == "ask"


def test_a_command_line_gets_a_grant_only_when_every_rule_that_allowed_it_grants_it(tmp_path):
    rules = Policy(
        (
            Rule.for_command("allow", "git commit", git_writes=True),
            Rule.for_command("allow", "git add", git_writes=True),
        )
    )
    assert rules.check_command("git add -A && git commit -m x", root=tmp_path).git_writes
    mixed = rules.with_rules([Rule.for_command("allow", "ls")])
    verdict = mixed.check_command("ls && git commit -m x", root=tmp_path)
    assert verdict.action == "allow" and not verdict.git_writes


def test_the_command_line_adds_granting_rules_and_says_what_a_check_grants(tmp_path, capsys):
    from app import cli

    assert (
        cli.main(["policy", "add", "allow", "command", "git commit", "--git-writes", "--workspace", str(tmp_path)]) == 0
    )
    assert "with .git writes" in capsys.readouterr().out
    assert cli.main(["policy", "check", "--command", "git commit -m x", "--workspace", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("Grants .git writes.")
    assert cli.main(["policy", "add", "allow", "file", "src/**", "--network", "--workspace", str(tmp_path)]) == 1
    assert "Only an allow rule for commands" in capsys.readouterr().err
