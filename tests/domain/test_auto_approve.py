"""The critic's auto-approval rule on plain values: on only with the owner's threshold, a full window of decisions at
or above it, a named kind and low risk; never for a flagged, red or two-review item."""

from __future__ import annotations

from app.domain.auto_approve import auto_approval, recent_agreement
from app.domain.judgments import CriticResult, JudgeConfig, VerifierResult
from app.domain.risk import Risk

ON = JudgeConfig(auto_approve_kappa=0.8, auto_approve_window=10, auto_approve_kinds=("edit",))
AGREEING = [("approve", "approve"), ("reject", "reject")] * 5
APPROVES = CriticResult(proposal_id=1, status="done", model="m", verdict="approve", score=0.9)


def judge(config=ON, pairs=AGREEING, **overrides):
    values = {
        "kind": "edit",
        "status": "pending",
        "needs_two_reviews": False,
        "risk": Risk(0.05, ()),
        "critic": APPROVES,
        "verifier": None,
        "flags": (),
    }
    values.update(overrides)
    return auto_approval(config, pairs=pairs, **values)


def test_a_low_risk_edit_is_approved_at_or_above_the_threshold_over_a_full_window() -> None:
    verdict = judge()

    assert verdict.allowed and verdict.kappa == 1.0 and verdict.items == 10
    assert "kappa with the people is 1.00 over the last 10 decisions (threshold 0.80)" in verdict.why


def test_only_the_last_n_decisions_count() -> None:
    old_disagreements = [("approve", "reject")] * 30

    assert recent_agreement(old_disagreements + AGREEING, 10) == (1.0, 10)
    assert judge(pairs=old_disagreements + AGREEING).allowed


def test_never_without_a_full_window_of_decisions_or_below_the_threshold() -> None:
    too_few = judge(pairs=AGREEING[:6])
    below = judge(pairs=AGREEING[:7] + [("reject", "approve")] * 3)

    assert not too_few.allowed and "only 6 of the 10" in too_few.why
    assert not below.allowed and "below the threshold 0.80" in below.why


def test_never_for_a_flagged_red_risky_two_review_or_unnamed_item() -> None:
    red = VerifierResult(proposal_id=1, status="failed", command="pytest", started_at=None, seconds=1.0)
    refusals = {
        "flag": judge(flags=("hidden",)),
        "red": judge(verifier=red),
        "risk": judge(risk=Risk(0.3, ("a sensitive path (.github/**)",))),
        "two reviews": judge(needs_two_reviews=True),
        "kind": judge(kind="command"),
        "decided": judge(status="decided"),
        "critic rejects": judge(critic=CriticResult(1, "done", "m", verdict="reject", score=0.2)),
        "off": judge(config=JudgeConfig()),
    }

    assert not any(verdict.allowed for verdict in refusals.values())
    assert "hidden" in refusals["flag"].why and "failed" in refusals["red"].why
    assert "above the limit 0.20" in refusals["risk"].why and "two people" in refusals["two reviews"].why
