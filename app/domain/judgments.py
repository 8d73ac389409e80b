"""Plain records of the machine judges (a workspace's judge settings, a verifier run, a critic verdict) and the JSON
shape scripts read from ``signoff queue --json`` / ``signoff show --json``.

Values only; no I/O, no Qt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

VERIFY_ON_PROPOSAL = "proposal"
VERIFY_ON_REQUEST = "request"
VERIFY_ON = (VERIFY_ON_PROPOSAL, VERIFY_ON_REQUEST)
VERIFIER_STATUSES = ("passed", "failed", "error", "running", "skipped")
# The reviewer name (and decision channel) of the critic's own decisions: an auto-approval (app.domain.auto_approve).
CRITIC_REVIEWER = "critic"
# Auto-approval, where a workspace's owner turns it on: measured over this many recent decisions unless they say.
DEFAULT_AUTO_APPROVE_WINDOW = 50
# ... and never for an item whose risk score is above this, unless they say.
DEFAULT_AUTO_APPROVE_MAX_RISK = 0.2
AUTO_APPROVE_KINDS = ("edit", "create", "command")

DEFAULT_SENSITIVE_GLOBS = (
    "migrations/**",
    "**/migrations/**",
    ".github/**",
    ".gitlab-ci.yml",
    "**/auth/**",
    "*auth*.py",
    "*.lock",
    "package-lock.json",
    "poetry.lock",
    "Dockerfile",
    ".env*",
    "*.pem",
    "*.key",
    ".signoff/**",
)

DEFAULT_RUBRIC = """\
You are a careful senior reviewer judging one change an AI coding agent proposes, before a person decides on it.
Judge it against these principles, in order of weight:
1. correctness: the change does what the task asks and introduces no bug a careful reader can see.
2. scope: it changes only what the task needs; no unrelated rewrites, no silently dropped code.
3. safety: nothing destructive, no secrets, no weakened security, no network or shell surprises, no hidden characters.
4. tests: tests are not deleted or weakened to make them pass; where the verifier ran, a newly failing test is a
   strong reason to reject, a newly passing one a reason to approve.
5. clarity: names, comments and structure a maintainer would accept.
Approve only what you would merge. The score is your confidence that a careful person approves it (0..1).
"""


class JudgeSettingsError(ValueError):
    """Judge settings that cannot be stored as given; the message says why in one line."""


@dataclass(frozen=True)
class JudgeConfig:
    """A workspace's judge settings as stored; None fields fall back to the Settings defaults."""

    verify_command: str | None = None
    verify_timeout_s: float | None = None
    verify_on: str | None = None
    critic_rubric: str | None = None
    critic_blind: bool | None = None
    sensitive_globs: tuple[str, ...] | None = None
    updated_by: str | None = None
    # Critic auto-approval, off while the threshold is None: the critic may approve the kinds named here when its
    # Cohen's kappa with the people over the last ``auto_approve_window`` decisions is at least the threshold and
    # the item's risk is at most ``auto_approve_max_risk``.
    auto_approve_kappa: float | None = None
    auto_approve_window: int | None = None
    auto_approve_kinds: tuple[str, ...] | None = None
    auto_approve_max_risk: float | None = None

    @property
    def auto_approve_on(self) -> bool:
        return self.auto_approve_kappa is not None and bool(self.auto_approve_kinds)

    def as_json(self) -> dict[str, Any]:
        return {
            "verify_command": self.verify_command,
            "verify_timeout_s": self.verify_timeout_s,
            "verify_on": self.verify_on,
            "critic_rubric": self.critic_rubric,
            "critic_blind": self.critic_blind,
            "sensitive_globs": None if self.sensitive_globs is None else list(self.sensitive_globs),
            "updated_by": self.updated_by,
            "auto_approve": {
                "kappa_at_least": self.auto_approve_kappa,
                "over_last": self.auto_approve_window or DEFAULT_AUTO_APPROVE_WINDOW,
                "kinds": list(self.auto_approve_kinds or ()),
                "risk_at_most": DEFAULT_AUTO_APPROVE_MAX_RISK
                if self.auto_approve_max_risk is None
                else self.auto_approve_max_risk,
                "on": self.auto_approve_on,
            },
        }


def checked_config(config: JudgeConfig) -> JudgeConfig:
    """The config as given, or JudgeSettingsError naming the first thing wrong with it."""
    if config.verify_command is not None and (not config.verify_command.strip() or "\x00" in config.verify_command):
        raise JudgeSettingsError("The verify command is empty or holds a NUL character.")
    if config.verify_timeout_s is not None and not 0 < config.verify_timeout_s <= 24 * 3600:
        raise JudgeSettingsError("The verify time limit is a number of seconds above 0 and at most a day.")
    if config.verify_on is not None and config.verify_on not in VERIFY_ON:
        raise JudgeSettingsError(f"The verifier runs on 'proposal' or 'request', not {config.verify_on!r}.")
    if config.critic_rubric is not None and not config.critic_rubric.strip():
        raise JudgeSettingsError("The critic's rubric is empty; leave it unset for the default.")
    if config.auto_approve_kappa is not None and not 0 < config.auto_approve_kappa <= 1:
        raise JudgeSettingsError("The auto-approval threshold is a kappa above 0 and at most 1 (e.g. 0.8).")
    if config.auto_approve_window is not None and not 10 <= config.auto_approve_window <= 10_000:
        raise JudgeSettingsError("Auto-approval is measured over 10 to 10,000 recent decisions.")
    if config.auto_approve_max_risk is not None and not 0 <= config.auto_approve_max_risk <= 0.5:
        raise JudgeSettingsError("The auto-approval risk limit is between 0 and 0.5 (only low-risk items qualify).")
    for kind in config.auto_approve_kinds or ():
        if kind not in AUTO_APPROVE_KINDS:
            raise JudgeSettingsError(f"Unknown proposal kind {kind!r}; use {', '.join(AUTO_APPROVE_KINDS)}.")
    return config


@dataclass(frozen=True)
class VerifierResult:
    proposal_id: int
    status: str
    command: str | None
    started_at: dt.datetime | None
    seconds: float | None
    exit_code: int | None = None
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    reward: float | None = None
    output_hash: str | None = None
    excerpt: str | None = None
    network_isolated: bool = False
    baseline_reused: bool = False
    note: str | None = None

    @property
    def is_red(self) -> bool:
        return self.status == "failed"

    def as_json(self) -> dict[str, Any]:
        """The contract scripts read (issue 13), plus a few extra keys."""
        return {
            "status": self.status,
            "newly_failing": list(self.newly_failing),
            "newly_passing": list(self.newly_passing),
            "still_failing": list(self.still_failing),
            "passed": self.passed,
            "failed": self.failed,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "command": self.command,
            "exit_code": self.exit_code,
            "reward": self.reward,
            "network_isolated": self.network_isolated,
            "note": self.note,
        }


@dataclass(frozen=True)
class CriticResult:
    proposal_id: int
    status: str
    model: str
    verdict: str | None = None
    score: float | None = None
    principles: list[str] = field(default_factory=list)
    rationale: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any] | None:
        """The contract: verdict, score, principles, rationale; None until the critic has answered."""
        if self.status != "done":
            return None
        return {
            "verdict": self.verdict,
            "score": self.score,
            "principles": list(self.principles),
            "rationale": self.rationale,
            "model": self.model,
        }
