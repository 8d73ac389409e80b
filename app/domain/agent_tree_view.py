"""What a tree of agents looks like to a person: one row per agent (role, state in words, plan step, tokens, cost,
context used against its window). Pure functions over records; no store, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.records import SessionRecord

# US dollars per million tokens (input, output) by model family; unknown models (the offline demo) cost nothing.
PRICES = {"opus": (15.0, 75.0), "sonnet": (3.0, 15.0), "haiku": (0.8, 4.0)}
CONTEXT_WINDOW = 200_000


@dataclass(frozen=True)
class TreeRow:
    session_id: int
    parent_id: int | None
    depth: int
    role: str
    state: str
    status: str
    plan_step: int | None
    step_title: str | None
    tokens: int
    cost_usd: float
    context_used: int
    context_window: int
    task: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float:
    for family, (per_in, per_out) in PRICES.items():
        if family in model.lower():
            return round((input_tokens * per_in + output_tokens * per_out) / 1_000_000, 4)
    return 0.0


def context_used(last_usage: dict[str, Any] | None) -> int:
    """Tokens the last request sent (its whole prompt, cached parts included)."""
    if not last_usage:
        return 0
    keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
    return sum(int(last_usage.get(key) or 0) for key in keys)


def state_words(status: str, *, live_children: bool = False, running_command: bool = False) -> str:
    if status in ("finished", "stopped", "failed"):
        return {"finished": "done", "stopped": "stopped", "failed": "failed"}[status]
    if status == "waiting":
        return "waiting on a person"
    if running_command:
        return "running a command"
    if live_children:
        return "waiting on sub-agents"
    if status == "interrupted":
        return "interrupted"
    return "thinking"


def tree_rows(
    tree: list[SessionRecord],
    *,
    last_usage: dict[int, dict[str, Any] | None],
    running_commands: set[int],
    step_titles: dict[int, str],
) -> list[TreeRow]:
    """One row per agent, parents before children, as ``Sessions.tree`` orders them."""
    live_parents = {s.parent_id for s in tree if s.parent_id is not None and not s.is_over}
    return [
        TreeRow(
            session_id=s.id,
            parent_id=s.parent_id,
            depth=s.depth,
            role=s.role or ("planner" if s.mode else "agent"),
            state=state_words(s.status, live_children=s.id in live_parents, running_command=s.id in running_commands),
            status=s.status,
            plan_step=s.plan_step,
            step_title=step_titles.get(s.plan_step) if s.plan_step is not None else None,
            tokens=s.input_tokens + s.output_tokens,
            cost_usd=cost_usd(s.model, s.input_tokens + s.cache_creation_input_tokens, s.output_tokens),
            context_used=context_used(last_usage.get(s.id)),
            context_window=CONTEXT_WINDOW,
            task=s.task,
        )
        for s in tree
    ]


def plan_progress(steps: int, tree: list[SessionRecord]) -> list[bool]:
    """Which steps of the approved plan are done: a step ticks off when a sub-agent working on it finished."""
    done = {s.plan_step for s in tree if s.plan_step is not None and s.status == "finished"}
    return [number in done for number in range(1, steps + 1)]
