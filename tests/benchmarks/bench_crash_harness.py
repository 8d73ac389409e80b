"""The kill -9 crash harness (tests/support/crash_harness.py) at scale: one session of 1,000 proposals (quick: 100)
applied by a `signoff` runner that is SIGKILLed at random moments and resumed until all are resolved. Nothing may be
lost or applied twice; the audit chain and SQLite's integrity check must pass."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.benchmarks.figures import Figure
from tests.support.crash_harness import run_crash_harness


def benchmarks(quick: bool) -> Iterator[Figure]:
    proposals, kills = (40, 8) if quick else (1_000, 60)
    with tempfile.TemporaryDirectory(prefix="signoff-bench-crash-") as folder:
        report = run_crash_harness(
            Path(folder), proposals=proposals, kills=kills, seed=11, per_turn=5, time_limit_s=3_600
        )
    for problem in report.problems:
        print(f"crash_harness: {problem}")
    yield Figure.at_least("crash_harness: proposals resolved", proposals - report.lost, "proposals", proposals)
    yield Figure.at_least("crash_harness: kills (SIGKILL of the runner)", report.kills, "kills", kills * 0.8)
    yield Figure.at_least(
        "crash_harness: kills while a proposal was decided or applying",
        report.kills_mid_apply + report.kills_after_decision,
        "kills",
        None,
    )
    yield Figure.at_most("crash_harness: lost", report.lost, "items", 0)
    yield Figure.at_most("crash_harness: double_applied", report.double_applied, "items", 0)
    yield Figure.at_most(
        "crash_harness: interrupted commands reported unknown", report.interrupted_commands, "commands", None
    )
    yield Figure.at_least(
        "crash_harness: integrity ok (PRAGMA integrity_check + audit chain)",
        float(report.integrity_ok and report.audit_ok),
        "bool",
        1.0,
    )
    yield Figure.at_most("crash_harness: other problems", len(report.problems), "problems", 0)
    yield Figure.at_most("crash_harness: wall time", report.seconds, "s", None)
