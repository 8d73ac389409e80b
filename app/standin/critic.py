"""The stand-in's critic: answers requests that force the ``record_verdict`` tool with a verdict read from the
proposal itself, so tests and the offline demo show a critic without a network.

Deterministic and crude on purpose: it rejects a change the verifier found newly failing tests in, one that deletes
tests, a destructive or networked command and hidden characters; it approves the rest. Stands alone (no app imports
besides the stand-in's own).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from app.standin.scenario import Turn, tool_use_block

CRITIC_TOOL_NAME = "record_verdict"
_RISKY = re.compile(r"\b(rm\s+-\w*r|curl|wget|sudo|git\s+push|chmod\s+777)\b")
_REMOVED_TEST = re.compile(r"^-\s*(def test_|async def test_|it\(|test\()", re.MULTILINE)
_HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_VERIFIER = re.compile(r"<verifier>\n(.*?)\n</verifier>", re.DOTALL)


def is_critic_request(body: Mapping[str, Any]) -> bool:
    choice = body.get("tool_choice") or {}
    return isinstance(choice, Mapping) and choice.get("type") == "tool" and choice.get("name") == CRITIC_TOOL_NAME


def critic_turn(body: Mapping[str, Any]) -> Turn:
    text = _prompt_text(body)
    verdict, score, principles, rationale = _judge(text)
    answer = {"verdict": verdict, "score": score, "principles": principles, "rationale": rationale}
    return Turn([tool_use_block(CRITIC_TOOL_NAME, answer)], stop_reason="tool_use")


def _prompt_text(body: Mapping[str, Any]) -> str:
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(block.get("text", "") for block in content or [] if isinstance(block, Mapping))
    return "\n".join(parts)


def _judge(text: str) -> tuple[str, float, list[str], str]:
    verifier = _VERIFIER.search(text)
    if verifier:
        try:
            result = json.loads(verifier.group(1))
        except ValueError:
            result = {}
        failing = result.get("newly_failing") or []
        if failing:
            names = ", ".join(failing[:3])
            return "reject", 0.1, ["tests", "correctness"], f"The verifier found tests that now fail: {names}."
        if result.get("newly_passing"):
            return "approve", 0.9, ["tests", "correctness"], "The change makes failing tests pass and breaks none."
    if _HIDDEN.search(text):
        return "reject", 0.05, ["safety"], "The change holds invisible or direction-changing characters."
    if _REMOVED_TEST.search(text):
        return "reject", 0.2, ["tests", "scope"], "The change deletes tests instead of making them pass."
    if _RISKY.search(text):
        return "reject", 0.25, ["safety"], "The command deletes files or reaches the network; a person should say so."
    return "approve", 0.8, ["correctness", "scope"], "A small change that stays within the task; nothing looks wrong."
