"""The offline demo's sample project: a fresh copy of ``resources/demo_workspace`` for every demo session.

No Qt here.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from app.paths import data_dir, resources_dir

DEMO_TASK = (
    "greet.py capitalises only the first word of a name ('ada lovelace' becomes 'Ada lovelace'). "
    "Fix it, add a unit test for it, and run the tests."
)


def make_demo_workspace(parent: Path | None = None) -> Path:
    """Copy the sample project into a new folder under the data folder and return it."""
    base = parent or data_dir() / "demo-workspaces"
    base.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = base / f"demo-{stamp}"
    suffix = 1
    while target.exists():
        suffix += 1
        target = base / f"demo-{stamp}-{suffix}"
    shutil.copytree(resources_dir() / "demo_workspace", target)
    return target
