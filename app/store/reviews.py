"""The store's team-review aggregate: review rules per workspace, what a reviewer may see of two-review proposals,
and the agreement figures. The rules of the stages themselves are in app.store.team_review. No Qt here.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.domain.agreement import pairwise_agreement
from app.domain.decision_stats import DecisionFact
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import ProposalRecord, as_utc
from app.domain.review_rules import NO_RULES, ReviewRules, checked
from app.store.audit import live_decisions
from app.store.base import StoreBase
from app.store.errors import DecisionRefusedError, UnknownItemError
from app.store.mappers import proposal_query, proposal_record
from app.store.models import AgentSession, Decision, Proposal, ReviewRule, Workspace, utcnow
from app.store.team_review import (
    AWAITING_SECOND_REVIEW,
    FIRST,
    SECOND,
    EarlierVerdict,
    TeamStats,
    reviewed_by,
    rules_for_workspace_id,
    stage_decisions,
)
from app.store.workspaces import workspace_row


class Reviews(StoreBase):
    """Review rules, blind second reviews, adjudication and agreement data (``store.reviews``)."""

    # -- rules -------------------------------------------------------------------------------------------------------

    def set_rules(
        self,
        workspace_root: str,
        *,
        kinds: list[str] | tuple[str, ...] = (),
        path_globs: list[str] | tuple[str, ...] = (),
        adjudicators: list[str] | tuple[str, ...] = (),
        updated_by: str | None = None,
    ) -> ReviewRules:
        """Replace a workspace's rules (empty kinds and globs: one review is enough). Raises ReviewRulesError."""
        rules = checked(kinds, path_globs, adjudicators)
        with self._orm() as orm, orm.begin():
            workspace = workspace_row(orm, workspace_root)
            row = orm.scalar(select(ReviewRule).where(ReviewRule.workspace_id == workspace.id))
            if row is None:
                row = ReviewRule(workspace_id=workspace.id)
                orm.add(row)
            row.kinds = list(rules.kinds)
            row.path_globs = list(rules.path_globs)
            row.adjudicators = list(rules.adjudicators)
            row.updated_by = updated_by
            row.updated_at = utcnow()
        return rules

    def rules(self, workspace_root: str) -> ReviewRules:
        with self._orm() as orm:
            workspace_id = orm.scalar(select(Workspace.id).where(Workspace.root_path == workspace_root))
            return NO_RULES if workspace_id is None else rules_for_workspace_id(orm, workspace_id)

    # -- what a reviewer may see -----------------------------------------------------------------------------------

    def earlier_verdicts(self, proposal_id: int, adjudicator: str) -> list[EarlierVerdict]:
        """The first (and second) verdicts of a two-review proposal, for someone allowed to adjudicate it only."""
        with self._orm() as orm:
            workspace_id = orm.scalar(
                select(AgentSession.workspace_id)
                .join(Proposal, Proposal.session_id == AgentSession.id)
                .where(Proposal.id == proposal_id)
            )
            if workspace_id is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            decisions = stage_decisions(orm, proposal_id)
            rules = rules_for_workspace_id(orm, workspace_id)
            if not rules.may_adjudicate(adjudicator, tuple(d.reviewer for d in decisions)):
                raise DecisionRefusedError(
                    f"Only an adjudicator may see the earlier verdicts on proposal {proposal_id}; reviewers judge "
                    "independently."
                )
            return [
                EarlierVerdict(d.reviewer, d.verdict, d.reason, d.edited_content, d.review_stage, as_utc(d.decided_at))
                for d in decisions
            ]

    def reviewable_proposals(self, reviewer: str, *, limit: int = 1000) -> list[ProposalRecord]:
        """Proposals ``reviewer`` could decide now: waiting ones, and second reviews of others' first reviews.
        Records carry no verdicts."""
        mine = reviewed_by(reviewer)
        with self._orm() as orm:
            rows = orm.execute(
                proposal_query()
                .where(Proposal.status.in_((ProposalStatus.PENDING, AWAITING_SECOND_REVIEW)), ~mine)
                .order_by(Proposal.id)
                .limit(limit)
            ).all()
            return [proposal_record(*row) for row in rows]

    # -- agreement data ----------------------------------------------------------------------------------------------

    def review_tuples(self) -> list[tuple[int, str, str]]:
        """(proposal id, reviewer, verdict) of every independent review: the first and second of two-review items.

        Adjudications are left out: an adjudicator has seen both verdicts, so it is not an independent judgment.
        """
        with self._orm() as orm:
            rows = orm.execute(
                select(Decision.proposal_id, Decision.reviewer, Decision.verdict)
                .where(Decision.review_stage.in_((FIRST, SECOND)), live_decisions())
                .order_by(Decision.id)
            ).all()
            return [(int(p), str(r), str(v)) for p, r, v in rows]

    def reviewer_counts(self) -> dict[str, int]:
        with self._orm() as orm:
            rows = orm.execute(
                select(Decision.reviewer, func.count()).where(live_decisions()).group_by(Decision.reviewer)
            ).all()
            return {str(reviewer): int(count) for reviewer, count in rows}

    def status_counts(self) -> dict[str, int]:
        with self._orm() as orm:
            rows = orm.execute(select(Proposal.status, func.count()).group_by(Proposal.status)).all()
            return {str(status): int(count) for status, count in rows}

    def decision_facts(self) -> list[DecisionFact]:
        """Every decision that stands (approve / reject / edit at any stage), with its proposal's kind and workspace:
        what app.domain.decision_stats counts."""
        with self._orm() as orm:
            rows = orm.execute(
                select(
                    Decision.reviewer,
                    Decision.verdict,
                    Decision.decided_at,
                    Decision.time_on_screen_ms,
                    Proposal.kind,
                    Workspace.root_path,
                )
                .join(Proposal, Proposal.id == Decision.proposal_id)
                .join(AgentSession, AgentSession.id == Proposal.session_id)
                .join(Workspace, Workspace.id == AgentSession.workspace_id)
                .where(live_decisions())
                .order_by(Decision.id)
            ).all()
            return [
                DecisionFact(str(reviewer), str(verdict), as_utc(decided_at), shown_ms, str(kind), str(root))
                for reviewer, verdict, decided_at, shown_ms, kind, root in rows
            ]

    def stats(self) -> TeamStats:
        """What ``signoff stats`` and the window's stats view show."""
        statuses = self.status_counts()
        return TeamStats(
            waiting={str(status): statuses.get(status, 0) for status in STILL_UNDECIDED},
            statuses=statuses,
            reviewers=self.reviewer_counts(),
            pairs=pairwise_agreement(self.review_tuples()),
        )
