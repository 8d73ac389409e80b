"""The stand-in for bench_subagents, run in its own process (as the real API is elsewhere): a planner that hands one
part to each of N sub-agents, each of which streams a long report. Prints its base URL, serves until stdin closes."""

from __future__ import annotations

import sys

from app.domain.tools import DELEGATE_TOOL_NAME, PLAN_TOOL_NAME
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from tests.support.tree_scenario import TreeScenario

ROOT_TASK = "Split the work."
PLAN = {"title": "Split the work", "steps": [{"title": f"Part {n}", "detail": "Write it."} for n in range(1, 9)]}


def report(number: int, words: int) -> str:
    return " ".join(f"agent{number}-word{index}" for index in range(words))


def scenario(agents: int, words: int) -> TreeScenario:
    delegations = [
        tool_use_block(DELEGATE_TOOL_NAME, {"task": f"Part {n}: write it.", "role": "coder", "step": n})
        for n in range(1, agents + 1)
    ]
    scripts = {
        ROOT_TASK: [tool_turn(tool_use_block(PLAN_TOOL_NAME, PLAN)), tool_turn(*delegations), text_turn("Done.")]
    }
    for n in range(1, agents + 1):
        scripts[f"Part {n}:"] = [text_turn(report(n, words))]
    return TreeScenario(scripts)


def main(agents: int, words: int, chunk_delay: float) -> None:
    server = StandinServer(scenario(agents, words), chunk_delay=chunk_delay).start()
    print(server.base_url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
