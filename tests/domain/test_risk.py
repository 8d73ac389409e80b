"""The risk score: each reason raises it, a red verifier or hidden characters alone make it high, and it says why."""

from __future__ import annotations

import datetime as dt

from app.domain.judgments import CriticResult, VerifierResult
from app.domain.path_glob import path_glob_regex
from app.domain.risk import risk_of, sensitive_match


def verifier(status: str, failing: list[str] | None = None) -> VerifierResult:
    return VerifierResult(1, status, "pytest", dt.datetime.now(dt.UTC), 1.0, newly_failing=failing or [])


def test_a_plain_small_edit_is_low_risk_and_a_red_verifier_makes_it_high_and_names_the_test() -> None:
    calm = risk_of(kind="edit", path="src/app.py", command=None, lines_changed=4)
    red = risk_of(kind="edit", path="src/app.py", command=None, verifier=verifier("failed", ["t.py::test_a"]))
    assert calm.score < 0.1 and calm.reasons == ()
    assert red.score >= 0.6
    assert red.reasons[0] == "the verifier found newly failing tests: t.py::test_a"


def test_reasons_add_up_and_come_most_important_first() -> None:
    critic = CriticResult(1, "done", "m", verdict="reject", score=0.1)
    risk = risk_of(
        kind="edit",
        path="migrations/0009.py",
        command=None,
        flags={"hidden"},
        critic=critic,
        verifier=verifier("passed"),
    )
    assert risk.score > 0.8
    assert risk.reasons[0] == "hidden or look-alike characters"
    assert "a sensitive path (migrations/**)" in risk.reasons
    assert "the critic says reject (score 0.10)" in risk.reasons


def test_commands_that_delete_or_reach_the_network_outrank_test_runs() -> None:
    rm = risk_of(kind="command", path=None, command="rm -rf build")
    tests = risk_of(kind="command", path=None, command="pytest -q")
    assert rm.score > 0.5 > tests.score


def test_sensitive_globs_match_names_at_any_depth_and_folders() -> None:
    assert sensitive_match("poetry.lock", ["*.lock"]) == "*.lock"
    assert sensitive_match("a/b/poetry.lock", ["*.lock"]) == "*.lock"
    assert sensitive_match(".github/workflows/ci.yml", [".github/**"]) == ".github/**"
    assert sensitive_match("src/app.py", [".github/**", "*.lock"]) is None


def test_sensitive_match_names_the_first_pattern_in_order_as_a_pattern_by_pattern_loop_would():
    globs = ["secrets/**", "*.pem", "config/*.pem", "**/id_rsa*", "[!a]*.key"]
    cases = {
        "config/server.pem": "*.pem",  # a file-name match of an earlier pattern beats a later path match
        "secrets/config/server.pem": "secrets/**",
        "home/id_rsa.pub": "**/id_rsa*",
        "deep/b.key": "[!a]*.key",
        "deep/a.key": None,
        "src/app.py": None,
    }
    for path, expected in cases.items():
        looped = next(
            (
                pattern
                for pattern in globs
                if path_glob_regex(pattern).fullmatch(path)
                or ("/" not in pattern and path_glob_regex(pattern).fullmatch(path.rsplit("/", 1)[-1]))
            ),
            None,
        )
        assert sensitive_match(path, globs) == expected == looped, path
    assert sensitive_match("anything", []) is None
