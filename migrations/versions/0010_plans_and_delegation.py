"""Plans and delegation: a session's mode (plan / act), its parent, role and depth in a tree of agents, the delegate
call that started it, the plan step it works on, and the budget its tree may spend.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Every column is nullable (or has a default) and is added in place: sessions made before this revision are roots of
their own one-agent tree, outside plan mode, without a budget. Plans themselves are proposals of kind 'plan'.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("delegation_limits", "plan_step", "parent_tool_use_id", "depth", "role", "mode", "parent_id")


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("parent_id", _id_type(), nullable=True))
        batch.add_column(sa.Column("mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("role", sa.String(32), nullable=True))
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("parent_tool_use_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("plan_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delegation_limits", sa.JSON(), nullable=True))
    # One child per delegate call: a runner resumed after a crash finds the child instead of starting another.
    op.create_index("ix_sessions_parent_tool_use", "sessions", ["parent_id", "parent_tool_use_id"], unique=True)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy would recreate sessions and cascade-delete its rows.
    op.drop_index("ix_sessions_parent_tool_use", table_name="sessions")
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
