"""``signoff mcp``: a stdio MCP server (the official ``mcp`` SDK) with the permission prompt tool for
``claude -p --permission-prompt-tool mcp__signoff__approve``.

Input ``{tool_name, input, tool_use_id}``; result text ``{"behavior": "allow", "updatedInput": {...}}`` or
``{"behavior": "deny", "message": "..."}``. The server process is one Signoff session (Claude Code starts one per run,
in the project folder); what still waits when it exits is withdrawn. Waits run in worker threads.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any

from app.services.adapters.base import (
    ALLOW,
    DENY,
    Adapter,
    Answer,
    Change,
    ClaudeTools,
    RefusedError,
    ToolRequest,
    policy_answer,
)

SOURCE = "mcp"
TOOL_NAME = "approve"


def result_text(answer: Answer, tool_input: dict[str, Any]) -> str:
    """The prompt tool has only allow and deny: Signoff's 'ask' (no one could decide) is a deny that says why."""
    if answer.behavior == ALLOW:
        return json.dumps({"behavior": "allow", "updatedInput": answer.updated_input or tool_input})
    return json.dumps({"behavior": "deny", "message": answer.message})


class PromptService:
    """Answers permission prompts of one ``claude`` run; the database opens on the first request a person decides."""

    def __init__(
        self,
        *,
        db_url: str | None,
        timeout_s: float,
        cwd: str | None = None,
        source: str = SOURCE,
        session_key: str | None = None,
    ) -> None:
        self.source = source
        self.db_url = db_url
        self.timeout_s = timeout_s
        self.cwd = cwd or os.getcwd()
        self.session_key = session_key or f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
        self.adapter = ClaudeTools(source)
        self._broker: Any = None
        self._broker_lock = threading.Lock()

    def broker(self):
        with self._broker_lock:
            return self._open_broker()

    def _open_broker(self):
        if self._broker is None:
            from app.services.adapters.broker import Broker
            from app.services.settings import load_settings
            from app.store.db import open_database

            settings = load_settings()
            url = self.db_url or os.environ.get("SIGNOFF_DB") or settings.database or None
            self._broker = Broker(open_database(url), undo_window_s=settings.undo_seconds)
        return self._broker

    def decide(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str | None) -> Answer:
        request = ToolRequest(
            source=self.source,
            session_key=self.session_key,
            cwd=self.cwd,
            tool_name=tool_name,
            tool_input=tool_input if isinstance(tool_input, dict) else {},
            tool_use_id=tool_use_id or f"{self.source}:{time.time_ns()}",
        )
        try:
            change = self.adapter.draft(request)
        except RefusedError as refused:
            return Answer(refused.action, refused.message)
        if change is None:
            # Read-only tools: the prompt tool is only asked when Claude Code would ask a person; let it read.
            return Answer(ALLOW, "Read-only.", updated_input=request.tool_input)
        return self.settle(request, change, self.adapter)

    def settle(self, request: ToolRequest, change: Change, adapter: Adapter, *, note: str | None = None) -> Answer:
        """Policy first, else a person through the queue: the answer in Signoff's terms (deny when no one could)."""
        from app.services.adapters.broker import StoreError, WithdrawnError

        try:
            broker = self.broker()
            decided = policy_answer(change, request.cwd)
            if decided is not None:
                answer, reviewer = decided
                broker.record_policy(request, change, answer, reviewer)
                return answer
            proposal = broker.submit(request, change, note=note)
            decision = broker.wait(proposal.id, deadline=time.monotonic() + self.timeout_s)
            return broker.answer_for(adapter, request, change, decision)
        except WithdrawnError as err:
            return Answer(DENY, f"{err}.")
        except StoreError as err:
            return Answer(DENY, f"Signoff's database cannot be reached ({err}); nothing was approved.")

    def close(self) -> None:
        if self._broker is not None:
            self._broker.external.end_session(self.source, self.session_key, f"the {self.source} session ended")


def build_server(service: PromptService):
    import anyio
    from mcp.server import MCPServer

    server = MCPServer("signoff", instructions="Signoff decides Claude Code's permission prompts in its review queue.")

    @server.tool(
        name=TOOL_NAME,
        description="Ask Signoff whether a tool call may run; a person or the workspace's policy decides.",
    )
    async def approve(tool_name: str, input: dict[str, Any], tool_use_id: str | None = None) -> str:  # noqa: A002
        answer = await anyio.to_thread.run_sync(service.decide, tool_name, input, tool_use_id)
        return result_text(answer, input)

    return server


def main(*, db_url: str | None = None, timeout_s: float = 3600.0) -> int:
    service = PromptService(db_url=db_url, timeout_s=timeout_s)
    try:
        build_server(service).run("stdio")
    finally:
        service.close()
    return 0
