"""The critic approving on its own, where the workspace's owner allowed it: checked when a verdict arrives, recorded
through the one decision path as reviewer ``critic`` (undoable like any decision), never silently: an audit log line
and a notice to whoever listens (the window's status bar, a headless run's output). No Qt here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.domain.auto_approve import AutoApproval, auto_approval
from app.domain.judgments import DEFAULT_AUTO_APPROVE_WINDOW
from app.domain.records import ProposalRecord
from app.services import review
from app.services.decisions import Actor
from app.store.repository import Repository

log = logging.getLogger(__name__)
# One line per auto-approval in the log, under a name of its own so an operator can route it (the audit chain holds
# the decision itself, with the reason).
audit_log = logging.getLogger("signoff.audit")


@dataclass(frozen=True)
class AutoApproved:
    """What a notice says: which proposal the critic approved, and why it was allowed to."""

    proposal_id: int
    target: str
    reason: str
    decided_at: dt.datetime | None = None

    @property
    def notice(self) -> str:
        return f"The critic approved #{self.proposal_id} ({self.target}) on its own; u takes it back. {self.reason}"


def evaluate(repository: Repository, proposal_id: int) -> tuple[ProposalRecord, AutoApproval]:
    """Whether the critic may approve the proposal now; call on the database thread."""
    # Imported here: services.judges and services.queue read policies and settings nobody else here needs.
    from app.services.judges import judged
    from app.services.queue import FlagCache

    proposal = repository.proposals.get(proposal_id)
    config = repository.judgments.config(proposal.workspace_root)
    if not config.auto_approve_on:
        return proposal, AutoApproval(False, "Auto-approval is off for this workspace.")
    window = config.auto_approve_window or DEFAULT_AUTO_APPROVE_WINDOW
    pairs = [
        (human, critic)
        for _, _, _, human, critic in repository.judgments.human_and_critic(proposal.workspace_root, last=window)
    ]
    flags = FlagCache().fill(repository, [proposal.id])
    # The risk with the critic counted, whatever blind mode hides from the person.
    judgment = judged(repository, [proposal], flags, reveal=True)[proposal.id]
    rules = repository.reviews.rules(proposal.workspace_root)
    return proposal, auto_approval(
        config,
        pairs=pairs,
        kind=proposal.kind,
        status=str(proposal.status),
        needs_two_reviews=rules.needs_two_reviews(proposal.kind, proposal.path),
        risk=judgment.risk,
        critic=judgment.critic,
        verifier=judgment.verifier,
        flags=flags.get(proposal.id, ()),
    )


class AutoApprover:
    """Called with each finished critic verdict. ``decide`` records a decision the way the caller's runner hears of
    it (SessionManager.decide in the window and headless runs); ``notify`` tells the person."""

    def __init__(
        self,
        repository,
        decide: Callable[[review.DecisionRequest, Actor], Awaitable[object]],
        notify: Callable[[AutoApproved], None] | None = None,
    ) -> None:
        self.repository = repository
        self._decide = decide
        self._notify = notify

    async def consider(self, proposal_id: int) -> AutoApproved | None:
        proposal, verdict = await self.repository.read(evaluate, proposal_id)
        if not verdict.allowed:
            log.debug("no auto-approval for #%s: %s", proposal_id, verdict.why)
            return None
        request = review.approve(proposal.id, Actor.critic().reviewer, reason=verdict.why, channel="critic")
        try:
            decision = await self._decide(request, Actor.critic())
        except Exception as err:
            # Decided by a person meanwhile, claimed, or the database said no: the person decides as usual.
            log.info("the critic's auto-approval of #%s was not recorded: %s", proposal_id, err)
            return None
        target = proposal.target.splitlines()[0][:120] if proposal.target else ""
        done = AutoApproved(proposal.id, target, verdict.why, getattr(decision, "decided_at", None))
        audit_log.warning(
            "auto-approved #%s by the critic in %s: %s", proposal.id, proposal.workspace_root, verdict.why
        )
        if self._notify is not None:
            try:
                self._notify(done)
            except Exception:
                log.exception("the auto-approval notice failed")
        return done
