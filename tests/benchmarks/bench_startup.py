"""Start-up of the headless commands as fresh processes (issue #12 item 2): `signoff --help`, `signoff queue --json`
with 1,000 proposals waiting and `signoff approve ID`, each the median wall time of N runs, against `python -c pass`
measured in the same run. The database is built once in a temporary folder; each approve decides another proposal.

The targets are wall times on a quiet machine. The CPU time (user + system) each process used is reported beside them,
without a target: on a busy machine it stays near the quiet wall time while the wall time does not."""

from __future__ import annotations

import os
import resource
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


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_ms(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one fresh process."""
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode(errors='replace')}")
    return elapsed, (_children_cpu_s() - cpu_before) * 1000


def _wall_ms(argv: Sequence[str], env: dict[str, str]) -> float:
    return _run_ms(argv, env)[0]


def _medians_ms(commands: Iterator[Sequence[str]], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall and median CPU milliseconds of ``runs`` processes."""
    samples = [_run_ms(next(commands), env) for _ in range(runs)]
    return statistics.median(wall for wall, _ in samples), statistics.median(cpu for _, cpu in samples)


def _repeat(argv: Sequence[str]) -> Iterator[Sequence[str]]:
    while True:
        yield argv


def benchmarks(quick: bool) -> Iterator[Figure]:
    runs = 3 if quick else 15
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

        baseline, baseline_cpu = _medians_ms(_repeat([sys.executable, "-c", "pass"]), env, runs)
        yield Figure.at_most("startup: python -c pass (baseline)", baseline, "ms", None)
        yield Figure.at_most("startup: python -c pass (baseline), CPU time", baseline_cpu, "ms", None)
        measured = (
            ("signoff --help", _repeat([*signoff, "--help"]), HELP_TARGET_MS),
            (f"signoff queue --json ({WAITING:,} waiting)", _repeat([*signoff, "queue", "--json"]), QUEUE_TARGET_MS),
            ("signoff approve ID", ([*signoff, "approve", str(number)] for number in waiting_ids), APPROVE_TARGET_MS),
        )
        for label, commands, target in measured:
            wall, cpu = _medians_ms(commands, env, runs)
            yield Figure.at_most(f"startup: {label}", wall, "ms", target, baseline)
            yield Figure.at_most(f"startup: {label}, CPU time", cpu, "ms", None, baseline_cpu)


if __name__ == "__main__":
    for figure in benchmarks(quick="--quick" in sys.argv):
        print(figure)
