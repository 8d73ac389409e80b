"""The Figure record every bench_*.py module yields and run.py prints or writes as JSON lines.
Plain data only: no timing, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    # The same measurement for the thing we compare against, taken in the same run; None if there is none.
    baseline: float | None
    # value / baseline (for timings: 0.02 means fifty times faster than the baseline); None without baseline.
    ratio: float | None
    # None when the figure is informational only.
    target: float | None
    met: bool

    @classmethod
    def at_most(cls, name: str, value: float, unit: str, target: float | None, baseline: float | None = None) -> Figure:
        """A lower-is-better figure (durations, memory): met when value <= target."""
        return cls(name, value, unit, baseline, _ratio(value, baseline), target, target is None or value <= target)

    @classmethod
    def at_least(
        cls, name: str, value: float, unit: str, target: float | None, baseline: float | None = None
    ) -> Figure:
        """A higher-is-better figure (throughput): met when value >= target."""
        return cls(name, value, unit, baseline, _ratio(value, baseline), target, target is None or value >= target)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
            "met": bool(self.met),
        }


def _ratio(value: float, baseline: float | None) -> float | None:
    if baseline is None or baseline == 0:
        return None
    return value / baseline
