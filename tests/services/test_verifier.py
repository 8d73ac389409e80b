"""The verifier against a real git workspace with real pytest runs: a proposal that breaks a test is red and names it,
one that fixes a test is green, the workspace itself is never touched, and a second proposal on the same tree reuses
the cached baseline."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.domain.judgments import JudgeConfig
from app.services.verifier import Verifier, isolated_copy, network_isolation, tree_state
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.agent_harness import run
from tests.support.judges import BROKEN_ADD, FIXED_HALF, file_proposal, git, tiny_pytest_workspace


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "judges.db"))
    repository = AsyncRepository(Repository(database))
    yield repository
    repository.close()
    database.close()


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


@pytest.mark.parametrize("overlay", [True, False], ids=["overlay-where-allowed", "copy"])
def test_a_proposal_that_breaks_a_test_is_red_and_names_the_newly_failing_test(tmp_path, repository, overlay) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    before = snapshot(root)
    proposal = file_proposal(repository.sync, root, "calc.py", BROKEN_ADD, tool_use_id="t1")

    result = run(Verifier(repository, overlay=overlay).verify(proposal))

    assert result.status == "failed"
    assert result.newly_failing == ["test_calc.py::test_add"]
    assert result.still_failing == ["test_calc.py::test_half"]
    assert (result.passed, result.failed) == (0, 2)
    assert result.command == "python3 -m pytest"
    assert result.output_hash and "test_add" in (result.excerpt or "")
    assert snapshot(root) == before, "the verifier ran in the workspace itself"


@pytest.mark.parametrize("overlay", [True, False], ids=["overlay-where-allowed", "copy"])
def test_a_proposal_that_fixes_a_test_is_green_and_names_the_newly_passing_test(tmp_path, repository, overlay) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    (root / "scratch.txt").write_text("uncommitted work is part of the tree\n")
    before = snapshot(root)
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="t1")

    result = run(Verifier(repository, overlay=overlay).verify(proposal))

    assert result.status == "passed"
    assert result.newly_passing == ["test_calc.py::test_half"]
    assert result.newly_failing == []
    assert (result.passed, result.failed, result.reward) == (2, 0, 1.0)
    assert snapshot(root) == before, "the verifier wrote into the workspace"


def test_a_second_proposal_on_an_unchanged_tree_reuses_the_baseline(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    first = file_proposal(repository.sync, root, "calc.py", BROKEN_ADD, tool_use_id="t1")
    second = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="t2")
    verifier = Verifier(repository)

    async def both():
        return await verifier.verify(first), await verifier.verify(second)

    one, two = run(both())

    assert verifier.baseline_runs == 1
    assert (one.baseline_reused, two.baseline_reused) == (False, True)
    assert repository.sync.judgments.baseline_count(str(root)) == 1
    # A later process reads the same cached baseline from the database.
    assert run(Verifier(repository).verify(second)).baseline_reused


def test_uncommitted_changes_are_part_of_the_tree_and_of_its_copy(tmp_path) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    clean = tree_state(root)
    (root / "calc.py").write_text(FIXED_HALF)
    (root / "notes.txt").write_text("untracked\n")
    (root / "pytest.ini").unlink()
    dirty = tree_state(root)

    copy = isolated_copy(dirty, tmp_path / "copy")

    assert clean.tree_hash != dirty.tree_hash
    assert (copy / "calc.py").read_text() == FIXED_HALF
    assert (copy / "notes.txt").read_text() == "untracked\n"
    assert not (copy / "pytest.ini").exists()
    assert (copy / "test_calc.py").exists()


def test_a_workspace_without_git_is_copied_and_verified_too(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    git(root, "status")  # it is a repository until we take .git away
    import shutil

    shutil.rmtree(root / ".git")
    proposal = file_proposal(repository.sync, root, "calc.py", BROKEN_ADD, tool_use_id="t1")

    result = run(Verifier(repository, overlay=False).verify(proposal))

    assert result.status == "failed"
    assert result.newly_failing == ["test_calc.py::test_add"]


def test_the_workspace_command_and_time_limit_come_from_the_database(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    repository.sync.judgments.set_config(
        str(root), JudgeConfig(verify_command="python3 -m pytest test_calc.py -k add", verify_timeout_s=60)
    )
    proposal = file_proposal(repository.sync, root, "calc.py", BROKEN_ADD, tool_use_id="t1")

    result = run(Verifier(repository).verify(proposal))

    assert result.command == "python3 -m pytest test_calc.py -k add"
    assert result.newly_failing == ["test_calc.py::test_add"]
    assert result.still_failing == []


def test_a_command_that_runs_too_long_is_an_error_that_says_so(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    repository.sync.judgments.set_config(
        str(root), JudgeConfig(verify_command="python -c 'import time; time.sleep(30)'", verify_timeout_s=0.5)
    )
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="t1")

    result = run(Verifier(repository).verify(proposal))

    assert result.status == "error"
    assert "timed out" in (result.note or "").lower()


def test_command_proposals_and_folders_without_tests_are_skipped_with_a_reason(tmp_path, repository) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "README").write_text("hello\n")
    proposal = file_proposal(repository.sync, root.resolve(), "README", "bye\n", tool_use_id="t1")

    result = run(Verifier(repository).verify(proposal))

    assert result.status == "skipped"
    assert "No test suite" in (result.note or "")


def test_the_note_says_whether_the_network_was_cut(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="t1")
    result = run(Verifier(repository).verify(proposal))
    assert ("without network" in (result.note or "")) == result.network_isolated
    prefix, note = network_isolation()
    assert ("without network" in note) == bool(prefix)
