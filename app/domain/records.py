"""Plain, immutable copies of stored rows: what crosses threads and reaches the window, never live ORM objects.

No Qt here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, overload

from app.domain.lifecycle import ProposalStatus


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: dt.datetime | None) -> dt.datetime | None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything Signoff stores is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class SessionRecord:
    id: int
    workspace_root: str
    task: str
    endpoint: str
    model: str
    system_prompt: str
    tools: list[dict[str, Any]]
    sampling: dict[str, Any]
    max_turns: int
    status: str
    stop_reason: str | None
    error: str | None
    turns: int
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    runner_id: str | None
    heartbeat_at: dt.datetime | None
    created_at: dt.datetime
    ended_at: dt.datetime | None
    # Where an external agent's session comes from ('claude-code', 'codex', ...); None for Signoff's own runner.
    source: str | None = None
    # Plans and delegation: see store.models.AgentSession.
    parent_id: int | None = None
    mode: str | None = None
    role: str | None = None
    depth: int = 0
    parent_tool_use_id: str | None = None
    plan_step: int | None = None
    delegation_limits: dict[str, Any] | None = None

    @property
    def is_over(self) -> bool:
        return self.status in {"finished", "stopped", "failed"}


@dataclass(frozen=True)
class MessageRecord:
    seq: int
    role: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: dict[str, Any] | None


@dataclass(frozen=True)
class ProposalRecord:
    id: int
    session_id: int
    workspace_root: str
    task: str
    message_seq: int
    tool_use_id: str
    tool_name: str
    tool_input: dict[str, Any]
    kind: str
    path: str | None
    command: str | None
    cwd: str | None
    base_hash: str | None
    old_content: bytes | None
    new_content: bytes | None
    shown_text: str
    shown_hash: str
    lines_added: int
    lines_removed: int
    status: ProposalStatus
    result: dict[str, Any] | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    # An external agent's proposal: what its protocol cannot carry (shown before anyone decides), and why it was
    # withdrawn (its process was killed, its session ended, it stopped waiting).
    protocol_note: str | None = None
    withdrawn_reason: str | None = None
    # A proposal of kind 'changeset': every file it changes (app.domain.changeset); empty for any other kind.
    changeset_files: tuple[ChangedFile, ...] = ()

    @property
    def target(self) -> str:
        """The file path, or the command, for one-line listings."""
        if self.kind == "changeset":
            count = len((self.tool_input or {}).get("files") or ()) or len(self.changeset_files)
            return f"changeset of {count} file{'' if count == 1 else 's'}"
        return self.path if self.path is not None else (self.command or "")


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    proposal_id: int
    verdict: str
    reason: str | None
    edited_content: bytes | None
    reviewer: str
    time_on_screen_ms: int | None
    decided_at: dt.datetime
    channel: str
    hunk_verdicts: list[dict[str, Any]] | None = None
    strength: int | None = None
    # The proposal's shown_hash when it was decided: what the reviewer saw, checked again before applying.
    shown_hash: str | None = None
    # Team mode: 'first' / 'second' of two reviews, 'adjudication', or None for a single review.
    review_stage: str | None = None
    # Commands: what the decision granted the sandboxed command ({"git_writes": True, "network": True}), or None.
    grants: dict[str, Any] | None = None

    @property
    def grants_git_writes(self) -> bool:
        return bool((self.grants or {}).get("git_writes"))

    @property
    def grants_network(self) -> bool:
        return bool((self.grants or {}).get("network"))


@dataclass(frozen=True)
class QueueItemRecord:
    """One row of the review queue: what the list shows, without the proposal's contents."""

    id: int
    session_id: int
    workspace_root: str
    task: str
    kind: str
    path: str | None
    command: str | None
    lines_added: int
    lines_removed: int
    status: ProposalStatus
    created_at: dt.datetime
    # The value the queue is sorted by (with ``id``, the keyset position of the row).
    sort_key: Any
    # Team mode: who holds the item now, when the schema has claims.
    claimed_by: str | None = None

    @property
    def target(self) -> str:
        if self.kind == "changeset":
            return "changeset (every file the agent changed)"
        return self.path if self.path is not None else (self.command or "")


@dataclass(frozen=True)
class QueueTextRecord:
    id: int
    kind: str
    shown_text: str
    path: str | None
    base_hash: str | None
    workspace_root: str
    # For commands: the folder it runs in (workspace-relative), which the policy check needs.
    cwd: str | None = None


@dataclass(frozen=True)
class ProposalStateRecord:
    id: int
    status: ProposalStatus
    decided_at: dt.datetime | None
    verdict: str | None
    reviewer: str | None


@dataclass(frozen=True)
class QueueStatsRecord:
    waiting: int
    decided_today: int
    decided_last_hour: int
    # Median time on screen of today's decisions made in a window; None when there are none.
    median_ms: float | None


@dataclass(frozen=True)
class AlternativeRecord:
    id: int
    compare_id: int
    position: int
    content: list[dict[str, Any]] | None
    api_message_id: str | None
    stop_reason: str | None
    sampling: dict[str, Any]
    usage: dict[str, Any] | None
    tool_use_id: str | None
    tool_name: str | None
    tool_input: dict[str, Any] | None
    kind: str
    path: str | None
    command: str | None
    cwd: str | None
    base_hash: str | None
    old_content: bytes | None
    new_content: bytes | None
    shown_text: str
    shown_hash: str
    lines_added: int
    lines_removed: int
    note: str | None

    @property
    def proposes_change(self) -> bool:
        return self.kind != "none"

    @property
    def label(self) -> str:
        return "Original" if self.position == 0 else f"Alternative {self.position}"


@dataclass(frozen=True)
class CompareRecord:
    id: int
    proposal_id: int
    requested_by: str
    count: int
    channel: str
    created_at: dt.datetime
    alternatives: tuple[AlternativeRecord, ...]


@dataclass(frozen=True)
class WorktreeRecord:
    """A changeset-mode session's worktree as stored (app.store.changesets)."""

    session_id: int
    state: str
    kind: str | None
    path: str | None
    git_dir: str | None
    branch: str | None
    base_commit: str | None
    propose_requested: bool
    note: str | None


def sha256_or_none(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class ChangedFile:
    """One file of a changeset: its bytes at the changeset's base (None: it did not exist) and in the worktree
    (None: the agent deleted it)."""

    path: str
    old: bytes | None
    new: bytes | None

    @property
    def base_hash(self) -> str | None:
        return sha256_or_none(self.old)

    @property
    def status(self) -> str:
        return "added" if self.old is None else "deleted" if self.new is None else "modified"


@dataclass(frozen=True)
class WatcherRecord:
    """A process that carries out decisions made elsewhere (an open window), as ``store.watchers`` lists them."""

    runner_id: str
    kind: str
    host: str
    pid: int
