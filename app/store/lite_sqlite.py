"""Reading and writing a Signoff SQLite file with the standard library's sqlite3, for the commands that must start
without SQLAlchemy (app.store.queue_lite, app.store.decide_lite): opening a file only when it is at the schema's head
revision, and the column formats SQLAlchemy stores (naive UTC times, JSON text)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# SQLAlchemy's storage format for DATETIME on SQLite (naive UTC, as app.store.models.UtcDateTime binds it).
STORED_TIME = "%Y-%m-%d %H:%M:%S.%f"
# As app.store.db.DEFAULT_LOCK_TIMEOUT: how long a write waits for another process's lock.
LOCK_TIMEOUT_S = 10.0
_CHUNK = 500


def connect_at_head(path: Path, head_revision: str) -> sqlite3.Connection | None:
    """A connection to the Signoff database at ``path`` with the pragmas the repository sets, or None when only the
    repository can answer for sure: no such file, not a SQLite file, another schema revision, or unreadable."""
    if not path.is_file():
        return None
    try:
        # Read-write mode even for reads: a WAL file's readers need its shared-memory file, which a read-only
        # connection could not create. isolation_level None: transactions are begun explicitly.
        connection = sqlite3.connect(str(path), timeout=LOCK_TIMEOUT_S, check_same_thread=False, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(LOCK_TIMEOUT_S * 1000)}")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        connection.close()
        return None
    if revision is None or revision[0] != head_revision:
        connection.close()
        return None
    return connection


def utc(text: str | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (as the repository's records carry it)."""
    if text is None:
        return None
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def stored(value: dt.datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite, so that it compares and reads back the same."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).strftime(STORED_TIME)


def json_value(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def json_text(value: Any) -> str | None:
    """A nullable JSON column's stored text: SQL NULL for None, else what SQLAlchemy's JSON type writes."""
    return None if value is None else json.dumps(value)


def chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """``ids`` in lists short enough for one ``IN (...)``."""
    wanted = list(ids)
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]
