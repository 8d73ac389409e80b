"""An agent's own worktree: a git worktree on a branch from the workspace's HEAD plus its uncommitted state, or, outside
git, a private copy with a private git directory; either way a base commit the changeset is diffed against.

git runs with hooks and signing off (a workspace's hooks are input the agent may have written). No Qt here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.paths import data_dir

GIT = "git"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Signoff",
    "GIT_AUTHOR_EMAIL": "signoff@localhost",
    "GIT_COMMITTER_NAME": "Signoff",
    "GIT_COMMITTER_EMAIL": "signoff@localhost",
}


class WorktreeError(Exception):
    """A worktree that cannot be made, found or used; the message says why in one sentence."""


@dataclass(frozen=True)
class Worktree:
    """Where the agent works (``path``), how (``kind`` git | copy), and the commit its changes are diffed against."""

    workspace_root: Path
    path: Path
    kind: str
    git_dir: Path
    branch: str | None
    base_commit: str

    def git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        """Run git on the worktree (its own git directory) and return stdout; WorktreeError on failure."""
        return run_git(["--git-dir", str(self.git_dir), "--work-tree", str(self.path), *args], self.path, stdin, env)


def worktrees_dir() -> Path:
    return data_dir() / "worktrees"


def run_git(args: Sequence[str], cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("GIT_") or key == "GIT_EXEC_PATH"}
    environ.update(_IDENTITY)
    environ.update(env or {})
    # No hooks (input the agent may have written), no signing prompt, and no gc or maintenance left running after us.
    settings = (
        "core.hooksPath=/dev/null",
        "commit.gpgsign=false",
        "core.quotepath=off",
        "gc.auto=0",
        "maintenance.auto=0",
    )
    command = [GIT, *(part for setting in settings for part in ("-c", setting)), *args]
    try:
        done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, env=environ, check=False)
    except OSError as err:
        raise WorktreeError(f"git could not be run ({err.strerror or err}).") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise WorktreeError(f"git {args[0] if args else ''} failed: {detail[-1] if detail else done.returncode}")
    return done.stdout


def _git_head(root: Path) -> str | None:
    """HEAD's commit when the workspace is a git repository's top folder with a commit; else None (one git call)."""
    try:
        top, head = run_git(["rev-parse", "--show-toplevel", "--verify", "HEAD"], root).decode().splitlines()[:2]
    except (WorktreeError, ValueError):
        return None
    return head if Path(top).resolve() == root else None


def _git_top(root: Path) -> Path | None:
    return root if _git_head(root) is not None else None


def open_worktree(workspace_root: str | os.PathLike[str], *, name: str, parent: Path | None = None) -> Worktree:
    """Make the agent's worktree for ``workspace_root`` under ``parent`` (default: Signoff's data folder).

    In a git repository: ``git worktree add`` on branch ``signoff/NAME`` at HEAD, the workspace's uncommitted state
    (tracked changes and untracked files that are not ignored) copied in and committed as the base. Elsewhere: a
    private copy with a private git directory whose first commit is the base. A leftover of an earlier attempt with
    the same name (a crash while making it) is removed first.
    """
    root = Path(workspace_root).resolve()
    if not root.is_dir():
        raise WorktreeError(f"The workspace folder {root} does not exist.")
    base = (parent or worktrees_dir()).resolve()
    if base == root or root in base.parents:
        raise WorktreeError("The worktrees folder may not be inside the workspace.")
    base.mkdir(parents=True, exist_ok=True)
    path = base / name
    remove_leftover(root, path)
    head = _git_head(root)
    if head is not None:
        return _open_git(root, path, name, head)
    return _open_copy(root, path)


def _open_git(root: Path, path: Path, name: str, head: str) -> Worktree:
    branch = f"signoff/{name}"
    # Parallel checkout: writing 10,000 files is I/O-bound, and concurrent writers finish sooner.
    run_git(["-c", "checkout.workers=4", "worktree", "add", "--quiet", "-B", branch, str(path), head], root)
    git_dir = Path(run_git(["rev-parse", "--absolute-git-dir"], path).decode().strip())
    changed = _uncommitted_paths(root)
    for relative in changed:
        _copy_entry(root / relative, path / relative)
    tree = Worktree(root, path, "git", git_dir, branch, "")
    if changed:
        tree.git("add", "-A", "--", *changed)
        tree.git("commit", "-q", "--no-verify", "-m", "signoff: the workspace's uncommitted state (changeset base)")
        head = tree.git("rev-parse", "HEAD").decode().strip()
    return Worktree(root, path, "git", git_dir, branch, head)


def _uncommitted_paths(root: Path) -> list[str]:
    """Tracked files changed or deleted since HEAD and untracked files that are not ignored."""
    out = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], root)
    paths = []
    for entry in out.split(b"\0"):
        if len(entry) > 3:
            paths.append(os.fsdecode(entry[3:]))
    return paths


def _copy_entry(source: Path, target: Path) -> None:
    if source.is_symlink() or source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        shutil.copy2(source, target, follow_symlinks=False)
    elif target.is_symlink() or target.exists():
        target.unlink()


def _open_copy(root: Path, path: Path) -> Worktree:
    shutil.copytree(root, path, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    git_dir = path.parent / f"{path.name}.git"
    run_git(["init", "-q", "--bare", str(git_dir)], path.parent)
    tree = Worktree(root, path, "copy", git_dir, None, "")
    tree.git("add", "-A", ".")
    tree.git("commit", "-q", "--allow-empty", "--no-verify", "-m", "signoff: the workspace (changeset base)")
    head = tree.git("rev-parse", "HEAD").decode().strip()
    return Worktree(root, path, "copy", git_dir, None, head)


def find_worktree(
    workspace_root: str | os.PathLike[str],
    *,
    kind: str,
    path: str,
    git_dir: str,
    branch: str | None,
    base_commit: str,
) -> Worktree:
    """A stored worktree found again (after a restart); WorktreeError saying what is missing otherwise."""
    tree = Worktree(Path(workspace_root).resolve(), Path(path), kind, Path(git_dir), branch, base_commit)
    if not tree.path.is_dir():
        raise WorktreeError(f"The agent's worktree {tree.path} is gone.")
    if not tree.git_dir.is_dir():
        raise WorktreeError(f"The git directory of the agent's worktree ({tree.git_dir}) is gone.")
    try:
        tree.git("cat-file", "-e", f"{base_commit}^{{commit}}")
    except WorktreeError:
        raise WorktreeError(f"The base commit {base_commit[:12]} of the agent's worktree is gone.") from None
    return tree


def remove_worktree(tree: Worktree) -> None:
    """Delete the worktree, its branch and its private git directory; what is already gone is fine."""
    remove_leftover(tree.workspace_root, tree.path)
    if tree.kind != "git":
        return
    base_ref = f"refs/signoff/base/{tree.path.name}"
    for args in (["worktree", "prune"], ["update-ref", "-d", base_ref], ["branch", "-D", tree.branch or ""]):
        try:
            run_git(args, tree.workspace_root)
        except WorktreeError:
            pass


def remove_leftover(root: Path, path: Path) -> None:
    """Remove a worktree folder at ``path`` (and git's record of it, and a copy's private git directory)."""
    copy_git = path.parent / f"{path.name}.git"
    if not path.exists() and not copy_git.exists():
        return
    if path.exists() and _git_top(root) is not None:
        try:
            run_git(["worktree", "remove", "--force", "--force", str(path)], root)
        except WorktreeError:
            pass
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    if copy_git.exists():
        shutil.rmtree(copy_git, ignore_errors=True)
    if _git_top(root) is not None:
        try:
            run_git(["worktree", "prune"], root)
        except WorktreeError:
            pass


def advance_base(tree: Worktree, written: dict[str, bytes | None], message: str) -> str:
    """A new base commit: the old base with ``written`` (path -> bytes, None: deleted) as merged into the workspace.
    The worktree's files and branch are untouched; returns the commit."""
    with tempfile.TemporaryDirectory(prefix="signoff-base-") as scratch:
        index = Path(scratch) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        tree.git("read-tree", tree.base_commit, env=env)
        blobs_for: list[str] = []
        files: list[str] = []
        for number, (relative, content) in enumerate(sorted(written.items())):
            if content is None:
                continue
            blob_path = Path(scratch) / f"blob-{number}"
            blob_path.write_bytes(content)
            files.append(relative)
            blobs_for.append(str(blob_path))
        blob_ids = (
            tree.git("hash-object", "-w", "--stdin-paths", stdin="\n".join(blobs_for).encode() + b"\n").split()
            if blobs_for
            else []
        )
        lines = []
        for relative, blob in zip(files, blob_ids, strict=True):
            mode = "100755" if os.access(tree.path / relative, os.X_OK) else "100644"
            lines.append(f"{mode} {blob.decode()}\t{relative}")
        for relative, content in written.items():
            if content is None:
                lines.append(f"0 {'0' * 40}\t{relative}")
        if lines:
            tree.git("update-index", "--index-info", stdin=("\n".join(lines) + "\n").encode(), env=env)
        tree_id = tree.git("write-tree", env=env).decode().strip()
    commit = tree.git("commit-tree", tree_id, "-p", tree.base_commit, "-m", message).decode().strip()
    tree.git("update-ref", f"refs/signoff/base/{tree.path.name}", commit)
    return commit
