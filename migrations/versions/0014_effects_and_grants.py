"""Grants on decisions: what an approval (or the rule that allowed a command) let the sandboxed command do beyond
writing the workspace's own files ({"git_writes": true, "network": true}); None for everything decided before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

One nullable column; proposals of kind 'effects' (a command's held changes) need no schema change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("grants", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("grants")
