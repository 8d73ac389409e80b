"""Benchmark of changeset mode: the agent's worktree for a 10,000-file git repository (against `cp -r` of the same
repository in the same run), and merging an approved 50-file changeset into the workspace (against plain writes of
the same bytes). Works in a temporary folder it removes."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.services import changesets
from app.services.worktrees import advance_base, open_worktree, remove_worktree
from tests.benchmarks.figures import Figure

WORKTREE_TARGET_S = 1.0
MERGE_TARGET_MS = 200.0
_GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **_GIT_ENV})


def _repository(root: Path, files: int) -> list[str]:
    names = []
    for index in range(files):
        folder = root / f"d{index // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"d{index // 100:03d}/f{index:05d}.py"
        (root / name).write_text("".join(f"value_{index}_{line} = {line}\n" for line in range(40)))
        names.append(name)
    _git(root, "init", "-q", "-b", "main")
    # No background gc / maintenance racing the copies below.
    _git(root, "config", "gc.auto", "0")
    _git(root, "config", "maintenance.auto", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    # Some uncommitted work the worktree must carry over.
    for name in names[:20]:
        with (root / name).open("a") as handle:
            handle.write("uncommitted = True\n")
    (root / "untracked.txt").write_text("new\n")
    return names


def benchmarks(quick: bool = False) -> Iterator[Figure]:
    files = 1_000 if quick else 10_000
    runs = 3
    scratch = Path(tempfile.mkdtemp(prefix="signoff-bench-changeset-"))
    try:
        root = scratch / "repo"
        root.mkdir()
        names = _repository(root, files)
        copies, trees = [], []
        for run in range(runs):
            started = time.perf_counter()
            subprocess.run(["cp", "-r", str(root), str(scratch / f"copy{run}")], check=True)
            copies.append(time.perf_counter() - started)
            started = time.perf_counter()
            tree = open_worktree(root, name=f"bench{run}", parent=scratch / "trees")
            trees.append(time.perf_counter() - started)
            remove_worktree(tree)
            shutil.rmtree(scratch / f"copy{run}")
        yield Figure.at_most(
            f"worktree ready for a {files:,}-file git repository (median of {runs}; baseline cp -r)",
            statistics.median(trees),
            "s",
            WORKTREE_TARGET_S,
            statistics.median(copies),
        )
        yield from _merge(root, names, scratch, runs=5 if quick else 9)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _merge(root: Path, names: list[str], scratch: Path, runs: int) -> Iterator[Figure]:
    tree = open_worktree(root, name="merge", parent=scratch / "trees")
    touched = names[100:150]
    for name in touched:
        text = (tree.path / name).read_text().splitlines(keepends=True)
        text[3] = "changed_near_the_top = 1\n"
        text[35] = "changed_near_the_end = 2\n"
        (tree.path / name).write_text("".join(text))
    started = time.perf_counter()
    change = changesets.changeset_of(tree)
    reading = time.perf_counter() - started
    assert len(change.diff.files) == 50, len(change.diff.files)
    originals = {changed.path: changed.old for changed in change.diff.files}
    merged_bytes = {changed.path: changed.new for changed in change.diff.files}

    def reset() -> None:
        for path, content in originals.items():
            (root / path).write_bytes(content or b"")

    plain, merging, with_base = [], [], []
    for _ in range(runs):
        reset()
        started = time.perf_counter()
        for path, content in merged_bytes.items():
            (root / path).write_bytes(content or b"")
        plain.append((time.perf_counter() - started) * 1000)
        reset()
        started = time.perf_counter()
        result = changesets.merge_approved(root, change.diff, range(change.diff.hunk_count))
        merging.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        advance_base(tree, result.written, "bench")
        with_base.append((time.perf_counter() - started) * 1000 + merging[-1])
    for path, content in merged_bytes.items():
        assert (root / path).read_bytes() == content
    remove_worktree(tree)
    yield Figure.at_most(
        f"merge an approved 50-file changeset (100 hunks, checked, fsynced; median of {runs}; baseline plain writes)",
        statistics.median(merging),
        "ms",
        MERGE_TARGET_MS,
        statistics.median(plain),
    )
    yield Figure.at_most(
        "the same merge plus the worktree's new base commit",
        statistics.median(with_base),
        "ms",
        None,
        statistics.median(plain),
    )
    yield Figure.at_most(
        "read the 50-file changeset from the worktree (git diff + cat-file)", reading * 1000, "ms", None
    )
