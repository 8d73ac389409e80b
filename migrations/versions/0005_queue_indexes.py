"""Indexes for the review queue: decisions by time (progress figures) and waiting proposals by session.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Without them, 'decided today' scans every decision ever made and the session filter probes every session's history;
with a million decisions that is most of a second per look.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    op.create_index("ix_proposals_status_session", "proposals", ["status", "session_id"])


def downgrade() -> None:
    op.drop_index("ix_proposals_status_session", table_name="proposals")
    op.drop_index("ix_decisions_decided_at", table_name="decisions")
