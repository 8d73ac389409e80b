"""Critic auto-approval: per workspace, the owner's kappa threshold, the number of recent decisions it is measured
over, the proposal kinds the critic may approve and the highest risk it may approve.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

Four nullable columns added in place on judge_settings (no table copy on SQLite): a NULL threshold keeps auto-approval
off, as it is for every workspace before this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("auto_approve_kappa", "auto_approve_window", "auto_approve_kinds", "auto_approve_max_risk")


def upgrade() -> None:
    with op.batch_alter_table("judge_settings") as batch:
        batch.add_column(sa.Column("auto_approve_kappa", sa.Float(), nullable=True))
        batch.add_column(sa.Column("auto_approve_window", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("auto_approve_kinds", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("auto_approve_max_risk", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): judge_settings has no dependants, but a batch copy is not needed.
    for column in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE judge_settings DROP COLUMN {column}")
