"""Type checking: mypy, configured in pyproject.toml ([tool.mypy]), passes strict over app.domain and app.store.

Runs mypy as a subprocess (as tests/project/test_layers.py runs lint-imports) and fails with mypy's own report.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STRICT_PACKAGES = ("app/domain", "app/store")


def _mypy(*arguments: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed; it comes with the test extra: pip install -e '.[test]'")
    environment = {**os.environ, "MYPY_FORCE_COLOR": "0", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary", *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_domain_and_store_pass_mypy_strict() -> None:
    result = _mypy("--config-file", str(REPO_ROOT / "pyproject.toml"), *STRICT_PACKAGES)
    if result.returncode != 0:
        pytest.fail(f"mypy found type errors in {', '.join(STRICT_PACKAGES)}:\n{result.stdout}{result.stderr}")


def test_the_configuration_makes_domain_and_store_strict(tmp_path: Path) -> None:
    """An untyped function in app.domain fails the check: the strict override is in force, not just present."""
    domain = tmp_path / "app" / "domain"
    domain.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (domain / "__init__.py").write_text("")
    (domain / "loose.py").write_text("def untyped(value):\n    return value\n")
    result = _mypy("--config-file", str(REPO_ROOT / "pyproject.toml"), "app/domain", cwd=tmp_path)
    assert result.returncode != 0
    assert "loose.py:1: error: Function is missing a type annotation" in result.stdout
