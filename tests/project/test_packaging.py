"""Guards what ships: the wheel carries resources and migrations and finds them once installed; metadata stays safe.

Builds from a copy of the checkout so no build/ or stale files leak into the wheel or the checkout; imports no Qt.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
# What a build would pick up from a working checkout but must never ship or depend on.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".hypothesis",
    ".pytest_cache",
    ".import_linter_cache",
)
_MIGRATION_PATTERNS = ("*.py", "*.mako", "*.ini", "versions/*.py")


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the checkout: what the wheel is built from and what its contents are compared with."""
    copy = tmp_path_factory.mktemp("checkout") / "signoff"
    shutil.copytree(REPO_ROOT, copy, ignore=_NOT_SOURCE)
    return copy


@pytest.fixture(scope="module")
def built_wheel(checkout_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel_dir = tmp_path_factory.mktemp("wheelhouse")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w", str(wheel_dir), "."],
        cwd=checkout_copy,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"building the wheel failed:\n{result.stdout}\n{result.stderr}"
    (wheel,) = wheel_dir.glob("signoff-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel_names(built_wheel: Path) -> set[str]:
    with zipfile.ZipFile(built_wheel) as archive:
        return set(archive.namelist())


@pytest.mark.slow
def test_wheel_ships_every_resource_under_app_resources(wheel_names: set[str], checkout_copy: Path) -> None:
    resources = checkout_copy / "resources"
    shipped = [path.relative_to(resources).as_posix() for path in resources.rglob("*") if path.is_file()]
    expected = {f"app/resources/{name}" for name in shipped}
    assert "app/resources/icons/signoff.svg" in expected
    assert not expected - wheel_names, f"missing from the wheel: {sorted(expected - wheel_names)}"


@pytest.mark.slow
def test_wheel_ships_the_alembic_environment_and_every_migration(wheel_names: set[str], checkout_copy: Path) -> None:
    migrations = checkout_copy / "migrations"
    shipped_in_checkout = {path for pattern in _MIGRATION_PATTERNS for path in migrations.glob(pattern)}
    expected = {f"app/migrations/{path.relative_to(migrations).as_posix()}" for path in shipped_in_checkout}
    expected |= {"app/migrations/env.py", "app/migrations/versions/0001_initial.py"}
    assert not expected - wheel_names, f"missing from the wheel: {sorted(expected - wheel_names)}"


@pytest.mark.slow
def test_wheel_ships_every_app_module_and_nothing_outside_app(wheel_names: set[str], checkout_copy: Path) -> None:
    # [tool.setuptools] lists packages by hand, so a new subpackage is easy to forget there.
    expected = {path.relative_to(checkout_copy).as_posix() for path in (checkout_copy / "app").rglob("*.py")}
    missing = sorted(expected - wheel_names)
    assert not missing, f"missing from the wheel (add the package to [tool.setuptools] packages): {missing}"
    unexpected = {name.split("/", 1)[0] for name in wheel_names} - {"app"}
    assert all(name.endswith(".dist-info") for name in unexpected), f"stray top-level entries: {unexpected}"


@pytest.mark.slow
def test_installed_wheel_finds_resources_and_migrations_inside_the_install(built_wheel: Path, tmp_path: Path) -> None:
    install_dir = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(install_dir),
            str(built_wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, f"installing the wheel failed:\n{installed.stdout}\n{installed.stderr}"

    located = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app, app.paths as p; print(app.__file__); print(p.resources_dir()); print(p.migrations_dir())",
        ],
        cwd=elsewhere,
        env=dict(os.environ, PYTHONPATH=str(install_dir)),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert located.returncode == 0, located.stderr
    package_file, resources_dir, migrations_dir = (Path(line) for line in located.stdout.splitlines())
    for path in (package_file, resources_dir, migrations_dir):
        assert path.resolve().is_relative_to(install_dir.resolve()), f"{path} is outside the install at {install_dir}"
    assert (resources_dir / "icons" / "signoff.svg").is_file()
    assert (migrations_dir / "env.py").is_file()


def _pyside6_requirements() -> list[Requirement]:
    requirements = [Requirement(text) for text in _pyproject()["project"]["dependencies"]]
    return [requirement for requirement in requirements if canonicalize_name(requirement.name) == "pyside6"]


def _applies_on(requirement: Requirement, python_version: str) -> bool:
    if requirement.marker is None:
        return True
    return requirement.marker.evaluate({"python_version": python_version, "python_full_version": f"{python_version}.0"})


def test_pyside6_requirement_excludes_6_12_0_on_python_3_11_but_allows_the_known_good_6_11_3() -> None:
    on_311 = [requirement for requirement in _pyside6_requirements() if _applies_on(requirement, "3.11")]

    assert on_311, "no PySide6 requirement applies on Python 3.11"
    assert not all(requirement.specifier.contains("6.12.0") for requirement in on_311), (
        "PySide6 6.12.0 aborts on Python 3.11 (PYSIDE-3474) but pyproject allows it: "
        + "; ".join(str(requirement) for requirement in on_311)
    )
    assert all(requirement.specifier.contains("6.11.3") for requirement in on_311)


def test_pyside6_is_required_on_every_supported_python() -> None:
    for python_version in ("3.11", "3.12", "3.13"):
        assert any(_applies_on(requirement, python_version) for requirement in _pyside6_requirements()), python_version


def test_console_script_runs_the_cli_entry_point() -> None:
    assert _pyproject()["project"]["scripts"]["signoff"] == "app.main:main"


def test_desktop_entry_launches_the_console_script_with_the_shipped_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # desktop entry keys are case-sensitive
    entry.read(REPO_ROOT / "packaging" / "signoff.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]

    assert desktop["Type"] == "Application"
    assert desktop["Name"] == "Signoff"
    assert desktop["Exec"].split()[0] in _pyproject()["project"]["scripts"]
    assert (REPO_ROOT / "resources" / "icons" / f"{desktop['Icon']}.svg").is_file()
    assert desktop["Categories"].endswith(";")


def test_app_icon_is_a_square_svg() -> None:
    root = ElementTree.parse(REPO_ROOT / "resources" / "icons" / "signoff.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == root.get("height")


@pytest.mark.parametrize("script", ["packaging/dev.sh", ".ci/run"])
def test_shell_script_parses(script: str) -> None:
    result = subprocess.run(["bash", "-n", str(REPO_ROOT / script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_ci_runs_the_test_command_the_readme_gives() -> None:
    test_command = "bash packaging/dev.sh test"
    assert test_command in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = REPO_ROOT / "README.md"
    assert readme.is_file(), "README.md is missing; it must give the test command CI runs"
    assert test_command in readme.read_text(encoding="utf-8")
