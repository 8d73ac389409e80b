"""The agent loop of one session: stream Claude's turn, run views, turn changes into proposals, wait, apply, repeat.

The loop's whole state lives in the database (the ordered transcript and the proposals), so the same code starts a
session and resumes one after a restart, in this process or another. It never writes a file or runs a command that
a person has not approved. No Qt here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from dataclasses import replace
from typing import Any

import anthropic
import httpx2

from app.domain import changeset_words, tool_results
from app.domain.diffing import compute_diff
from app.domain.hunks import HunkError, PartialResult
from app.domain.hunks import decision_result as hunk_decision_result
from app.domain.input_limits import InputLimitError, check_command_text, check_edit_bytes
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.policy import POLICY_CHANNEL, POLICY_REVIEWER, PolicyError
from app.domain.records import DecisionRecord, MessageRecord, ProposalRecord, SessionRecord
from app.domain.tools import (
    COMMAND_TOOL_NAME,
    DELEGATE_TOOL_NAME,
    EDITOR_TOOL_NAME,
    EFFECTS_KIND,
    PLAN_TOOL_NAME,
    changes_the_world,
    system_blocks,
    tools_for_request,
)
from app.domain.wording import finished_because, waiting_for
from app.services import changeset_session, editor_tool
from app.services.agent_tree import TREE_TOOLS, Spawner, TreeTools
from app.services.apply import ApplyConflict, apply_file_change, describe_write_error
from app.services.command_tool import CommandDraft, capped_for_model, draft_command, run_command
from app.services.decision_wait import DecisionWaiter, ProposalWithdrawn
from app.services.effects import ApplyRefusedError
from app.services.effects_review import (
    applied_line,
    apply_decided,
    draft_effect_proposals,
    effect_tool_use_id,
    not_applied_line,
    review_summary,
)
from app.services.events import (
    AssistantMessageDone,
    EventListener,
    ProposalWaiting,
    SessionEvent,
    StatusChanged,
    TextDelta,
    ToolCallStarted,
    ToolInputDelta,
    ToolResultSent,
    UsageUpdated,
)
from app.services.policy_file import load_policy
from app.services.review import grants as review_grants
from app.services.sandbox import Grant, sandbox_info
from app.services.settings import load_settings
from app.services.workspace import ToolInputError, Workspace, sha256_hex
from app.store.async_repository import AsyncRepository
from app.store.compare import REPLACED
from app.store.errors import StoreError
from app.store.models import utcnow

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 5.0
# A stream cut mid-message (an `error` event, a dropped connection) is not retried by the SDK: we retry it here,
# which is safe because no tool call of a message runs before the whole message has arrived.
STREAM_RETRIES = 3


class SessionBusyError(Exception):
    """Another live process drives this session."""


class StepReplaced(Exception):
    """The reviewer picked a compared alternative: the step's assistant message was replaced (app.services.compare), so
    its tool calls are answered afresh from the transcript."""


def runner_process_is_gone(runner_id: str) -> bool:
    """True when ``runner_id`` (``host:pid:token``, see sessions.new_runner_id) names a process on this host that no
    longer exists. Anything unknown (another host, a pid we may not signal, a foreign id) counts as alive."""
    host, _, rest = runner_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def assistant_content_for_history(blocks: list[Any]) -> list[dict[str, Any]]:
    """The response's content blocks in the request shape, so the transcript can be sent back verbatim."""
    content: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.type
        if kind == "text":
            content.append({"type": "text", "text": block.text})
        elif kind == "tool_use":
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
        elif kind == "thinking":
            content.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        elif kind == "redacted_thinking":
            content.append({"type": "redacted_thinking", "data": block.data})
        else:
            content.append(block.model_dump(mode="json", exclude_none=True))
    return content


def _with_cache_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the end of the conversation so the next turn reads the prefix from the prompt cache."""
    if not messages:
        return messages
    last = dict(messages[-1])
    content = [dict(block) for block in last["content"]]
    content[-1]["cache_control"] = {"type": "ephemeral"}
    last["content"] = content
    return [*messages[:-1], last]


class SessionRunner:
    def __init__(
        self,
        session: SessionRecord,
        *,
        repository: AsyncRepository,
        client: anthropic.AsyncAnthropic,
        waiter: DecisionWaiter,
        runner_id: str,
        listener: EventListener,
        command_timeout_s: float = 120.0,
        api_timeout_s: float | None = None,
        spawner: Spawner | None = None,
        owns_client: bool = True,
    ) -> None:
        self.session = session
        # A sub-agent borrows its manager's shared client (building one costs ~100 ms of the loop): not closed here.
        self._owns_client = owns_client
        self.session_id = session.id
        self._repository = repository
        # Every HTTP attempt the SDK makes (its own retries with backoff included) passes through _watch_attempt.
        self._client = client.with_middleware(self._watch_attempt)
        if api_timeout_s is not None:
            self._client = self._client.with_options(timeout=api_timeout_s)
        self._last_failure: str | None = None
        self._waiter = waiter
        self._runner_id = runner_id
        self._listener = listener
        self._workspace = Workspace(session.workspace_root)
        self._command_timeout_s = command_timeout_s
        # What each command carried out in this run changed (sandbox, applied and held effects), stored with its result.
        self._command_effects: dict[int, dict[str, Any]] = {}
        # Changeset mode (app.services.changeset_session): the agent works in its own worktree; None otherwise.
        self._changeset: changeset_session.ChangesetMode | None = None
        # Set when the app closes: the task is cancelled but the session stays resumable, its proposals waiting.
        self.detaching = False
        # Plan mode and delegation (services/agent_tree.py): propose_plan, delegate and the plan-mode gate.
        self._tree = TreeTools(self, spawner)
        self._tree_tools = {tool.get("name") for tool in session.tools} & set(TREE_TOOLS)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.close()

    def _emit(self, event: SessionEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # a broken view must not kill the agent loop
            log.exception("session event listener failed")

    async def _set_status(self, status: str, detail: str = "", **fields: Any) -> None:
        await self._repository.write(lambda store: store.sessions.update(self.session_id, status=status, **fields))
        self._emit(StatusChanged(self.session_id, status, detail))

    async def _watch_attempt(self, request: Any, call_next: Any) -> Any:
        """SDK middleware, run once per HTTP attempt: says in the session's status line that the SDK is retrying a
        failed request (429, 529, 5xx, a reset connection, a timeout), which attempt it is on, and when it recovered."""
        limit = request.max_retries if isinstance(request.max_retries, int) else self._client.max_retries
        attempt = request.retries_taken
        if attempt:
            reason = self._last_failure or "The API request failed"
            self._emit(StatusChanged(self.session_id, "retrying", f"{reason}, retrying {attempt}/{limit}…"))
        try:
            response = await call_next(request)
        except anthropic.APITimeoutError:
            self._last_failure = "The API did not answer in time"
            raise
        except anthropic.APIConnectionError:
            self._last_failure = "The connection to the API failed"
            raise
        status = response.status_code
        if status == 429:
            self._last_failure = "Rate limited by the API (429)"
        elif status == 529:
            self._last_failure = "API overloaded (529)"
        elif status >= 500 or status in (408, 409):
            self._last_failure = f"The API had an error (HTTP {status})"
        elif attempt and status < 400:
            self._last_failure = None
            self._emit(
                StatusChanged(
                    self.session_id,
                    "running",
                    f"The API answered again after {attempt} retr{'y' if attempt == 1 else 'ies'}.",
                )
            )
        return response

    async def run(self) -> str:
        """Drive the session until it ends; returns the final status. Cancel the task to stop it."""
        claimed = await self._repository.write(lambda store: store.sessions.claim(self.session_id, self._runner_id))
        if not claimed:
            holder = (await self._repository.read(lambda store: store.sessions.get(self.session_id))).runner_id
            if holder is not None and runner_process_is_gone(holder):
                # Its process died on this host (a crash, kill -9): no need to wait for its heartbeat to go stale.
                claimed = await self._repository.write(
                    lambda store: store.sessions.take_over(self.session_id, self._runner_id, holder)
                )
        if not claimed:
            raise SessionBusyError(f"Session {self.session_id} is being run by another Signoff process.")
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            return await self._loop()
        except asyncio.CancelledError:
            if self.detaching:
                raise
            withdrawn = await asyncio.shield(
                self._repository.write(lambda store: store.proposals.cancel_pending(self.session_id))
            )
            detail = "Stopped by the reviewer." + (f" {withdrawn} waiting proposal(s) withdrawn." if withdrawn else "")
            await asyncio.shield(self._set_status("stopped", detail, stop_reason="stopped", ended_at=utcnow()))
            raise
        except (anthropic.APIError, httpx2.TransportError) as err:
            message = _describe_api_error(err)
            if _sdk_retried(err):
                message += (
                    f" Gave up after {self._client.max_retries} retries; "
                    "resume the session (Ctrl+R, `signoff resume`) to try again."
                )
            await self._set_status("interrupted", message, error=message)
            return "interrupted"
        except Exception as err:
            log.exception("session %s failed", self.session_id)
            message = f"{type(err).__name__}: {err}"
            try:
                await self._set_status("failed", message, error=message, ended_at=utcnow())
            except Exception:
                # The database itself failed (disk full, read-only, gone): say so here; the stored status stays
                # what it was, so the session can be resumed once the database works again.
                log.exception("session %s: could not store its failure", self.session_id)
                self._emit(StatusChanged(self.session_id, "failed", f"{message} (not saved: the database failed too)"))
            return "failed"
        finally:
            heartbeat.cancel()
            try:
                await heartbeat
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("session %s: heartbeat failed", self.session_id)
            try:
                await asyncio.shield(
                    self._repository.write(lambda store: store.sessions.release(self.session_id, self._runner_id))
                )
            except Exception:
                # Unreleased, the session is taken over once this process is gone (or its heartbeat is stale).
                log.exception("session %s: could not release it", self.session_id)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL_S)
            await self._repository.write(lambda store: store.sessions.heartbeat(self.session_id, self._runner_id))

    async def _loop(self) -> str:
        await self._set_status("running", error=None)
        if not await self._attach_changeset():
            return "failed"
        while True:
            messages = await self._repository.read(lambda store: store.sessions.messages(self.session_id))
            last = messages[-1]
            if last.role == "assistant":
                tool_uses = [b for b in last.content if b.get("type") == "tool_use"]
                if not tool_uses or last.stop_reason not in ("tool_use", None):
                    if await self._changeset_reviewed_at_end(last.seq):
                        continue
                    return await self._finish(last.stop_reason or "end_turn")
                try:
                    results = await self._answer_tool_uses(last, tool_uses)
                except StepReplaced as replaced:
                    self._emit(StatusChanged(self.session_id, "picked", str(replaced)))
                    continue
                await self._repository.write(
                    lambda store, sent: store.sessions.append_message(self.session_id, "user", sent), results
                )
                continue
            session = await self._repository.read(lambda store: store.sessions.get(self.session_id))
            if session.turns >= session.max_turns:
                if self._changeset is not None:
                    # The agent's work so far is still reviewed (once: keyed by its last assistant message).
                    last_assistant = max((m.seq for m in messages if m.role == "assistant"), default=None)
                    if last_assistant is not None:
                        await self._changeset.end_of_turn(last_assistant)
                return await self._finish("max_turns", f"Reached the limit of {session.max_turns} turns.")
            await self._assistant_turn(session, messages)

    async def _finish(self, stop_reason: str, detail: str = "") -> str:
        await self._set_status(
            "finished", detail or finished_because(stop_reason), stop_reason=stop_reason, ended_at=utcnow()
        )
        if self._changeset is not None:
            try:
                await self._changeset.finished()
            except Exception:  # a worktree left behind is swept later; the session's end stands
                log.exception("session %s: could not remove its worktree", self.session_id)
        return "finished"

    # -- changeset mode ------------------------------------------------------------------------------------------------

    async def _attach_changeset(self) -> bool:
        """In changeset mode, make or find the worktree and work there; False (the session failed, said why) when it
        cannot be found again."""
        try:
            self._changeset = await changeset_session.attach(
                self._repository,
                self.session,
                waiter=self._waiter,
                set_status=self._set_status,
                emit=self._emit,
                command_timeout_s=self._command_timeout_s,
            )
        except changeset_session.WorktreeLost as err:
            await self._set_status("failed", str(err), error=str(err), ended_at=utcnow())
            return False
        if self._changeset is not None:
            self._workspace = self._changeset.workspace
        return True

    async def _changeset_reviewed_at_end(self, message_seq: int) -> bool:
        """The agent ended its turn in changeset mode: its changeset is reviewed; True when the review's outcome went
        back to the agent and it continues (something was not merged)."""
        if self._changeset is None:
            return False
        outcome = await self._changeset.end_of_turn(message_seq)
        if outcome.merged_all:
            return False
        content = [{"type": "text", "text": outcome.text}]
        await self._repository.write(lambda store: store.sessions.append_message(self.session_id, "user", content))
        return True

    # -- one model turn ------------------------------------------------------------------------------------------------

    async def _assistant_turn(self, session: SessionRecord, messages: list[MessageRecord]) -> None:
        request_messages = _with_cache_breakpoint([{"role": m.role, "content": m.content} for m in messages])
        sampling = dict(session.sampling)
        attempt = 0
        while True:
            try:
                final = await self._stream_once(session, request_messages, sampling)
                break
            except (anthropic.APIStatusError, anthropic.APIConnectionError, httpx2.TransportError) as err:
                # Only a stream cut mid-message is retried here: an `error` event inside a 200 response, or the
                # connection dropped mid-body. Failures before the response (429, 529, 5xx, resets, timeouts) were
                # already retried, with backoff, by the SDK.
                retryable = _stream_cut_mid_message(err)
                attempt += 1
                if not retryable or attempt > STREAM_RETRIES:
                    raise
                delay = min(8.0, 0.5 * 2 ** (attempt - 1))
                self._emit(
                    StatusChanged(self.session_id, "retrying", f"{_describe_api_error(err)} Retrying in {delay:.1f} s.")
                )
                await asyncio.sleep(delay)
        usage = final.usage.model_dump(mode="json", exclude_none=True) if final.usage else {}
        content = assistant_content_for_history(final.content)
        seq = await self._repository.write(
            lambda store: store.sessions.append_message(
                self.session_id,
                "assistant",
                content,
                api_message_id=final.id,
                stop_reason=final.stop_reason,
                usage=usage,
            )
        )
        await self._repository.write(lambda store: store.sessions.add_usage(self.session_id, usage))
        await self._repository.write(lambda store: store.sessions.update(self.session_id, turns=session.turns + 1))
        totals = await self._repository.read(lambda store: store.sessions.get(self.session_id))
        self._emit(
            UsageUpdated(
                self.session_id,
                totals.input_tokens,
                totals.output_tokens,
                totals.cache_creation_input_tokens,
                totals.cache_read_input_tokens,
            )
        )
        self._emit(AssistantMessageDone(self.session_id, seq, content, final.stop_reason))

    async def _stream_once(self, session: SessionRecord, messages: list[dict[str, Any]], sampling: dict[str, Any]):
        current_tool: str | None = None
        async with self._client.messages.stream(
            model=session.model,
            system=system_blocks(session.system_prompt),
            tools=tools_for_request(session.tools),
            messages=messages,
            **sampling,
        ) as stream:
            async for event in stream:
                if event.type == "text":
                    self._emit(TextDelta(self.session_id, event.text))
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    current_tool = event.content_block.id
                    self._emit(ToolCallStarted(self.session_id, current_tool, event.content_block.name))
                elif event.type == "input_json" and current_tool is not None:
                    self._emit(ToolInputDelta(self.session_id, current_tool, event.partial_json))
            return await stream.get_final_message()

    # -- tool calls ----------------------------------------------------------------------------------------------------

    async def _answer_tool_uses(self, message: MessageRecord, tool_uses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        if DELEGATE_TOOL_NAME in self._tree_tools:
            # Every sub-agent of this message starts before any is waited for: they work in parallel.
            for block in tool_uses:
                if block["name"] == DELEGATE_TOOL_NAME:
                    await self._tree.launch(block["id"], block.get("input"))
        # Changeset mode: reviews proposed on demand before a call, and why the calls after a rejection are held.
        notes: list[str] = []
        held: str | None = None
        for block in tool_uses:
            tool_use_id, name, tool_input = block["id"], block["name"], block.get("input")
            proposal_id: int | None = None
            status: str | None = None
            if self._changeset is not None and held is None:
                review = await self._changeset.propose_if_requested(message.seq, tool_use_id)
                if review is not None:
                    notes.append(review.text)
                    if not review.merged_all and review.proposal_id is not None:
                        held = f"Read the review of changeset {review.proposal_id} below first."
            if held is not None:
                text = changeset_words.held(held)
                results.append(tool_results.result_block(tool_use_id, text, is_error=True))
                self._emit(ToolResultSent(self.session_id, tool_use_id, name, text, True, None, None))
                continue
            try:
                if name in self._tree_tools:
                    answer = self._tree.propose_plan if name == PLAN_TOOL_NAME else self._tree.delegate
                    text, is_error, proposal_id = await answer(message.seq, tool_use_id, tool_input)
                    results.append(tool_results.result_block(tool_use_id, capped_for_model(text), is_error=is_error))
                    self._emit(ToolResultSent(self.session_id, tool_use_id, name, text, is_error, proposal_id, None))
                    continue
                text, is_error, proposal_id, status = await self._answer_tool_call(
                    message.seq, tool_use_id, name, tool_input
                )
            except ToolInputError as err:
                text, is_error = str(err), True
            # The proposal keeps the full text; the model gets it cut like command output.
            results.append(tool_results.result_block(tool_use_id, capped_for_model(text), is_error=is_error))
            self._emit(ToolResultSent(self.session_id, tool_use_id, name, text, is_error, proposal_id, status))
        if notes:
            results.append({"type": "text", "text": "\n\n".join(notes)})
        return results

    async def _answer_tool_call(
        self, message_seq: int, tool_use_id: str, name: str, tool_input: Any
    ) -> tuple[str, bool, int | None, str | None]:
        """An editor or command call: refused in plan mode, carried out at once in changeset mode, else proposed and
        resolved by a decision (a view just runs). (text, is_error, proposal id, proposal status)."""
        if name not in (EDITOR_TOOL_NAME, COMMAND_TOOL_NAME):
            raise ToolInputError(f"There is no tool named {name!r}; use {EDITOR_TOOL_NAME} or {COMMAND_TOOL_NAME}.")
        if not changes_the_world(name, tool_input):
            return editor_tool.view(self._workspace, tool_input), False, None, None
        if self._tree_tools:
            refusal = await self._tree.plan_mode_refusal(name, tool_input)
            if refusal is not None:
                return refusal, True, None, None
        if self._changeset is not None:
            acted = await self._changeset.act(name, tool_input)
            if acted is not None:
                return acted[0], acted[1], None, None
        proposal = await self._proposal_for(message_seq, tool_use_id, name, tool_input)
        text, is_error = await self._resolve(proposal)
        status = (await self._repository.read(lambda store, pid: store.proposals.get(pid), proposal.id)).status
        return text, is_error, proposal.id, status

    async def _proposal_for(self, message_seq: int, tool_use_id: str, name: str, tool_input: Any) -> ProposalRecord:
        existing = await self._repository.read(lambda store: store.proposals.for_tool_use(self.session_id, tool_use_id))
        if existing is not None:
            return existing
        fields: dict[str, Any] = {
            "session_id": self.session_id,
            "message_seq": message_seq,
            "tool_use_id": tool_use_id,
            "tool_name": name,
            "tool_input": tool_input,
        }
        fields.update(draft_fields(self._workspace, name, tool_input))
        return await self._repository.write(lambda store: store.proposals.create(**fields))

    async def _resolve(self, proposal: ProposalRecord) -> tuple[str, bool]:
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
        status, text, is_error, applied_hash = await self._carry_out(proposal, decision, interrupted=interrupted)
        result: dict[str, Any] = {"content": text, "is_error": is_error}
        effects = self._command_effects.pop(proposal.id, None)
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
            rules = await asyncio.to_thread(load_policy, self._workspace.root)
        except PolicyError as err:
            self._emit(StatusChanged(self.session_id, "waiting", f"The policy file is not used: {err}"))
            return proposal, None
        verdict = await asyncio.to_thread(rules.check, proposal, self._workspace.root)
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

    async def _carry_out(
        self, proposal: ProposalRecord, decision: DecisionRecord, *, interrupted: bool = False
    ) -> tuple[ProposalStatus, str, bool, str | None]:
        """Apply a final decision; with ``interrupted``, finish (or truthfully give up) one an earlier run began.

        Before any byte is written or any command starts, the target (sha256 of the exact file bytes, or of the
        command) is recorded durably on the 'applying' proposal. A resumed runner that finds it knows a write may
        have happened: a file is then finished or rolled back exactly once by comparing the disk with the target and
        the base; a command is never run a second time.
        """
        by_hunk = await self._hunk_outcome(proposal, decision)
        intent = (
            await self._repository.read(lambda store: store.proposals.apply_intent(proposal.id))
            if interrupted
            else None
        )
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
        mismatch = await asyncio.to_thread(_shown_mismatch, proposal, decision)
        if mismatch is not None:
            return ProposalStatus.FAILED, tool_results.apply_failed(proposal.path, mismatch), True, None
        if proposal.kind == "command":
            return await self._run_approved_command(proposal, decision, intent)
        if proposal.kind == EFFECTS_KIND:
            return await self._apply_effect(proposal, decision, by_hunk)
        return await self._write_approved_file(proposal, decision, by_hunk, intent, interrupted=interrupted)

    async def _run_approved_command(
        self, proposal: ProposalRecord, decision: DecisionRecord, intent: str | None
    ) -> tuple[ProposalStatus, str, bool, str | None]:
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
            lambda store: store.proposals.record_apply_intent(proposal.id, _command_hash(ran))
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
                self._workspace, CommandDraft(ran, proposal.cwd or "."), timeout_s=self._command_timeout_s, grant=grant
            )
        except (OSError, ToolInputError) as err:
            return ProposalStatus.FAILED, tool_results.apply_failed(None, str(err)), True, None
        self._command_effects[proposal.id] = outcome.effects_record()
        text = prefix + outcome.as_tool_result_text(ran)
        if outcome.for_review:
            drafted = await asyncio.to_thread(draft_effect_proposals, self._workspace.root, proposal, ran, outcome)
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
    ) -> tuple[ProposalStatus, str, bool, str | None]:
        """Apply one held change of a command exactly as decided (whole, edited, or hunk by hunk)."""
        content = proposal.new_content
        if decision.verdict == "edit" and decision.edited_content is not None:
            content = decision.edited_content
        try:
            applied_hash = await asyncio.to_thread(apply_decided, self._workspace.root, proposal, content)
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
    ) -> tuple[ProposalStatus, str, bool, str | None]:
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
                current = await asyncio.to_thread(self._workspace.current_hash, proposal.path)
                finished_before = current == target_hash and current != proposal.base_hash
            applied_hash = await asyncio.to_thread(
                apply_file_change, self._workspace, proposal.path, proposal.base_hash, content
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


def draft_fields(workspace: Workspace, tool_name: str, tool_input: Any) -> dict[str, Any]:
    """A world-changing tool call drafted as the runner drafts a proposal (raises ToolInputError)."""
    if tool_name == COMMAND_TOOL_NAME:
        draft = draft_command(workspace, tool_input)
        try:
            check_command_text(draft.command, what="The `command`")
        except InputLimitError as err:
            raise ToolInputError(str(err)) from None
        shown = draft.command
        fields: dict[str, Any] = dict(
            kind="command", command=draft.command, cwd=draft.cwd, lines_added=0, lines_removed=0
        )
    else:
        change = editor_tool.draft_change(workspace, tool_input)
        try:
            check_edit_bytes(
                change.new_content, what=f"The new content of {change.path}", max_bytes=load_settings().max_edit_bytes
            )
        except InputLimitError as err:
            raise ToolInputError(str(err)) from None
        diff = compute_diff(change.old_content, change.new_content, change.path)
        shown = diff.binary_summary if diff.is_binary else diff.text
        fields = dict(
            kind=change.kind,
            path=change.path,
            base_hash=change.base_hash,
            old_content=change.old_content,
            new_content=change.new_content,
            lines_added=diff.lines_added,
            lines_removed=diff.lines_removed,
        )
    fields.update(shown_text=shown, shown_hash=hashlib.sha256(shown.encode("utf-8")).hexdigest())
    return fields


def shown_text_for(kind: str, path: str | None, old: bytes | None, new: bytes | None, command: str | None) -> str:
    """Exactly what the reviewer is shown for a proposal: the command, or the unified diff (or binary summary)."""
    if kind == "command":
        return command or ""
    diff = compute_diff(old, new, path or "")
    return diff.binary_summary if diff.is_binary else diff.text


def _shown_mismatch(proposal: ProposalRecord, decision: DecisionRecord) -> str | None:
    """Why the stored proposal is no longer what the reviewer was shown (None when it still is): applied bytes must be
    byte for byte what was approved."""
    approved = decision.shown_hash or proposal.shown_hash
    if proposal.kind != "command" and sha256_hex(proposal.old_content) != proposal.base_hash:
        return "The stored proposal's base content no longer matches its hash; nothing was applied."
    shown = shown_text_for(proposal.kind, proposal.path, proposal.old_content, proposal.new_content, proposal.command)
    if hashlib.sha256(shown.encode("utf-8")).hexdigest() != approved or proposal.shown_hash != approved:
        return (
            "The stored proposal no longer matches what the reviewer approved (its hash changed); nothing was applied."
        )
    return None


def _stream_cut_mid_message(err: Exception) -> bool:
    """An `error` event inside a 200 response, or the body cut off after it began. Newer SDKs (anthropic >= 2) wrap the
    transport's error of a cut body in APIConnectionError; older ones let httpx's error through."""
    if isinstance(err, anthropic.APIStatusError):
        return err.status_code == 200
    if isinstance(err, anthropic.APITimeoutError):
        return False
    cut_body = (httpx2.RemoteProtocolError, httpx2.ReadError)
    if isinstance(err, httpx2.TransportError):
        return isinstance(err, cut_body)
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, cut_body):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _sdk_retried(err: Exception) -> bool:
    """Whether the SDK retried the request before giving up with ``err`` (the statuses and failures it retries)."""
    if isinstance(err, anthropic.APIStatusError):
        return err.status_code in (408, 409, 429) or err.status_code >= 500
    return isinstance(err, anthropic.APIConnectionError)


def _command_hash(command: str) -> str:
    return hashlib.sha256(b"command\0" + command.encode("utf-8")).hexdigest()


def _describe_api_error(err: Exception) -> str:
    if isinstance(err, httpx2.TransportError):
        return f"The connection to the API broke off ({type(err).__name__})."
    if isinstance(err, anthropic.APIConnectionError) and _stream_cut_mid_message(err):
        cut = err.__cause__ or err.__context__
        return f"The connection to the API broke off ({type(cut).__name__ if cut else 'cut mid-message'})."
    if isinstance(err, anthropic.AuthenticationError):
        return "The API key was refused (401). Check it in Settings."
    if isinstance(err, anthropic.PermissionDeniedError):
        return "The API key may not use this model (403)."
    if isinstance(err, anthropic.NotFoundError):
        return "The model or endpoint was not found (404). Pick another model in Settings."
    if isinstance(err, anthropic.RateLimitError):
        return "Rate limited by the API (429)."
    if isinstance(err, anthropic.APIStatusError) and err.status_code == 529:
        return "The API is overloaded (529)."
    if isinstance(err, anthropic.APIStatusError):
        body = err.body if isinstance(err.body, dict) else {}
        detail = (body.get("error") or {}).get("message") if isinstance(body.get("error"), dict) else None
        status = "stream error" if err.status_code == 200 else f"HTTP {err.status_code}"
        return f"The API answered with an error ({status}): {detail or err.message}."
    if isinstance(err, anthropic.APITimeoutError):
        return "The API did not answer in time."
    if isinstance(err, anthropic.APIConnectionError):
        return "Could not reach the API (connection failed or dropped)."
    return f"API error: {err}"
