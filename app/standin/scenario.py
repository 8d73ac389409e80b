"""What the stand-in API answers: replies (Turn, Fault, StreamFault, ConnectionReset, Stall) and block helpers (the
tests' scripted scenario is tests/support/scripted_scenario.py; the demo's is app.standin.demo).

Plain data only; no HTTP and no Qt here. A scenario is any ``callable(request: dict) -> Reply``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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


Reply = Turn | Fault | StreamFault | ConnectionReset | Stall
Scenario = Callable[[dict[str, Any]], Reply]


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


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))
