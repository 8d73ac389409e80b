"""Taking a decision back inside its undo window, before the runner carries it out; one operation for window and CLI.

No Qt here.
"""

from __future__ import annotations

from app.store.records import ProposalRecord
from app.store.repository import Repository

DEFAULT_UNDO_WINDOW_S = 5.0


def undo(repository: Repository, proposal_id: int, reviewer: str, *, window_s: float) -> ProposalRecord:
    """Return the proposal to waiting and forget ``reviewer``'s decision on it.

    Raises UndoRefusedError (window passed, already being applied, decided by someone else) or UnknownItemError.
    """
    return repository.undo_decision(proposal_id, reviewer, window_s=window_s)
