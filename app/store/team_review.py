"""Two independent reviews and adjudication: which step a decision is, what the proposal's status becomes, and what a
reviewer may see. The first verdict stays hidden from everyone but adjudicators. No Qt here.

A workspace's rules (table ``review_rules``) say which proposals need two reviews. The first decision on such a
proposal does not apply it (status ``awaiting_second_review``); a different person's second decision either agrees
(``decided``: the runner applies it as usual) or not (``disputed``); a disputed proposal waits for a decision flagged
``adjudication``, which decides it. Decisions record their stage: 'first', 'second', 'adjudication' or None.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session as OrmSession

from app.domain.agreement import PairAgreement
from app.domain.lifecycle import ProposalStatus
from app.domain.review_rules import NO_RULES, STATUS_WORDS, ReviewRules
from app.store.audit import live_decisions
from app.store.errors import DecisionRefusedError
from app.store.models import AgentSession, Decision, Proposal, ReviewRule

PENDING = ProposalStatus.PENDING
AWAITING_SECOND_REVIEW = ProposalStatus.AWAITING_SECOND_REVIEW
DISPUTED = ProposalStatus.DISPUTED
DECIDED = ProposalStatus.DECIDED

FIRST, SECOND, ADJUDICATION = "first", "second", "adjudication"


@dataclass(frozen=True)
class TeamStats:
    """What ``signoff stats`` and the window's stats view show."""

    # pending, awaiting_second_review and disputed: everything still waiting for someone.
    waiting: dict[str, int]
    # Every proposal status and how many proposals have it.
    statuses: dict[str, int]
    # Decisions per reviewer (all stages).
    reviewers: dict[str, int]
    # Agreement per reviewer pair on the items both reviewed independently.
    pairs: list[PairAgreement]

    def as_json(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "statuses": self.statuses,
            "reviewers": self.reviewers,
            "pairs": [pair.as_json() for pair in self.pairs],
        }


@dataclass(frozen=True)
class DecisionStep:
    """What recording a decision does: move the proposal from ``from_status`` to ``to_status`` as review ``stage``."""

    from_status: ProposalStatus
    to_status: ProposalStatus
    stage: str | None

    @property
    def is_final(self) -> bool:
        return self.to_status == DECIDED


ORDINARY = DecisionStep(PENDING, DECIDED, None)


@dataclass(frozen=True)
class ReviewItem:
    """What a reviewer's panel may show: the proposal, its review state and claim, and never an earlier verdict."""

    proposal_id: int
    status: ProposalStatus
    needs_two_reviews: bool
    # 'second' when this reviewer would give the second review, 'adjudication' for a disputed one, else None.
    stage: str | None
    claimed_by: str | None
    claim_expires_at: dt.datetime | None

    @property
    def status_text(self) -> str:
        return STATUS_WORDS.get(self.status, self.status)


@dataclass(frozen=True)
class EarlierVerdict:
    reviewer: str
    verdict: str
    reason: str | None
    edited_content: bytes | None
    stage: str | None
    decided_at: dt.datetime


def _same_judgment(first: Decision, verdict: str, edited_content: bytes | None) -> bool:
    if first.verdict != verdict:
        return False
    # Two edits agree only when they would apply the same thing.
    return verdict != "edit" or first.edited_content == edited_content


def rules_for_workspace_id(orm: OrmSession, workspace_id: int) -> ReviewRules:
    row = orm.scalar(select(ReviewRule).where(ReviewRule.workspace_id == workspace_id))
    if row is None:
        return NO_RULES
    return ReviewRules(tuple(row.kinds or ()), tuple(row.path_globs or ()), tuple(row.adjudicators or ()))


def stage_decisions(orm: OrmSession, proposal_id: int) -> list[Decision]:
    return list(
        orm.scalars(
            select(Decision)
            .where(Decision.proposal_id == proposal_id, Decision.review_stage.in_((FIRST, SECOND)), live_decisions())
            .order_by(Decision.id)
        )
    )


def plan_decision(
    orm: OrmSession, proposal_id: int, *, verdict: str, reviewer: str, edited_content: bytes | None, adjudication: bool
) -> DecisionStep:
    """The step a decision takes, read inside the caller's transaction; raises DecisionRefusedError when not allowed.

    The caller's conditional UPDATE on ``from_status`` is what makes the step atomic: a racing decision that moved
    the proposal first makes that UPDATE match nothing, and the caller explains what happened.
    """
    row = orm.execute(
        select(Proposal.status, Proposal.kind, Proposal.path, AgentSession.workspace_id)
        .join(AgentSession, Proposal.session_id == AgentSession.id)
        .where(Proposal.id == proposal_id)
    ).first()
    if row is None:
        return ORDINARY
    status, kind, path, workspace_id = ProposalStatus(row[0]), row[1], row[2], row[3]
    if status == PENDING:
        if adjudication:
            raise DecisionRefusedError(
                f"Proposal {proposal_id} is not disputed, so there is nothing to adjudicate; decide it as a review."
            )
        if not rules_for_workspace_id(orm, workspace_id).needs_two_reviews(kind, path):
            return ORDINARY
        # Signoff before 0006 put an undone second review back to pending while its first review stood.
        if not stage_decisions(orm, proposal_id):
            return DecisionStep(PENDING, AWAITING_SECOND_REVIEW, FIRST)
    elif status == AWAITING_SECOND_REVIEW and adjudication:
        raise DecisionRefusedError(
            f"Proposal {proposal_id} still waits for its second review; there is nothing to adjudicate yet."
        )
    if status in (PENDING, AWAITING_SECOND_REVIEW):
        first = next(iter(stage_decisions(orm, proposal_id)), None)
        if first is not None and first.reviewer == reviewer:
            raise DecisionRefusedError(
                f"You gave the first review of proposal {proposal_id}; the second must come from someone else."
            )
        agree = first is None or _same_judgment(first, verdict, edited_content)
        return DecisionStep(status, DECIDED if agree else DISPUTED, SECOND)
    if status == DISPUTED:
        if not adjudication:
            raise DecisionRefusedError(
                f"Proposal {proposal_id} is disputed (its two reviewers disagreed) and waits for adjudication."
            )
        reviewers = tuple(decision.reviewer for decision in stage_decisions(orm, proposal_id))
        rules = rules_for_workspace_id(orm, workspace_id)
        if not rules.may_adjudicate(reviewer, reviewers):
            who = ", ".join(rules.adjudicators) if rules.adjudicators else "someone other than its two reviewers"
            raise DecisionRefusedError(f"Proposal {proposal_id} must be adjudicated by {who}.")
        return DecisionStep(DISPUTED, DECIDED, ADJUDICATION)
    # No longer waiting: the caller's conditional UPDATE matches nothing and it says who decided first.
    return ORDINARY


def undo_steps(stage: str | None) -> tuple[tuple[ProposalStatus, ...], ProposalStatus]:
    """For a decision of review ``stage``: the statuses it can have left its proposal in while nothing was carried
    out, and the status taking it back returns the proposal to (the step before it)."""
    if stage == FIRST:
        return (AWAITING_SECOND_REVIEW,), PENDING
    if stage == SECOND:
        return (DECIDED, DISPUTED), AWAITING_SECOND_REVIEW
    if stage == ADJUDICATION:
        return (DECIDED,), DISPUTED
    return (DECIDED,), PENDING


def reviewed_by(reviewer: str) -> ColumnElement[bool]:
    """SQL condition on ``Proposal``: ``reviewer`` has a standing (not undone) decision on it."""
    return (
        select(Decision.id)
        .where(Decision.proposal_id == Proposal.id, Decision.reviewer == reviewer, live_decisions())
        .exists()
    )


@dataclass(frozen=True)
class Visibility:
    """Which proposals beyond plain waiting ones a reviewer's queue lists (blind second reviews, adjudication).

    Second reviews: everyone except who gave the first. Disputes: in workspaces naming adjudicators, only them;
    elsewhere anyone except the two reviewers. Workspace ids are read once per page (review_rules is tiny).
    """

    reviewer: str
    # Workspaces whose rules name this reviewer as an adjudicator, and those naming only others.
    adjudicates_in: tuple[int, ...]
    barred_in: tuple[int, ...]


def visibility_for(orm: OrmSession, reviewer: str) -> Visibility:
    named_in: list[int] = []
    barred_in: list[int] = []
    for workspace_id, adjudicators in orm.execute(select(ReviewRule.workspace_id, ReviewRule.adjudicators)).all():
        if adjudicators:
            (named_in if reviewer in adjudicators else barred_in).append(int(workspace_id))
    return Visibility(reviewer, tuple(named_in), tuple(barred_in))


def visible_in_review(visibility: Visibility, status: str) -> ColumnElement[bool]:
    """SQL condition on ``Proposal`` (joined to ``AgentSession``) for one of the two review statuses."""
    mine = reviewed_by(visibility.reviewer)
    if status == AWAITING_SECOND_REVIEW:
        return ~mine
    condition = ~mine
    if visibility.adjudicates_in:
        condition = condition | AgentSession.workspace_id.in_(visibility.adjudicates_in)
    if visibility.barred_in:
        condition = condition & AgentSession.workspace_id.not_in(visibility.barred_in)
    return condition


def anything_in_review(orm: OrmSession) -> bool:
    """Whether any proposal waits for a second review or an adjudication (one probe of the status index)."""
    return (
        orm.scalar(select(Proposal.id).where(Proposal.status.in_((AWAITING_SECOND_REVIEW, DISPUTED))).limit(1))
        is not None
    )


def reviewable_by(orm: OrmSession, reviewer: str) -> ColumnElement[bool] | None:
    """SQL condition on ``Proposal`` (joined to ``AgentSession``) for the second reviews and disputes ``reviewer`` may
    take; None when nothing is in a review stage."""
    if not anything_in_review(orm):
        return None
    visibility = visibility_for(orm, reviewer)
    return or_(
        and_(Proposal.status == AWAITING_SECOND_REVIEW, visible_in_review(visibility, AWAITING_SECOND_REVIEW)),
        and_(Proposal.status == DISPUTED, visible_in_review(visibility, DISPUTED)),
    )


def refuse_if_in_review(orm: OrmSession, proposal_id: int) -> None:
    """After a lost race: say the proposal moved on without naming anyone's verdict (reviews stay blind)."""
    status = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
    if status in (AWAITING_SECOND_REVIEW, DISPUTED):
        raise DecisionRefusedError(
            f"Someone else reviewed proposal {proposal_id} meanwhile; it is now {STATUS_WORDS[ProposalStatus(status)]}."
        )
