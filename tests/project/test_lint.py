"""Guards the lint: `ruff check` over app, tests and migrations passes with the configuration in pyproject.toml.

Runs ruff as a subprocess only; formatting (`ruff format --check`) is deliberately not enforced here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("app", "tests", "migrations")


def _ruff() -> Path:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        found = shutil.which("ruff")
        if found is None:
            pytest.fail("ruff is not installed; it comes with the test extra: pip install -e '.[test]'")
        ruff = Path(found)
    return ruff


def test_ruff_check_finds_nothing_in_the_app_the_tests_or_the_migrations():
    result = subprocess.run(
        [str(_ruff()), "check", "--no-cache", "--config", str(REPO_ROOT / "pyproject.toml"), *CHECKED],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
