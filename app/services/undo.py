"""Taking a decision back inside its undo window, before the runner carries it out; one operation for window and CLI.

No Qt here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.records import ProposalRecord

if TYPE_CHECKING:
    from app.store.repository import Repository

DEFAULT_UNDO_WINDOW_S = 5.0


def undo(
    repository: Repository, proposal_id: int, reviewer: str, *, window_s: float, channel: str = "window"
) -> ProposalRecord:
    """Take back ``reviewer``'s standing decision on a proposal: it returns to the step before it (waiting, second
    review or adjudication). The decision is not deleted: an undo entry revoking it joins the audit chain, so this
    works whoever decided other proposals since, and readers (the runner, exports, agreement) skip both.

    Raises UndoRefusedError (window passed, already being applied, decided by someone else) or UnknownItemError.
    """
    return repository.proposals.undo(proposal_id, reviewer, window_s=window_s, channel=channel)
