"""Start-up of the headless commands as fresh processes (issue #12 item 2): `signoff --help`, `signoff queue --json`
with 1,000 proposals waiting and `signoff approve ID`, each the median wall time of N runs, against `python -c pass`
measured in the same run. The database is built once in a temporary folder; each approve decides another proposal."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.benchmarks.figures import Figure
from tests.benchmarks.queue_data import build_queue_database

REPO_ROOT = Path(__file__).resolve().parents[2]
HELP_TARGET_MS = 150.0
QUEUE_TARGET_MS = 300.0
APPROVE_TARGET_MS = 300.0
WAITING = 1_000


def _environment(folder: Path, db_path: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "QT_QPA_PLATFORM")
    }
    env["SIGNOFF_DB"] = str(db_path)
    env["SIGNOFF_DATA_DIR"] = str(folder / "data")
    env["SIGNOFF_CONFIG_DIR"] = str(folder / "config")
    env["PYTHONPATH"] = str(REPO_ROOT)
    # Bytecode is written by the warm-up run, as it is by an install; nothing else differs between runs.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _wall_ms(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode(errors='replace')}")
    return elapsed


def _median_ms(commands: Iterator[Sequence[str]], env: dict[str, str], runs: int) -> float:
    return statistics.median(_wall_ms(next(commands), env) for _ in range(runs))


def _repeat(argv: Sequence[str]) -> Iterator[Sequence[str]]:
    while True:
        yield argv


def benchmarks(quick: bool) -> Iterator[Figure]:
    runs = 5 if quick else 15
    signoff = [sys.executable, "-m", "app"]
    with tempfile.TemporaryDirectory(prefix="signoff-bench-startup-") as name:
        folder = Path(name)
        db_path = folder / "queue.db"
        build_queue_database(db_path, decided=WAITING, waiting=WAITING)
        env = _environment(folder, db_path)
        # Warm the page cache and write the bytecode of every module each command imports.
        for argv in ([*signoff, "--help"], [*signoff, "queue", "--json"], [sys.executable, "-c", "pass"]):
            _wall_ms(argv, env)
        waiting_ids = iter(range(WAITING + 1, 2 * WAITING + 1))
        _wall_ms([*signoff, "approve", str(next(waiting_ids))], env)

        baseline = _median_ms(_repeat([sys.executable, "-c", "pass"]), env, runs)
        yield Figure.at_most("startup: python -c pass (baseline)", baseline, "ms", None)
        help_ms = _median_ms(_repeat([*signoff, "--help"]), env, runs)
        yield Figure.at_most("startup: signoff --help", help_ms, "ms", HELP_TARGET_MS, baseline)
        queue_ms = _median_ms(_repeat([*signoff, "queue", "--json"]), env, runs)
        yield Figure.at_most(
            f"startup: signoff queue --json ({WAITING:,} waiting)", queue_ms, "ms", QUEUE_TARGET_MS, baseline
        )
        approvals = ([*signoff, "approve", str(proposal_id)] for proposal_id in waiting_ids)
        approve_ms = _median_ms(approvals, env, runs)
        yield Figure.at_most("startup: signoff approve ID", approve_ms, "ms", APPROVE_TARGET_MS, baseline)


if __name__ == "__main__":
    for figure in benchmarks(quick="--quick" in sys.argv):
        print(figure)
