"""Carry a final decision out exactly once: write the approved bytes, run the approved command (and put the changes
it held to a person), apply a held change, or say why nothing happened. No Qt here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from app.domain import tool_results
from app.domain.hunks import HunkError, PartialResult
from app.domain.hunks import decision_result as hunk_decision_result
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.records import DecisionRecord, ProposalRecord
from app.domain.tools import EFFECTS_KIND
from app.services.apply import ApplyConflict, apply_file_change, describe_write_error
from app.services.command_tool import CommandDraft, run_command
from app.services.effects import ApplyRefusedError
from app.services.effects_review import (
    applied_line,
    apply_decided,
    draft_effect_proposals,
    effect_tool_use_id,
    not_applied_line,
    review_summary,
)
from app.services.events import ProposalWaiting, StatusChanged, ToolResultSent
from app.services.proposal_drafts import command_hash, shown_mismatch
from app.services.run_context import RunContext, log
from app.services.sandbox import Grant
from app.services.workspace import ToolInputError, sha256_hex

# (status, tool result text, is_error, sha256 of what was written)
Outcome = tuple[ProposalStatus, str, bool, str | None]
# Waits for a proposal's decision, carries it out and stores the result: (tool result text, is_error).
Resolve = Callable[[ProposalRecord], Awaitable[tuple[str, bool]]]


class DecisionCarrier:
    """Carries out the decisions of one session's proposals; ``resolve`` decides a command's held changes."""

    def __init__(self, context: RunContext, resolve: Resolve) -> None:
        self._context = context
        self.session_id = context.session_id
        self._repository = context.repository
        self._emit = context.emit
        self._resolve = resolve
        # What each command carried out in this run changed (sandbox, applied and held effects), stored with its result.
        self._command_effects: dict[int, dict[str, Any]] = {}

    def take_effects(self, proposal_id: int) -> dict[str, Any] | None:
        """What the command of ``proposal_id`` changed, once, to be stored with its result."""
        return self._command_effects.pop(proposal_id, None)

    async def carry_out(
        self, proposal: ProposalRecord, decision: DecisionRecord, *, interrupted: bool = False
    ) -> Outcome:
        """Apply a final decision; with ``interrupted``, finish (or truthfully give up) one an earlier run began.

        Before any byte is written or any command starts, the target (sha256 of the exact file bytes, or of the
        command) is recorded durably on the 'applying' proposal. A resumed runner that finds it knows a write may
        have happened: a file is then finished or rolled back exactly once by comparing the disk with the target and
        the base; a command is never run a second time.
        """
        repository = self._context.repository
        by_hunk = await self._hunk_outcome(proposal, decision)
        intent = await repository.read(lambda store: store.proposals.apply_intent(proposal.id)) if interrupted else None
        if decision.verdict == "reject":
            if proposal.kind == EFFECTS_KIND:
                reason = decision.reason or "(no reason given)"
                return ProposalStatus.REJECTED, not_applied_line(proposal, f"rejected: {reason}"), False, None
            if by_hunk is not None:
                return ProposalStatus.REJECTED, tool_results.hunks_rejected(proposal.path, by_hunk), True, None
            return (
                ProposalStatus.REJECTED,
                tool_results.rejected(proposal.kind, proposal.path, decision.reason or "(no reason given)"),
                True,
                None,
            )
        mismatch = await asyncio.to_thread(shown_mismatch, proposal, decision)
        if mismatch is not None:
            return ProposalStatus.FAILED, tool_results.apply_failed(proposal.path, mismatch), True, None
        if proposal.kind == "command":
            return await self._run_approved_command(proposal, decision, intent)
        if proposal.kind == EFFECTS_KIND:
            return await self._apply_effect(proposal, decision, by_hunk)
        return await self._write_approved_file(proposal, decision, by_hunk, intent, interrupted=interrupted)

    async def _run_approved_command(
        self, proposal: ProposalRecord, decision: DecisionRecord, intent: str | None
    ) -> Outcome:
        """Run the approved (or edited) command once, its hash recorded first; never again after an interruption."""
        ran = proposal.command or ""
        prefix = ""
        if decision.verdict == "edit" and decision.edited_content is not None:
            ran = decision.edited_content.decode("utf-8")
            if ran != proposal.command:
                prefix = tool_results.command_edited_prefix(proposal.command or "", ran)
        if intent is not None:
            # It may have run, partly or wholly; running it again could do its effect twice. If it ran to the end and
            # its held changes were put to a person, those are still decided and carried out.
            first = await self._repository.read(
                lambda store: store.proposals.for_tool_use(self.session_id, effect_tool_use_id(proposal.tool_use_id, 0))
            )
            if first is not None and first.tool_input.get("command_result"):
                text = first.tool_input["command_result"]
                text += await self._review_held_effects(proposal, [], first.tool_input.get("unreviewable", []))
                return ProposalStatus.APPLIED, text, False, None
            return ProposalStatus.FAILED, tool_results.command_interrupted(ran), True, None
        if not await self._repository.write(
            lambda store: store.proposals.record_apply_intent(proposal.id, command_hash(ran))
        ):
            return (
                ProposalStatus.FAILED,
                tool_results.apply_failed(None, "the decision is no longer being carried out"),
                True,
                None,
            )
        grant = Grant(git_writes=decision.grants_git_writes, network=decision.grants_network)
        try:
            outcome = await run_command(
                self._context.workspace,
                CommandDraft(ran, proposal.cwd or "."),
                timeout_s=self._context.command_timeout_s,
                grant=grant,
            )
        except (OSError, ToolInputError) as err:
            return ProposalStatus.FAILED, tool_results.apply_failed(None, str(err)), True, None
        self._command_effects[proposal.id] = outcome.effects_record()
        text = prefix + outcome.as_tool_result_text(ran)
        if outcome.for_review:
            drafted = await asyncio.to_thread(
                draft_effect_proposals, self._context.workspace.root, proposal, ran, outcome
            )
            if drafted.proposals:
                # Stored with the first held change, so a runner resumed after a crash can still tell the agent.
                drafted.proposals[0]["tool_input"].update(
                    command_result=text, unreviewable=[list(item) for item in drafted.unreviewable]
                )
            text += await self._review_held_effects(proposal, drafted.proposals, drafted.unreviewable)
        return ProposalStatus.APPLIED, text, False, None

    async def _review_held_effects(
        self, command: ProposalRecord, drafted: list[dict[str, Any]], unreviewable: list[Any]
    ) -> str:
        """Put a command's held changes to a person (all at once, one proposal per file), carry each out as decided,
        and say what landed; the command's own record lists them too."""
        held: list[ProposalRecord] = []
        for fields in drafted:
            held.append(await self._repository.write(lambda store, f: store.proposals.create(**f), fields))
        index = len(held)
        while not drafted:
            # Resumed: the held changes were stored before the crash; find them all again by their keys.
            found = await self._repository.read(
                lambda store, i: store.proposals.for_tool_use(
                    self.session_id, effect_tool_use_id(command.tool_use_id, i)
                ),
                index,
            )
            if found is None:
                break
            held.append(found)
            index += 1
        if held:
            self._emit(
                StatusChanged(
                    self.session_id,
                    "waiting",
                    f"Command {command.id} changed {len(held)} file(s) outside what it was granted; "
                    "each waits for a decision.",
                )
            )
            for waiting in held:
                if waiting.status in STILL_UNDECIDED:
                    # All at once, so the window and the queue list every held change while the first is decided.
                    self._emit(ProposalWaiting(self.session_id, waiting))
        lines: list[str] = []
        reviewed: list[dict[str, Any]] = []
        for effect_proposal in held:
            text, is_error = await self._resolve(effect_proposal)
            status = (
                await self._repository.read(lambda store, pid: store.proposals.get(pid), effect_proposal.id)
            ).status
            lines.append(f"#{effect_proposal.id} {text}")
            reviewed.append({"proposal_id": effect_proposal.id, "path": effect_proposal.path, "status": str(status)})
            self._emit(
                ToolResultSent(
                    self.session_id,
                    effect_proposal.tool_use_id,
                    EFFECTS_KIND,
                    text,
                    is_error,
                    effect_proposal.id,
                    status,
                )
            )
        if command.id in self._command_effects:
            self._command_effects[command.id]["reviewed"] = reviewed
        return review_summary(lines, [tuple(item) for item in unreviewable])

    async def _apply_effect(
        self, proposal: ProposalRecord, decision: DecisionRecord, by_hunk: PartialResult | None
    ) -> Outcome:
        """Apply one held change of a command exactly as decided (whole, edited, or hunk by hunk)."""
        content = proposal.new_content
        if decision.verdict == "edit" and decision.edited_content is not None:
            content = decision.edited_content
        try:
            applied_hash = await asyncio.to_thread(apply_decided, self._context.workspace.root, proposal, content)
        except ApplyConflict as err:
            return ProposalStatus.CONFLICT, not_applied_line(proposal, str(err)), True, None
        except (ApplyRefusedError, OSError) as err:
            return ProposalStatus.FAILED, not_applied_line(proposal, str(err)), True, None
        return ProposalStatus.APPLIED, applied_line(proposal, content, by_hunk), False, applied_hash

    async def _write_approved_file(
        self,
        proposal: ProposalRecord,
        decision: DecisionRecord,
        by_hunk: PartialResult | None,
        intent: str | None,
        *,
        interrupted: bool,
    ) -> Outcome:
        """Write the approved (or edited) bytes, their hash recorded first; after an interruption, finish the write
        only if the recorded hash is of these bytes."""
        assert proposal.path is not None and proposal.new_content is not None
        content = proposal.new_content
        if decision.verdict == "edit" and decision.edited_content is not None:
            content = decision.edited_content
        target_hash = sha256_hex(content) or ""
        if intent is not None and intent != target_hash:
            return (
                ProposalStatus.FAILED,
                tool_results.apply_failed(
                    proposal.path, "the bytes recorded for this interrupted apply are not the approved bytes"
                ),
                True,
                None,
            )
        if not await self._repository.write(
            lambda store: store.proposals.record_apply_intent(proposal.id, target_hash)
        ):
            return (
                ProposalStatus.FAILED,
                tool_results.apply_failed(proposal.path, "the decision is no longer being carried out"),
                True,
                None,
            )
        finished_before = False
        try:
            if interrupted:
                current = await asyncio.to_thread(self._context.workspace.current_hash, proposal.path)
                finished_before = current == target_hash and current != proposal.base_hash
            applied_hash = await asyncio.to_thread(
                apply_file_change, self._context.workspace, proposal.path, proposal.base_hash, content
            )
        except ApplyConflict as err:
            if interrupted:
                return ProposalStatus.CONFLICT, tool_results.interrupted_conflict(proposal.path, str(err)), True, None
            return ProposalStatus.CONFLICT, tool_results.conflict(proposal.path, str(err)), True, None
        except OSError as err:
            return (
                ProposalStatus.FAILED,
                tool_results.apply_failed(proposal.path, describe_write_error(err)),
                True,
                None,
            )
        except ToolInputError as err:
            return ProposalStatus.FAILED, tool_results.apply_failed(proposal.path, str(err)), True, None
        if finished_before:
            text = tool_results.file_applied_before_restart(
                proposal.kind, proposal.path, proposal.lines_added, proposal.lines_removed
            )
            return ProposalStatus.APPLIED, text, False, applied_hash
        return ProposalStatus.APPLIED, self._file_applied_text(proposal, content, by_hunk), False, applied_hash

    @staticmethod
    def _file_applied_text(proposal: ProposalRecord, content: bytes, by_hunk: PartialResult | None) -> str:
        """The tool result for a file change written now: hunk by hunk, with the reviewer's edits, or as proposed."""
        assert proposal.path is not None and proposal.new_content is not None
        if by_hunk is not None and not by_hunk.all_approved:
            return tool_results.hunks_applied(proposal.path, proposal.new_content, replace(by_hunk, content=content))
        if content != proposal.new_content:
            return tool_results.file_applied_with_edits(proposal.path, proposal.new_content, content)
        return tool_results.file_applied(proposal.kind, proposal.path, proposal.lines_added, proposal.lines_removed)

    async def _hunk_outcome(self, proposal: ProposalRecord, decision: DecisionRecord) -> PartialResult | None:
        """What each hunk's verdict did, for a decision taken hunk by hunk; None for a whole-proposal decision."""
        if not decision.hunk_verdicts or proposal.kind == "command":
            return None
        try:
            return await asyncio.to_thread(
                hunk_decision_result,
                proposal.old_content,
                proposal.new_content,
                proposal.path or "file",
                decision.hunk_verdicts,
            )
        except HunkError:
            log.warning(
                "proposal %s: stored hunk verdicts no longer fit its diff; describing it as a whole", proposal.id
            )
            return None
