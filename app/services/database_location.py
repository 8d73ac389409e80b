"""Which database Signoff opens, and where it may create one: only at the default location, the Settings path or
by ``signoff init-db``; a URL given with --db or SIGNOFF_DB must name an existing database. No Qt here."""

from __future__ import annotations

import os
from collections.abc import Mapping

from app.services.settings import Settings, load_settings
from app.store.db import Database, open_database


def open_chosen_database(
    db_url: str | None, *, settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> Database:
    """The database named by ``db_url`` (--db), else SIGNOFF_DB, else Settings, else the default file. Raises a
    StoreError naming the file when a given one is missing (a typo must not show an empty queue)."""
    explicit = db_url or (os.environ if environ is None else environ).get("SIGNOFF_DB")
    if explicit:
        return open_database(explicit, create=False, make_folders=False)
    chosen = (settings if settings is not None else load_settings()).database
    if chosen:
        return open_database(chosen, create=True, make_folders=False)
    return open_database(None)


def init_database(db_url: str | None, *, settings: Settings | None = None) -> Database:
    """Create (or open and migrate) the database at ``db_url``, else SIGNOFF_DB, the Settings path or the default
    location; the folder must exist unless it is the default one."""
    chosen = db_url or os.environ.get("SIGNOFF_DB") or (settings if settings is not None else load_settings()).database
    if chosen:
        return open_database(chosen, create=True, make_folders=False)
    return open_database(None)
