"""Decisions keep a verdict per hunk and the reviewer's optional strength rating (1-5).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Both columns are nullable: decisions made before this revision judged whole proposals and carried no rating.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("hunk_verdicts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("strength", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("strength")
        batch.drop_column("hunk_verdicts")
