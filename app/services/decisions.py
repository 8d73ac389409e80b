"""One function per user action on a proposal — ``decide`` (approve, reject, edit, hunk by hunk), ``pick``, ``undo`` —
called by the window's two pages and by the command line alike; ``failure`` maps what went wrong to one sentence.

The reviewer, the channel and adjudication are filled in here, once. Synchronous (the window runs these on the
database thread through SessionManager); no Qt here, and nothing shown: callers show ``Failure.message``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from app.domain.judgments import CRITIC_REVIEWER
from app.domain.lifecycle import ProposalStatus
from app.domain.records import DecisionRecord, ProposalRecord
from app.services import review
from app.services import undo as undo_
from app.services.review import DecisionRequest, ReviewError
from app.store.errors import (
    AlreadyDecidedError,
    CompareRefusedError,
    DecisionRefusedError,
    StoreError,
    UndoRefusedError,
    UnknownItemError,
)

if TYPE_CHECKING:
    from app.services import compare
    from app.store.decide_lite import LiteDecisionStore
    from app.store.repository import Repository

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who acts and from where. ``settles_disputes``: the window lists disputed items only to their adjudicators, so
    a decision there on a disputed item is its adjudication; the command line asks for ``--adjudication`` instead."""

    reviewer: str
    channel: str = "window"
    settles_disputes: bool = False

    @classmethod
    def window(cls, reviewer: str) -> Actor:
        return cls(reviewer, "window", settles_disputes=True)

    @classmethod
    def cli(cls, reviewer: str, *, adjudication: bool = False) -> Actor:
        return cls(reviewer, "cli", settles_disputes=adjudication)

    @classmethod
    def critic(cls) -> Actor:
        """The critic approving on its own (app.services.auto_approve): reviewer and channel ``critic``."""
        return cls(CRITIC_REVIEWER, CRITIC_REVIEWER)


@dataclass(frozen=True)
class Outcome:
    """A stored decision and the proposal as it was read just before (its session, its summary)."""

    decision: DecisionRecord
    proposal: ProposalRecord


@dataclass(frozen=True)
class Failure:
    """A user action that did not happen, in one sentence. ``gone``: the proposal cannot be decided any more (decided
    elsewhere, withdrawn, unknown), so a list may drop it; otherwise it still waits as it did."""

    message: str
    gone: bool = False


def decide(repository: Repository | LiteDecisionStore, request: DecisionRequest, actor: Actor) -> Outcome:
    """Approve, reject, edit or judge hunk by hunk: validate, then durably record (the runner applies it).

    ``repository`` may be the command line's plain-decision store over a SQLite file (app.store.decide_lite), which
    raises NeedsRepository, having written nothing, for any decision that is not plain."""

    if (actor.reviewer.strip() == CRITIC_REVIEWER) != (actor.channel == CRITIC_REVIEWER):
        # Only the critic decides as the critic, so agreement figures and undo rights cannot be borrowed by a name.
        raise ReviewError(f"'{CRITIC_REVIEWER}' is the critic's name; choose another reviewer name.")

    def work() -> Outcome:
        proposal = repository.proposals.get(request.proposal_id)
        adjudication = actor.settles_disputes and proposal.status == ProposalStatus.DISPUTED or request.adjudication
        filled = replace(request, reviewer=actor.reviewer, channel=actor.channel, adjudication=adjudication)
        return Outcome(review.record(repository, proposal, filled), proposal)

    return _translated(repository, work)


def pick(repository: Repository, request: compare.PickRequest, actor: Actor) -> Outcome:
    """Pick one of a compare's alternatives (or reject them all); a picked alternative is decided as a proposal of
    its own."""

    def work() -> Outcome:
        proposal = repository.proposals.get(request.proposal_id)
        filled = replace(request, reviewer=actor.reviewer, channel=actor.channel)
        # Imported here: compare loads the API SDK, which `signoff approve` never needs.
        from app.services import compare

        return Outcome(compare.pick(repository, filled), proposal)

    return _translated(repository, work)


def undo(repository: Repository, proposal_id: int, actor: Actor, *, window_s: float) -> ProposalRecord:
    """Take back the actor's standing decision inside its undo window; the proposal returns to the step before it."""
    return _translated(
        repository,
        lambda: undo_.undo(repository, proposal_id, actor.reviewer, window_s=window_s, channel=actor.channel),
    )


def failure(error: BaseException, proposal_id: int) -> Failure | None:
    """The one sentence for an action on ``proposal_id`` that failed, or None for an error nobody expects (a bug)."""
    if isinstance(error, (AlreadyDecidedError, UnknownItemError)):
        return Failure(str(error), gone=True)
    if isinstance(
        error, (ReviewError, DecisionRefusedError, UndoRefusedError, CompareRefusedError, *_compare_errors())
    ):
        # Said no on purpose (invalid, claimed, disputed, undo window passed …): the message is the sentence.
        return Failure(str(error))
    if isinstance(error, StoreError):
        return Failure(f"The decision on #{proposal_id} was not saved: {error}")
    return None


def _translated(repository: Repository | LiteDecisionStore, work: Callable[[], T]) -> T:
    """Run ``work``; a database failure on the way (locked, full, read-only, gone) leaves as one StoreError."""
    try:
        return work()
    except Exception as exc:
        explain: Any = getattr(getattr(repository, "database", None), "explain", None)
        explained = explain(exc) if explain is not None else None
        if explained is None or explained is exc:
            raise
        raise explained from exc


def _compare_errors() -> tuple[type[Exception], ...]:
    """CompareError, where compare mode was loaded at all (no compare error can happen before it is)."""
    module = sys.modules.get("app.services.compare")
    return (module.CompareError,) if module is not None else ()
