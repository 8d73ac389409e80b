"""The Claude Agent SDK adapter: ``signoff_can_use_tool()`` returns a ``can_use_tool`` callback for
``ClaudeAgentOptions`` that puts every edit, write and command in Signoff's queue and answers with the SDK's own
``PermissionResultAllow(updated_input=...)`` / ``PermissionResultDeny(message=...)``.

Usage (see packaging/examples/agent_sdk_signoff.py)::

    from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient
    from app.adapters import signoff_can_use_tool

    options = ClaudeAgentOptions(cwd="/my/project", can_use_tool=signoff_can_use_tool(cwd="/my/project"))

The SDK is imported when the callback is made, not before; waits run in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.services.adapters.base import ALLOW
from app.services.adapters.mcp_server import PromptService

SOURCE = "agent-sdk"


def signoff_can_use_tool(
    *,
    db_url: str | None = None,
    cwd: str | None = None,
    session_id: str | None = None,
    timeout_s: float = 3600.0,
):
    """A ``can_use_tool`` callback deciding through Signoff. ``cwd`` is the agent's folder (paths outside it are
    refused); ``session_id`` names the Signoff session (default: one per callback); ``db_url`` as ``signoff --db``."""
    from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

    service = PromptService(db_url=db_url, timeout_s=timeout_s, cwd=cwd, source=SOURCE, session_key=session_id)

    async def can_use_tool(tool_name: str, tool_input: dict[str, Any], context: Any):
        tool_use_id = getattr(context, "tool_use_id", None)
        answer = await asyncio.to_thread(service.decide, tool_name, tool_input, tool_use_id)
        if answer.behavior == ALLOW:
            return PermissionResultAllow(updated_input=answer.updated_input or tool_input)
        return PermissionResultDeny(message=answer.message)

    can_use_tool.signoff_service = service  # type: ignore[attr-defined]
    return can_use_tool
