"""``signoff sessions --tree``: every recent session with its sub-agents under it, and the plan's steps ticked off."""

from __future__ import annotations

import json

from app.services.session_tree import root_ids, tree_view


def print_trees(repository, *, as_json: bool) -> int:
    views = [tree_view(repository, root_id) for root_id in root_ids(repository)]
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "root": view.root_id,
                        "plan": None if view.plan is None else view.plan.to_json(),
                        "steps_done": view.steps_done,
                        "agents": [row.to_json() for row in view.rows],
                    }
                    for view in views
                ],
                indent=2,
            )
        )
        return 0
    for view in views:
        for row in view.rows:
            indent = "  " * row.depth + ("└ " if row.depth else "")
            step = (
                f" · step {row.plan_step}" + (f" {row.step_title!r}" if row.step_title else "") if row.plan_step else ""
            )
            print(
                f"{indent}{row.session_id:>4}  {row.role:<10} {row.state:<20} {row.tokens:>8} tokens"
                f" ${row.cost_usd:.4f}  context {row.context_used}/{row.context_window}{step}  {row.task[:50]!r}"
            )
        if view.plan is not None:
            for number, (step, done) in enumerate(zip(view.plan.steps, view.steps_done, strict=True), start=1):
                print(f"      [{'x' if done else ' '}] {number}. {step.title}")
    return 0
