"""The critic's request and answer (RLAIF): the Messages API body asking a second model to judge one proposal against
the workspace's rubric through a forced tool call, and the reading of its structured answer.

Pure: builds and reads plain dicts; the call itself is app.services.critic. No I/O, no Qt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CRITIC_TOOL_NAME = "record_verdict"
CRITIC_MAX_TOKENS = 1024
# The diff or command shown to the critic is cut beyond this (the head; the rest is named as cut).
MAX_SHOWN_CHARS = 40_000

CRITIC_TOOL = {
    "name": CRITIC_TOOL_NAME,
    "description": "Record your verdict on the proposed change. Call it exactly once.",
    "input_schema": {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["approve", "reject"]},
            "score": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Confidence that a careful reviewer approves this change, 0..1.",
            },
            "principles": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The rubric principle(s) at stake, by name (e.g. correctness, scope, safety, tests).",
            },
            "rationale": {"type": "string", "description": "One paragraph: why."},
        },
        "required": ["verdict", "score", "principles", "rationale"],
    },
}

_INSTRUCTIONS = (
    "You review changes proposed by an AI coding agent, one at a time, before a person decides on them. "
    f"Answer only by calling the {CRITIC_TOOL_NAME} tool.\n\nThe rubric of this workspace:\n\n"
)


class CriticAnswerError(ValueError):
    """The model's answer is not a usable verdict; the message says what was wrong."""


@dataclass(frozen=True)
class CriticAnswer:
    verdict: str
    score: float
    principles: list[str]
    rationale: str


def critic_request(
    *,
    model: str,
    rubric: str,
    task: str,
    intent: str,
    kind: str,
    path: str | None,
    shown_text: str,
    verifier: dict[str, Any] | None,
) -> dict[str, Any]:
    """The Messages API body. The rubric (with the tool) is the cached prefix: one write per workspace's rubric, then
    reads for every later proposal (cache_control on the system block)."""
    shown = shown_text if len(shown_text) <= MAX_SHOWN_CHARS else shown_text[:MAX_SHOWN_CHARS] + "\n[... cut ...]\n"
    if kind == "command":
        what = f"A command to run: {shown.strip()}"
    elif kind == "changeset":
        what = f"A changeset (every file the agent changed in its worktree, as one diff):\n{shown}"
    else:
        what = f"A change to {path} ({kind}):\n{shown}"
    parts = [
        f"<task>\n{task.strip()}\n</task>",
        f"<agent_intent>\n{intent.strip() or '(the agent said nothing)'}\n</agent_intent>",
        f"<proposal>\n{what}\n</proposal>",
    ]
    if verifier is not None:
        parts.append(f"<verifier>\n{json.dumps(verifier, sort_keys=True)}\n</verifier>")
    return {
        "model": model,
        "max_tokens": CRITIC_MAX_TOKENS,
        "system": [{"type": "text", "text": _INSTRUCTIONS + rubric.strip(), "cache_control": {"type": "ephemeral"}}],
        "tools": [CRITIC_TOOL],
        "tool_choice": {"type": "tool", "name": CRITIC_TOOL_NAME},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "\n\n".join(parts)}]}],
    }


def read_answer(content: list[dict[str, Any]]) -> CriticAnswer:
    """The verdict from the response's content blocks; CriticAnswerError when it is missing or malformed."""
    for block in content:
        if block.get("type") == "tool_use" and block.get("name") == CRITIC_TOOL_NAME:
            given = block.get("input")
            break
    else:
        raise CriticAnswerError(f"The critic did not call {CRITIC_TOOL_NAME}.")
    if not isinstance(given, dict):
        raise CriticAnswerError("The critic's answer is not an object.")
    verdict = given.get("verdict")
    if verdict not in ("approve", "reject"):
        raise CriticAnswerError(f"The critic's verdict is {verdict!r}, not approve or reject.")
    score = given.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise CriticAnswerError("The critic's score is not a number.")
    principles = given.get("principles") or []
    if not isinstance(principles, list):
        principles = [str(principles)]
    rationale = given.get("rationale")
    return CriticAnswer(
        verdict,
        max(0.0, min(1.0, float(score))),
        [str(item) for item in principles][:10],
        str(rationale or "").strip(),
    )


def agent_intent(assistant_content: list[dict[str, Any]]) -> str:
    """What the agent said in the message that holds the tool call."""
    return "\n".join(block.get("text", "") for block in assistant_content if block.get("type") == "text").strip()
