"""Errors the store raises when a database cannot be opened or used, each a single sentence a person can act on.

Every message names the file or the (password-masked) URL; these classes hold no logic and never import Qt.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose; ``location`` is the path or masked URL concerned."""

    def __init__(self, message: str, *, location: str = "") -> None:
        super().__init__(message)
        self.location = location


class UnsupportedDatabaseError(StoreError):
    """The setting is neither a SQLite path/URL nor a PostgreSQL URL."""


class DatabaseUnreachableError(StoreError):
    """The PostgreSQL server did not answer (down, wrong host or port, firewall)."""


class DatabaseAuthError(StoreError):
    """The PostgreSQL server refused the user name or password."""


class DatabaseNotFoundError(StoreError):
    """The PostgreSQL server answered but has no database of that name."""


class DatabaseReadOnlyError(StoreError):
    """The database file or its folder cannot be written (permissions, read-only disk)."""


class DatabaseLockedError(StoreError):
    """Another program kept a lock on the database for longer than Signoff waits."""


class NotADatabaseError(StoreError):
    """The file exists but is not a SQLite database, or is damaged."""


class DiskFullError(StoreError):
    """The disk (or the PostgreSQL server's disk) ran out of space."""


class ForeignDatabaseError(StoreError):
    """The database already holds tables that Signoff did not create; Signoff will not write into it."""


class DatabaseTooNewError(StoreError):
    """The database was migrated by a newer Signoff; this version does not know its schema."""

    def __init__(self, message: str, *, location: str = "", revision: str = "") -> None:
        super().__init__(message, location=location)
        self.revision = revision


class MigrationError(StoreError):
    """Bringing the schema up to date failed; the database was left as it was (and a backup names itself)."""
