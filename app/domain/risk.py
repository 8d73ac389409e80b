"""A risk score in 0..1 per proposal, with the reasons that raised it: the policy verdict, the verifier's result, the
critic's score, hidden-character flags, sensitive paths and the kind of command.

Each reason is a chance that something is wrong; they combine as independent ones (1 - product of 1 - each), so one
strong reason is enough for a high score and weak ones add up slowly. Pure; no I/O, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from app.domain.judgments import DEFAULT_SENSITIVE_GLOBS, CriticResult, VerifierResult
from app.domain.path_glob import path_glob_regex

# A command that deletes, escalates, publishes or reaches the network is riskier than one that reads or tests.
_RISKY_COMMAND = re.compile(
    r"\b(rm|sudo|chmod|chown|dd|mkfs|curl|wget|ssh|scp|nc|git\s+push|git\s+reset|npm\s+publish|pip\s+install|docker)\b"
)
_READ_ONLY_COMMAND = re.compile(r"^\s*(ls|cat|head|tail|grep|rg|pytest|python -m pytest|git (status|diff|log))\b")


@dataclass(frozen=True)
class Risk:
    score: float
    # Why, most important first: ("a test newly fails: test_calc.py::test_add", ...).
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"score": self.score, "reasons": list(self.reasons)}


def sensitive_match(path: str | None, globs: Iterable[str]) -> str | None:
    """The first of ``globs`` that matches ``path`` (a pattern without '/' also matches its file name)."""
    if not path:
        return None
    return _sensitive_matcher(tuple(globs))(path)


@lru_cache(maxsize=64)
def _sensitive_matcher(globs: tuple[str, ...]) -> Callable[[str], str | None]:
    """All of ``globs`` compiled once into two alternations (paths; file names for patterns without '/'), so a
    thousand queue rows cost two regex matches each, not two per pattern. Alternatives are tried in order, so the
    lowest-numbered pattern that matches is the one named, as a pattern-by-pattern loop would name it."""
    if not globs:
        return lambda _path: None

    def alternation(numbered: list[tuple[int, str]]) -> re.Pattern[str] | None:
        if not numbered:
            return None
        parts = (f"(?P<g{number}>{path_glob_regex(pattern).pattern})" for number, pattern in numbered)
        return re.compile("|".join(parts), re.DOTALL)

    whole = alternation(list(enumerate(globs)))
    by_name = alternation([(number, pattern) for number, pattern in enumerate(globs) if "/" not in pattern])

    def first(found: re.Match[str] | None) -> int | None:
        return None if found is None or found.lastgroup is None else int(found.lastgroup[1:])

    def matched(path: str) -> str | None:
        numbers = [first(whole.fullmatch(path)) if whole is not None else None]
        if by_name is not None:
            numbers.append(first(by_name.fullmatch(path.rsplit("/", 1)[-1])))
        found = [number for number in numbers if number is not None]
        return globs[min(found)] if found else None

    return matched


def risk_of(
    *,
    kind: str,
    path: str | None,
    command: str | None,
    lines_changed: int = 0,
    flags: Iterable[str] = (),
    verifier: VerifierResult | None = None,
    critic: CriticResult | None = None,
    sensitive_globs: Iterable[str] = DEFAULT_SENSITIVE_GLOBS,
) -> Risk:
    weighted: list[tuple[float, str]] = []
    flags = set(flags)
    if verifier is not None and verifier.status == "failed":
        names = ", ".join(verifier.newly_failing[:3]) or "the tests"
        weighted.append((0.6, f"the verifier found newly failing tests: {names}"))
    elif verifier is not None and verifier.status == "error":
        weighted.append((0.15, "the verifier could not finish"))
    if critic is not None and critic.status == "done" and critic.score is not None:
        doubt = 1.0 - max(0.0, min(1.0, critic.score))
        weight = 0.5 * doubt if critic.verdict == "reject" else 0.2 * doubt
        if weight >= 0.05:
            weighted.append((weight, f"the critic says {critic.verdict} (score {critic.score:.2f})"))
    if "hidden" in flags:
        weighted.append((0.5, "hidden or look-alike characters"))
    if "outside-policy" in flags:
        weighted.append((0.3, "outside the workspace's policy"))
    if "conflict" in flags:
        weighted.append((0.2, "the file changed since the proposal was made"))
    matched = sensitive_match(path, sensitive_globs)
    if matched:
        weighted.append((0.4, f"a sensitive path ({matched})"))
    if kind == "command":
        text = command or ""
        if _RISKY_COMMAND.search(text):
            weighted.append((0.5, "a command that deletes, escalates or reaches the network"))
        elif not _READ_ONLY_COMMAND.match(text):
            weighted.append((0.2, "a command"))
    elif lines_changed > 200:
        weighted.append((0.15, f"a large change ({lines_changed} lines)"))
    safe = 1.0
    for weight, _ in weighted:
        safe *= 1.0 - weight
    baseline = 0.02 if kind != "command" else 0.05
    score = round(1.0 - safe * (1.0 - baseline), 3)
    reasons = tuple(reason for _, reason in sorted(weighted, key=lambda pair: -pair[0]))
    return Risk(score, reasons)
