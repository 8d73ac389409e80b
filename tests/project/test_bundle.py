"""The desktop bundle (packaging/bundle.sh) built from a copy of the checkout and run without any Python on the PATH:
`--version`, the demo headless until its first proposal waits, `signoff approve`, and the window's screenshot offscreen.
Also: the desktop entry and AppStream metainfo validate, and the version is written in one place."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

import pytest

from app import __version__
from tests.support.installed_signoff import bundled_env, demo_until_first_proposal_then_approve, init_db

REPO_ROOT = Path(__file__).resolve().parents[2]
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".hypothesis", ".pytest_cache"
)


def test_the_version_is_written_once_and_signoff_prints_it():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    result = subprocess.run(
        [sys.executable, "-m", "app", "--version"],
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == f"signoff {__version__}"


def test_the_licence_file_is_the_mit_licence_pyproject_names():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "MIT"}
    assert (REPO_ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in project["classifiers"]


@pytest.mark.skipif(
    shutil.which("appstreamcli") is None and not os.environ.get("CI"),
    reason="appstreamcli is not installed (packaging/dev.sh test installs it; under CI its absence fails)",
)
def test_the_appstream_metainfo_validates():
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(REPO_ROOT / "packaging" / "signoff.metainfo.xml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None and not os.environ.get("CI"),
    reason="desktop-file-utils is not installed (packaging/dev.sh test installs it; under CI its absence fails)",
)
def test_the_desktop_entry_validates():
    result = subprocess.run(
        ["desktop-file-validate", str(REPO_ROOT / "packaging" / "signoff.desktop")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


# -- the built bundle -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/signoff built by bundle.sh from a clean copy of the checkout, with this test run's Python for the build."""
    copy = tmp_path_factory.mktemp("checkout") / "signoff"
    shutil.copytree(REPO_ROOT, copy, ignore=_NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        ["bash", "packaging/bundle.sh"],
        cwd=copy,
        env=dict(os.environ, SIGNOFF_BUNDLE_PYTHON=sys.executable, SIGNOFF_BUNDLE_OUT=str(out)),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, f"bundle.sh failed:\n{result.stdout}\n{result.stderr[-6000:]}"
    return out / "signoff"


@pytest.mark.slow
def test_the_bundle_carries_its_icon_entry_metainfo_and_tarball(bundle: Path):
    share = bundle / "share"
    assert (share / "applications" / "signoff.desktop").is_file()
    assert (share / "metainfo" / "app.signoff.Signoff.metainfo.xml").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "signoff.svg").is_file()
    for size in (16, 32, 48, 128, 256):
        png = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "signoff.png"
        width, height = struct.unpack(">II", png.read_bytes()[16:24])
        assert (width, height) == (size, size)
    internal = bundle / "_internal"
    assert (internal / "app" / "migrations" / "env.py").is_file()
    assert (internal / "app" / "resources" / "demo_workspace" / "greet.py").is_file()
    left_out = ("QtWebEngineCore", "QtQml", "QtQuick", "Qt3DCore", "QtMultimedia", "QtPdf")
    shipped = {path.name for path in internal.rglob("libQt6*")}
    assert not [name for name in shipped if any(part in name for part in left_out)], sorted(shipped)
    (tarball,) = bundle.parent.glob(f"signoff-{__version__}-linux-*.tar.gz")
    with tarfile.open(tarball) as archive:
        assert "signoff/signoff" in archive.getnames()


@pytest.mark.slow
def test_the_bundle_runs_the_demo_headless_and_takes_a_decision_without_python(bundle: Path, tmp_path: Path):
    env = bundled_env(tmp_path)
    version = subprocess.run(
        [str(bundle / "signoff"), "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == f"signoff {__version__}", version.stderr
    init_db(bundle / "signoff", env)
    demo_until_first_proposal_then_approve(bundle / "signoff", env, tmp_path, reviewer="bundle-test")


@pytest.mark.slow
def test_the_bundled_window_opens_offscreen_at_its_default_size(bundle: Path, tmp_path: Path):
    shot = tmp_path / "window.png"
    env = bundled_env(tmp_path, QT_QPA_PLATFORM="offscreen", SIGNOFF_SCREENSHOT=str(shot))
    init_db(bundle / "signoff", env)
    started = time.monotonic()
    result = subprocess.run([str(bundle / "signoff"), "--demo"], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    # MainWindow opens at 1280x860 (the offscreen screen is large enough to hold it).
    assert (width, height) == (1280, 860), (width, height)
    print(f"bundled window: started, painted and closed in {elapsed:.2f} s")
