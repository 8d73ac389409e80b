"""Strict setup for every test: offscreen Qt, a private data and config dir, no real API key, database or keychain.

Must not import Qt: QT_QPA_PLATFORM has to be set before pytest-qt or any test creates the QApplication.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

# Forced, not defaulted: a test run on a desktop must not flash windows or depend on the running session.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.leaks",
    "tests.support.keyring_memory",
    "tests.support.agent_harness",
    "tests.support.window_harness",
]

# Variables through which a developer's own setup would leak into a test (a real key, a real server, a real database).
_DEVELOPER_ENVIRONMENT = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "SIGNOFF_DB")


@pytest.fixture(autouse=True, scope="session")
def garbage_collected_on_the_main_thread():
    """As in the app (app/ui/garbage.py): no automatic collection, which could run on a worker thread and destroy
    Qt objects there; each test's garbage is collected on the main thread when it ends."""
    gc.disable()
    yield
    gc.enable()


@pytest.fixture(autouse=True)
def collect_after_each_test():
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def private_signoff_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own SIGNOFF_DATA_DIR and SIGNOFF_CONFIG_DIR and none of the developer's Anthropic settings."""
    monkeypatch.setenv("SIGNOFF_DATA_DIR", str(tmp_path / "signoff-data"))
    monkeypatch.setenv("SIGNOFF_CONFIG_DIR", str(tmp_path / "signoff-config"))
    for name in _DEVELOPER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives widgets carries the `gui` marker, so `-m "not gui"` runs the suite without Qt."""
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)
