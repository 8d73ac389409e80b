"""Benchmark of the command sandbox: start overhead for `true` against a plain subprocess.run in the same run, and the
capture of a command touching 1,000 files in a 10,000-file workspace. Works in a temporary folder it removes."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.services import effects as fx
from app.services.command_tool import _prepare, scrubbed_environment
from app.services.sandbox import OVERLAY, READ_ONLY, Grant, prepare, sandbox_info
from tests.benchmarks.figures import Figure

OVERHEAD_TARGET_MS = 30.0
CAPTURE_TARGET_MS = 500.0


def _median_ms(runs: int, argv_for, cwd: Path) -> float:
    env = scrubbed_environment()
    times = []
    for _ in range(runs):
        argv, cleanup = argv_for()
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
        cleanup()
    return statistics.median(times)


def benchmarks(quick: bool = False) -> Iterator[Figure]:
    info = sandbox_info()
    if not info.available:
        yield Figure.at_most(f"sandbox unavailable: {info.detail}", 0.0, "ms", None)
        return
    scratch = Path(tempfile.mkdtemp(prefix="signoff-bench-sandbox-"))
    try:
        root = scratch / "ws"
        root.mkdir()
        runs = 10 if quick else 100

        def plain():
            return ["/bin/sh", "-c", "true"], lambda: None

        def sandboxed():
            # Prepared exactly as run_command prepares it: `true` only reads, so it gets the read-only view.
            prepared = _prepare(root, root, "true", Grant(), info)
            assert prepared.mode == READ_ONLY, prepared.mode
            return prepared.argv, prepared.cleanup

        def writing():
            prepared = prepare(root, root, "true", info=info)
            return prepared.argv, prepared.cleanup

        # Interleaved warm-up so neither side pays for a cold cache alone.
        _median_ms(3, plain, root)
        _median_ms(3, sandboxed, root)
        _median_ms(3, writing, root)
        baseline = _median_ms(runs, plain, root)
        sandbox = _median_ms(runs, sandboxed, root)
        view = _median_ms(runs, writing, root)
        yield Figure.at_most(
            f"sandbox start overhead for `true` ({READ_ONLY}, median of {runs})",
            sandbox - baseline,
            "ms",
            OVERHEAD_TARGET_MS,
            baseline,
        )
        yield Figure.at_most(
            f"sandbox start overhead for a command that may write ({info.mode}, median of {runs})",
            view - baseline,
            "ms",
            None,
            baseline,
        )
        yield from _capture(scratch, info, quick)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _capture(scratch: Path, info, quick: bool) -> Iterator[Figure]:
    files, touched = (1_000, 100) if quick else (10_000, 1_000)
    root = scratch / "big"
    for index in range(files):
        folder = root / f"d{index // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:05d}.txt").write_text(f"line {index}\n" * 5)
    # Every tenth file modified, a few created, a few deleted, a few chmod-ed: `touched` files in all.
    step = files // touched
    edits = [f"d{i // 100:03d}/f{i:05d}.txt" for i in range(0, files, step)][:touched]
    script = "for f in " + " ".join(edits[: touched - 30]) + "; do echo changed >> $f; done; "
    script += "mkdir -p new && for i in $(seq 1 10); do echo n > new/n$i.txt; done; "
    script += (
        "rm "
        + " ".join(edits[touched - 30 : touched - 20])
        + "; chmod 600 "
        + " ".join(edits[touched - 20 : touched - 10])
    )
    prepared = prepare(root, root, script, info=info)
    try:
        subprocess.run(prepared.argv, cwd=root, env=scrubbed_environment(), capture_output=True, check=True)
        started = time.perf_counter()
        if prepared.mode == OVERLAY:
            captured = fx.capture_overlay(prepared.changes, root)
        else:
            captured = fx.capture_copy(prepared.changes, root)
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        prepared.cleanup()
    yield Figure.at_most(
        f"capture of a command touching {len(captured):,} paths in a {files:,}-file workspace ({prepared.mode})",
        elapsed,
        "ms",
        CAPTURE_TARGET_MS,
    )
