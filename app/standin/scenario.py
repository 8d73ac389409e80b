"""What the stand-in API answers: replies (Turn, Fault, StreamFault, ConnectionReset, Stall), block helpers and a
scripted scenario.

Plain data only; no HTTP and no Qt here. A scenario is any ``callable(request: dict) -> Reply``.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def fresh_id(prefix: str) -> str:
    """An id shaped like the real API's (``toolu_01...``, ``msg_01...``, ``req_01...``)."""
    return prefix + "01" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


@dataclass(frozen=True)
class Turn:
    """One assistant message: content blocks in API response shape and why the model stopped."""

    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"


@dataclass(frozen=True)
class Fault:
    """An HTTP error response: ``{"type": "error", "error": {"type": error_type, "message": message}}``."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] | None = None

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0) -> Fault:
        # The SDK honours fractional retry-after values, which keeps retry tests fast.
        return cls(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            {"retry-after": _seconds_text(retry_after)},
        )

    @classmethod
    def overloaded(cls, retry_after: float | None = None) -> Fault:
        headers = None if retry_after is None else {"retry-after": _seconds_text(retry_after)}
        return cls(529, "overloaded_error", "Overloaded", headers)

    @classmethod
    def api_error(cls, message: str = "Internal server error", retry_after: float | None = None) -> Fault:
        headers = None if retry_after is None else {"retry-after": _seconds_text(retry_after)}
        return cls(500, "api_error", message, headers)


@dataclass(frozen=True)
class StreamFault:
    """Start streaming ``then`` (or a short default turn), and after ``after_blocks`` whole content blocks either send
    an SSE ``error`` event (overloaded_error) or drop the TCP connection without finishing the response."""

    after_blocks: int = 0
    mode: Literal["error_event", "drop"] = "error_event"
    then: Turn | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("error_event", "drop"):
            raise ValueError(f"StreamFault mode must be 'error_event' or 'drop', not {self.mode!r}")
        if self.after_blocks < 0:
            raise ValueError(f"StreamFault after_blocks must be 0 or more, not {self.after_blocks}")


@dataclass(frozen=True)
class ConnectionReset:
    """Abort the connection with a TCP reset before sending any byte of a response (a crashed proxy or upstream)."""


@dataclass(frozen=True)
class Stall:
    """Send nothing for ``seconds`` (a hung upstream: the client's read timeout should fire first), then answer with
    ``then``, or drop the connection when ``then`` is None. Stopping the server ends the stall at once."""

    seconds: float
    then: Turn | Fault | None = None


Reply = Union[Turn, Fault, StreamFault, ConnectionReset, Stall]
Scenario = Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True)
class Alternatives:
    """A script entry for compare mode: the first request for a prompt gets ``turns[0]``; each later request with the
    very same prompt (the same step sampled again) gets the next turn, cycling, without using up the script."""

    turns: tuple[Turn, ...]

    def __init__(self, *turns: Turn) -> None:
        if not turns:
            raise ValueError("Alternatives needs at least one turn")
        object.__setattr__(self, "turns", tuple(turns))


def prompt_key(request: Mapping[str, Any]) -> str:
    """What makes two requests the same prompt: model, system, tools and messages, cache breakpoints left out."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items() if key != "cache_control"}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    chosen = {key: plain(request.get(key)) for key in ("model", "system", "tools", "messages")}
    return json.dumps(chosen, sort_keys=True, separators=(",", ":"))


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(name: str, input: Mapping[str, Any], id: str | None = None) -> dict[str, Any]:  # noqa: A002
    return {"type": "tool_use", "id": id or fresh_id("toolu_"), "name": name, "input": dict(input)}


def text_turn(text: str) -> Turn:
    return Turn([text_block(text)], "end_turn")


def tool_turn(*blocks: dict[str, Any]) -> Turn:
    """A turn that ends asking for tools; pass text and tool_use blocks in the order the model would say them."""
    return Turn(list(blocks), "tool_use")


class ScriptedScenario:
    """Answers requests with ``replies`` in order; once they run out, every request gets a 500 saying so.

    An ``Alternatives`` entry answers its first request with its first turn and every repeat of that same prompt
    (compare mode) with the next of its turns, so N parallel resamples get N distinct answers."""

    def __init__(self, replies: Iterable[Reply | Alternatives]) -> None:
        self.replies: tuple[Reply | Alternatives, ...] = tuple(replies)
        self._next_index = 0
        self._lock = threading.Lock()
        # prompt key -> (its Alternatives, how many of its turns were served)
        self._resampled: dict[str, tuple[Alternatives, int]] = {}

    def __call__(self, request: dict[str, Any]) -> Reply:
        key = prompt_key(request) if any(isinstance(reply, Alternatives) for reply in self.replies) else None
        with self._lock:
            if key is not None and key in self._resampled:
                alternatives, served = self._resampled[key]
                self._resampled[key] = (alternatives, served + 1)
                return alternatives.turns[served % len(alternatives.turns)]
            index = self._next_index
            self._next_index += 1
            reply = self.replies[index] if index < len(self.replies) else None
            if isinstance(reply, Alternatives):
                self._resampled[key] = (reply, 1)
                return reply.turns[0]
        if reply is not None:
            return reply
        return Fault(
            500,
            "api_error",
            f"The stand-in's scripted scenario ran out of replies: it had {len(self.replies)}, "
            f"and this is request {index + 1}.",
        )

    @property
    def used(self) -> int:
        """How many requests the scenario has answered (including ones past the end of the script)."""
        with self._lock:
            return self._next_index


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))
