"""Compare mode: alternatives sampled for a waiting proposal, and on the decision which one was picked.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Two new tables (compares, alternatives) and one nullable JSON column on decisions: decisions made before this
revision compared nothing (NULL), and their content hashes do not change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "compares",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("proposal_id", _id_type(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_compares_proposal_id_proposals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compares")),
    )
    op.create_index(op.f("ix_compares_proposal_id"), "compares", ["proposal_id"])
    op.create_table(
        "alternatives",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("compare_id", _id_type(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("api_message_id", sa.String(length=200), nullable=True),
        sa.Column("stop_reason", sa.String(length=64), nullable=True),
        sa.Column("sampling", sa.JSON(), nullable=False),
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("tool_use_id", sa.String(length=200), nullable=True),
        sa.Column("tool_name", sa.String(length=200), nullable=True),
        sa.Column("tool_input", sa.JSON(), nullable=True),
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
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["compare_id"], ["compares.id"], name=op.f("fk_alternatives_compare_id_compares"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alternatives")),
        sa.UniqueConstraint("compare_id", "position", name="uq_alternatives_compare_position"),
    )
    op.create_index(op.f("ix_alternatives_compare_id"), "alternatives", ["compare_id"])
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("compare", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("compare")
    op.drop_index(op.f("ix_alternatives_compare_id"), table_name="alternatives")
    op.drop_table("alternatives")
    op.drop_index(op.f("ix_compares_proposal_id"), table_name="compares")
    op.drop_table("compares")
