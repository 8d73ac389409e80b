"""A proposal's lifecycle as data: its statuses and the moves allowed between them. Pure; no store, no Qt.

The values are the strings stored in ``proposals.status`` and written to JSON, so a ``ProposalStatus`` compares equal
to (and serialises as) the plain string it replaced.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

# A runner (or an open window) whose heartbeat is older than this is taken to be gone.
STALE_RUNNER_AFTER = dt.timedelta(seconds=20)


class ProposalStatus(StrEnum):
    # Waiting for a (first or only) review.
    PENDING = "pending"
    # Team mode: a first of two independent reviews was given; the second is someone else's.
    AWAITING_SECOND_REVIEW = "awaiting_second_review"
    # Team mode: the two reviews disagreed; an adjudication decides.
    DISPUTED = "disputed"
    # Decided; still inside its undo window until the runner claims it for applying.
    DECIDED = "decided"
    # The runner is carrying the decision out (final: no undo any more).
    APPLYING = "applying"
    # What became of a decided proposal (the runner's last word on it).
    APPLIED = "applied"
    REJECTED = "rejected"
    CONFLICT = "conflict"
    FAILED = "failed"
    NOT_APPLIED = "not_applied"
    # Withdrawn: its session stopped (or an external agent stopped waiting) before anyone decided it.
    CANCELLED = "cancelled"
    # Compare mode: a picked alternative answered its step instead.
    REPLACED = "replaced"


# A runner keeps waiting while its proposal is in one of these: nothing final has been decided yet.
STILL_UNDECIDED: tuple[ProposalStatus, ...] = (
    ProposalStatus.PENDING,
    ProposalStatus.AWAITING_SECOND_REVIEW,
    ProposalStatus.DISPUTED,
)

# What the runner may record once a decision was carried out (or refused, or failed).
OUTCOMES: frozenset[ProposalStatus] = frozenset(
    {
        ProposalStatus.APPLIED,
        ProposalStatus.REJECTED,
        ProposalStatus.CONFLICT,
        ProposalStatus.FAILED,
        ProposalStatus.NOT_APPLIED,
    }
)

# Every move the store makes, from -> the statuses it may go to. Undo moves a proposal one step back.
TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    ProposalStatus.PENDING: frozenset(
        {
            ProposalStatus.DECIDED,  # an ordinary decision
            ProposalStatus.AWAITING_SECOND_REVIEW,  # the first of two reviews
            ProposalStatus.DISPUTED,  # a second review (of a pre-0006 undo) that disagrees
            ProposalStatus.CANCELLED,  # its session stopped
            ProposalStatus.REPLACED,  # a compare's alternative was picked
        }
    ),
    ProposalStatus.AWAITING_SECOND_REVIEW: frozenset(
        {
            ProposalStatus.DECIDED,  # the second review agrees
            ProposalStatus.DISPUTED,  # the second review disagrees
            ProposalStatus.PENDING,  # the first review was undone
            ProposalStatus.CANCELLED,  # an external agent's request was withdrawn (app.store.external)
        }
    ),
    ProposalStatus.DISPUTED: frozenset(
        {
            ProposalStatus.DECIDED,  # adjudicated
            ProposalStatus.AWAITING_SECOND_REVIEW,  # the disagreeing second review was undone
            ProposalStatus.CANCELLED,  # an external agent's request was withdrawn (app.store.external)
        }
    ),
    ProposalStatus.DECIDED: frozenset(
        {
            ProposalStatus.APPLYING,  # the undo window passed; the runner carries it out
            ProposalStatus.PENDING,  # an ordinary decision was undone
            ProposalStatus.AWAITING_SECOND_REVIEW,  # an agreeing second review was undone
            ProposalStatus.DISPUTED,  # an adjudication was undone
            *OUTCOMES,
        }
    ),
    ProposalStatus.APPLYING: OUTCOMES,
    # A resumed runner records the outcome again for a step it had already finished; the outcome stands.
    **{outcome: frozenset({outcome}) for outcome in OUTCOMES},
    ProposalStatus.CANCELLED: frozenset(),
    ProposalStatus.REPLACED: frozenset(),
}


def may_move(from_status: str, to_status: str) -> bool:
    """Whether the lifecycle allows a proposal in ``from_status`` to go to ``to_status``."""
    try:
        return ProposalStatus(to_status) in TRANSITIONS[ProposalStatus(from_status)]
    except ValueError:
        return False


def sources_of(to_status: ProposalStatus) -> tuple[ProposalStatus, ...]:
    """The statuses a proposal may be in for a move to ``to_status`` (in declaration order)."""
    return tuple(status for status, targets in TRANSITIONS.items() if to_status in targets)


def is_final(status: str) -> bool:
    """Nothing more will happen to a proposal in ``status`` (no decision, undo or apply is still ahead)."""
    return ProposalStatus(status) in OUTCOMES or status in (ProposalStatus.CANCELLED, ProposalStatus.REPLACED)
