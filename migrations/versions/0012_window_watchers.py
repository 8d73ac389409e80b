"""Watchers: processes (an open window) that carry out decisions made elsewhere on sessions nobody runs.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

One new table and no change to existing ones; `signoff approve` reads it to say who will carry a decision out.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watchers",
        sa.Column("runner_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("runner_id", name=op.f("pk_watchers")),
    )
    op.create_index(op.f("ix_watchers_heartbeat_at"), "watchers", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_watchers_heartbeat_at"), table_name="watchers")
    op.drop_table("watchers")
