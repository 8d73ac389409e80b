"""Machine judges: per-workspace judge settings, the verifier's cached baselines and runs, and the critic's verdicts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Four new tables and no change to existing ones: proposals made before this revision simply have no verifier run and
no critic verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _proposal_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["proposal_id"], ["proposals.id"], name=op.f(f"fk_{table}_proposal_id_proposals"), ondelete="CASCADE"
    )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "judge_settings",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("workspace_id", _id_type(), nullable=False),
        sa.Column("verify_command", sa.Text(), nullable=True),
        sa.Column("verify_timeout_s", sa.Float(), nullable=True),
        sa.Column("verify_on", sa.String(length=16), nullable=True),
        sa.Column("critic_rubric", sa.Text(), nullable=True),
        sa.Column("critic_blind", sa.Boolean(), nullable=True),
        sa.Column("sensitive_globs", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", _timestamp(), nullable=False),
        _workspace_fk("judge_settings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judge_settings")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_judge_settings_workspace_id")),
    )
    op.create_table(
        "verifier_baselines",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("workspace_id", _id_type(), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("tree_hash", sa.String(length=64), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        _workspace_fk("verifier_baselines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifier_baselines")),
        sa.UniqueConstraint("workspace_id", "cache_key", name="uq_verifier_baselines_workspace_key"),
    )
    op.create_index(op.f("ix_verifier_baselines_workspace_id"), "verifier_baselines", ["workspace_id"])
    op.create_table(
        "verifier_runs",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("proposal_id", _id_type(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("tree_hash", sa.String(length=64), nullable=True),
        sa.Column("started_at", _timestamp(), nullable=False),
        sa.Column("finished_at", _timestamp(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("newly_failing", sa.JSON(), nullable=True),
        sa.Column("newly_passing", sa.JSON(), nullable=True),
        sa.Column("still_failing", sa.JSON(), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("output_hash", sa.String(length=64), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("network_isolated", sa.Boolean(), nullable=False),
        sa.Column("baseline_reused", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _proposal_fk("verifier_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifier_runs")),
    )
    op.create_index(op.f("ix_verifier_runs_proposal_id"), "verifier_runs", ["proposal_id"])
    op.create_table(
        "critic_verdicts",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("proposal_id", _id_type(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("principles", sa.JSON(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("finished_at", _timestamp(), nullable=True),
        _proposal_fk("critic_verdicts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critic_verdicts")),
    )
    op.create_index(op.f("ix_critic_verdicts_proposal_id"), "critic_verdicts", ["proposal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_critic_verdicts_proposal_id"), table_name="critic_verdicts")
    op.drop_table("critic_verdicts")
    op.drop_index(op.f("ix_verifier_runs_proposal_id"), table_name="verifier_runs")
    op.drop_table("verifier_runs")
    op.drop_index(op.f("ix_verifier_baselines_workspace_id"), table_name="verifier_baselines")
    op.drop_table("verifier_baselines")
    op.drop_table("judge_settings")
