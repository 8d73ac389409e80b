"""The one composition root of Signoff, shared by the window (app.ui.application) and the command line (app.cli):
which database to open (``--db``, then ``SIGNOFF_DB``, then Settings, then SQLite in the data folder), and the
objects a process that runs sessions needs over it (repository, API endpoints, decision waiter, session manager).

Every import is inside the function that needs it, so a command that only reads the queue never loads the anthropic
SDK, and `signoff --help` loads neither SQLAlchemy nor Alembic. No Qt here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.services.api_key import ApiKeyStore
    from app.services.decision_wait import DecisionWaiter
    from app.services.endpoints import Endpoints
    from app.services.sessions import SessionManager
    from app.services.settings import Settings
    from app.store.async_repository import AsyncRepository
    from app.store.db import Database
    from app.store.repository import Repository

DB_ENVIRONMENT_VARIABLE = "SIGNOFF_DB"


def database_setting(db_url: str | None, settings: Settings | None = None) -> str | None:
    """The database to open: the explicit ``--db`` value, else SIGNOFF_DB, else the Settings' database, else None
    (SQLite in the data folder)."""
    if db_url:
        return db_url
    from_environment = os.environ.get(DB_ENVIRONMENT_VARIABLE)
    if from_environment:
        return from_environment
    if settings is None:
        from app.services.settings import load_settings

        settings = load_settings()
    return settings.database or None


def open_store(db_url: str | None = None, settings: Settings | None = None) -> Database:
    """Open (and migrate to head) the database the setting names; raises app.store.errors.StoreError. A --db or
    SIGNOFF_DB URL must name an existing database (app.services.database_location)."""
    from app.services.database_location import open_chosen_database

    return open_chosen_database(db_url, settings=settings)


def repository_over(database: Database) -> Repository:
    from app.store.repository import Repository

    return Repository(database)


@dataclass
class SessionRuntime:
    """What runs sessions in one process: the window's and `signoff run` / `resume` / `compare`."""

    database: Any
    repository: AsyncRepository
    key_store: ApiKeyStore
    endpoints: Endpoints
    waiter: DecisionWaiter
    manager: SessionManager
    settings: Settings

    def close(self) -> None:
        self.endpoints.close()
        self.repository.close()


def session_runtime(database: Any, *, settings: Settings, key_store: ApiKeyStore | None = None) -> SessionRuntime:
    """The repository (on its database thread), API endpoints, decision waiter and session manager over ``database``."""
    from app.services.api_key import ApiKeyStore
    from app.services.decision_wait import DecisionWaiter
    from app.services.endpoints import Endpoints
    from app.services.sessions import SessionManager
    from app.store.async_repository import AsyncRepository

    repository = AsyncRepository(repository_over(database))
    key_store = key_store or ApiKeyStore()
    endpoints = Endpoints(key_store.current)
    # Decisions take effect only after the undo window (Settings), whichever process or machine made them.
    waiter = DecisionWaiter(repository, undo_window_s=settings.undo_seconds)
    manager = SessionManager(repository, endpoints, waiter=waiter)
    return SessionRuntime(database, repository, key_store, endpoints, waiter, manager, settings)
