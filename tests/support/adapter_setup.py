"""What the external-agent adapter tests share: a project folder with decisions final at once, and a fresh database."""

from __future__ import annotations

import json
import os
from pathlib import Path

from app.store.db import open_database


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project folder holding ``files``, with Settings' undo window at 0 so an adapter answers as soon as a decision
    is recorded."""
    folder = tmp_path / "project"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    config = Path(os.environ["SIGNOFF_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps({"undo_seconds": 0}), encoding="utf-8")
    return folder


def new_database(tmp_path: Path) -> str:
    """The path of a freshly created SQLite database (a --db URL must name an existing one)."""
    url = str(tmp_path / "signoff.db")
    open_database(url).close()
    return url
