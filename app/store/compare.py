"""Compare mode in the store: alternatives sampled for a waiting proposal, and picking one of them.

Picking alternative K (K >= 1) is one transaction: the original proposal becomes 'replaced', the assistant message of
its step becomes the picked alternative's (the original stays as position 0 of the compare), a new proposal made from
the alternative is stored already decided, and the approval is sealed into the audit chain with what was compared.
The runner then finds the new proposal for the new tool call and applies it as any approval. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from app.domain.lifecycle import ProposalStatus
from app.domain.records import CompareRecord, DecisionRecord
from app.store.audit import seal_decision
from app.store.base import StoreBase, changed_rows, require_transition
from app.store.claims import free_for, refuse_if_claimed
from app.store.errors import AlreadyDecidedError, CompareRefusedError, DecisionRefusedError, UnknownItemError
from app.store.mappers import ALTERNATIVE_FIELDS, compare_record, decision_record
from app.store.models import AgentSession, Alternative, Compare, Decision, Message, Proposal, utcnow
from app.store.team_review import rules_for_workspace_id

# The status of a proposal whose step was answered by a picked alternative instead.
REPLACED = ProposalStatus.REPLACED


class Compares(StoreBase):
    """Compare mode's alternatives and picks (``store.compares``)."""

    def create(
        self, proposal_id: int, *, requested_by: str, channel: str, count: int, alternatives: Sequence[dict[str, Any]]
    ) -> CompareRecord:
        """Store a compare and its alternatives (position 0 the original) while the proposal still waits."""
        with self._orm() as orm, orm.begin():
            status = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
            if status is None:
                raise CompareRefusedError(f"There is no proposal {proposal_id}.")
            if status != ProposalStatus.PENDING:
                raise CompareRefusedError(
                    f"Proposal {proposal_id} no longer waits ({status}); there is nothing to compare."
                )
            compare = Compare(proposal_id=proposal_id, requested_by=requested_by, count=count, channel=channel)
            for fields in alternatives:
                compare.alternatives.append(Alternative(**{name: fields.get(name) for name in ALTERNATIVE_FIELDS}))
            orm.add(compare)
            orm.flush()
            compare_id = compare.id
        return self.get(compare_id)

    def get(self, compare_id: int) -> CompareRecord:
        with self._orm() as orm:
            row = orm.get(Compare, compare_id)
            if row is None:
                raise CompareRefusedError(f"There is no compare {compare_id}.")
            return compare_record(row)

    def latest(self, proposal_id: int) -> CompareRecord | None:
        """The newest compare of a proposal, or None."""
        with self._orm() as orm:
            row = orm.scalar(
                select(Compare).where(Compare.proposal_id == proposal_id).order_by(Compare.id.desc()).limit(1)
            )
            return None if row is None else compare_record(row)

    def pick(
        self,
        proposal_id: int,
        alternative_id: int,
        *,
        history_content: list[dict[str, Any]],
        reviewer: str,
        compare: dict[str, Any],
        channel: str = "window",
        time_on_screen_ms: int | None = None,
        shown_at: dt.datetime | None = None,
        strength: int | None = None,
    ) -> tuple[DecisionRecord, int]:
        """Answer the proposal's step with a sampled alternative, approved; returns the decision and the new proposal's
        id. Exactly one decision wins per proposal: the original must still be pending (and not claimed by another)."""
        now = utcnow()
        with self._orm() as orm, orm.begin():
            row = orm.execute(
                select(Proposal, AgentSession.workspace_id)
                .join(AgentSession, Proposal.session_id == AgentSession.id)
                .where(Proposal.id == proposal_id)
            ).first()
            if row is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            original, workspace_id = row
            alternative = orm.get(Alternative, alternative_id)
            if alternative is None or alternative.compare.proposal_id != proposal_id:
                raise CompareRefusedError(f"Alternative {alternative_id} was not sampled for proposal {proposal_id}.")
            if rules_for_workspace_id(orm, workspace_id).needs_two_reviews(original.kind, original.path):
                raise DecisionRefusedError(
                    f"Proposal {proposal_id} needs two independent reviews; a pick is one review. Approve or reject "
                    "it instead, or pick the original."
                )
            last_seq = orm.scalar(select(func.max(Message.seq)).where(Message.session_id == original.session_id))
            if last_seq != original.message_seq:
                raise CompareRefusedError(
                    f"The conversation went on after proposal {proposal_id}'s step; its alternatives can no longer "
                    "take its place."
                )
            require_transition(proposal_id, ProposalStatus.PENDING, REPLACED)
            taken = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == ProposalStatus.PENDING, free_for(reviewer, now))
                .values(
                    status=REPLACED,
                    decided_at=now,
                    resolved_at=now,
                    claimed_by=None,
                    claim_expires_at=None,
                    result={
                        "content": f"Replaced by alternative {alternative.position} of compare "
                        f"{alternative.compare_id}, picked by {reviewer}.",
                        "is_error": False,
                    },
                )
            )
            if changed_rows(taken) != 1:
                refuse_if_claimed(orm, proposal_id, reviewer, now)
                raise AlreadyDecidedError(
                    f"Proposal {proposal_id} no longer waits ({original.status}); nothing was picked."
                )
            orm.execute(
                update(Message)
                .where(Message.session_id == original.session_id, Message.seq == original.message_seq)
                .values(
                    content=history_content,
                    api_message_id=alternative.api_message_id,
                    stop_reason=alternative.stop_reason or "tool_use",
                    usage=alternative.usage,
                )
            )
            picked = Proposal(
                session_id=original.session_id,
                message_seq=original.message_seq,
                tool_use_id=alternative.tool_use_id,
                tool_name=alternative.tool_name,
                tool_input=alternative.tool_input,
                kind=alternative.kind,
                path=alternative.path,
                command=alternative.command,
                cwd=alternative.cwd,
                base_hash=alternative.base_hash,
                old_content=alternative.old_content,
                new_content=alternative.new_content,
                shown_text=alternative.shown_text,
                shown_hash=alternative.shown_hash,
                lines_added=alternative.lines_added,
                lines_removed=alternative.lines_removed,
                status=ProposalStatus.DECIDED,
                created_at=now,
                decided_at=now,
            )
            orm.add(picked)
            orm.flush()
            decision = Decision(
                proposal_id=picked.id,
                verdict="approve",
                reviewer=reviewer,
                time_on_screen_ms=time_on_screen_ms,
                shown_at=shown_at,
                decided_at=now,
                channel=channel,
                strength=strength,
                compare=compare,
            )
            seal_decision(orm, decision)
            return decision_record(decision), picked.id
