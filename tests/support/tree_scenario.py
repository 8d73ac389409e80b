"""A scripted scenario for trees of agents: each session (told apart by its first user message) gets its own script,
so parallel sub-agents are answered in their own order whatever the interleaving."""

from __future__ import annotations

from typing import Any

from app.standin.scenario import Fault, Reply
from tests.support.scripted_scenario import ScriptedScenario


class TreeScenario:
    """``scripts`` maps the start of a session's task to its replies; the first match wins."""

    def __init__(self, scripts: dict[str, list[Reply]]) -> None:
        self._scripts = {prefix: ScriptedScenario(replies) for prefix, replies in scripts.items()}

    def __call__(self, request: dict[str, Any]) -> Reply:
        first = (request.get("messages") or [{}])[0].get("content")
        text = (
            first if isinstance(first, str) else " ".join(b.get("text", "") for b in first or [] if isinstance(b, dict))
        )
        for prefix, script in self._scripts.items():
            if text.startswith(prefix):
                return script(request)
        return Fault(500, "api_error", f"No script for a session whose task starts {text[:60]!r}.")
