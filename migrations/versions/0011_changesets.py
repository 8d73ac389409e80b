"""Changesets: a changeset-mode session's worktree, and the files of a proposal of kind 'changeset'.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Two new tables and no change to existing ones: sessions made before this revision have no worktree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "session_worktrees",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("session_id", _id_type(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("git_dir", sa.Text(), nullable=True),
        sa.Column("branch", sa.String(length=200), nullable=True),
        sa.Column("base_commit", sa.String(length=64), nullable=True),
        sa.Column("propose_requested", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_session_worktrees_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_worktrees")),
        sa.UniqueConstraint("session_id", name=op.f("uq_session_worktrees_session_id")),
    )
    op.create_table(
        "changeset_files",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("proposal_id", _id_type(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("base_hash", sa.String(length=64), nullable=True),
        sa.Column("old_content", sa.LargeBinary(), nullable=True),
        sa.Column("new_content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_changeset_files_proposal_id_proposals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changeset_files")),
        sa.UniqueConstraint("proposal_id", "position", name="uq_changeset_files_proposal_position"),
    )
    op.create_index(op.f("ix_changeset_files_proposal_id"), "changeset_files", ["proposal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_changeset_files_proposal_id"), table_name="changeset_files")
    op.drop_table("changeset_files")
    op.drop_table("session_worktrees")
