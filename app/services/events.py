"""What a running session tells its listeners (the window, the headless runner's log), as plain frozen data.

No Qt here; the window adapts these to signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.domain.records import ProposalRecord


@dataclass(frozen=True)
class TextDelta:
    session_id: int
    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    session_id: int
    tool_use_id: str
    name: str


@dataclass(frozen=True)
class ToolInputDelta:
    session_id: int
    tool_use_id: str
    partial_json: str


@dataclass(frozen=True)
class AssistantMessageDone:
    session_id: int
    seq: int
    content: list[dict[str, Any]]
    stop_reason: str | None


@dataclass(frozen=True)
class ToolResultSent:
    """A tool call answered: at once (views, invalid input) or after its proposal was resolved."""

    session_id: int
    tool_use_id: str
    tool_name: str
    text: str
    is_error: bool
    proposal_id: int | None = None
    proposal_status: str | None = None


@dataclass(frozen=True)
class ProposalWaiting:
    session_id: int
    proposal: ProposalRecord


@dataclass(frozen=True)
class UsageUpdated:
    session_id: int
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


@dataclass(frozen=True)
class StatusChanged:
    session_id: int
    # running | waiting | finished | stopped | failed | interrupted | retrying
    status: str
    detail: str = ""


SessionEvent = (
    TextDelta
    | ToolCallStarted
    | ToolInputDelta
    | AssistantMessageDone
    | ToolResultSent
    | ProposalWaiting
    | UsageUpdated
    | StatusChanged
)
EventListener = Callable[[SessionEvent], None]
