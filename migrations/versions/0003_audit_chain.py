"""Decisions form a hash chain: each stores the shown_hash of the proposal it judged, the previous decision's chain
hash, the sha256 of its own canonical content, and the hash of both.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Existing decisions are sealed here in id order, so `signoff audit verify` holds for them too. The canonical content is
spelled out below rather than imported from app.store.audit: a migration must keep meaning what it meant when written
(a test checks both give the same hashes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _timestamp(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        # SQLite hands back text when read without the model's types.
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_value(value):
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def _content_hash(row, shown_hash: str | None) -> str:
    edited = row.edited_content
    document = {
        "id": row.id,
        "proposal_id": row.proposal_id,
        "shown_hash": shown_hash,
        "verdict": row.verdict,
        "reason": row.reason,
        "edited_sha256": None if edited is None else hashlib.sha256(bytes(edited)).hexdigest(),
        "reviewer": row.reviewer,
        "decided_at": _timestamp(row.decided_at),
        "channel": row.channel,
        "hunk_verdicts": _json_value(row.hunk_verdicts),
        "strength": row.strength,
        "review_stage": None,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("shown_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("chain_hash", sa.String(64), nullable=True))

    if context.is_offline_mode():
        # SQL written for a DBA cannot compute hashes; decisions already stored stay unsealed (verify says so).
        return
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT d.id, d.proposal_id, d.verdict, d.reason, d.edited_content, d.reviewer, d.decided_at, d.channel, "
            "d.hunk_verdicts, d.strength, p.shown_hash AS proposal_shown_hash "
            "FROM decisions d JOIN proposals p ON p.id = d.proposal_id ORDER BY d.id"
        )
    ).all()
    previous = GENESIS
    update = sa.text(
        "UPDATE decisions SET shown_hash = :shown, prev_hash = :prev, content_hash = :content, chain_hash = :chain "
        "WHERE id = :id"
    )
    for row in rows:
        content = _content_hash(row, row.proposal_shown_hash)
        chain = hashlib.sha256(f"{previous}:{content}".encode("ascii")).hexdigest()
        connection.execute(
            update,
            {"shown": row.proposal_shown_hash, "prev": previous, "content": content, "chain": chain, "id": row.id},
        )
        previous = chain


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("chain_hash")
        batch.drop_column("content_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("shown_hash")
