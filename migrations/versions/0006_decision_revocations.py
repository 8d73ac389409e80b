"""Undo as its own entry in the audit chain: a decision may revoke an earlier one instead of being deleted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Deleting an undone decision could only ever take back the newest link of the hash chain, so with many reviewers one
person's undo was refused whenever anyone decided after them. Now an undo appends a decision with verdict 'undo' whose
``revokes_id`` names the decision it takes back; both stay sealed in the chain and readers skip them. Existing rows
revoke nothing (NULL), and their content hashes do not change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain indexed column: SQLite adds it in place (a foreign key would need a copy of every decision). An undo and
    # the decision it names belong to one proposal, whose ON DELETE CASCADE removes both.
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("revokes_id", _id_type(), nullable=True))
    op.create_index(op.f("ix_decisions_revokes_id"), "decisions", ["revokes_id"])


def downgrade() -> None:
    # Undo entries mean nothing to an older Signoff (it would read them as verdicts): the undone decisions they name
    # are removed with them, as that version's undo did, so what it reads is what this one showed.
    op.execute(
        "DELETE FROM decisions WHERE id IN (SELECT revokes_id FROM decisions WHERE revokes_id IS NOT NULL)"
        " OR revokes_id IS NOT NULL"
    )
    op.drop_index(op.f("ix_decisions_revokes_id"), table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("revokes_id")
