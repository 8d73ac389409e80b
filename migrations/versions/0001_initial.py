"""Initial schema: workspaces, sessions, the ordered transcript, proposals and decisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Types are spelled out here rather than imported from app.store.models: a migration must keep meaning what it meant
when it was written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_type() -> sa.types.TypeEngine:
    # SQLite autoincrements only a column spelled INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("root_path", sa.Text(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("root_path", name=op.f("uq_workspaces_root_path")),
    )

    op.create_table(
        "sessions",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("workspace_id", _id_type(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("sampling", sa.JSON(), nullable=False),
        sa.Column("max_turns", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("stop_reason", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_creation_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("runner_id", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", _timestamp(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("ended_at", _timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sessions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_status"), "sessions", ["status"], unique=False)
    op.create_index(op.f("ix_sessions_workspace_id"), "sessions", ["workspace_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("session_id", _id_type(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("api_message_id", sa.String(length=200), nullable=True),
        sa.Column("stop_reason", sa.String(length=64), nullable=True),
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_messages_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
    )

    op.create_table(
        "proposals",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("session_id", _id_type(), nullable=False),
        sa.Column("message_seq", sa.Integer(), nullable=False),
        sa.Column("tool_use_id", sa.String(length=200), nullable=False),
        sa.Column("tool_name", sa.String(length=200), nullable=False),
        sa.Column("tool_input", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("cwd", sa.Text(), nullable=True),
        sa.Column("base_hash", sa.String(length=64), nullable=True),
        sa.Column("old_content", sa.LargeBinary(), nullable=True),
        sa.Column("new_content", sa.LargeBinary(), nullable=True),
        sa.Column("shown_text", sa.Text(), nullable=False),
        sa.Column("shown_hash", sa.String(length=64), nullable=False),
        sa.Column("lines_added", sa.Integer(), nullable=False),
        sa.Column("lines_removed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("decided_at", _timestamp(), nullable=True),
        sa.Column("resolved_at", _timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_proposals_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
        sa.UniqueConstraint("session_id", "tool_use_id", name="uq_proposals_session_tool_use"),
    )
    op.create_index(op.f("ix_proposals_kind"), "proposals", ["kind"], unique=False)
    op.create_index(op.f("ix_proposals_session_id"), "proposals", ["session_id"], unique=False)
    op.create_index("ix_proposals_status_created", "proposals", ["status", "created_at"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("proposal_id", _id_type(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("edited_content", sa.LargeBinary(), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("time_on_screen_ms", sa.Integer(), nullable=True),
        sa.Column("shown_at", _timestamp(), nullable=True),
        sa.Column("decided_at", _timestamp(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_decisions_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_proposal_id"), "decisions", ["proposal_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_decisions_proposal_id"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_proposals_status_created", table_name="proposals")
    op.drop_index(op.f("ix_proposals_session_id"), table_name="proposals")
    op.drop_index(op.f("ix_proposals_kind"), table_name="proposals")
    op.drop_table("proposals")
    op.drop_table("messages")
    op.drop_index(op.f("ix_sessions_workspace_id"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_status"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("workspaces")
