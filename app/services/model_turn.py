"""One model turn of a session: stream Claude's message from the Messages API (saying when the SDK retries, retrying a
stream cut mid-message), then store it with its usage. Runs no tool. No Qt here."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import httpx2

from app.domain.records import MessageRecord, SessionRecord
from app.domain.tools import system_blocks, tools_for_request
from app.services.api_errors import describe_api_error, stream_cut_mid_message
from app.services.events import (
    AssistantMessageDone,
    StatusChanged,
    TextDelta,
    ToolCallStarted,
    ToolInputDelta,
    UsageUpdated,
)
from app.services.run_context import RunContext

# A stream cut mid-message (an `error` event, a dropped connection) is not retried by the SDK: we retry it here,
# which is safe because no tool call of a message runs before the whole message has arrived.
STREAM_RETRIES = 3


def assistant_content_for_history(blocks: list[Any]) -> list[dict[str, Any]]:
    """The response's content blocks in the request shape, so the transcript can be sent back verbatim."""
    content: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.type
        if kind == "text":
            content.append({"type": "text", "text": block.text})
        elif kind == "tool_use":
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
        elif kind == "thinking":
            content.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        elif kind == "redacted_thinking":
            content.append({"type": "redacted_thinking", "data": block.data})
        else:
            content.append(block.model_dump(mode="json", exclude_none=True))
    return content


def with_cache_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the end of the conversation so the next turn reads the prefix from the prompt cache."""
    if not messages:
        return messages
    last = dict(messages[-1])
    content = [dict(block) for block in last["content"]]
    content[-1]["cache_control"] = {"type": "ephemeral"}
    last["content"] = content
    return [*messages[:-1], last]


class ModelTurns:
    """The session's Messages API client and the turns taken with it."""

    def __init__(
        self,
        context: RunContext,
        client: anthropic.AsyncAnthropic,
        *,
        api_timeout_s: float | None = None,
        owns_client: bool = True,
    ) -> None:
        self._context = context
        # A sub-agent borrows its manager's shared client (building one costs ~100 ms of the loop): not closed here.
        self._owns_client = owns_client
        # Every HTTP attempt the SDK makes (its own retries with backoff included) passes through _watch_attempt.
        self._client = client.with_middleware(self._watch_attempt)
        if api_timeout_s is not None:
            self._client = self._client.with_options(timeout=api_timeout_s)
        self._last_failure: str | None = None

    @property
    def max_retries(self) -> int:
        return self._client.max_retries

    async def close(self) -> None:
        if self._owns_client:
            await self._client.close()

    async def _watch_attempt(self, request: Any, call_next: Any) -> Any:
        """SDK middleware, run once per HTTP attempt: says in the session's status line that the SDK is retrying a
        failed request (429, 529, 5xx, a reset connection, a timeout), which attempt it is on, and when it recovered."""
        session_id = self._context.session_id
        limit = request.max_retries if isinstance(request.max_retries, int) else self._client.max_retries
        attempt = request.retries_taken
        if attempt:
            reason = self._last_failure or "The API request failed"
            self._context.emit(StatusChanged(session_id, "retrying", f"{reason}, retrying {attempt}/{limit}…"))
        try:
            response = await call_next(request)
        except anthropic.APITimeoutError:
            self._last_failure = "The API did not answer in time"
            raise
        except anthropic.APIConnectionError:
            self._last_failure = "The connection to the API failed"
            raise
        status = response.status_code
        if status == 429:
            self._last_failure = "Rate limited by the API (429)"
        elif status == 529:
            self._last_failure = "API overloaded (529)"
        elif status >= 500 or status in (408, 409):
            self._last_failure = f"The API had an error (HTTP {status})"
        elif attempt and status < 400:
            self._last_failure = None
            self._context.emit(
                StatusChanged(
                    session_id,
                    "running",
                    f"The API answered again after {attempt} retr{'y' if attempt == 1 else 'ies'}.",
                )
            )
        return response

    async def take(self, session: SessionRecord, messages: list[MessageRecord]) -> None:
        """Stream the assistant's next message and store it, its usage and the turn count."""
        context, session_id = self._context, self._context.session_id
        request_messages = with_cache_breakpoint([{"role": m.role, "content": m.content} for m in messages])
        sampling = dict(session.sampling)
        attempt = 0
        while True:
            try:
                final = await self._stream_once(session, request_messages, sampling)
                break
            except (anthropic.APIStatusError, anthropic.APIConnectionError, httpx2.TransportError) as err:
                # Only a stream cut mid-message is retried here: an `error` event inside a 200 response, or the
                # connection dropped mid-body. Failures before the response (429, 529, 5xx, resets, timeouts) were
                # already retried, with backoff, by the SDK.
                retryable = stream_cut_mid_message(err)
                attempt += 1
                if not retryable or attempt > STREAM_RETRIES:
                    raise
                delay = min(8.0, 0.5 * 2 ** (attempt - 1))
                context.emit(
                    StatusChanged(session_id, "retrying", f"{describe_api_error(err)} Retrying in {delay:.1f} s.")
                )
                await asyncio.sleep(delay)
        usage = final.usage.model_dump(mode="json", exclude_none=True) if final.usage else {}
        content = assistant_content_for_history(final.content)
        seq = await context.repository.write(
            lambda store: store.sessions.append_message(
                session_id,
                "assistant",
                content,
                api_message_id=final.id,
                stop_reason=final.stop_reason,
                usage=usage,
            )
        )
        await context.repository.write(lambda store: store.sessions.add_usage(session_id, usage))
        await context.repository.write(lambda store: store.sessions.update(session_id, turns=session.turns + 1))
        totals = await context.repository.read(lambda store: store.sessions.get(session_id))
        context.emit(
            UsageUpdated(
                session_id,
                totals.input_tokens,
                totals.output_tokens,
                totals.cache_creation_input_tokens,
                totals.cache_read_input_tokens,
            )
        )
        context.emit(AssistantMessageDone(session_id, seq, content, final.stop_reason))

    async def _stream_once(self, session: SessionRecord, messages: list[dict[str, Any]], sampling: dict[str, Any]):
        session_id = self._context.session_id
        current_tool: str | None = None
        async with self._client.messages.stream(
            model=session.model,
            system=system_blocks(session.system_prompt),
            tools=tools_for_request(session.tools),
            messages=messages,
            **sampling,
        ) as stream:
            async for event in stream:
                if event.type == "text":
                    self._context.emit(TextDelta(session_id, event.text))
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    current_tool = event.content_block.id
                    self._context.emit(ToolCallStarted(session_id, current_tool, event.content_block.name))
                elif event.type == "input_json" and current_tool is not None:
                    self._context.emit(ToolInputDelta(session_id, current_tool, event.partial_json))
            return await stream.get_final_message()
