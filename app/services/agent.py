"""The agent loop of one session: stream Claude's turn, run views, turn changes into proposals, wait, apply, repeat.

The loop's whole state lives in the database (the ordered transcript and the proposals), so the same code starts a
session and resumes one after a restart, in this process or another. It never writes a file or runs a command that
a person has not approved. No Qt here.
"""

from __future__ import annotations

import asyncio
import logging

import anthropic
import httpx2

from app.domain.records import SessionRecord
from app.domain.wording import finished_because
from app.services import changeset_session
from app.services.agent_tree import Spawner
from app.services.api_errors import describe_api_error, sdk_retried
from app.services.decision_wait import DecisionWaiter
from app.services.events import EventListener, StatusChanged
from app.services.model_turn import STREAM_RETRIES, ModelTurns, assistant_content_for_history
from app.services.proposal_drafts import draft_fields, shown_text_for
from app.services.proposal_resolve import StepReplaced
from app.services.run_context import RunContext
from app.services.session_claim import HEARTBEAT_INTERVAL_S, SessionBusyError, SessionClaim, runner_process_is_gone
from app.services.tool_calls import ToolCalls
from app.services.workspace import Workspace
from app.store.async_repository import AsyncRepository
from app.store.models import utcnow

log = logging.getLogger(__name__)

# Imported from here by sessions, compare and others: the runner's public names stay where they always were.
__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "STREAM_RETRIES",
    "SessionBusyError",
    "SessionRunner",
    "StepReplaced",
    "assistant_content_for_history",
    "draft_fields",
    "runner_process_is_gone",
    "shown_text_for",
]


class SessionRunner:
    """Drives one session to its end: claims it, alternates model turns and tool-call answers, records how it ended."""

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
        self.session_id = session.id
        self._repository = repository
        self._runner_id = runner_id
        self._context = RunContext(
            session=session,
            repository=repository,
            waiter=waiter,
            listener=listener,
            workspace=Workspace(session.workspace_root),
            command_timeout_s=command_timeout_s,
        )
        self._turns = ModelTurns(self._context, client, api_timeout_s=api_timeout_s, owns_client=owns_client)
        self._tool_calls = ToolCalls(self._context, spawner)
        # Set when the app closes: the task is cancelled but the session stays resumable, its proposals waiting.
        self.detaching = False

    async def close(self) -> None:
        await self._turns.close()

    async def run(self) -> str:
        """Drive the session until it ends; returns the final status. Cancel the task to stop it."""
        async with SessionClaim(self._repository, self.session_id, self._runner_id):
            try:
                return await self._loop()
            except asyncio.CancelledError:
                if self.detaching:
                    raise
                withdrawn = await asyncio.shield(
                    self._repository.write(lambda store: store.proposals.cancel_pending(self.session_id))
                )
                detail = "Stopped by the reviewer." + (
                    f" {withdrawn} waiting proposal(s) withdrawn." if withdrawn else ""
                )
                await asyncio.shield(
                    self._context.set_status("stopped", detail, stop_reason="stopped", ended_at=utcnow())
                )
                raise
            except (anthropic.APIError, httpx2.TransportError) as err:
                message = describe_api_error(err)
                if sdk_retried(err):
                    message += (
                        f" Gave up after {self._turns.max_retries} retries; "
                        "resume the session (Ctrl+R, `signoff resume`) to try again."
                    )
                await self._context.set_status("interrupted", message, error=message)
                return "interrupted"
            except Exception as err:
                log.exception("session %s failed", self.session_id)
                message = f"{type(err).__name__}: {err}"
                try:
                    await self._context.set_status("failed", message, error=message, ended_at=utcnow())
                except Exception:
                    # The database itself failed (disk full, read-only, gone): say so here; the stored status stays
                    # what it was, so the session can be resumed once the database works again.
                    log.exception("session %s: could not store its failure", self.session_id)
                    self._context.emit(
                        StatusChanged(self.session_id, "failed", f"{message} (not saved: the database failed too)")
                    )
                return "failed"

    async def _loop(self) -> str:
        await self._context.set_status("running", error=None)
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
                    results = await self._tool_calls.answer(last, tool_uses)
                except StepReplaced as replaced:
                    self._context.emit(StatusChanged(self.session_id, "picked", str(replaced)))
                    continue
                await self._repository.write(
                    lambda store, sent: store.sessions.append_message(self.session_id, "user", sent), results
                )
                continue
            session = await self._repository.read(lambda store: store.sessions.get(self.session_id))
            if session.turns >= session.max_turns:
                if self._context.changeset is not None:
                    # The agent's work so far is still reviewed (once: keyed by its last assistant message).
                    last_assistant = max((m.seq for m in messages if m.role == "assistant"), default=None)
                    if last_assistant is not None:
                        await self._context.changeset.end_of_turn(last_assistant)
                return await self._finish("max_turns", f"Reached the limit of {session.max_turns} turns.")
            await self._turns.take(session, messages)

    async def _finish(self, stop_reason: str, detail: str = "") -> str:
        await self._context.set_status(
            "finished", detail or finished_because(stop_reason), stop_reason=stop_reason, ended_at=utcnow()
        )
        if self._context.changeset is not None:
            try:
                await self._context.changeset.finished()
            except Exception:  # a worktree left behind is swept later; the session's end stands
                log.exception("session %s: could not remove its worktree", self.session_id)
        return "finished"

    # -- changeset mode ------------------------------------------------------------------------------------------------

    async def _attach_changeset(self) -> bool:
        """In changeset mode, make or find the worktree and work there; False (the session failed, said why) when it
        cannot be found again."""
        try:
            self._context.changeset = await changeset_session.attach(
                self._repository,
                self.session,
                waiter=self._context.waiter,
                set_status=self._context.set_status,
                emit=self._context.emit,
                command_timeout_s=self._context.command_timeout_s,
            )
        except changeset_session.WorktreeLost as err:
            await self._context.set_status("failed", str(err), error=str(err), ended_at=utcnow())
            return False
        if self._context.changeset is not None:
            self._context.workspace = self._context.changeset.workspace
        return True

    async def _changeset_reviewed_at_end(self, message_seq: int) -> bool:
        """The agent ended its turn in changeset mode: its changeset is reviewed; True when the review's outcome went
        back to the agent and it continues (something was not merged)."""
        if self._context.changeset is None:
            return False
        outcome = await self._context.changeset.end_of_turn(message_seq)
        if outcome.merged_all:
            return False
        content = [{"type": "text", "text": outcome.text}]
        await self._repository.write(lambda store: store.sessions.append_message(self.session_id, "user", content))
        return True
