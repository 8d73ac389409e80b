"""A real agent stack for tests: the stand-in Messages API on loopback, the real SDK pointed at it through
ANTHROPIC_BASE_URL (as a user would), a real SQLite file, and the SessionManager the window and CLI use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.services import events
from app.services.api_key import ApiKeyStore
from app.services.endpoints import ANTHROPIC, Endpoints
from app.services.sessions import NewSession, SessionManager
from app.standin.server import StandinServer
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.scripted_scenario import ScriptedScenario

MODEL = "claude-sonnet-5-5"


@dataclass
class Stack:
    workspace: Path
    db_path: Path
    server: StandinServer
    # A database URL instead of the SQLite file (the PostgreSQL tests).
    db_url: str | None = None
    database: Any = None
    repository: AsyncRepository | None = None
    endpoints: Endpoints | None = None
    manager: SessionManager | None = None
    seen: list[events.SessionEvent] = field(default_factory=list)
    _changed: asyncio.Event | None = None

    def open(self) -> Stack:
        """(Re)open the database and a fresh manager, as a restarted app would."""
        self.database = open_database(self.db_url or str(self.db_path))
        self.repository = AsyncRepository(Repository(self.database))
        self.endpoints = Endpoints(ApiKeyStore().current)
        self.manager = SessionManager(self.repository, self.endpoints)
        self.manager.add_listener(self._record)
        return self

    def _record(self, event: events.SessionEvent) -> None:
        self.seen.append(event)
        if self._changed is not None:
            self._changed.set()

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait, event-driven, until ``predicate()`` is truthy after some session event (or a database poll)."""
        self._changed = self._changed or asyncio.Event()

        async def wait() -> Any:
            while True:
                self._changed.clear()
                value = predicate()
                if asyncio.iscoroutine(value):
                    value = await value
                if value:
                    return value
                try:
                    await asyncio.wait_for(self._changed.wait(), 0.5)
                except TimeoutError:
                    pass

        return await asyncio.wait_for(wait(), timeout)

    async def waiting_proposal(self, timeout: float = 10.0):
        def find():
            waiting = [e for e in self.seen if isinstance(e, events.ProposalWaiting)]
            pending = [e.proposal for e in waiting if not self._resolved(e.proposal.id)]
            return pending[-1] if pending else None

        return await self.until(find, timeout)

    def _resolved(self, proposal_id: int) -> bool:
        return any(isinstance(e, events.ToolResultSent) and e.proposal_id == proposal_id for e in self.seen)

    async def start(self, task: str = "Do the task.", **overrides: Any):
        spec = NewSession(
            workspace_root=str(self.workspace),
            task=task,
            model=overrides.pop("model", MODEL),
            max_turns=overrides.pop("max_turns", 20),
            max_tokens=overrides.pop("max_tokens", 1024),
            endpoint=overrides.pop("endpoint", ANTHROPIC),
            plan=overrides.pop("plan", False),
            delegation_limits=overrides.pop("delegation_limits", None),
            changeset=overrides.pop("changeset", False),
        )
        return await self.manager.start(spec)

    async def close(self) -> None:
        await self.manager.shutdown()
        self.endpoints.close()
        self.repository.close()
        self.database.close()

    def last_request_tool_results(self) -> list[dict[str, Any]]:
        body = self.server.message_bodies[-1]
        return [b for b in body["messages"][-1]["content"] if b.get("type") == "tool_result"]


@pytest.fixture
def stack_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Build a Stack for a scripted scenario; the server and database are closed after the test."""
    servers: list[StandinServer] = []

    def make(replies_or_scenario, *, files: dict[str, bytes | str] | None = None, db_url: str | None = None) -> Stack:
        scenario = replies_or_scenario if callable(replies_or_scenario) else ScriptedScenario(replies_or_scenario)
        server = StandinServer(scenario).start()
        servers.append(server)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
        workspace = tmp_path / "workspace"
        workspace.mkdir(exist_ok=True)
        for name, content in (files or {}).items():
            path = workspace / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        return Stack(workspace=workspace, db_path=tmp_path / "signoff.db", server=server, db_url=db_url).open()

    yield make
    for server in servers:
        server.stop()


def run(coroutine):
    """Run one test coroutine on a fresh event loop."""
    return asyncio.run(coroutine)
