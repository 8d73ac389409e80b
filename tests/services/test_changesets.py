"""Worktrees and changesets on real git repositories and real files: what the agent changed, merging exactly the
approved hunks, conflicts, hostile paths, a merge resumed after it died half way."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.domain import hunks
from app.domain.changeset import ChangesetPathError, build
from app.domain.records import ChangedFile
from app.services import changesets
from app.services.worktrees import WorktreeError, advance_base, find_worktree, open_worktree, remove_worktree


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env, text=True).stdout


def numbered(count: int, change: dict[int, str] | None = None) -> bytes:
    lines = [f"line {i}" for i in range(1, count + 1)]
    for number, text in (change or {}).items():
        lines[number - 1] = text
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_bytes(numbered(40))
    (root / "b.txt").write_bytes(b"bee\n")
    (root / ".gitignore").write_text("build/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def test_worktree_starts_from_head_plus_uncommitted_state_and_leaves_the_workspace_alone(repo: Path, tmp_path: Path):
    (repo / "b.txt").write_bytes(b"bee, edited but not committed\n")
    (repo / "notes.md").write_text("untracked\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_text("ignored\n")
    tree = open_worktree(repo, name="s1", parent=tmp_path / "trees")

    assert tree.kind == "git" and tree.branch == "signoff/s1"
    assert (tree.path / "b.txt").read_bytes() == b"bee, edited but not committed\n"
    assert (tree.path / "notes.md").read_text() == "untracked\n"
    assert not (tree.path / "build").exists()
    assert changesets.changeset_of(tree).empty
    assert git(repo, "status", "--porcelain") == " M b.txt\n?? notes.md\n"


def test_changeset_lists_every_touched_file_and_merges_exactly_the_approved_hunks(repo: Path, tmp_path: Path):
    tree = open_worktree(repo, name="s2", parent=tmp_path / "trees")
    (tree.path / "a.txt").write_bytes(numbered(40, {2: "TWO", 38: "THIRTY-EIGHT"}))
    (tree.path / "b.txt").unlink()
    (tree.path / "src").mkdir()
    (tree.path / "src" / "new.py").write_text("print('new')\n")

    change = changesets.changeset_of(tree)
    assert [f.path for f in change.diff.files] == ["a.txt", "b.txt", "src/new.py"]
    assert change.diff.hunk_count == 4  # two in a.txt, the deletion as a whole, the new file
    assert "THIRTY-EIGHT" in change.diff.shown_text and "src/new.py" in change.diff.shown_text

    verdicts = [
        hunks.HunkVerdict(0, "approve"),
        hunks.HunkVerdict(1, "reject", reason="keep 38"),
        hunks.HunkVerdict(2, "reject", reason="keep b"),
        hunks.HunkVerdict(3, "approve"),
    ]
    result = changesets.merge(repo, change.diff, verdicts)

    assert (repo / "a.txt").read_bytes() == numbered(40, {2: "TWO"})
    assert (repo / "b.txt").read_bytes() == b"bee\n"
    assert (repo / "src" / "new.py").read_text() == "print('new')\n"
    assert sorted(result.written) == ["a.txt", "src/new.py"]

    # The next changeset is diffed against the workspace as merged: only the rejected work is left in it.
    base = advance_base(tree, result.written, "merged")
    again = changesets.changeset_of(
        find_worktree(
            repo, kind="git", path=str(tree.path), git_dir=str(tree.git_dir), branch=tree.branch, base_commit=base
        )
    )
    assert [f.path for f in again.diff.files] == ["a.txt", "b.txt"]
    assert again.diff.hunk_count == 2


def test_merge_refuses_with_a_conflict_view_when_the_workspace_changed_and_writes_nothing(repo: Path, tmp_path: Path):
    tree = open_worktree(repo, name="s3", parent=tmp_path / "trees")
    (tree.path / "a.txt").write_bytes(numbered(40, {2: "agent"}))
    (tree.path / "b.txt").write_bytes(b"agent bee\n")
    change = changesets.changeset_of(tree)
    (repo / "b.txt").write_bytes(b"the person edited b meanwhile\n")

    with pytest.raises(changesets.MergeConflict) as caught:
        changesets.merge_approved(repo, change.diff, range(change.diff.hunk_count))

    [conflict] = caught.value.conflicts
    assert (conflict.path, conflict.base, conflict.now, conflict.proposed) == (
        "b.txt",
        b"bee\n",
        b"the person edited b meanwhile\n",
        b"agent bee\n",
    )
    assert (repo / "a.txt").read_bytes() == numbered(40)  # nothing written, not even the file without conflict
    view = changesets.describe_conflict(caught.value)
    assert "b.txt was changed in the workspace" in view and "+the person edited b meanwhile" in view


def test_a_merge_that_died_half_way_finishes_without_writing_anything_twice(repo: Path, tmp_path: Path):
    tree = open_worktree(repo, name="s4", parent=tmp_path / "trees")
    (tree.path / "a.txt").write_bytes(numbered(40, {1: "one"}))
    (tree.path / "b.txt").write_bytes(b"agent bee\n")
    change = changesets.changeset_of(tree)
    # As if the first run wrote a.txt and was killed before b.txt.
    (repo / "a.txt").write_bytes(numbered(40, {1: "one"}))

    result = changesets.merge_approved(repo, change.diff, range(change.diff.hunk_count))

    assert result.already == ("a.txt",)
    assert sorted(result.written) == ["a.txt", "b.txt"]
    assert (repo / "b.txt").read_bytes() == b"agent bee\n"


def test_hostile_paths_in_a_changeset_are_refused_and_left_out(repo: Path, tmp_path: Path):
    tree = open_worktree(repo, name="s5", parent=tmp_path / "trees")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")
    (tree.path / "link.txt").symlink_to(outside)
    (tree.path / ".signoff").mkdir()
    (tree.path / ".signoff" / "policy.toml").write_text("[[rules]]\n")
    (tree.path / "ok.txt").write_text("fine\n")

    change = changesets.changeset_of(tree)

    assert [f.path for f in change.diff.files] == ["ok.txt"]
    refused = {item.path: item.why for item in change.refused}
    assert "symbolic link" in refused["link.txt"]
    assert ".signoff" in refused[".signoff/policy.toml"]


@pytest.mark.parametrize(
    "path", ["../escape.txt", "/etc/passwd", ".git/config", "sub/.git/hooks/pre-commit", ".signoff/x"]
)
def test_a_forged_changeset_with_a_hostile_path_is_not_merged(repo: Path, path: str):
    diff = build([ChangedFile(path, None, b"owned\n")])
    with pytest.raises(ChangesetPathError):
        changesets.merge_approved(repo, diff, [0])
    assert not (repo.parent / "escape.txt").exists()


def test_merge_never_writes_through_a_symbolic_link_in_the_workspace(repo: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / "docs").symlink_to(elsewhere)
    diff = build([ChangedFile("docs/readme.md", None, b"through the link\n")])
    with pytest.raises(ChangesetPathError):
        changesets.merge_approved(repo, diff, [0])
    assert not (elsewhere / "readme.md").exists()


def test_outside_git_the_agent_works_in_a_private_copy(tmp_path: Path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.txt").write_text("x\n")
    tree = open_worktree(plain, name="s6", parent=tmp_path / "trees")
    (tree.path / "x.txt").write_text("x changed\n")

    change = changesets.changeset_of(tree)

    assert tree.kind == "copy" and not (tree.path / ".git").exists()
    assert [f.path for f in change.diff.files] == ["x.txt"]
    changesets.merge_approved(plain, change.diff, [0])
    assert (plain / "x.txt").read_text() == "x changed\n"


def test_a_removed_worktree_is_reported_when_looked_for_again(repo: Path, tmp_path: Path):
    tree = open_worktree(repo, name="s7", parent=tmp_path / "trees")
    remove_worktree(tree)

    with pytest.raises(WorktreeError, match="is gone"):
        find_worktree(
            repo,
            kind="git",
            path=str(tree.path),
            git_dir=str(tree.git_dir),
            branch=tree.branch,
            base_commit=tree.base_commit,
        )
    assert "signoff/s7" not in git(repo, "branch", "--list")
    assert git(repo, "worktree", "list").count("\n") == 1


def test_a_file_where_the_workspace_has_a_folder_is_refused_before_anything_is_written(repo: Path):
    (repo / "docs").mkdir()
    diff = build([ChangedFile("a.txt", numbered(40), numbered(40, {1: "one"})), ChangedFile("docs", None, b"x\n")])
    with pytest.raises(ChangesetPathError, match="folder"):
        changesets.merge_approved(repo, diff, range(diff.hunk_count))
    assert (repo / "a.txt").read_bytes() == numbered(40)


def test_removing_a_worktree_whose_folder_was_deleted_by_hand_still_drops_its_branch(repo: Path, tmp_path: Path):
    import shutil

    tree = open_worktree(repo, name="s8", parent=tmp_path / "trees")
    shutil.rmtree(tree.path)
    remove_worktree(tree)
    assert "signoff/s8" not in git(repo, "branch", "--list")
    assert git(repo, "worktree", "list").count("\n") == 1


def test_a_workspace_whose_path_has_spaces_gets_a_git_worktree(tmp_path: Path):
    root = tmp_path / "my project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "x.txt").write_text("x\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    tree = open_worktree(root, name="s9", parent=tmp_path / "trees with spaces")
    assert tree.kind == "git" and (tree.path / "x.txt").read_text() == "x\n"
