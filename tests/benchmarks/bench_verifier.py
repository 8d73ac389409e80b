"""The verifier's costs: an isolated copy of a 10,000-file git workspace (quick: 1,000) against a plain `cp -r` of
it in the same run; the verifier's overhead over running the same command directly in a copy (a small pytest
project); and the baseline cache (a second proposal on an unchanged tree makes no baseline run)."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.services.verifier import (
    Verifier,
    isolated_copy,
    overlay_support,
    prepare_sandbox,
    run_capped,
    run_tests,
    tree_state,
)
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.benchmarks.figures import Figure
from tests.support.judges import BROKEN_ADD, FIXED_HALF, file_proposal, git, tiny_pytest_workspace

COMMAND = "python -m pytest -q -p no:randomly"


def _big_workspace(root: Path, files: int) -> Path:
    root.mkdir()
    for number in range(files):
        folder = root / f"pkg{number // 100:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"module_{number:05d}.py").write_text(f"VALUE = {number}\n\n\ndef f():\n    return VALUE * 2\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "many files")
    # Uncommitted work is part of what the copy must hold.
    (root / "pkg000" / "module_00000.py").write_text("VALUE = -1\n")
    (root / "untracked.txt").write_text("new\n")
    return root.resolve()


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def copy_figures(folder: Path, files: int, repeats: int) -> Iterator[Figure]:
    root = _big_workspace(folder / "big", files)
    probe = "test -f untracked.txt && test -f pkg000/module_00000.py"
    overlays, copies, plain = [], [], []
    for attempt in range(repeats):
        scratch = folder / f"overlay{attempt}"
        scratch.mkdir()

        def overlay_ready(scratch=scratch) -> None:
            sandbox = prepare_sandbox(tree_state(root), scratch)
            assert asyncio.run(run_tests(sandbox, probe, 60)).report.exit_code == 0

        overlays.append(_timed(overlay_ready))
        target = folder / f"copy{attempt}"
        copies.append(_timed(lambda target=target: isolated_copy(tree_state(root), target)))
        assert (target / "untracked.txt").exists()
        plain_target = folder / f"plain{attempt}"
        plain.append(
            _timed(
                lambda plain_target=plain_target: subprocess.run(["cp", "-r", str(root), str(plain_target)], check=True)
            )
        )
        for path in (scratch, target, plain_target):
            shutil.rmtree(path)
    overlay_s, copy_s, plain_s = (statistics.median(values) for values in (overlays, copies, plain))
    how = "overlay" if overlay_support() is not None else "copy (no overlays here)"
    yield Figure.at_most(
        f"verifier: isolated {how} of a {files:,}-file git workspace ready", overlay_s, "s", 1.0, plain_s
    )
    yield Figure.at_most(f"verifier: git checkout copy of the {files:,} files (fallback)", copy_s, "s", None, plain_s)


def run_figures(folder: Path, repeats: int) -> Iterator[Figure]:
    root = tiny_pytest_workspace(folder / "small")
    database = open_database(str(folder / "bench.db"))
    repository = AsyncRepository(Repository(database))
    try:
        from app.domain.judgments import JudgeConfig

        repository.sync.judgments.set_config(str(root), JudgeConfig(verify_command=COMMAND))
        first = file_proposal(repository.sync, root, "calc.py", BROKEN_ADD, tool_use_id="b0")
        verifier = Verifier(repository)
        asyncio.run(verifier.verify(first))  # the baseline run, cached from here on
        runs_before = verifier.baseline_runs
        through, direct = [], []
        for attempt in range(repeats):
            proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id=f"f{attempt}")
            through.append(_timed(lambda proposal=proposal: asyncio.run(verifier.verify(proposal))))
            # The same command in a ready copy holding the same bytes, run as an approved command would be.
            target = folder / f"direct{attempt}"
            isolated_copy(tree_state(root), target)
            (target / "calc.py").write_text(FIXED_HALF)
            direct.append(_timed(lambda target=target: asyncio.run(run_capped(target, COMMAND, 300))))
            shutil.rmtree(target)
        extra_baselines = verifier.baseline_runs - runs_before
    finally:
        repository.close()
        database.close()
    through_s, direct_s = statistics.median(through), statistics.median(direct)
    overhead = through_s - direct_s
    yield Figure.at_most(
        "verifier: overhead over the same command run directly in a copy", overhead, "s", 0.1 * direct_s + 0.3, direct_s
    )
    yield Figure.at_most("verifier: extra baseline runs for later proposals on one tree", extra_baselines, "runs", 0)


def benchmarks(quick: bool) -> Iterator[Figure]:
    files, repeats = (1_000, 1) if quick else (10_000, 3)
    with tempfile.TemporaryDirectory(prefix="signoff-bench-verifier-") as folder:
        yield from copy_figures(Path(folder), files, repeats)
        yield from run_figures(Path(folder), repeats)
