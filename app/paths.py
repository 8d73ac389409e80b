"""Where Signoff finds its shipped files and keeps the user's: resources, migrations, data and config dirs.

Shipped files live beside the package when installed (``app/resources``, ``app/migrations``) and at the top of the
checkout when run from source; both layouts resolve here so no other module guesses. No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

_PACKAGE_DIR = Path(__file__).resolve().parent
APP_NAME = "signoff"


def _shipped(name: str) -> Path:
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"Signoff's {name}/ folder is missing from {_PACKAGE_DIR} (a broken install?)")


def resources_dir() -> Path:
    return _shipped("resources")


def migrations_dir() -> Path:
    return _shipped("migrations")


def data_dir() -> Path:
    """The user's data folder (database, demo workspaces); ``SIGNOFF_DATA_DIR`` overrides it."""
    override = os.environ.get("SIGNOFF_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """The user's config folder (settings.json, never a secret); ``SIGNOFF_CONFIG_DIR`` overrides it."""
    override = os.environ.get("SIGNOFF_CONFIG_DIR")
    path = Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
