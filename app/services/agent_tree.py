"""Plan mode and delegation inside one session's loop: the propose_plan and delegate tools, the plan-mode read-only
gate, and the budget of a tree of agents. Used by services/tool_calls.py; sub-agents are started through a Spawner
(services/sessions.SessionManager). No Qt here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from app.domain import plans, tool_results
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.policy import PolicyError
from app.domain.records import DecisionRecord, ProposalRecord, SessionRecord
from app.domain.tools import (
    COMMAND_TOOL_NAME,
    DELEGATE_KIND,
    DELEGATE_TOOL_NAME,
    PLAN_KIND,
    PLAN_TOOL_NAME,
    ROLES,
)
from app.domain.wording import waiting_for
from app.services.decision_wait import ProposalWithdrawn
from app.services.events import ProposalWaiting, StatusChanged
from app.services.policy_file import load_policy
from app.services.proposal_drafts import draft_fields
from app.services.sandbox import sandbox_info
from app.services.workspace import ToolInputError

if TYPE_CHECKING:
    from app.services.run_context import RunContext

log = logging.getLogger(__name__)

PLAN_MODE = "plan"
ACT_MODE = "act"
DEFAULT_LIMITS = {"max_subagents": 4, "max_depth": 2, "max_tree_tokens": 2_000_000}
MAX_TASK_CHARS = 20_000
MAX_REPORT_CHARS = 20_000
TREE_TOOLS = (PLAN_TOOL_NAME, DELEGATE_TOOL_NAME)


class Spawner(Protocol):
    """Starts and waits for sub-agents (app.services.sessions.SessionManager)."""

    async def start_child(self, parent: SessionRecord, request: DelegateRequest) -> SessionRecord: ...

    async def wait_child(self, child_id: int) -> SessionRecord: ...


@dataclass(frozen=True)
class DelegateRequest:
    tool_use_id: str
    task: str
    role: str
    workspace: str  # shared | worktree
    step: int | None


def limits_for(root: SessionRecord) -> dict[str, int]:
    limits = dict(DEFAULT_LIMITS)
    for key, value in (root.delegation_limits or {}).items():
        if key in limits and isinstance(value, int) and value >= 0:
            limits[key] = value
    return limits


def delegate_request(tool_use_id: str, raw: Any) -> DelegateRequest:
    """The delegate tool's input (hostile) checked; raises ToolInputError with one sentence."""
    if not isinstance(raw, dict):
        raise ToolInputError("delegate needs an object with task, role and workspace.")
    task = raw.get("task")
    if not isinstance(task, str) or not task.strip():
        raise ToolInputError("delegate needs a non-empty `task` string.")
    if len(task) > MAX_TASK_CHARS:
        raise ToolInputError(f"The delegated task is {len(task)} characters long; the limit is {MAX_TASK_CHARS}.")
    if "\x00" in task:
        raise ToolInputError("The delegated task contains a NUL character.")
    role = raw.get("role")
    if role not in ROLES:
        raise ToolInputError(f"`role` must be one of {', '.join(ROLES)}.")
    workspace = raw.get("workspace", "shared")
    if workspace not in ("shared", "worktree"):
        raise ToolInputError("`workspace` must be 'shared' or 'worktree'.")
    step = raw.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= plans.MAX_STEPS):
        raise ToolInputError(f"`step` must be a plan step number from 1 to {plans.MAX_STEPS}.")
    return DelegateRequest(tool_use_id, task.strip(), role, workspace, step)


def child_report(messages: list[Any]) -> str:
    """The sub-agent's final words: the text of its last assistant message."""
    for message in reversed(messages):
        if message.role == "assistant":
            text = "\n".join(b.get("text", "") for b in message.content if b.get("type") == "text").strip()
            if text:
                return text if len(text) <= MAX_REPORT_CHARS else text[:MAX_REPORT_CHARS] + "\n[report truncated]"
    return "(the sub-agent wrote no report)"


class TreeTools:
    """The tree-shaped tools of one runner: propose_plan, delegate, and the plan-mode gate on changing tools."""

    def __init__(self, context: RunContext, spawner: Spawner | None) -> None:
        self._context = context
        self._repository = context.repository
        self._spawner = spawner
        self.session_id = context.session_id

    async def session(self) -> SessionRecord:
        return await self._repository.read(lambda store: store.sessions.get(self.session_id))

    # -- the plan-mode gate --------------------------------------------------------------------------------------------

    async def plan_mode_refusal(self, name: str, tool_input: Any) -> str | None:
        """Why a world-changing call is refused while the session is in plan mode (None: it may go ahead). Commands go
        ahead only when the workspace's policy allows them outright (they then run without asking anyone)."""
        if (await self.session()).mode != PLAN_MODE:
            return None
        if name != COMMAND_TOOL_NAME:
            return (
                "Refused: this session is in plan mode, where nothing may change until a person approves a plan. "
                "Read what you need, then call propose_plan."
            )
        try:
            fields = draft_fields(self._context.workspace, name, tool_input)
            rules = await asyncio.to_thread(load_policy, self._context.workspace.root)
        except (ToolInputError, PolicyError) as err:
            return f"Refused in plan mode: {err}"
        probe = _Probe(fields["kind"], fields.get("command"), fields.get("cwd"), None)
        verdict = await asyncio.to_thread(rules.check, probe, self._context.workspace.root)
        if verdict.action == "allow" and (await asyncio.to_thread(sandbox_info)).available:
            return None
        return (
            "Refused: in plan mode only reading runs (views, and commands this workspace's policy allows). "
            f"{verdict.reason} Propose your plan with propose_plan; commands are reviewed once it is approved."
        )

    # -- propose_plan --------------------------------------------------------------------------------------------------

    async def propose_plan(self, message_seq: int, tool_use_id: str, tool_input: Any) -> tuple[str, bool, int | None]:
        session = await self.session()
        existing = await self._repository.read(lambda store: store.proposals.for_tool_use(self.session_id, tool_use_id))
        if existing is None:
            if session.mode != PLAN_MODE:
                return "propose_plan is for plan mode; this session already acts on an approved plan.", True, None
            try:
                plan = plans.plan_from_input(tool_input)
            except plans.PlanError as err:
                return f"The plan was not proposed: {err} Fix it and call propose_plan again.", True, None
            shown = plans.render_markdown(plan)
            fields = {
                "session_id": self.session_id,
                "message_seq": message_seq,
                "tool_use_id": tool_use_id,
                "tool_name": PLAN_TOOL_NAME,
                "tool_input": tool_input,
                "kind": PLAN_KIND,
                # A plan's one-line name in listings: its title (checked: one line, no control characters).
                "command": plan.title,
                "new_content": plan.to_bytes(),
                "shown_text": shown,
                "shown_hash": hashlib.sha256(shown.encode("utf-8")).hexdigest(),
                "lines_added": len(plan.steps),
                "lines_removed": 0,
            }
            existing = await self._repository.write(lambda store: store.proposals.create(**fields))
        proposal = existing
        if proposal.result is not None:
            return proposal.result["content"], bool(proposal.result.get("is_error")), proposal.id
        decision = await self._wait(proposal)
        if decision is None:
            return tool_results.withdrawn(), True, proposal.id
        text, is_error, status = await self._plan_outcome(proposal, decision)
        result = {"content": text, "is_error": is_error}
        await self._repository.write(lambda store: store.proposals.resolve(proposal.id, status=status, result=result))
        return text, is_error, proposal.id

    async def _plan_outcome(
        self, proposal: ProposalRecord, decision: DecisionRecord
    ) -> tuple[str, bool, ProposalStatus]:
        assert proposal.new_content is not None
        proposed = plans.plan_from_bytes(proposal.new_content)
        if decision.verdict == "reject":
            return (
                f"The reviewer REJECTED this plan; nothing was approved and you are still in plan mode. Reason: "
                f"{decision.reason or '(none given)'}\nRevise the plan to address it and call propose_plan again.",
                True,
                ProposalStatus.REJECTED,
            )
        approved = proposed
        lines = ["The reviewer APPROVED the plan. You are now acting: carry out its steps in order."]
        if decision.verdict == "edit" and decision.edited_content is not None:
            approved = plans.plan_from_bytes(decision.edited_content)
            changes = plans.plan_changes(proposed, approved)
            lines = [
                "The reviewer EDITED the plan, then approved it. You are now acting: follow the edited plan, not "
                "your proposal. What changed:",
                *(f"- {sentence}" for sentence in plans.describe_changes(changes)),
                "The same changes as data:",
                json.dumps(changes, ensure_ascii=False, indent=1),
            ]
        await self._repository.write(lambda store: store.sessions.update(self.session_id, mode=ACT_MODE))
        self._context.emit(StatusChanged(self.session_id, "running", "The plan was approved; the agent now acts."))
        lines += ["The approved plan:", plans.render_markdown(approved)]
        return "\n".join(lines), False, ProposalStatus.APPLIED

    async def _wait(self, proposal: ProposalRecord) -> DecisionRecord | None:
        """The final decision on a plan or delegation proposal (None: it was withdrawn)."""
        if proposal.status in (ProposalStatus.DECIDED, *STILL_UNDECIDED):
            # Also while a decision found on resuming sits in its undo window (an undo makes it wait again).
            undecided = proposal.status in STILL_UNDECIDED
            await self._context.set_status("waiting", waiting_for(proposal.id, undecided))
            if undecided:
                self._context.emit(ProposalWaiting(self.session_id, proposal))
            try:
                decision = await self._context.waiter.wait(proposal.id)
            except ProposalWithdrawn:
                return None
            await self._context.set_status("running")
            return decision
        return await self._repository.read(lambda store: store.proposals.latest_decision(proposal.id))

    # -- delegate ------------------------------------------------------------------------------------------------------

    async def launch(self, tool_use_id: str, tool_input: Any) -> SessionRecord | None:
        """Start the sub-agent of a delegate call now if it needs no decision (so the calls of one message run in
        parallel); None when it is refused, needs approval first, or cannot start here."""
        try:
            request = delegate_request(tool_use_id, tool_input)
        except ToolInputError:
            return None
        if self._spawner is None:
            return None
        child = await self._repository.read(
            lambda store: store.sessions.child_for_tool_use(self.session_id, tool_use_id)
        )
        if child is not None:
            return await self._spawner.start_child(await self.session(), request)
        if await self._refusal(request) is not None or await self._policy_action(request) != "allow":
            return None
        return await self._spawner.start_child(await self.session(), request)

    async def delegate(self, message_seq: int, tool_use_id: str, tool_input: Any) -> tuple[str, bool, int | None]:
        if self._spawner is None:
            return "delegate is not available where this session runs.", True, None
        request = delegate_request(tool_use_id, tool_input)
        session = await self.session()
        child = await self._repository.read(
            lambda store: store.sessions.child_for_tool_use(self.session_id, tool_use_id)
        )
        proposal_id = None
        if child is None:
            refusal = await self._refusal(request)
            if refusal is not None:
                return refusal, True, None
            action = await self._policy_action(request)
            if action == "deny":
                return f"Refused: this workspace's policy denies delegating to a {request.role}.", True, None
            if action == "ask":
                proposal = await self._delegation_proposal(message_seq, request)
                proposal_id = proposal.id
                if proposal.result is not None and proposal.status == ProposalStatus.REJECTED:
                    return proposal.result["content"], True, proposal_id
                decision = await self._wait(proposal)
                if decision is None or decision.verdict == "reject":
                    reason = "(withdrawn)" if decision is None else decision.reason or "(none given)"
                    text = f"The reviewer REJECTED this delegation; no sub-agent was started. Reason: {reason}"
                    if decision is not None:
                        await self._repository.write(
                            lambda store: store.proposals.resolve(
                                proposal.id, status=ProposalStatus.REJECTED, result={"content": text, "is_error": True}
                            )
                        )
                    return text, True, proposal_id
        child = await self._spawner.start_child(session, request)
        self._context.emit(
            StatusChanged(self.session_id, "delegating", f"Waiting for sub-agent {child.id} ({child.role}).")
        )
        ended = await self._spawner.wait_child(child.id)
        text, is_error = await self._report(ended, request)
        if proposal_id is not None:
            await self._repository.write(
                lambda store: store.proposals.resolve(
                    proposal_id, status=ProposalStatus.APPLIED, result={"content": text, "is_error": is_error}
                )
            )
        return text, is_error, proposal_id

    async def _report(self, child: SessionRecord, request: DelegateRequest) -> tuple[str, bool]:
        messages = await self._repository.read(lambda store: store.sessions.messages(child.id))
        where = "the shared workspace"
        if request.workspace == "worktree":
            has_worktree = await self._repository.read(
                lambda store: (
                    getattr(store, "changesets", None) is not None and store.changesets.worktree(child.id) is not None
                )
            )
            where = (
                "its own worktree (its changes come to the person as one changeset)"
                if has_worktree
                else "the shared workspace (own worktrees are not available in this build, so it worked in the "
                "shared workspace like you)"
            )
        head = f"Sub-agent session {child.id} ({child.role}) {child.status} in {where}."
        if child.status != "finished":
            head += f" {child.error or 'It did not finish its task.'}"
        return f"{head}\nIts report:\n{child_report(messages)}", child.status != "finished"

    async def _refusal(self, request: DelegateRequest) -> str | None:
        """Why the budget or the session's mode refuses a new sub-agent (None: it may start)."""
        session = await self.session()
        if session.mode == PLAN_MODE:
            return "Refused: delegate is for acting; propose a plan with propose_plan and wait for its approval first."
        root = await self._repository.read(lambda store: store.sessions.root_of(self.session_id))
        limits = limits_for(root)
        children = await self._repository.read(lambda store: store.sessions.children(self.session_id))
        if len(children) >= limits["max_subagents"]:
            return (
                f"Refused: this session has started {len(children)} sub-agent(s), its budget's limit of "
                f"{limits['max_subagents']}. Do the step yourself."
            )
        if session.depth + 1 > limits["max_depth"]:
            return (
                f"Refused: a sub-agent here would be at depth {session.depth + 1}; the budget allows "
                f"{limits['max_depth']}. Do the step yourself."
            )
        tree = await self._repository.read(lambda store: store.sessions.tree(root.id))
        spent = sum(s.input_tokens + s.output_tokens for s in tree)
        if spent >= limits["max_tree_tokens"]:
            return (
                f"Refused: this tree of agents has used {spent} tokens, its budget's limit of "
                f"{limits['max_tree_tokens']}. Finish the work yourself or stop."
            )
        return None

    async def _policy_action(self, request: DelegateRequest) -> str:
        try:
            rules = await asyncio.to_thread(load_policy, self._context.workspace.root)
        except PolicyError:
            return "ask"
        return rules.check_delegate(request.role).action

    async def _delegation_proposal(self, message_seq: int, request: DelegateRequest) -> ProposalRecord:
        shown = f"Delegate to a {request.role}" + (f" (plan step {request.step})" if request.step else "")
        shown += f", in the {request.workspace} workspace:\n\n{request.task}\n"
        fields = {
            "session_id": self.session_id,
            "message_seq": message_seq,
            "tool_use_id": request.tool_use_id,
            "tool_name": DELEGATE_TOOL_NAME,
            "tool_input": {
                "task": request.task,
                "role": request.role,
                "workspace": request.workspace,
                "step": request.step,
            },
            "kind": DELEGATE_KIND,
            "command": f"{request.role}: {request.task.splitlines()[0][:150]}",
            "shown_text": shown,
            "shown_hash": hashlib.sha256(shown.encode("utf-8")).hexdigest(),
            "lines_added": 0,
            "lines_removed": 0,
        }
        return await self._repository.write(lambda store: store.proposals.create(**fields))


@dataclass(frozen=True)
class _Probe:
    """What the policy reads of a proposal, for a command drafted in plan mode but not stored."""

    kind: str
    command: str | None
    cwd: str | None
    path: str | None
