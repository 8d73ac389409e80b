"""A reviewer's or a team's decisions in figures: the approve / reject / edit split, decisions per day, time on screen
and the split per kind and per workspace. Pure functions over DecisionFact rows; no I/O, no Qt.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

VERDICTS = ("approve", "reject", "edit")
# Time on screen before deciding, in buckets people think in: (from ms, below ms or None, label).
TIME_BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 2_000, "0–2 s"),
    (2_000, 5_000, "2–5 s"),
    (5_000, 15_000, "5–15 s"),
    (15_000, 60_000, "15–60 s"),
    (60_000, 300_000, "1–5 min"),
    (300_000, None, "5 min +"),
)
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class DecisionFact:
    """One decision that stands (undone ones left out), with what it was about."""

    reviewer: str
    verdict: str
    decided_at: dt.datetime
    time_on_screen_ms: int | None
    kind: str
    workspace_root: str


@dataclass(frozen=True)
class VerdictSplit:
    approve: int = 0
    reject: int = 0
    edit: int = 0

    @property
    def total(self) -> int:
        return self.approve + self.reject + self.edit

    def count(self, verdict: str) -> int:
        return int(getattr(self, verdict))

    def share(self, verdict: str) -> float:
        return self.count(verdict) / self.total if self.total else 0.0


@dataclass(frozen=True)
class DecisionStats:
    # Everyone with a decision, whoever the figures are for: more than one makes these team stats.
    reviewers: tuple[str, ...]
    # Whose decisions the figures count; None: everyone's.
    reviewer: str | None
    verdicts: VerdictSplit
    # One entry per day of the period, oldest first, days without decisions included.
    by_day: tuple[tuple[dt.date, VerdictSplit], ...]
    # (bucket label, decisions) for every TIME_BUCKETS entry; decisions without a time are left out.
    time_on_screen: tuple[tuple[str, int], ...]
    median_time_ms: int | None
    # Most decisions first.
    by_kind: tuple[tuple[str, VerdictSplit], ...]
    by_workspace: tuple[tuple[str, VerdictSplit], ...]

    @property
    def total(self) -> int:
        return self.verdicts.total

    @property
    def is_team(self) -> bool:
        return len(self.reviewers) > 1

    @property
    def title(self) -> str:
        return "Team stats" if self.is_team else "Stats"


def _split(counter: Counter[str]) -> VerdictSplit:
    return VerdictSplit(*(counter.get(verdict, 0) for verdict in VERDICTS))


def _by_group(facts: list[DecisionFact], key: Callable[[DecisionFact], str]) -> tuple[tuple[str, VerdictSplit], ...]:
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in facts:
        groups[key(fact)][fact.verdict] += 1
    splits = [(name, _split(counter)) for name, counter in groups.items()]
    return tuple(sorted(splits, key=lambda pair: (-pair[1].total, pair[0])))


def time_bucket(ms: int) -> int:
    """The index in TIME_BUCKETS of a time on screen."""
    for index, (low, high, _) in enumerate(TIME_BUCKETS):
        if ms >= low and (high is None or ms < high):
            return index
    return 0  # a negative time (a clock set back) counts as quick


def decision_stats(
    facts: Iterable[DecisionFact],
    *,
    today: dt.date,
    reviewer: str | None = None,
    days: int = DEFAULT_DAYS,
    tz: dt.tzinfo = dt.UTC,
) -> DecisionStats:
    """The figures for ``reviewer`` (None: everyone) over all their decisions; ``by_day`` covers the ``days`` days up
    to ``today`` in time zone ``tz`` (the reviewer's day, not UTC's)."""
    every = [fact for fact in facts if fact.verdict in VERDICTS]
    reviewers = tuple(sorted({fact.reviewer for fact in every}))
    chosen = every if reviewer is None else [fact for fact in every if fact.reviewer == reviewer]

    first_day = today - dt.timedelta(days=max(1, days) - 1)
    per_day: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for fact in chosen:
        stamp = fact.decided_at if fact.decided_at.tzinfo else fact.decided_at.replace(tzinfo=dt.UTC)
        day = stamp.astimezone(tz).date()
        if first_day <= day <= today:
            per_day[day][fact.verdict] += 1
    by_day = tuple(
        (first_day + dt.timedelta(days=offset), _split(per_day.get(first_day + dt.timedelta(days=offset), Counter())))
        for offset in range((today - first_day).days + 1)
    )

    times = [fact.time_on_screen_ms for fact in chosen if fact.time_on_screen_ms is not None]
    buckets = Counter(time_bucket(ms) for ms in times)
    return DecisionStats(
        reviewers=reviewers,
        reviewer=reviewer,
        verdicts=_split(Counter(fact.verdict for fact in chosen)),
        by_day=by_day,
        time_on_screen=tuple((label, buckets.get(index, 0)) for index, (_, _, label) in enumerate(TIME_BUCKETS)),
        median_time_ms=int(statistics.median(times)) if times else None,
        by_kind=_by_group(chosen, lambda fact: fact.kind),
        by_workspace=_by_group(chosen, lambda fact: fact.workspace_root),
    )
