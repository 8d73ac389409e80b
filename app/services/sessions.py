"""Running sessions in this process: start, resume, stop, decide; several at once, each its own asyncio task.

Used by the window and by ``signoff run``. Closing the app detaches sessions instead of stopping them, so a waiting
proposal is still waiting after a restart; deciding it resumes its session here if no live process drives it.
No Qt here.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.domain import changeset_words
from app.domain.records import DecisionRecord, ProposalRecord, SessionRecord
from app.domain.tools import (
    DELEGATE_PROMPT,
    PLAN_MODE_PROMPT,
    SUBAGENT_PROMPT,
    SYSTEM_PROMPT,
    tool_definitions,
    tree_tool_definitions,
)
from app.services import compare, decisions, review
from app.services.decision_wait import DecisionWaiter
from app.services.endpoints import Endpoints
from app.services.events import EventListener, SessionEvent, StatusChanged
from app.services.workspace import Workspace
from app.store.async_repository import AsyncRepository

if TYPE_CHECKING:
    import anthropic

    from app.services.agent import SessionRunner
    from app.services.agent_tree import DelegateRequest

log = logging.getLogger(__name__)

# How often a parent checks on a sub-agent that another process drives.
CHILD_POLL_S = 0.5


async def load_agent_loop() -> None:
    """Import the agent loop and the API SDK under it on a worker thread (1.5-3.5 s here): the window paints first
    and never freezes when its first session starts. At once when they are loaded already."""
    if "app.services.agent" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "app.services.agent")


@dataclass(frozen=True)
class NewSession:
    workspace_root: str
    task: str
    model: str
    max_turns: int
    max_tokens: int
    endpoint: str
    # Plan mode (issue 15): read only until a person approves a plan proposed with propose_plan; may delegate after.
    plan: bool = False
    # The tree's budget (agent_tree.DEFAULT_LIMITS keys); None: the defaults.
    delegation_limits: dict[str, int] | None = None
    # Changeset mode: the agent works in its own worktree; its changes are reviewed as one changeset.
    changeset: bool = False


def own_worktree_note() -> str:
    """What a sub-agent asked to work in its own worktree is told (changeset mode)."""
    return changeset_words.MODE_NOTE


def new_runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SessionManager:
    def __init__(
        self,
        repository: AsyncRepository,
        endpoints: Endpoints,
        *,
        waiter: DecisionWaiter | None = None,
        runner_id: str | None = None,
        command_timeout_s: float = 120.0,
        api_timeout_s: float | None = None,
    ) -> None:
        self.repository = repository
        self.endpoints = endpoints
        self.waiter = waiter or DecisionWaiter(repository)
        self.runner_id = runner_id or new_runner_id()
        self._command_timeout_s = command_timeout_s
        # Per HTTP attempt to the API (None: the SDK's default); the SDK retries a timed-out attempt.
        self.api_timeout_s = api_timeout_s
        self._listeners: list[EventListener] = []
        self._tasks: dict[int, asyncio.Task[str]] = {}
        # Sessions let go of (not stopped) because their runner process is ending: see detach().
        self._detached: set[int] = set()
        self._runners: dict[int, SessionRunner] = {}
        self._shared_clients: dict[str, anthropic.AsyncAnthropic] = {}

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def _emit(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("session listener failed")

    def is_running(self, session_id: int) -> bool:
        task = self._tasks.get(session_id)
        return task is not None and not task.done()

    def task(self, session_id: int) -> asyncio.Task[str] | None:
        return self._tasks.get(session_id)

    async def start(self, spec: NewSession) -> SessionRecord:
        root = str(Workspace(spec.workspace_root).root)
        if not spec.task.strip():
            raise ValueError("Type a task for the agent first.")
        await load_agent_loop()
        # Fail before storing anything when there is no key for this endpoint.
        self.endpoints.client(spec.endpoint)
        tree: dict[str, Any] = {}
        system_prompt, tools = SYSTEM_PROMPT, tool_definitions()
        if spec.plan:
            system_prompt = SYSTEM_PROMPT + PLAN_MODE_PROMPT + DELEGATE_PROMPT
            tools = tree_tool_definitions(plan=True, delegate=True)
            tree = {"mode": "plan", "role": "planner", "delegation_limits": spec.delegation_limits}
        session = await self.repository.write(
            lambda store: store.sessions.create(
                workspace_root=root,
                task=spec.task.strip(),
                endpoint=spec.endpoint,
                model=spec.model,
                system_prompt=system_prompt,
                tools=tools,
                sampling={"max_tokens": spec.max_tokens},
                max_turns=spec.max_turns,
                **tree,
            )
        )
        task_text = spec.task.strip() + (changeset_words.MODE_NOTE if spec.changeset else "")
        if spec.changeset:
            await self.sweep_worktrees()
            await self.repository.write(lambda store: store.changesets.request_worktree(session.id))
        await self.repository.write(
            lambda store: store.sessions.append_message(session.id, "user", [{"type": "text", "text": task_text}])
        )
        self._spawn(session)
        return session

    async def sweep_worktrees(self) -> int:
        """Remove the worktrees of finished changeset-mode sessions whose changesets are all decided (a crash can
        leave one behind); never fails the caller."""
        from app.services import changeset_session

        try:
            return await changeset_session.sweep(self.repository)
        except Exception:
            log.exception("could not sweep finished sessions' worktrees")
            return 0

    async def resume(self, session_id: int) -> asyncio.Task[str]:
        if self.is_running(session_id):
            return self._tasks[session_id]
        session = await self.repository.read(lambda store: store.sessions.get(session_id))
        if session.is_over:
            raise ValueError(f"Session {session_id} has {session.status}; it cannot be resumed.")
        if session.source is not None:
            # An external agent (Claude Code, Codex, ...) runs the session; its adapter delivers decisions to it.
            raise ValueError(f"Session {session_id} is run by {session.source}; Signoff cannot resume it.")
        await load_agent_loop()
        return self._spawn(session)

    def _spawn(
        self, session: SessionRecord, shared_client: anthropic.AsyncAnthropic | None = None
    ) -> asyncio.Task[str]:
        from app.services.agent import SessionRunner

        runner = SessionRunner(
            session,
            repository=self.repository,
            client=shared_client or self.endpoints.client(session.endpoint),
            owns_client=shared_client is None,
            waiter=self.waiter,
            runner_id=self.runner_id,
            listener=self._emit,
            command_timeout_s=self._command_timeout_s,
            api_timeout_s=self.api_timeout_s,
            spawner=self,
        )
        task = asyncio.create_task(self._run(runner), name=f"signoff-session-{session.id}")
        self._tasks[session.id] = task
        self._runners[session.id] = runner
        return task

    async def _run(self, runner: SessionRunner) -> str:
        from app.services.agent import SessionBusyError

        try:
            return await runner.run()
        except SessionBusyError as err:
            self._emit(StatusChanged(runner.session_id, "busy", str(err)))
            return "busy"
        finally:
            await runner.close()
            self._runners.pop(runner.session_id, None)

    def detach(self, session_id: int) -> bool:
        """Let go of a session without ending it (the runner's process is being terminated): its waiting proposals
        stay waiting and the session stays resumable, exactly as when the window closes."""
        task = self._tasks.get(session_id)
        if task is None or task.done():
            return False
        runner = self._runners.get(session_id)
        if runner is not None:
            runner.detaching = True
        self._detached.add(session_id)
        task.cancel()
        return True

    def stop(self, session_id: int) -> bool:
        """Stop a session at once, also while a proposal waits; its waiting proposals are withdrawn."""
        task = self._tasks.get(session_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    # -- trees of agents (plans and delegation) -------------------------------------------------------------------

    async def start_child(self, parent: SessionRecord, request: DelegateRequest) -> SessionRecord:
        """The sub-agent of ``parent``'s delegate call, created on first call and running in this process unless it is
        over or another live process drives it (idempotent: a resumed parent finds the child it started)."""
        child = await self.repository.read(
            lambda store: store.sessions.child_for_tool_use(parent.id, request.tool_use_id)
        )
        if child is None:
            from app.services.agent_tree import ACT_MODE, limits_for

            root = await self.repository.read(lambda store: store.sessions.root_of(parent.id))
            limits = limits_for(root)
            depth = parent.depth + 1
            may_delegate = depth < limits["max_depth"]
            prompt = (
                SYSTEM_PROMPT + SUBAGENT_PROMPT.format(role=request.role) + (DELEGATE_PROMPT if may_delegate else "")
            )
            task = request.task + (f"\n\n(This is step {request.step} of the approved plan.)" if request.step else "")
            mode_note = own_worktree_note() if request.workspace == "worktree" else None
            if mode_note is not None:
                task += mode_note
            child = await self.repository.write(
                lambda store: store.sessions.create(
                    workspace_root=parent.workspace_root,
                    task=task,
                    endpoint=parent.endpoint,
                    model=parent.model,
                    system_prompt=prompt,
                    tools=tree_tool_definitions(plan=False, delegate=may_delegate),
                    sampling=dict(parent.sampling),
                    max_turns=parent.max_turns,
                    mode=ACT_MODE,
                    parent_id=parent.id,
                    role=request.role,
                    depth=depth,
                    parent_tool_use_id=request.tool_use_id,
                    plan_step=request.step,
                )
            )
            if mode_note is not None:
                # Changeset mode (app.services.changeset_session): the child works in its own worktree.
                await self.repository.write(lambda store: store.changesets.request_worktree(child.id))
            await self.repository.write(
                lambda store: store.sessions.append_message(child.id, "user", [{"type": "text", "text": task}])
            )
            self._emit(StatusChanged(child.id, "running", f"Sub-agent ({child.role}) started by session {parent.id}."))
        if not child.is_over and not self.is_running(child.id) and not await self._driven_elsewhere(child.id):
            self._spawn(child, await self._shared_client(child.endpoint))
        return child

    async def _shared_client(self, endpoint: str) -> anthropic.AsyncAnthropic:
        """One API client per endpoint for every sub-agent of this manager, built off the event loop once: building
        one (its TLS context) takes ~100 ms, which eight sub-agents starting at once would take from the window."""
        client = self._shared_clients.get(endpoint)
        if client is None:
            client = await asyncio.to_thread(self.endpoints.client, endpoint)
            self._shared_clients.setdefault(endpoint, client)
            client = self._shared_clients[endpoint]
        return client

    async def _driven_elsewhere(self, session_id: int) -> bool:
        """Whether another live process drives the session (a runner killed on this host does not count)."""
        from app.services.agent import runner_process_is_gone

        record = await self.repository.read(lambda store: store.sessions.get(session_id))
        if record.runner_id is None or runner_process_is_gone(record.runner_id):
            return False
        return await self.repository.read(lambda store: store.sessions.has_live_runner(session_id))

    async def wait_child(self, child_id: int) -> SessionRecord:
        """Wait until a sub-agent ends (finished, stopped, failed, or no longer driven by anyone); its record then."""
        while True:
            task = self._tasks.get(child_id)
            if task is not None and not task.done():
                # asyncio.wait, not await: a stopped child's cancellation must not cancel its parent.
                await asyncio.wait({task})
            child = await self.repository.read(lambda store: store.sessions.get(child_id))
            if child.is_over or self.is_running(child_id):
                if child.is_over:
                    return child
                continue
            if not await self._driven_elsewhere(child_id):
                return child
            await asyncio.sleep(CHILD_POLL_S)

    async def stop_tree(self, session_id: int) -> int:
        """Stop a session and every sub-agent under it that runs here; how many were stopped."""
        tree = await self.repository.read(lambda store: store.sessions.tree(session_id))
        # Cancelled in one go, before any of them runs again: no parent reads a stopped child's report and goes on.
        return sum(1 for record in tree if self.stop(record.id))

    async def decide(self, request: review.DecisionRequest, actor: decisions.Actor | None = None) -> DecisionRecord:
        """Record a decision durably (app.services.decisions.decide, the one path for window and CLI), wake the runner
        waiting for it, and resume the session if nobody drives it. Without ``actor`` the request says who decides."""
        actor = actor or decisions.Actor(request.reviewer, request.channel)
        outcome = await self.repository.write(decisions.decide, request, actor)
        await self._carry_on(outcome.proposal)
        return outcome.decision

    async def compare(self, proposal_id: int, count: int, *, requested_by: str, channel: str = "window"):
        """Sample ``count`` alternatives for a waiting proposal with its session's endpoint; returns the stored
        CompareRecord (app.services.compare). Only reads: the session's runner keeps waiting meanwhile."""
        proposal = await self.repository.read(lambda store: store.proposals.get(proposal_id))
        session = await self.repository.read(lambda store: store.sessions.get(proposal.session_id))
        client = self.endpoints.client(session.endpoint)
        try:
            return await compare.sample(
                self.repository, client, proposal_id, count, requested_by=requested_by, channel=channel
            )
        finally:
            await client.close()

    async def pick(self, request: compare.PickRequest, actor: decisions.Actor | None = None) -> DecisionRecord:
        """Record a pick among compared alternatives (app.services.decisions.pick), wake the runner, and resume the
        session if nobody drives it."""
        actor = actor or decisions.Actor(request.reviewer, request.channel)
        outcome = await self.repository.write(decisions.pick, request, actor)
        await self._carry_on(outcome.proposal)
        return outcome.decision

    async def undo(self, proposal_id: int, actor: decisions.Actor) -> ProposalRecord:
        """Take a decision back inside the undo window (app.services.decisions.undo) and tell the waiting runner."""
        window_s = self.waiter.undo_window_s
        proposal = await self.repository.write(decisions.undo, proposal_id, actor, window_s=window_s)
        self.waiter.notify(proposal_id)
        return proposal

    async def _carry_on(self, proposal: ProposalRecord) -> None:
        """After a decision: wake the runner waiting for it, or resume its session here if nobody drives it."""
        self.waiter.notify(proposal.id)
        if not self.is_running(proposal.session_id) and not await self.repository.read(
            lambda store: store.sessions.has_live_runner(proposal.session_id)
        ):
            try:
                await self.resume(proposal.session_id)
            except ValueError:
                pass

    async def wait(self, session_id: int) -> str:
        task = self._tasks[session_id]
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():
                return "detached" if session_id in self._detached else "stopped"
            raise

    async def shutdown(self) -> None:
        """Detach from every running session (they stay resumable) and close clients."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        for runner in self._runners.values():
            runner.detaching = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        shared, self._shared_clients = list(self._shared_clients.values()), {}
        for client in shared:
            await client.close()
