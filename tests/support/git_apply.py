"""Applies a patch with the real `git apply` in a scratch directory and returns the resulting bytes.
Test support only: runs git with no user or system config so local settings cannot change the result."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


class GitApplyError(AssertionError):
    pass


class GitApplier:
    """One reusable scratch directory outside any repository; each apply starts from a clean tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tree = root / "tree"
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            # Stop git from finding an enclosing repository, so it works as a plain `patch`.
            "GIT_CEILING_DIRECTORIES": str(root),
            "LC_ALL": "C",
        }

    def apply(self, old: bytes | None, patch: bytes, path: str) -> bytes | None:
        """Bytes of ``path`` after `git apply` of ``patch`` on ``old``; None when the patch deleted it."""
        if self.tree.exists():
            shutil.rmtree(self.tree)
        self.tree.mkdir(parents=True)
        target = self.tree / path
        if old is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(old)
        result = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            input=patch,
            cwd=self.tree,
            env=self._env,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise GitApplyError(
                f"git apply failed ({result.returncode}): {result.stderr.decode(errors='replace')}\n"
                f"patch was:\n{patch!r}"
            )
        return target.read_bytes() if target.exists() else None


def git_available() -> bool:
    return shutil.which("git") is not None
