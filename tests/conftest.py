"""Strict setup for every test: offscreen Qt, a private data and config dir, no real API key, database or keychain.

Must not import Qt: QT_QPA_PLATFORM has to be set before pytest-qt or any test creates the QApplication.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Forced, not defaulted: a test run on a desktop must not flash windows or depend on the running session.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

pytest_plugins = ["tests.support.postgres", "tests.support.leaks", "tests.support.keyring_memory", "tests.support.agent_harness", "tests.support.window_harness"]

# Variables through which a developer's own setup would leak into a test (a real key, a real server, a real database).
_DEVELOPER_ENVIRONMENT = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "SIGNOFF_DB")


@pytest.fixture(autouse=True)
def private_signoff_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own SIGNOFF_DATA_DIR and SIGNOFF_CONFIG_DIR and none of the developer's Anthropic settings."""
    monkeypatch.setenv("SIGNOFF_DATA_DIR", str(tmp_path / "signoff-data"))
    monkeypatch.setenv("SIGNOFF_CONFIG_DIR", str(tmp_path / "signoff-config"))
    for name in _DEVELOPER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
