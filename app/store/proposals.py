"""The store's proposals aggregate: proposals, the decisions on them (exactly one wins, across processes), undo, and
the runner's side of carrying a decision out (claim for apply, apply intents, outcomes). Every status change checks
the lifecycle (app.domain.lifecycle). No Qt here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.domain.judgments import CRITIC_REVIEWER
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import DecisionRecord, ProposalRecord, as_utc
from app.store.audit import UNDO_VERDICT, live_decisions, seal_decision
from app.store.base import StoreBase, changed_rows, require_transition
from app.store.claims import free_for, refuse_if_claimed
from app.store.errors import AlreadyDecidedError, UndoRefusedError, UnknownItemError
from app.store.mappers import decision_record, proposal_query, proposal_record
from app.store.models import Decision, Proposal, utcnow
from app.store.team_review import plan_decision, refuse_if_in_review, undo_steps

PENDING = ProposalStatus.PENDING
DECIDED = ProposalStatus.DECIDED
APPLYING = ProposalStatus.APPLYING


class Proposals(StoreBase):
    """Proposals, decisions, undo and apply intents (``store.proposals``)."""

    def create(self, **fields: Any) -> ProposalRecord:
        """Store a proposal; idempotent per (session, tool_use_id) so a resumed loop finds the one it made."""
        existing = self.for_tool_use(fields["session_id"], fields["tool_use_id"])
        if existing is not None:
            return existing
        try:
            with self._orm() as orm, orm.begin():
                row = Proposal(status=PENDING, **fields)
                orm.add(row)
                orm.flush()
                proposal_id = row.id
        except IntegrityError:
            existing = self.for_tool_use(fields["session_id"], fields["tool_use_id"])
            if existing is None:
                raise
            return existing
        return self.get(proposal_id)

    def get(self, proposal_id: int) -> ProposalRecord:
        with self._orm() as orm:
            row = orm.execute(proposal_query().where(Proposal.id == proposal_id)).first()
            if row is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            return proposal_record(*row)

    def status(self, proposal_id: int) -> str:
        """Only the status, by primary key: the cheap read a runner polls while it waits for a decision."""
        with self._orm() as orm:
            status = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
            if status is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            return str(status)

    def for_tool_use(self, session_id: int, tool_use_id: str) -> ProposalRecord | None:
        with self._orm() as orm:
            row = orm.execute(
                proposal_query().where(Proposal.session_id == session_id, Proposal.tool_use_id == tool_use_id)
            ).first()
            return None if row is None else proposal_record(*row)

    def for_session(self, session_id: int, kinds: tuple[str, ...] | None = None) -> list[ProposalRecord]:
        """A session's proposals in the order they were made (only ``kinds`` when given)."""
        with self._orm() as orm:
            query = proposal_query().where(Proposal.session_id == session_id)
            if kinds is not None:
                query = query.where(Proposal.kind.in_(list(kinds)))
            return [proposal_record(*row) for row in orm.execute(query.order_by(Proposal.id)).all()]

    def decisions_for_session(self, session_id: int) -> list[tuple[ProposalRecord, DecisionRecord]]:
        with self._orm() as orm:
            rows = orm.execute(
                proposal_query()
                .add_columns(Decision)
                .join(Decision, Decision.proposal_id == Proposal.id)
                .where(Proposal.session_id == session_id, live_decisions())
                .order_by(Decision.id)
            ).all()
            return [(proposal_record(p, root, task), decision_record(d)) for p, root, task, d in rows]

    # -- decisions -------------------------------------------------------------------------------------------------

    def record_decision(
        self,
        proposal_id: int,
        *,
        verdict: str,
        reviewer: str,
        reason: str | None = None,
        edited_content: bytes | None = None,
        time_on_screen_ms: int | None = None,
        shown_at: dt.datetime | None = None,
        channel: str = "window",
        hunk_verdicts: list[dict[str, Any]] | None = None,
        strength: int | None = None,
        adjudication: bool = False,
        compare: dict[str, Any] | None = None,
        grants: dict[str, Any] | None = None,
    ) -> DecisionRecord:
        """Durably record a judgment; exactly one decision wins per proposal, across processes and machines.

        Team mode (app.store.team_review, app.store.claims): a live claim by someone else refuses the decision, and a
        proposal needing two reviews moves through awaiting_second_review (and disputed, then ``adjudication``).
        """
        if verdict not in {"approve", "reject", "edit"}:
            raise ValueError(f"unknown verdict {verdict!r}")
        now = utcnow()
        with self._orm() as orm, orm.begin():
            step = plan_decision(
                orm,
                proposal_id,
                verdict=verdict,
                reviewer=reviewer,
                edited_content=edited_content,
                adjudication=adjudication,
            )
            require_transition(proposal_id, step.from_status, step.to_status)
            claimed = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == step.from_status, free_for(reviewer, now))
                .values(
                    status=step.to_status,
                    decided_at=now if step.is_final else None,
                    claimed_by=None,
                    claim_expires_at=None,
                )
            )
            if changed_rows(claimed) != 1:
                refuse_if_claimed(orm, proposal_id, reviewer, now)
                refuse_if_in_review(orm, proposal_id)
                row = orm.get(Proposal, proposal_id)
                if row is None:
                    raise UnknownItemError(f"There is no proposal {proposal_id}.")
                if row.status == ProposalStatus.CANCELLED:
                    why = f" ({row.withdrawn_reason})" if row.withdrawn_reason else " when its session stopped"
                    raise AlreadyDecidedError(f"Proposal {proposal_id} was withdrawn{why}; there is nothing to decide.")
                earlier = orm.scalar(
                    select(Decision)
                    .where(Decision.proposal_id == proposal_id, live_decisions())
                    .order_by(Decision.id.desc())
                    .limit(1)
                )
                who = f" by {earlier.reviewer}" if earlier is not None else ""
                verdict_text = f" ({earlier.verdict})" if earlier is not None else ""
                raise AlreadyDecidedError(f"Proposal {proposal_id} was already decided{who}{verdict_text}.")
            decision = Decision(
                proposal_id=proposal_id,
                verdict=verdict,
                reason=reason,
                edited_content=edited_content,
                reviewer=reviewer,
                time_on_screen_ms=time_on_screen_ms,
                shown_at=shown_at,
                decided_at=now,
                channel=channel,
                hunk_verdicts=hunk_verdicts,
                strength=strength,
                review_stage=step.stage,
                compare=compare,
                grants=grants or None,
            )
            # Adds and flushes it, linked to the audit chain in this same transaction.
            seal_decision(orm, decision)
            return decision_record(decision)

    def latest_decision(self, proposal_id: int) -> DecisionRecord | None:
        with self._orm() as orm:
            row = orm.scalar(
                select(Decision)
                .where(Decision.proposal_id == proposal_id, live_decisions())
                .order_by(Decision.id.desc())
                .limit(1)
            )
            return None if row is None else decision_record(row)

    def visible_decision(self, proposal_id: int) -> DecisionRecord | None:
        """The deciding decision, or None while the proposal is still undecided (a first verdict stays hidden)."""
        with self._orm() as orm:
            status = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
        if status is None or status in STILL_UNDECIDED:
            return None
        return self.latest_decision(proposal_id)

    def undo(self, proposal_id: int, reviewer: str, *, window_s: float, channel: str = "window") -> ProposalRecord:
        """Take back ``reviewer``'s standing decision on a proposal while it is younger than ``window_s`` and nothing
        was carried out yet; the proposal goes back to the step before it (waiting, second review or adjudication).

        The undo is appended to the audit chain as its own entry (verdict 'undo', ``revokes_id``), so it works however
        many decisions others recorded since, and ``signoff audit verify`` still passes. One conditional UPDATE
        decides the race with the runner's ``claim_for_apply``: whichever commits first wins.
        """
        now = utcnow()
        with self._orm() as orm, orm.begin():
            found = orm.execute(select(Proposal.status, Proposal.decided_at).where(Proposal.id == proposal_id)).first()
            if found is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            status, final_at = ProposalStatus(found[0]), found[1]
            decision = orm.scalar(
                select(Decision)
                .where(Decision.proposal_id == proposal_id, live_decisions())
                .order_by(Decision.id.desc())
                .limit(1)
            )
            if decision is None or status == PENDING:
                raise UndoRefusedError(f"Proposal {proposal_id} is not decided; there is nothing to undo.")
            # The critic's own decisions (auto-approvals) are anyone's to take back.
            if decision.reviewer not in (reviewer, CRITIC_REVIEWER):
                # Reviews stay blind: say whose it is only once the proposal is decided.
                who = decision.reviewer if status not in STILL_UNDECIDED else "another reviewer"
                raise UndoRefusedError(f"Proposal {proposal_id} was last decided by {who}; only they can undo it.")
            produced, back_to = undo_steps(decision.review_stage)
            if status not in produced:
                doing = "is being carried out now" if status == APPLYING else f"was already carried out ({status})"
                raise UndoRefusedError(f"The decision on proposal {proposal_id} is final: it {doing}.")
            cutoff = now - dt.timedelta(seconds=window_s)
            # The window runs from when the proposal was decided (what the runner's claim_for_apply counts from), or
            # for a review that decided nothing yet, from that review.
            if as_utc(final_at if status == DECIDED and final_at is not None else decision.decided_at) <= cutoff:
                raise UndoRefusedError(
                    f"The decision on proposal {proposal_id} is final: its {window_s:g} s undo window has passed."
                )
            statement = update(Proposal).where(Proposal.id == proposal_id, Proposal.status == status)
            require_transition(proposal_id, status, back_to)
            if status == DECIDED:
                statement = statement.where(Proposal.decided_at > cutoff)
            returned = orm.execute(statement.values(status=back_to, decided_at=None))
            if changed_rows(returned) != 1:
                # The runner made it final (or another undo won) between the read above and this UPDATE.
                raise UndoRefusedError(f"The decision on proposal {proposal_id} is final: it is being carried out now.")
            seal_decision(
                orm,
                Decision(
                    proposal_id=proposal_id,
                    verdict=UNDO_VERDICT,
                    reviewer=reviewer,
                    decided_at=now,
                    channel=channel,
                    revokes_id=decision.id,
                ),
            )
        return self.get(proposal_id)

    # -- carrying a decision out -----------------------------------------------------------------------------------

    def claim_for_apply(self, proposal_id: int, *, window_s: float) -> bool:
        """Make a decision final once its undo window has passed: 'decided' becomes 'applying' for the runner only."""
        cutoff = utcnow() - dt.timedelta(seconds=window_s)
        with self._orm() as orm, orm.begin():
            claimed = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == DECIDED, Proposal.decided_at <= cutoff)
                .values(status=APPLYING)
            )
            return changed_rows(claimed) == 1

    def record_apply_intent(self, proposal_id: int, target_hash: str) -> bool:
        """Durably note, before anything is written or run, what an 'applying' proposal is about to do: the sha256 of
        the exact bytes a file will hold, or of the command about to run. It stays in ``applied_hash`` while the
        status is 'applying'; after a crash it tells the resumed runner a write may have happened (or a command may
        have run). False when the proposal is no longer 'applying'."""
        with self._orm() as orm, orm.begin():
            marked = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.status == APPLYING)
                .values(applied_hash=target_hash)
            )
            return changed_rows(marked) == 1

    def apply_intent(self, proposal_id: int) -> str | None:
        """The target hash recorded by ``record_apply_intent`` while the proposal is still 'applying', else None."""
        with self._orm() as orm:
            row = orm.execute(select(Proposal.status, Proposal.applied_hash).where(Proposal.id == proposal_id)).first()
            if row is None or row.status != APPLYING:
                return None
            applied: str | None = row.applied_hash
            return applied

    def resolve(
        self, proposal_id: int, *, status: ProposalStatus, result: dict[str, Any], applied_hash: str | None = None
    ) -> None:
        """Record what happened to a decided proposal and what the agent was told."""
        outcome = ProposalStatus(status)
        with self._orm() as orm, orm.begin():
            current = orm.scalar(select(Proposal.status).where(Proposal.id == proposal_id))
            if current is None:
                raise UnknownItemError(f"There is no proposal {proposal_id}.")
            require_transition(proposal_id, current, outcome)
            orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id)
                .values(status=outcome, result=result, applied_hash=applied_hash, resolved_at=utcnow())
            )

    def waiting_count(self, session_id: int) -> int:
        """How many of the session's proposals still wait for a person."""
        with self._orm() as orm:
            statement = select(func.count()).where(Proposal.session_id == session_id, Proposal.status == PENDING)
            return int(orm.execute(statement).scalar_one())

    def cancel_pending(self, session_id: int) -> int:
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(Proposal)
                .where(Proposal.session_id == session_id, Proposal.status == PENDING)
                .values(status=ProposalStatus.CANCELLED, resolved_at=utcnow())
            )
            return changed_rows(result)
