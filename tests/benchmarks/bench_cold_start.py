"""Cold start of the window (issue #16): a fresh `python -m app --demo` process, offscreen, from spawn until its window
finished its first paint (the app writes that moment when SIGNOFF_FIRST_PAINT_FILE is set), median of N runs; against
a bare PySide6 program that shows one empty QMainWindow and reports its first paint the same way, in the same run.
Also reported: until the started window (sessions loaded, demo running) was grabbed (SIGNOFF_SCREENSHOT). With a built
bundle (dist/signoff/signoff, or the path in SIGNOFF_BENCH_BUNDLE) the bundled program is measured too."""

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

REPO_ROOT = Path(__file__).resolve().parents[2]
COLD_START_TARGET_MS = 2000.0

BARE_QT = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1280, 860)

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            window.removeEventFilter(self)
            QTimer.singleShot(0, done)
        return False

def done():
    with open(os.environ["SIGNOFF_FIRST_PAINT_FILE"], "w") as out:
        out.write(repr(time.time()))
    window.grab().save(os.environ["SIGNOFF_SCREENSHOT"], "PNG")
    app.quit()

reporter = FirstPaint()
window.installEventFilter(reporter)
window.show()
app.exec()
"""


def _environment(folder: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        SIGNOFF_DB=str(folder / "signoff.db"),
        SIGNOFF_DATA_DIR=str(folder / "data"),
        SIGNOFF_CONFIG_DIR=str(folder / "config"),
        SIGNOFF_FIRST_PAINT_FILE=str(folder / "painted"),
        SIGNOFF_SCREENSHOT=str(folder / "window.png"),
        PYTHONPATH=str(REPO_ROOT),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _one_start(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(spawn -> first paint finished, spawn -> started window grabbed) in ms; the process closes itself after."""
    painted, shot = Path(env["SIGNOFF_FIRST_PAINT_FILE"]), Path(env["SIGNOFF_SCREENSHOT"])
    painted.unlink(missing_ok=True)
    shot.unlink(missing_ok=True)
    spawned = time.time()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not painted.exists() or not shot.exists():
        raise RuntimeError(f"{argv[0]} did not paint and grab its window: {result.stderr[-2000:]}")
    first_paint = (float(painted.read_text()) - spawned) * 1000
    grabbed = (shot.stat().st_mtime - spawned) * 1000
    return first_paint, grabbed


def _medians(argv: Sequence[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    _one_start(argv, env)  # warm-up: bytecode written and files in the page cache, as after an install
    samples = [_one_start(argv, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def benchmarks(quick: bool) -> Iterator[Figure]:
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="signoff-bench-cold-") as name:
        folder = Path(name)
        env = _environment(folder)
        subprocess.run([sys.executable, "-m", "app", "init-db"], env=env, check=True, capture_output=True)
        bare, _ = _medians([sys.executable, "-c", BARE_QT], env, runs)
        painted, started = _medians([sys.executable, "-m", "app", "--demo"], env, runs)
        yield Figure.at_most("window: spawn -> first paint (from source)", painted, "ms", COLD_START_TARGET_MS, bare)
        yield Figure.at_most("window: spawn -> demo started and grabbed (from source)", started, "ms", None, bare)
        bundle = Path(os.environ.get("SIGNOFF_BENCH_BUNDLE") or REPO_ROOT / "dist" / "signoff" / "signoff")
        if bundle.is_file():
            painted, started = _medians([str(bundle), "--demo"], env, runs)
            yield Figure.at_most("window: spawn -> first paint (bundle)", painted, "ms", COLD_START_TARGET_MS, bare)
            yield Figure.at_most("window: spawn -> demo started and grabbed (bundle)", started, "ms", None, bare)
