"""The queue side of every adapter: an external request stored as a proposal of its session, the wait for a final
decision (made in any window or by ``signoff approve``), delivered at most once, and withdrawal of what nobody waits
for any more. Synchronous: the hook is one short process; servers call it from a worker thread. No Qt here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from app.domain.diffing import compute_diff
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import DecisionRecord, ProposalRecord
from app.services.adapters.base import ALLOW, ASK, DENY, Adapter, Answer, Change, ToolRequest, waiter_id
from app.store.errors import StoreError
from app.store.external import STALE_WAITER_AFTER, WITHDRAWN, ExternalStore
from app.store.models import utcnow
from app.store.repository import Repository

log = logging.getLogger(__name__)

POLL_S = 0.1
HEARTBEAT_S = 2.0
SOURCE_NAMES = {
    "claude-code": "Claude Code",
    "mcp": "Claude Code (permission prompt tool)",
    "agent-sdk": "the Claude Agent SDK",
    "codex": "Codex",
    "acp": "the ACP agent",
}


class WithdrawnError(Exception):
    """The proposal will not be decided for this request; the message says why (it is stored too)."""


def shown_fields(change: Change) -> dict[str, Any]:
    """The proposal columns the reviewer sees: the command, or the real unified diff of old and new bytes."""
    if change.kind == "command":
        shown = change.command or ""
        fields: dict[str, Any] = dict(lines_added=0, lines_removed=0)
    else:
        diff = compute_diff(change.old_content, change.new_content, change.path or "file")
        shown = diff.binary_summary if diff.is_binary else diff.text
        fields = dict(lines_added=diff.lines_added, lines_removed=diff.lines_removed)
    fields.update(shown_text=shown, shown_hash=hashlib.sha256(shown.encode("utf-8")).hexdigest())
    return fields


def default_task(request: ToolRequest) -> str:
    return request.task or f"{SOURCE_NAMES.get(request.source, request.source)} session {request.session_key[:12]}"


class Broker:
    def __init__(
        self,
        database: Any,
        *,
        undo_window_s: float = 0.0,
        poll_s: float = POLL_S,
        heartbeat_s: float = HEARTBEAT_S,
        waiter: str | None = None,
    ) -> None:
        self.repository = Repository(database)
        self.external = ExternalStore(database)
        self.undo_window_s = undo_window_s
        self._poll_s = poll_s
        self._heartbeat_s = heartbeat_s
        self.waiter = waiter or waiter_id()

    # -- storing -------------------------------------------------------------------------------------------------------

    def session_id(self, request: ToolRequest) -> int:
        return self.external.session_for(
            source=request.source,
            external_id=request.session_key,
            workspace_root=os.path.realpath(request.cwd),
            task=default_task(request),
            transcript_path=request.transcript_path,
        )

    def submit(self, request: ToolRequest, change: Change, *, note: str | None = None) -> ProposalRecord:
        """The request's proposal (the same one for a retried request), held open by this process."""
        session_id = self.session_id(request)
        proposal = self.repository.proposals.create(
            session_id=session_id,
            message_seq=0,
            tool_use_id=request.tool_use_id,
            tool_name=request.tool_name,
            tool_input=request.tool_input,
            kind=change.kind,
            path=change.path,
            command=change.command,
            cwd=change.cwd if change.kind == "command" else None,
            base_hash=change.base_hash,
            old_content=change.old_content,
            new_content=change.new_content,
            # Named in the same INSERT: a process killed right after it still leaves a proposal the sweep can find.
            waiter_id=self.waiter,
            waiter_heartbeat_at=utcnow(),
            protocol_note=note,
            **shown_fields(change),
        )
        if proposal.status in STILL_UNDECIDED:
            # A retried request finds the earlier proposal: it is this process that waits for it now.
            self.external.hold(proposal.id, self.waiter, note=note)
        return proposal

    def record_policy(self, request: ToolRequest, change: Change, answer: Answer, reviewer: str) -> ProposalRecord:
        """A call the workspace's rules decided, kept like any decision (reviewer 'policy', channel 'policy')."""
        from app.domain.policy import POLICY_CHANNEL

        proposal = self.submit(request, change)
        if proposal.status != "pending":
            return proposal
        approve = answer.behavior == ALLOW
        self.repository.proposals.record_decision(
            proposal.id,
            verdict="approve" if approve else "reject",
            reviewer=reviewer,
            reason=None if approve else answer.message,
            channel=POLICY_CHANNEL,
        )
        if self.repository.proposals.claim_for_apply(proposal.id, window_s=0):
            self._resolve(proposal.id, request, answer)
        return proposal

    # -- waiting -------------------------------------------------------------------------------------------------------

    def wait(
        self, proposal_id: int, *, deadline: float | None = None, stopped: Callable[[], str | None] = lambda: None
    ) -> DecisionRecord:
        """The final decision, claimed for this request only; raises WithdrawnError at the deadline, when ``stopped()``
        names a reason, or when the proposal was withdrawn or delivered elsewhere."""
        next_beat = time.monotonic() + self._heartbeat_s
        while True:
            proposal = self.repository.proposals.get(proposal_id)
            if proposal.status == "decided":
                decided_at = proposal.decided_at or utcnow()
                if (
                    utcnow() - decided_at
                ).total_seconds() >= self.undo_window_s and self.repository.proposals.claim_for_apply(
                    proposal_id, window_s=self.undo_window_s
                ):
                    decision = self.repository.proposals.latest_decision(proposal_id)
                    if decision is not None:
                        return decision
            elif proposal.status == WITHDRAWN:
                reason = self.external.withdrawn_reason(proposal_id) or "its session stopped"
                raise WithdrawnError(f"Proposal {proposal_id} was withdrawn: {reason}")
            elif proposal.status not in STILL_UNDECIDED:
                # 'applying' or later: another waiter (a retried request) took the decision; it is never sent twice.
                raise WithdrawnError(
                    f"The decision on proposal {proposal_id} was already delivered to an earlier request."
                )
            reason = stopped()
            if reason is None and deadline is not None and time.monotonic() >= deadline:
                reason = "the agent stopped waiting for a decision (its timeout)"
            if reason is not None:
                if self.external.withdraw(proposal_id, reason, waiter_id=self.waiter):
                    raise WithdrawnError(f"Proposal {proposal_id} was withdrawn: {reason}")
                deadline = None  # a decision won the race by a hair: the next look delivers it
                continue
            if time.monotonic() >= next_beat:
                self.external.heartbeat(proposal_id, self.waiter)
                next_beat = time.monotonic() + self._heartbeat_s
            time.sleep(self._poll_s)

    def answer_for(self, adapter: Adapter, request: ToolRequest, change: Change, decision: DecisionRecord) -> Answer:
        """A final decision in the agent's terms, recorded on the proposal as what the agent was told."""
        if decision.verdict == "reject":
            # Verbatim: the reviewer wrote it for the model.
            answer = Answer(DENY, decision.reason or "Rejected by the reviewer.", decided_by="person")
        elif decision.verdict == "edit" and decision.edited_content is not None:
            updated = adapter.edited_input(request, change, decision.edited_content)
            if updated is None:
                answer = Answer(
                    DENY,
                    "The reviewer approved a different version, which this agent's protocol cannot carry:\n"
                    + decision.edited_content.decode("utf-8", "replace"),
                    decided_by="person",
                )
            else:
                # A per-hunk decision that left hunks out carries their reasons ('Hunk 2: ...').
                told = "Approved with the reviewer's edit." + (
                    f" Left out: {decision.reason}" if decision.reason else ""
                )
                answer = Answer(ALLOW, told, updated_input=updated, decided_by="person")
        else:
            answer = Answer(ALLOW, "Approved in Signoff.", decided_by="person")
        self._resolve(decision.proposal_id, request, answer)
        return answer

    def _resolve(self, proposal_id: int, request: ToolRequest, answer: Answer) -> None:
        who = SOURCE_NAMES.get(request.source, request.source)
        told = answer.message if answer.behavior == DENY else f"{answer.behavior}: sent to {who}, which carries it out."
        self.repository.proposals.resolve(
            proposal_id,
            status=ProposalStatus.APPLIED if answer.behavior == ALLOW else ProposalStatus.REJECTED,
            result={"content": told, "is_error": answer.behavior != ALLOW, "delivered_to": request.source},
        )

    # -- housekeeping --------------------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Withdraw undecided proposals whose waiting process is gone; how many."""
        host = socket.gethostname()
        stale_before = utcnow() - STALE_WAITER_AFTER
        withdrawn = 0
        for proposal_id, waiter, beat in self.external.waiting():
            where, _, pid_text = waiter.rpartition(":")
            gone = (where == host and pid_text.isdigit() and not _alive(int(pid_text))) or (
                where != host and (beat is None or _utc(beat) < stale_before)
            )
            if gone and self.external.withdraw(
                proposal_id,
                f"the process holding the agent's request ({waiter}) is gone: killed or crashed before a decision",
                waiter_id=waiter,
            ):
                withdrawn += 1
        return withdrawn


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A killed process nobody reaped yet (a zombie) still answers kill(0); it waits for nothing.
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def refusal(message: str) -> Answer:
    """Signoff could not put the request to anyone: the agent asks its own user."""
    return Answer(ASK, message)


__all__ = ["Broker", "StoreError", "WithdrawnError", "refusal", "shown_fields"]
