"""What every store aggregate stands on: the database and its ORM session factory, and the lifecycle check that
guards every status change. No Qt here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.orm import Session as OrmSession

from app.domain.lifecycle import may_move
from app.store.errors import IllegalTransitionError

if TYPE_CHECKING:
    from typing import TypeAlias

    from sqlalchemy import Select

    from app.store.db import Database

    # A SELECT of any columns (SQLAlchemy 2.1 types a Select by its column types).
    AnySelect: TypeAlias = Select[*tuple[Any, ...]]


class StoreBase:
    """One aggregate of the store (sessions, proposals, queue, ...): the database it reads and writes, nothing else.

    Synchronous; call it from one thread at a time (``AsyncRepository`` does that for the event loop)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _orm(self) -> OrmSession:
        return self.database.session()


def require_transition(proposal_id: int, from_status: str, to_status: str) -> None:
    """Raise IllegalTransitionError unless the lifecycle allows ``from_status`` -> ``to_status``."""
    if not may_move(from_status, to_status):
        raise IllegalTransitionError(proposal_id, from_status, to_status)


def changed_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (what its conditional WHERE decided)."""
    return cast(CursorResult[Any], result).rowcount
