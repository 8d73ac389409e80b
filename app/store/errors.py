"""Errors the store raises when a database cannot be opened or used, each a single sentence a person can act on.

Database failures name the file or the (password-masked) URL; refusals name the item. These classes hold no logic
and never import Qt.
"""

from __future__ import annotations

import datetime as dt


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


# -- refusals met while working: one sentence saying why the store did not do what was asked ----------------------


class UnknownItemError(StoreError):
    """There is no session, proposal or compare with that id."""


class AlreadyDecidedError(StoreError):
    """The proposal no longer waits for this decision: someone decided (or withdrew) it first."""


class UndoRefusedError(StoreError):
    """The decision can no longer be taken back (its undo window passed, it is being applied, or it is not yours)."""


class DecisionRefusedError(StoreError):
    """A decision this reviewer may not make now (claimed by someone else, second review by the same person, ...)."""


class CompareRefusedError(StoreError):
    """The compare or pick cannot be done as asked; the message says why in one line."""


class IllegalTransitionError(StoreError):
    """A status change the proposal lifecycle (app.domain.lifecycle) does not allow."""

    def __init__(self, proposal_id: int, from_status: str, to_status: str) -> None:
        super().__init__(f"Proposal {proposal_id} cannot go from {from_status} to {to_status}.")
        self.proposal_id = proposal_id
        self.from_status = from_status
        self.to_status = to_status


def clock(moment: dt.datetime) -> str:
    """HH:MM:SS in this computer's time zone: what a person compares with the clock on their screen."""
    return moment.astimezone().strftime("%H:%M:%S")


class ProposalClaimedError(DecisionRefusedError):
    def __init__(self, proposal_id: int, holder: str, until: dt.datetime) -> None:
        super().__init__(f"Proposal {proposal_id} is claimed by {holder} until {clock(until)}.")
        self.proposal_id = proposal_id
        self.holder = holder
        self.until = until
