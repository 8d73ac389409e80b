"""Guards the layering: ui | cli -> services -> store -> domain (import-linter, from pyproject.toml), and that nothing
but app.ui imports Qt, qasync or app.ui, checked three ways.

Reads source and imports modules only; must not import Qt in this process.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
QT_FREE_PACKAGES = ("app.domain", "app.store", "app.services", "app.cli", "app.standin")
FORBIDDEN_TOP_LEVEL = ("PySide6", "shiboken6", "qasync")
FORBIDDEN_APP_PACKAGE = "app.ui"


def _is_forbidden(module: str) -> bool:
    top_level = module.split(".", 1)[0]
    in_ui = module == FORBIDDEN_APP_PACKAGE or module.startswith(FORBIDDEN_APP_PACKAGE + ".")
    return top_level in FORBIDDEN_TOP_LEVEL or in_ui


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute_from(node: ast.ImportFrom, importer: str, importer_is_package: bool) -> str:
    """The absolute module a `from ... import` names, resolving leading dots against the importing module."""
    if node.level == 0:
        return node.module or ""
    package_parts = importer.split(".") if importer_is_package else importer.split(".")[:-1]
    base_parts = package_parts[: len(package_parts) - (node.level - 1)]
    return ".".join(base_parts + ([node.module] if node.module else []))


def _imported_modules(tree: ast.AST, importer: str, importer_is_package: bool) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute_from(node, importer, importer_is_package)
            found.append((node.lineno, module))
            if not _is_forbidden(module):
                # `from app import ui` and `from .. import ui` import app.ui without naming it as the module.
                found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return sorted(found)


def forbidden_imports_under(root: Path, packages: tuple[str, ...]) -> list[str]:
    """Every `file:line imports module` in the given packages (found under root) that breaks the layering."""
    violations: list[str] = []
    for package in packages:
        for path in sorted((root / Path(*package.split("."))).rglob("*.py")):
            importer = _module_name(path, root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module in _imported_modules(tree, importer, path.name == "__init__.py"):
                if _is_forbidden(module):
                    violations.append(f"{path.relative_to(root)}:{line} imports {module}")
    return violations


def qt_free_module_names() -> list[str]:
    names = []
    for package in QT_FREE_PACKAGES:
        for path in sorted((REPO_ROOT / Path(*package.split("."))).rglob("*.py")):
            if path.name != "__main__.py":
                names.append(_module_name(path, REPO_ROOT))
    return names


def _environment_importing_the_checkout() -> dict[str, str]:
    """This process's environment with the checkout first on PYTHONPATH, so the source here is what gets checked."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))


def test_qt_free_packages_import_nothing_from_qt_qasync_or_the_ui_in_their_source() -> None:
    violations = forbidden_imports_under(REPO_ROOT, QT_FREE_PACKAGES)
    assert not violations, "Qt-free layers import Qt or the UI:\n" + "\n".join(violations)


def test_source_scan_catches_absolute_relative_and_dynamic_qt_imports(tmp_path: Path) -> None:
    core = tmp_path / "app" / "core"
    (core / "deep").mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (core / "__init__.py").write_text("from ..ui import widgets\n")
    (core / "plain.py").write_text("import os\nimport PySide6.QtCore\n")
    (core / "deep" / "__init__.py").write_text("")
    (core / "deep" / "nested.py").write_text(
        textwrap.dedent(
            """\
            import importlib
            from ... import ui
            from shiboken6 import isValid
            importlib.import_module("qasync")
            from app.domain import tools
            """
        )
    )

    violations = forbidden_imports_under(tmp_path, ("app.core",))

    assert violations == [
        "app/core/__init__.py:1 imports app.ui",
        "app/core/deep/nested.py:2 imports app.ui",
        "app/core/deep/nested.py:3 imports shiboken6",
        "app/core/deep/nested.py:4 imports qasync",
        "app/core/plain.py:2 imports PySide6.QtCore",
    ]


def _lint_imports() -> Path:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.fail("lint-imports is not installed; it comes with the test extra: pip install -e '.[test]'")
        lint_imports = Path(found)
    return lint_imports


def _run_lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [str(_lint_imports()), "--config", str(REPO_ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_linter_contracts_from_pyproject_are_kept() -> None:
    result = _run_lint_imports(REPO_ROOT)

    assert result.returncode == 0, f"import-linter found broken contracts:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout, result.stdout


_IMPORT_AND_REPORT_QT = """
import importlib, json, sys
forbidden = {forbidden!r}
first_importer = None
for name in {modules!r}:
    importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden or m == "app.ui" or m.startswith("app.ui."))
    if loaded and first_importer is None:
        first_importer = name
print(json.dumps({{"loaded": loaded, "first_importer": first_importer}}))
"""


def test_importing_every_qt_free_module_loads_no_qt() -> None:
    modules = qt_free_module_names()
    assert {"app.domain", "app.store", "app.services", "app.cli"} <= set(modules)
    script = _IMPORT_AND_REPORT_QT.format(forbidden=list(FORBIDDEN_TOP_LEVEL), modules=modules)
    environment = _environment_importing_the_checkout()

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, f"importing the Qt-free modules failed:\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == [], f"importing {report['first_importer']} loaded {report['loaded']}"


def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


_LAYERED_SKELETON = {
    "app/__init__.py": "",
    "app/main.py": "",
    "app/paths.py": "",
    "app/ui/__init__.py": "",
    "app/cli/__init__.py": "",
    "app/tui/__init__.py": "",
    "app/standin/__init__.py": "",
    "app/services/__init__.py": "",
    "app/store/__init__.py": "",
    "app/domain/__init__.py": "",
}


def test_layers_contract_names_the_import_that_reaches_up_a_layer(tmp_path: Path) -> None:
    _write_package(
        tmp_path,
        {
            **_LAYERED_SKELETON,
            "app/store/rows.py": "from app.services import decide\n",
            "app/services/decide.py": "from app.store import base\n",
            "app/store/base.py": "",
        },
    )

    result = _run_lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    assert "layers: ui | cli | tui -> services -> store -> domain BROKEN" in result.stdout
    assert "app.store.rows -> app.services.decide" in result.stdout


def test_layers_contract_refuses_a_cycle_between_store_and_domain(tmp_path: Path) -> None:
    _write_package(
        tmp_path,
        {
            **_LAYERED_SKELETON,
            "app/domain/records.py": "import app.store.models\n",
            "app/store/models.py": "from app.domain import records\n",
        },
    )

    result = _run_lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    assert "app.domain.records -> app.store.models" in result.stdout


def test_cli_importing_the_window_breaks_the_contract(tmp_path: Path) -> None:
    _write_package(
        tmp_path, {**_LAYERED_SKELETON, "app/cli/start.py": "from app.ui import window\n", "app/ui/window.py": ""}
    )

    result = _run_lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    assert "app.cli.start -> app.ui.window" in result.stdout
