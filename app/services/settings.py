"""User settings kept in settings.json in the config folder: reviewer name, model, limits, database location.

Never a secret: the API key lives in the keyring only (``api_key``). No Qt here.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from app.domain.input_limits import DEFAULT_MAX_EDIT_BYTES
from app.paths import config_dir
from app.services.safe_files import update_file

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_TURNS = 30
DEFAULT_MAX_TOKENS = 8192
# The critic: a small fast model reading each proposal beside the person (issue 13).
DEFAULT_CRITIC_MODEL = "claude-haiku-5-5"
# The window's colours: the system's, or light or dark whatever the system says.
THEMES = ("system", "light", "dark")


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


@dataclass(frozen=True)
class Settings:
    reviewer: str = ""
    model: str = DEFAULT_MODEL
    max_turns: int = DEFAULT_MAX_TURNS
    max_tokens: int = DEFAULT_MAX_TOKENS
    # Empty: SQLite in the data folder. Otherwise a path or SQLAlchemy URL.
    database: str = ""
    last_workspace: str = ""
    # Seconds a decision can be taken back (u / Ctrl+Z on either page of the window, `signoff undo`) before the runner
    # carries it out; Settings (Ctrl+,) → Undo window. 0: no undo, nothing waits.
    undo_seconds: float = 5.0
    # File content above this many bytes (a reviewer's edit, an agent's new file) is refused with a message.
    max_edit_bytes: int = DEFAULT_MAX_EDIT_BYTES
    # Machine judges, where a workspace sets nothing of its own (`signoff judges set`, kept in the database).
    # Empty verify command: detected from the workspace (pytest, unittest, npm test, cargo test, go test, make test).
    verify_command: str = ""
    verify_timeout_s: float = 300.0
    # 'proposal': run on every file proposal; 'request': only when asked (`v`, `signoff verify ID`).
    verify_on: str = "proposal"
    critic_enabled: bool = True
    critic_model: str = DEFAULT_CRITIC_MODEL
    # The reviewer sees the critic's verdict only after deciding, so the human label stays independent.
    critic_blind: bool = False
    # New proposals while the window is not in front: the desktop's notification service (else the tray's message).
    desktop_notifications: bool = True
    theme: str = "system"

    @property
    def reviewer_name(self) -> str:
        return self.reviewer.strip() or default_reviewer()


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> Settings:
    path = settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError):
        # A damaged settings file must not keep the app from starting; it is rewritten on the next save.
        return Settings()
    known = {f.name: f.type for f in fields(Settings)}
    values = {}
    for name, value in raw.items() if isinstance(raw, dict) else ():
        expected = type(getattr(Settings(), name)) if name in known else None
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # "3" typed by hand for a number of seconds
        if expected is not None and isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
            values[name] = value
    if values.get("theme") not in THEMES:
        values.pop("theme", None)  # a hand-edited value the window does not know: the system's colours
    return replace(Settings(), **values)


def save_settings(settings: Settings) -> None:
    """Merge ``settings`` into the file as it is now (keys this version does not know are kept), under a lock, with
    the previous file kept as settings.json.bak and the new one written atomically."""

    def merged(old: bytes | None) -> tuple[bytes, None]:
        try:
            current = json.loads(old) if old is not None else {}
        except ValueError:
            current = {}  # a damaged file is replaced; update_file keeps it as the backup
        values = current if isinstance(current, dict) else {}
        values.update(asdict(settings))
        return (json.dumps(values, indent=2) + "\n").encode("utf-8"), None

    update_file(settings_path(), merged)
