"""A tree of agents read for people: its rows (app.domain.agent_tree_view) and its approved plan with the steps ticked
off. Used by `signoff sessions --tree` and the window's sidebar. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import plans
from app.domain.agent_tree_view import TreeRow, plan_progress, tree_rows
from app.domain.lifecycle import ProposalStatus
from app.store.repository import Repository


@dataclass(frozen=True)
class TreeView:
    root_id: int
    rows: list[TreeRow]
    # The approved (or edited) plan, if the root has one, and which of its steps are done.
    plan: plans.Plan | None
    steps_done: list[bool]


def approved_plan(repository: Repository, session_id: int) -> plans.Plan | None:
    """The plan the person approved for this session, as approved (with their edits); None before approval."""
    proposals = [p for p in repository.proposals.for_session(session_id, ("plan",))]
    for proposal in reversed(proposals):
        if proposal.status != ProposalStatus.APPLIED or proposal.new_content is None:
            continue
        decision = repository.proposals.latest_decision(proposal.id)
        if decision is not None and decision.verdict == "edit" and decision.edited_content:
            return plans.plan_from_bytes(decision.edited_content)
        return plans.plan_from_bytes(proposal.new_content)
    return None


def tree_view(repository: Repository, root_id: int) -> TreeView:
    tree = repository.sessions.tree(root_id)
    plan = approved_plan(repository, root_id)
    last_usage = {}
    running: set[int] = set()
    for session in tree:
        messages = repository.sessions.messages(session.id)
        last_usage[session.id] = next((m.usage for m in reversed(messages) if m.role == "assistant"), None)
        if any(
            p.kind == "command" and p.status == ProposalStatus.APPLYING
            for p in repository.proposals.for_session(session.id, ("command",))
        ):
            running.add(session.id)
    titles = {number: step.title for number, step in enumerate(plan.steps, start=1)} if plan else {}
    rows = tree_rows(tree, last_usage=last_usage, running_commands=running, step_titles=titles)
    return TreeView(root_id, rows, plan, plan_progress(len(plan.steps), tree) if plan else [])


def root_ids(repository: Repository, limit: int = 50) -> list[int]:
    """The most recent sessions that are not sub-agents."""
    return [s.id for s in repository.sessions.recent(limit * 4) if s.parent_id is None][:limit]
