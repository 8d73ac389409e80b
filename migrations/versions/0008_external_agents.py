"""External agents (Claude Code, the Agent SDK, Codex, ACP) as sessions: where a session comes from, its id there and
its transcript; on proposals, who waits for them on the agent's side and why one was withdrawn.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Every column is nullable and added in place (no table copy on SQLite): Signoff's own sessions have no source, and
proposals its own runner waits for have no external waiter. One unique index finds an external session by its id.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("source", sa.String(32), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("transcript_path", sa.Text(), nullable=True))
    # NULLs are distinct in a unique index (SQLite and PostgreSQL), so Signoff's own sessions never collide.
    op.create_index("ix_sessions_source_external", "sessions", ["source", "external_id"], unique=True)
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("waiter_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("waiter_heartbeat_at", _timestamp(), nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("protocol_note", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy would drop and recreate sessions and proposals, and
    # their ON DELETE CASCADE would take the transcripts and decisions with them.
    op.drop_index("ix_sessions_source_external", table_name="sessions")
    for table, columns in (
        ("proposals", ("protocol_note", "withdrawn_reason", "waiter_heartbeat_at", "waiter_id")),
        ("sessions", ("transcript_path", "external_id", "source")),
    ):
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
