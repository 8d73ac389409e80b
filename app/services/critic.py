"""The critic (RLAIF): a second model call through the session's own endpoint and client that judges a proposal
against the workspace's rubric and answers with a structured verdict; stored with the proposal, never blocking.

The rubric is kept in the database (``signoff judges set --rubric-file``), the model comes from Settings. No Qt here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from app.domain.critic import CriticAnswerError, agent_intent, critic_request, read_answer
from app.domain.judgments import DEFAULT_RUBRIC, CriticResult
from app.domain.records import ProposalRecord
from app.services.endpoints import load_sdk
from app.services.settings import Settings

log = logging.getLogger(__name__)


class Critic:
    """``repository`` is an AsyncRepository; ``endpoints`` hands out the SDK client of a session's endpoint."""

    def __init__(
        self,
        repository,
        endpoints,
        settings: Callable[[], Settings] = Settings,
        *,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self.repository = repository
        self.endpoints = endpoints
        self._settings = settings
        self._on_change = on_change
        self._tasks: dict[int, asyncio.Task[CriticResult]] = {}
        # Usage the API reported per call, in order: the prompt-cache figures (one write, then reads) come from here.
        self.usages: list[dict[str, Any]] = []

    async def on_proposal(self, proposal: ProposalRecord, verifier_task: asyncio.Task | None = None):
        if not self._settings().critic_enabled:
            return None
        return self.start(proposal, verifier_task)

    def start(self, proposal: ProposalRecord, verifier_task: asyncio.Task | None = None) -> asyncio.Task[CriticResult]:
        running = self._tasks.get(proposal.id)
        if running is not None and not running.done():
            return running
        task = asyncio.create_task(self._after(verifier_task, proposal), name=f"signoff-critic-{proposal.id}")
        self._tasks[proposal.id] = task
        return task

    async def _after(self, verifier_task: asyncio.Task | None, proposal: ProposalRecord) -> CriticResult:
        if verifier_task is not None:
            # The critic reads the verifier's result when there is one; a failed run just leaves it out.
            await asyncio.gather(asyncio.shield(verifier_task), return_exceptions=True)
        return await self.critique(proposal)

    async def shutdown(self) -> None:
        tasks = [task for task in self._tasks.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _changed(self, proposal_id: int) -> None:
        if self._on_change is not None:
            try:
                self._on_change(proposal_id)
            except Exception:
                log.exception("critic listener failed")

    async def _db(self, name: str, *args, **kwargs):
        def call(repository):
            return getattr(repository.judgments, name)(*args, **kwargs)

        return await self.repository.write(call)

    async def critique(self, proposal: ProposalRecord) -> CriticResult:
        settings = self._settings()
        config = await self._db("config", proposal.workspace_root)
        session = await self.repository.read(lambda repository: repository.sessions.get(proposal.session_id))
        model = settings.critic_model
        critic_id = await self._db("start_critic", proposal.id, model=model)
        self._changed(proposal.id)
        await load_sdk()
        try:
            body = await self._request(proposal, model, config.critic_rubric or DEFAULT_RUBRIC)
            # Cheap on the event loop: Endpoints shares one TLS context among its clients (a fresh one per call loaded
            # the CA bundle for ~70 ms, and 20 calls in flight froze the window for over a second).
            client = self.endpoints.client(session.endpoint)
            try:
                response = await client.messages.create(**body)
            finally:
                await client.close()
            usage = response.usage.model_dump(exclude_none=True) if response.usage else None
            self.usages.append(usage or {})
            answer = read_answer([block.model_dump() for block in response.content])
            values: dict[str, Any] = {
                "verdict": answer.verdict,
                "score": answer.score,
                "principles": answer.principles,
                "rationale": answer.rationale,
                "usage": usage,
            }
        except asyncio.CancelledError:
            await self._db("finish_critic", critic_id, error="Stopped before it answered.")
            raise
        except Exception as err:
            import anthropic  # loaded by now (load_sdk): only the expected failures go unlogged

            if not isinstance(err, (anthropic.APIError, CriticAnswerError)):
                log.exception("critic failed")
            values = {"error": _one_line(err)}
        await self._db("finish_critic", critic_id, **values)
        self._changed(proposal.id)
        return (await self._db("critic_results", [proposal.id]))[proposal.id]

    async def _request(self, proposal: ProposalRecord, model: str, rubric: str) -> dict[str, Any]:
        messages = await self.repository.read(lambda repository: repository.sessions.messages(proposal.session_id))
        intent = next((agent_intent(m.content) for m in messages if m.seq == proposal.message_seq), "")
        verifiers = await self._db("verifier_results", [proposal.id])
        verifier = verifiers.get(proposal.id)
        shown = (proposal.command or "") if proposal.kind == "command" else proposal.shown_text
        return critic_request(
            model=model,
            rubric=rubric,
            task=proposal.task,
            intent=intent,
            kind=proposal.kind,
            path=proposal.path,
            shown_text=shown,
            verifier=None if verifier is None or verifier.status in ("running", "skipped") else verifier.as_json(),
        )


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:500]
