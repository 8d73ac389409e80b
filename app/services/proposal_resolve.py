"""A proposal's way to its result: the workspace's policy may decide it, else it waits for a person's final decision;
then the decision is carried out and the result stored, once, even across a restart. No Qt here."""

from __future__ import annotations

import asyncio
from typing import Any

from app.domain import tool_results
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.policy import POLICY_CHANNEL, POLICY_REVIEWER, PolicyError
from app.domain.records import DecisionRecord, ProposalRecord
from app.domain.tools import EFFECTS_KIND
from app.domain.wording import waiting_for
from app.services.carry_out import DecisionCarrier
from app.services.decision_wait import ProposalWithdrawn
from app.services.events import ProposalWaiting, StatusChanged
from app.services.policy_file import load_policy
from app.services.review import grants as review_grants
from app.services.run_context import RunContext
from app.services.sandbox import sandbox_info
from app.store.compare import REPLACED
from app.store.errors import StoreError


class StepReplaced(Exception):
    """The reviewer picked a compared alternative: the step's assistant message was replaced (app.services.compare), so
    its tool calls are answered afresh from the transcript."""


class ProposalResolver:
    """Resolves the proposals of one session: policy or person decides, the carrier carries it out."""

    def __init__(self, context: RunContext) -> None:
        self._context = context
        self.session_id = context.session_id
        self._repository = context.repository
        self._waiter = context.waiter
        self._emit = context.emit
        self._set_status = context.set_status
        self._carrier = DecisionCarrier(context, self.resolve)

    async def resolve(self, proposal: ProposalRecord) -> tuple[str, bool]:
        """Wait for the decision (unless it was made and resolved before a restart), apply it, say what happened."""
        if proposal.status == REPLACED:
            raise StepReplaced(f"Proposal {proposal.id} was replaced by the alternative the reviewer picked.")
        if proposal.result is not None:
            return proposal.result["content"], bool(proposal.result.get("is_error"))
        decided_by_policy = None
        if proposal.status == ProposalStatus.PENDING and proposal.kind != EFFECTS_KIND:
            # A command's held changes always wait for a person: no rule reviews them.
            proposal, decided_by_policy = await self._apply_policy(proposal)
        if decided_by_policy is not None:
            decision = decided_by_policy
        elif proposal.status in (ProposalStatus.DECIDED, *STILL_UNDECIDED):
            # A decision still inside its undo window is not final: the waiter holds it until it is. Nor is a first
            # of two reviews, or a disagreement waiting for adjudication (team mode).
            # Waiting also while a decision found on resuming sits in its undo window: an undo puts the proposal
            # back on screen, and the session must not read "running" meanwhile (the waiter says nothing then).
            undecided = proposal.status in STILL_UNDECIDED
            await self._set_status("waiting", waiting_for(proposal.id, undecided))
            if undecided:
                self._emit(ProposalWaiting(self.session_id, proposal))
            try:
                decision = await self._waiter.wait(proposal.id)
            except ProposalWithdrawn:
                await self._raise_if_replaced(proposal.id)
                return tool_results.withdrawn(), True
            await self._set_status("running")
        else:
            latest = await self._repository.read(lambda store: store.proposals.latest_decision(proposal.id))
            if latest is None:
                return tool_results.withdrawn(), True
            decision = latest
        # Found 'applying' on entry: an earlier run of this session died while carrying the decision out.
        interrupted = proposal.status == ProposalStatus.APPLYING
        status, text, is_error, applied_hash = await self._carrier.carry_out(
            proposal, decision, interrupted=interrupted
        )
        result: dict[str, Any] = {"content": text, "is_error": is_error}
        effects = self._carrier.take_effects(proposal.id)
        if effects is not None:
            result["effects"] = effects
        await self._repository.write(
            lambda store: store.proposals.resolve(proposal.id, status=status, result=result, applied_hash=applied_hash)
        )
        return text, is_error

    async def _raise_if_replaced(self, proposal_id: int) -> None:
        if (await self._repository.read(lambda store: store.proposals.get(proposal_id))).status == REPLACED:
            raise StepReplaced(f"Proposal {proposal_id} was replaced by the alternative the reviewer picked.")

    async def _apply_policy(self, proposal: ProposalRecord) -> tuple[ProposalRecord, DecisionRecord | None]:
        """Let the workspace's rules decide a fresh proposal: deny and allow are recorded as decisions by "policy"
        (channel "policy") and carried out at once; ask (and any doubt) leaves it waiting for a person."""
        try:
            rules = await asyncio.to_thread(load_policy, self._context.workspace.root)
        except PolicyError as err:
            self._emit(StatusChanged(self.session_id, "waiting", f"The policy file is not used: {err}"))
            return proposal, None
        verdict = await asyncio.to_thread(rules.check, proposal, self._context.workspace.root)
        if verdict.action == "allow" and proposal.kind == "command":
            sandbox = await asyncio.to_thread(sandbox_info)
            if not sandbox.available:
                # A rule allows a command on the promise that it runs sandboxed; without one a person decides.
                self._emit(
                    StatusChanged(
                        self.session_id,
                        "waiting",
                        f"{sandbox.detail} A rule allows proposal {proposal.id}, but commands cannot run sandboxed "
                        "here, so it waits for a person.",
                    )
                )
                return proposal, None
        if verdict.action == "ask":
            return proposal, None
        approve = verdict.action == "allow"
        try:
            await self._repository.write(
                lambda store: store.proposals.record_decision(
                    proposal.id,
                    verdict="approve" if approve else "reject",
                    reviewer=verdict.reviewer if approve else POLICY_REVIEWER,
                    reason=None
                    if approve
                    else f"Denied by this workspace's policy (.signoff/policy.toml). {verdict.reason}",
                    channel=POLICY_CHANNEL,
                    grants=review_grants(git_writes=verdict.git_writes, network=verdict.network),
                )
            )
        except StoreError:
            # Someone decided it first (or the proposal is gone): their decision stands.
            return await self._repository.read(lambda store: store.proposals.get(proposal.id)), None
        self._emit(
            StatusChanged(
                self.session_id,
                "running",
                f"Policy {'allowed' if approve else 'denied'} proposal {proposal.id}: {verdict.reason}",
            )
        )
        current = await self._repository.read(lambda store: store.proposals.get(proposal.id))
        if current.status == ProposalStatus.DECIDED and await self._repository.write(
            lambda store: store.proposals.claim_for_apply(proposal.id, window_s=0)
        ):
            return current, await self._repository.read(lambda store: store.proposals.latest_decision(proposal.id))
        return current, None
