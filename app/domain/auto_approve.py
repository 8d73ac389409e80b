"""Whether the critic may approve a proposal on its own: only where the workspace's owner turned it on, only while
the critic agrees with the people (Cohen's kappa over their last N decisions at or above the owner's threshold),
only for the kinds they named, and never for a risky, flagged, red or two-review item. Pure; no I/O, no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.agreement import cohens_kappa
from app.domain.judgments import (
    DEFAULT_AUTO_APPROVE_MAX_RISK,
    DEFAULT_AUTO_APPROVE_WINDOW,
    CriticResult,
    JudgeConfig,
    VerifierResult,
)
from app.domain.risk import Risk


@dataclass(frozen=True)
class AutoApproval:
    allowed: bool
    # One sentence: why the critic may approve it (the decision's reason), or why not.
    why: str
    kappa: float | None = None
    # Human decisions the kappa was measured on.
    items: int = 0


def recent_agreement(pairs: Iterable[tuple[str, str]], window: int) -> tuple[float | None, int]:
    """Kappa over the last ``window`` (human verdict, critic verdict) pairs, oldest first, and how many there were."""
    recent = list(pairs)[-window:]
    return cohens_kappa(recent), len(recent)


def auto_approval(
    config: JudgeConfig,
    *,
    pairs: Iterable[tuple[str, str]],
    kind: str,
    status: str,
    needs_two_reviews: bool,
    risk: Risk,
    critic: CriticResult | None,
    verifier: VerifierResult | None,
    flags: Iterable[str] = (),
) -> AutoApproval:
    """``pairs``: (human verdict, critic verdict) of the workspace's decisions, oldest first."""
    if not config.auto_approve_on or config.auto_approve_kappa is None:
        return AutoApproval(False, "Auto-approval is off for this workspace.")
    if critic is None or critic.status != "done" or critic.verdict != "approve":
        return AutoApproval(False, "The critic did not approve it.")
    if status != "pending":
        return AutoApproval(False, "It is not simply waiting for a decision any more.")
    if needs_two_reviews:
        return AutoApproval(False, "Its workspace's review rules ask for two people.")
    if kind not in (config.auto_approve_kinds or ()):
        return AutoApproval(False, f"The owner did not let the critic approve {kind} proposals.")
    if verifier is not None and verifier.status in ("failed", "error", "running"):
        return AutoApproval(False, f"The verifier's result is {verifier.status}.")
    if set(flags):
        return AutoApproval(False, "It carries a flag: " + ", ".join(sorted(set(flags))) + ".")
    limit = DEFAULT_AUTO_APPROVE_MAX_RISK if config.auto_approve_max_risk is None else config.auto_approve_max_risk
    if risk.score > limit:
        return AutoApproval(False, f"Its risk {risk.score:.2f} is above the limit {limit:.2f}.")
    window = config.auto_approve_window or DEFAULT_AUTO_APPROVE_WINDOW
    kappa, items = recent_agreement(pairs, window)
    if items < window:
        return AutoApproval(
            False, f"People decided only {items} of the {window} proposals the critic's agreement is measured on."
        )
    if kappa is None or kappa < config.auto_approve_kappa:
        shown = "undefined" if kappa is None else f"{kappa:.2f}"
        return AutoApproval(
            False,
            f"The critic's kappa with the people is {shown} over the last {items} decisions, "
            f"below the threshold {config.auto_approve_kappa:.2f}.",
            kappa,
            items,
        )
    return AutoApproval(
        True,
        f"Auto-approved by the critic (score {critic.score or 0:.2f}): its kappa with the people is {kappa:.2f} over "
        f"the last {items} decisions (threshold {config.auto_approve_kappa:.2f}) and the risk is {risk.score:.2f} "
        f"(limit {limit:.2f}).",
        kappa,
        items,
    )
