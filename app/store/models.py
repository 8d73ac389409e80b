"""SQLAlchemy 2.0 tables: workspaces, sessions, the ordered transcript, proposals and the decisions on them.

Everything a preference dataset needs later is kept here without loss: the exact messages the model saw, the tool
schemas and system prompt it was given, every proposal with the bytes it was made against, and every judgment.
Schema changes go through Alembic (``migrations/``); never ``create_all`` outside tests of the migrations themselves.
No Qt here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.domain.lifecycle import ProposalStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite's INTEGER PRIMARY KEY must be spelled INTEGER to autoincrement; PostgreSQL gets BIGINT.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Stored as UTC; always read back timezone-aware (SQLite keeps no offset and would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Timestamp = UtcDateTime()
# Optional JSON columns store SQL NULL for None, so `IS NULL` finds them.
NullableJSON = JSON(none_as_null=True)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    root_path: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    sessions: Mapped[list[AgentSession]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True
    )


class AgentSession(Base):
    """One agent run on one task in one workspace."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_source_external", "source", "external_id", unique=True),
        Index("ix_sessions_parent_tool_use", "parent_id", "parent_tool_use_id", unique=True),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(Text)
    # 'anthropic' (the real API, or ANTHROPIC_BASE_URL) or 'demo' (the shipped offline stand-in).
    endpoint: Mapped[str] = mapped_column(String(32), default="anthropic")
    model: Mapped[str] = mapped_column(String(200))
    system_prompt: Mapped[str] = mapped_column(Text)
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # max_tokens, temperature, ... exactly as sent with every request of the session.
    sampling: Mapped[dict[str, Any]] = mapped_column(JSON)
    max_turns: Mapped[int] = mapped_column(Integer)
    # running | waiting | finished | stopped | failed | interrupted
    status: Mapped[str] = mapped_column(String(32), default="running", index=True)
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_creation_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    # Which process drives the loop now, and when it last said so: a stale heartbeat lets another process resume it.
    runner_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # External agents (migration 0008): 'claude-code', 'mcp', 'agent-sdk', 'codex' or 'acp', the session's id there
    # and its transcript file; all None for Signoff's own runner.
    source: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(200))
    transcript_path: Mapped[str | None] = mapped_column(Text)
    # Plans and delegation (migration 0010). mode: 'plan' (may only read until a plan is approved), 'act', or None
    # outside plan mode. A sub-agent has its parent's id (no foreign key: a tree is read, never cascaded), its role,
    # its depth (root 0), the delegate call that started it and the plan step it works on. delegation_limits: the
    # budget of the tree (max_subagents per session, max_depth, max_tree_tokens), set on the root.
    parent_id: Mapped[int | None] = mapped_column(IdType)
    mode: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parent_tool_use_id: Mapped[str | None] = mapped_column(String(200))
    plan_step: Mapped[int | None] = mapped_column(Integer)
    delegation_limits: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)

    workspace: Mapped[Workspace] = relationship(back_populates="sessions")
    messages: Mapped[list[Message]] = relationship(
        back_populates="session", order_by="Message.seq", cascade="all, delete-orphan", passive_deletes=True
    )
    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="session", order_by="Proposal.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Message(Base):
    """One message of the conversation, in order, exactly as sent to (user) or received from (assistant) the API."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    # A list of content blocks in the Messages API's request shape.
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # For assistant messages: the API's message id, stop_reason and usage of the response.
    api_message_id: Mapped[str | None] = mapped_column(String(200))
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    usage: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    session: Mapped[AgentSession] = relationship(back_populates="messages")


class Proposal(Base):
    """A change to the world the agent asked for (file edit, new file, command) that waits for a person."""

    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("session_id", "tool_use_id", name="uq_proposals_session_tool_use"),
        Index("ix_proposals_status_created", "status", "created_at"),
        # The queue's list of sessions with waiting work: an index-only DISTINCT (migration 0005).
        Index("ix_proposals_status_session", "status", "session_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    # The assistant message holding the tool call; its seq is the step index in the session.
    message_seq: Mapped[int] = mapped_column(Integer)
    tool_use_id: Mapped[str] = mapped_column(String(200))
    tool_name: Mapped[str] = mapped_column(String(200))
    tool_input: Mapped[dict[str, Any]] = mapped_column(JSON)
    # edit | create | command
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # Workspace-relative, '/'-separated; None for commands.
    path: Mapped[str | None] = mapped_column(Text)
    command: Mapped[str | None] = mapped_column(Text)
    cwd: Mapped[str | None] = mapped_column(Text)
    # sha256 hex of the bytes the proposal was made against; None when the file did not exist.
    base_hash: Mapped[str | None] = mapped_column(String(64))
    old_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    new_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The unified diff (or command text) exactly as shown to the reviewer.
    shown_text: Mapped[str] = mapped_column(Text)
    shown_hash: Mapped[str] = mapped_column(String(64))
    lines_added: Mapped[int] = mapped_column(Integer, default=0)
    lines_removed: Mapped[int] = mapped_column(Integer, default=0)
    # pending -> decided -> applied | conflict | failed | not_applied ; pending -> cancelled
    status: Mapped[str] = mapped_column(String(32), default=ProposalStatus.PENDING.value)
    # What the agent was told: the tool_result block's content and is_error flag.
    result: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    applied_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # Team mode: the reviewer who has it open and until when (a lease; an expired one is as good as none).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # External agents (migration 0008): the process holding the agent's request open ('host:pid'), when it last said
    # it is alive, why the proposal was withdrawn (status 'cancelled'), and what the agent's protocol cannot carry.
    waiter_id: Mapped[str | None] = mapped_column(String(200))
    waiter_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    protocol_note: Mapped[str | None] = mapped_column(Text)

    session: Mapped[AgentSession] = relationship(back_populates="proposals")
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="proposal", order_by="Decision.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Decision(Base):
    """A person's judgment on a proposal: approve, reject (with a reason) or edit (with what was applied instead)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    # approve | reject | edit, or 'undo' for an entry taking back an earlier decision (see revokes_id)
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # For 'edit': the full new file content or the command the reviewer approved instead.
    edited_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    reviewer: Mapped[str] = mapped_column(String(200))
    # Milliseconds the proposal was on screen before the decision (None from the command line).
    time_on_screen_ms: Mapped[int | None] = mapped_column(Integer)
    shown_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # Indexed for the queue's progress figures (decided today, in the last hour) over a long history (migration 0005).
    decided_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    # Where it was made: 'window' or 'cli'.
    channel: Mapped[str] = mapped_column(String(16), default="window")
    # Per-hunk judgments when the reviewer split the proposal: [{"hunk": i, "verdict": "approve"|"reject"|"edit",
    # "reason": ..., "edited": ...}]; None when the whole proposal was judged as one.
    hunk_verdicts: Mapped[list[dict[str, Any]] | None] = mapped_column(NullableJSON)
    # The reviewer's optional confidence in the judgment, 1 (weak) to 5 (strong).
    strength: Mapped[int | None] = mapped_column(SmallInteger)
    # Team mode: 'first' or 'second' of two required independent reviews, or 'adjudication' of a disagreement;
    # None when one review decides (the default).
    review_stage: Mapped[str | None] = mapped_column(String(16))
    # An undo is its own chained entry (verdict 'undo', migration 0006): it names the decision it takes back, which
    # stays in the chain unchanged. Whatever reads judgments skips both (app.store.audit.live_decisions).
    # No foreign key: SQLite could only add one by copying the whole table; both rows belong to one proposal, whose
    # cascade removes them together.
    revokes_id: Mapped[int | None] = mapped_column(IdType, index=True)
    # Compare mode (migration 0007): which alternatives the reviewer was shown side by side and which one was picked
    # (None: all rejected), as {"compare_id", "picked", "alternatives": [{"position", "shown_hash", "content_sha256"}]};
    # None for a decision on a proposal shown alone. Covered by the audit chain where set.
    compare: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # Commands (migration 0012): what the approval, or the rule that allowed it, granted the sandboxed command beyond
    # writing the workspace's own files: {"git_writes": true, "network": true}; None grants nothing. Covered by the
    # audit chain where set.
    grants: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # The audit chain (app.store.audit, migration 0003): the shown_hash of the proposal as it was when decided, the
    # chain hash of the decision before this one, the sha256 of this one's canonical content, and of the two together.
    shown_hash: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    proposal: Mapped[Proposal] = relationship(back_populates="decisions")


class ReviewRule(Base):
    """Per workspace: which proposals need two independent reviews, and who may adjudicate a disagreement.

    Kept in the database, not in the workspace, so the agent whose changes are reviewed cannot edit it away.
    """

    __tablename__ = "review_rules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    # Proposal kinds ('edit', 'create', 'command') that always need two reviews.
    kinds: Mapped[list[str]] = mapped_column(JSON)
    # Workspace-relative path globs ('migrations/**', '*.sql') whose edits need two reviews.
    path_globs: Mapped[list[str]] = mapped_column(JSON)
    # Who may settle a disagreement; empty means anyone other than the two reviewers.
    adjudicators: Mapped[list[str]] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class Compare(Base):
    """A reviewer asked for alternatives to a waiting proposal: the same request sampled again, N times."""

    __tablename__ = "compares"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    # How many alternatives were asked for (the original comes on top, as position 0).
    count: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16), default="window")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    alternatives: Mapped[list[Alternative]] = relationship(
        back_populates="compare", order_by="Alternative.position", cascade="all, delete-orphan", passive_deletes=True
    )


class Alternative(Base):
    """One answer to the proposal's prompt: position 0 is the original assistant message, 1..N were sampled for the
    compare. Its first world-changing tool call is drafted like a proposal (kind 'none' when it proposes no change)."""

    __tablename__ = "alternatives"
    __table_args__ = (UniqueConstraint("compare_id", "position", name="uq_alternatives_compare_position"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    compare_id: Mapped[int] = mapped_column(ForeignKey("compares.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # The assistant message as the API returned it (request shape); None when the request failed.
    content: Mapped[list[dict[str, Any]] | None] = mapped_column(NullableJSON)
    api_message_id: Mapped[str | None] = mapped_column(String(200))
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    # Exactly what was sent besides the prompt (max_tokens, temperature, ...), and the usage it cost.
    sampling: Mapped[dict[str, Any]] = mapped_column(JSON)
    usage: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # The tool call that makes the draft: the first one that changes the world, else the first one, else None.
    tool_use_id: Mapped[str | None] = mapped_column(String(200))
    tool_name: Mapped[str | None] = mapped_column(String(200))
    tool_input: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # edit | create | command, or 'none' (text only, a view, a draft that failed, a failed request: see note)
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str | None] = mapped_column(Text)
    command: Mapped[str | None] = mapped_column(Text)
    cwd: Mapped[str | None] = mapped_column(Text)
    base_hash: Mapped[str | None] = mapped_column(String(64))
    old_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    new_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    shown_text: Mapped[str] = mapped_column(Text)
    shown_hash: Mapped[str] = mapped_column(String(64))
    lines_added: Mapped[int] = mapped_column(Integer, default=0)
    lines_removed: Mapped[int] = mapped_column(Integer, default=0)
    # Why it proposes no change, in words ("only text", "views greet.py", the API error, ...).
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    compare: Mapped[Compare] = relationship(back_populates="alternatives")


class JudgeSettings(Base):
    """Per workspace: how the machine judges work there (verify command, time limit, when it runs; the critic's
    rubric and blind mode; sensitive path globs for the risk score). NULL means the Settings default.

    Kept in the database, not in the workspace (no ``.signoff/verify.toml``), so the agent under review cannot
    change the command that grades it.
    """

    __tablename__ = "judge_settings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True)
    verify_command: Mapped[str | None] = mapped_column(Text)
    verify_timeout_s: Mapped[float | None] = mapped_column(Float)
    # 'proposal' (on every file proposal) or 'request' (only when a reviewer asks: `v`, `signoff verify`).
    verify_on: Mapped[str | None] = mapped_column(String(16))
    critic_rubric: Mapped[str | None] = mapped_column(Text)
    critic_blind: Mapped[bool | None] = mapped_column(Boolean)
    sensitive_globs: Mapped[list[str] | None] = mapped_column(NullableJSON)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    # Critic auto-approval (app.domain.auto_approve): off while the kappa threshold is NULL.
    auto_approve_kappa: Mapped[float | None] = mapped_column(Float)
    auto_approve_window: Mapped[int | None] = mapped_column(Integer)
    auto_approve_kinds: Mapped[list[str] | None] = mapped_column(NullableJSON)
    auto_approve_max_risk: Mapped[float | None] = mapped_column(Float)


class VerifierBaseline(Base):
    """The verify command's report on an unchanged tree, cached by the tree's content hash and the command."""

    __tablename__ = "verifier_baselines"
    __table_args__ = (UniqueConstraint("workspace_id", "cache_key", name="uq_verifier_baselines_workspace_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    # sha256 of the tree hash and the command.
    cache_key: Mapped[str] = mapped_column(String(64))
    tree_hash: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(Text)
    # app.domain.test_reports.TestReport.as_json()
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class VerifierRun(Base):
    """One run of the verify command on a proposal's bytes in an isolated copy, compared with the baseline."""

    __tablename__ = "verifier_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    # running | passed | failed | error | skipped
    status: Mapped[str] = mapped_column(String(16))
    command: Mapped[str | None] = mapped_column(Text)
    tree_hash: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    seconds: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    newly_failing: Mapped[list[str] | None] = mapped_column(NullableJSON)
    newly_passing: Mapped[list[str] | None] = mapped_column(NullableJSON)
    still_failing: Mapped[list[str] | None] = mapped_column(NullableJSON)
    # The share of tests that passed, 0..1 (from the exit code alone where the output names no tests).
    reward: Mapped[float | None] = mapped_column(Float)
    output_hash: Mapped[str | None] = mapped_column(String(64))
    # The head and tail of the output, capped (app.services.verifier.EXCERPT_BYTES).
    excerpt: Mapped[str | None] = mapped_column(Text)
    network_isolated: Mapped[bool] = mapped_column(Boolean, default=False)
    baseline_reused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it was skipped or failed to run, and whether the network was cut, in words.
    note: Mapped[str | None] = mapped_column(Text)


class CriticVerdict(Base):
    """A second model's structured judgment of a proposal against the workspace's rubric (RLAIF)."""

    __tablename__ = "critic_verdicts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    # running | done | error
    status: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(200))
    # approve | reject
    verdict: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    principles: Mapped[list[str] | None] = mapped_column(NullableJSON)
    rationale: Mapped[str | None] = mapped_column(Text)
    usage: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class SessionWorktree(Base):
    """A changeset-mode session's own worktree (migration 0011): a git worktree on a branch from the workspace's HEAD
    plus its uncommitted state, or a private copy outside git. Found again by a resumed runner; removed once the
    session is over and its changeset decided."""

    __tablename__ = "session_worktrees"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), unique=True)
    # requested (not made yet) | open | removed | lost (gone from disk; reported)
    state: Mapped[str] = mapped_column(String(16), default="requested")
    # git | copy
    kind: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(Text)
    git_dir: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(String(200))
    # The commit the next changeset is diffed against: the workspace as it was, plus every merged hunk since.
    base_commit: Mapped[str | None] = mapped_column(String(64))
    # Set by `signoff changeset ID --propose` (or the window): propose at the next step.
    propose_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class ChangesetFile(Base):
    """One file of a proposal of kind 'changeset': its bytes at the changeset's base and in the agent's worktree."""

    __tablename__ = "changeset_files"
    __table_args__ = (UniqueConstraint("proposal_id", "position", name="uq_changeset_files_proposal_position"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    base_hash: Mapped[str | None] = mapped_column(String(64))
    old_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    new_content: Mapped[bytes | None] = mapped_column(LargeBinary)


class Watcher(Base):
    """A process that carries out decisions on sessions nobody runs (an open window): the command line names it."""

    __tablename__ = "watchers"

    # host:pid:token, as a runner id (app.services.sessions.new_runner_id).
    runner_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # 'window' (the one kind so far)
    kind: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, index=True)
