"""Team mode: claims with a lease on proposals, the review stage of each decision, per-workspace review rules, and
(PostgreSQL only) a NOTIFY on every queue change so windows elsewhere refresh at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

All new proposal and decision columns are nullable: rows made before this revision were never claimed and were
decided by one review.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here and in app/store/notify.py: a migration must keep meaning what it meant when it was written.
NOTIFY_CHANNEL = "signoff_queue"

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION signoff_notify_queue() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object('id', NEW.id, 'status', NEW.status,
                                                             'event', 'proposal')::text);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object('id', NEW.id, 'status', NEW.status,
                                                             'event', 'status')::text);
    ELSIF NEW.claimed_by IS DISTINCT FROM OLD.claimed_by THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object('id', NEW.id, 'status', NEW.status,
                                                             'event', 'claim')::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("claim_expires_at", _timestamp(), nullable=True))
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("review_stage", sa.String(length=16), nullable=True))
    op.create_table(
        "review_rules",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("workspace_id", _id_type(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("path_globs", sa.JSON(), nullable=False),
        sa.Column("adjudicators", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_review_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_rules")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_review_rules_workspace_id")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        # AFTER ... FOR EACH ROW: the notification is sent at commit, and not at all if the transaction rolls back.
        op.execute(
            "CREATE TRIGGER signoff_notify_queue AFTER INSERT OR UPDATE OF status, claimed_by ON proposals "
            "FOR EACH ROW EXECUTE FUNCTION signoff_notify_queue()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS signoff_notify_queue ON proposals")
        op.execute("DROP FUNCTION IF EXISTS signoff_notify_queue()")
    op.drop_table("review_rules")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("review_stage")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("claim_expires_at")
        batch.drop_column("claimed_by")
