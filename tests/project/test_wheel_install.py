"""The package as PyPI would ship it: the wheel built from a clean copy of the checkout, installed with pipx into a
fresh virtualenv of its own (what `pipx install .` does), then run as a user would: `signoff --version`, the offline
demo headless until its first proposal waits, and `signoff approve`. Also: every package of app/ is in the wheel."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from app import __version__
from tests.support.installed_signoff import bundled_env, demo_until_first_proposal_then_approve, init_db

REPO_ROOT = Path(__file__).resolve().parents[2]
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".hypothesis", ".pytest_cache"
)


def test_every_package_of_app_is_listed_for_the_wheel():
    """setuptools ships only the packages pyproject names: a new subpackage left out would be missing after install."""
    listed = set(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(path.parent.relative_to(REPO_ROOT).parts)
        for path in (REPO_ROOT / "app").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("checkout") / "signoff"
    shutil.copytree(REPO_ROOT, copy, ignore=_NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(copy)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr[-4000:]
    (path,) = out.glob(f"signoff-{__version__}-py3-none-any.whl")
    return path


def test_the_wheel_carries_the_migrations_resources_and_entry_point(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"signoff-{__version__}.dist-info/entry_points.txt").decode()
    assert "app/migrations/env.py" in names and "app/resources/demo_workspace/greet.py" in names
    assert any(name.startswith("app/migrations/versions/0001_") for name in names)
    assert "signoff = app.main:main" in entry_points


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("pipx") is None and not os.environ.get("CI"),
    reason="pipx is not installed (the test extra has it; under CI its absence fails)",
)
def test_pipx_installs_the_wheel_and_the_installed_signoff_runs_the_demo(wheel: Path, tmp_path: Path):
    pipx_env = dict(
        os.environ,
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
    )
    pipx_env.pop("PYTHONPATH", None)
    installed = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(wheel)],
        env=pipx_env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr[-4000:]
    signoff = tmp_path / "bin" / "signoff"
    env = bundled_env(tmp_path)
    version = subprocess.run([str(signoff), "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"signoff {__version__}", version.stderr
    # The installed copy runs from its own virtualenv, not from this checkout.
    where = subprocess.run(
        [str(tmp_path / "pipx" / "venvs" / "signoff" / "bin" / "python"), "-c", "import app; print(app.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(tmp_path / "pipx")), where.stdout + where.stderr
    init_db(signoff, env)
    demo_until_first_proposal_then_approve(signoff, env, tmp_path, reviewer="pipx-test")
