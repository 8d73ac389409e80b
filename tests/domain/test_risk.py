"""The risk score: each reason raises it, a red verifier or hidden characters alone make it high, and it says why."""

from __future__ import annotations

import datetime as dt

from app.domain.judgments import CriticResult, VerifierResult
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
