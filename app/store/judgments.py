"""The machine judges' store: per-workspace judge settings, cached verifier baselines, verifier runs and critic
verdicts, and the human-versus-critic pairs agreement is measured on. Plain records in and out. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from app.domain.judgments import CRITIC_REVIEWER, CriticResult, JudgeConfig, VerifierResult, checked_config
from app.domain.records import as_utc
from app.domain.test_reports import TestReport
from app.store.audit import live_decisions
from app.store.base import StoreBase
from app.store.models import (
    CriticVerdict,
    Decision,
    JudgeSettings,
    Proposal,
    VerifierBaseline,
    VerifierRun,
    Workspace,
    utcnow,
)
from app.store.workspaces import workspace_row

_VERIFIER_RESULT_FIELDS = {
    "status",
    "seconds",
    "exit_code",
    "passed",
    "failed",
    "skipped",
    "newly_failing",
    "newly_passing",
    "still_failing",
    "reward",
    "output_hash",
    "excerpt",
    "network_isolated",
    "baseline_reused",
    "note",
    "tree_hash",
    "command",
}


def _verifier_result(row: VerifierRun) -> VerifierResult:
    return VerifierResult(
        proposal_id=row.proposal_id,
        status=row.status,
        command=row.command,
        started_at=as_utc(row.started_at),
        seconds=row.seconds,
        exit_code=row.exit_code,
        passed=row.passed or 0,
        failed=row.failed or 0,
        skipped=row.skipped or 0,
        newly_failing=list(row.newly_failing or []),
        newly_passing=list(row.newly_passing or []),
        still_failing=list(row.still_failing or []),
        reward=row.reward,
        output_hash=row.output_hash,
        excerpt=row.excerpt,
        network_isolated=bool(row.network_isolated),
        baseline_reused=bool(row.baseline_reused),
        note=row.note,
    )


def _critic_result(row: CriticVerdict) -> CriticResult:
    return CriticResult(
        proposal_id=row.proposal_id,
        status=row.status,
        model=row.model,
        verdict=row.verdict,
        score=row.score,
        principles=list(row.principles or []),
        rationale=row.rationale,
        usage=row.usage,
        error=row.error,
    )


def _latest_per_proposal(orm: OrmSession, model: Any, proposal_ids: list[int]) -> list[Any]:
    if not proposal_ids:
        return []
    newest = (
        select(func.max(model.id))
        .where(model.proposal_id.in_(proposal_ids))
        .group_by(model.proposal_id)
        .scalar_subquery()
    )
    return list(orm.scalars(select(model).where(model.id.in_(newest))))


class Judgments(StoreBase):
    """One aggregate of the repository: ``Repository(database).judgments``. Synchronous; call it from one thread."""

    # -- settings --------------------------------------------------------------------------------------------------

    def config(self, workspace_root: str) -> JudgeConfig:
        with self._orm() as orm:
            row = orm.scalar(select(JudgeSettings).join(Workspace).where(Workspace.root_path == workspace_root))
            if row is None:
                return JudgeConfig()
            return JudgeConfig(
                verify_command=row.verify_command,
                verify_timeout_s=row.verify_timeout_s,
                verify_on=row.verify_on,
                critic_rubric=row.critic_rubric,
                critic_blind=row.critic_blind,
                sensitive_globs=None if row.sensitive_globs is None else tuple(row.sensitive_globs),
                updated_by=row.updated_by,
                auto_approve_kappa=row.auto_approve_kappa,
                auto_approve_window=row.auto_approve_window,
                auto_approve_kinds=None if row.auto_approve_kinds is None else tuple(row.auto_approve_kinds),
                auto_approve_max_risk=row.auto_approve_max_risk,
            )

    def set_config(self, workspace_root: str, config: JudgeConfig) -> JudgeConfig:
        """Replace a workspace's judge settings (None fields: the Settings default). Raises JudgeSettingsError."""
        config = checked_config(config)
        with self._orm() as orm, orm.begin():
            workspace = workspace_row(orm, workspace_root)
            row = orm.scalar(select(JudgeSettings).where(JudgeSettings.workspace_id == workspace.id))
            if row is None:
                row = JudgeSettings(workspace_id=workspace.id)
                orm.add(row)
            row.verify_command = config.verify_command
            row.verify_timeout_s = config.verify_timeout_s
            row.verify_on = config.verify_on
            row.critic_rubric = config.critic_rubric
            row.critic_blind = config.critic_blind
            row.sensitive_globs = None if config.sensitive_globs is None else list(config.sensitive_globs)
            row.updated_by = config.updated_by
            row.auto_approve_kappa = config.auto_approve_kappa
            row.auto_approve_window = config.auto_approve_window
            row.auto_approve_kinds = None if config.auto_approve_kinds is None else list(config.auto_approve_kinds)
            row.auto_approve_max_risk = config.auto_approve_max_risk
            row.updated_at = utcnow()
        return config

    # -- verifier baselines ----------------------------------------------------------------------------------------

    def baseline(self, workspace_root: str, cache_key: str) -> tuple[TestReport, float] | None:
        with self._orm() as orm:
            row = orm.scalar(
                select(VerifierBaseline)
                .join(Workspace)
                .where(Workspace.root_path == workspace_root, VerifierBaseline.cache_key == cache_key)
            )
            return None if row is None else (TestReport.from_json(row.report), row.seconds)

    def save_baseline(
        self, workspace_root: str, *, cache_key: str, tree_hash: str, command: str, report: TestReport, seconds: float
    ) -> None:
        try:
            with self._orm() as orm, orm.begin():
                workspace = workspace_row(orm, workspace_root)
                orm.add(
                    VerifierBaseline(
                        workspace_id=workspace.id,
                        cache_key=cache_key,
                        tree_hash=tree_hash,
                        command=command,
                        report=report.as_json(),
                        seconds=seconds,
                    )
                )
        except IntegrityError:
            pass  # another process ran the same baseline at the same time; theirs is as good

    def baseline_count(self, workspace_root: str) -> int:
        with self._orm() as orm:
            return (
                orm.scalar(
                    select(func.count(VerifierBaseline.id)).join(Workspace).where(Workspace.root_path == workspace_root)
                )
                or 0
            )

    # -- verifier runs ---------------------------------------------------------------------------------------------

    def start_verifier_run(self, proposal_id: int, *, command: str | None, status: str = "running") -> int:
        with self._orm() as orm, orm.begin():
            row = VerifierRun(
                proposal_id=proposal_id,
                status=status,
                command=command,
                passed=0,
                failed=0,
                skipped=0,
                network_isolated=False,
                baseline_reused=False,
            )
            orm.add(row)
            orm.flush()
            return row.id

    def finish_verifier_run(self, run_id: int, **values: Any) -> None:
        unknown = set(values) - _VERIFIER_RESULT_FIELDS
        if unknown:
            raise ValueError(f"not verifier run fields: {sorted(unknown)}")
        with self._orm() as orm, orm.begin():
            row = orm.get(VerifierRun, run_id)
            if row is None:
                return
            for name, value in values.items():
                setattr(row, name, value)
            row.finished_at = utcnow()

    def verifier_results(self, proposal_ids: Iterable[int]) -> dict[int, VerifierResult]:
        """The latest verifier run of each proposal that has one."""
        with self._orm() as orm:
            rows = _latest_per_proposal(orm, VerifierRun, list(proposal_ids))
            return {row.proposal_id: _verifier_result(row) for row in rows}

    def abandon_running(self, older_than: dt.datetime) -> int:
        """Runs left 'running' by a process that died: marked 'error' so nobody waits on them."""
        with self._orm() as orm, orm.begin():
            rows = orm.scalars(
                select(VerifierRun).where(VerifierRun.status == "running", VerifierRun.started_at < older_than)
            ).all()
            for row in rows:
                row.status = "error"
                row.note = "The process running it stopped before it finished."
                row.finished_at = utcnow()
            return len(rows)

    # -- critic ----------------------------------------------------------------------------------------------------

    def start_critic(self, proposal_id: int, *, model: str) -> int:
        with self._orm() as orm, orm.begin():
            row = CriticVerdict(proposal_id=proposal_id, status="running", model=model)
            orm.add(row)
            orm.flush()
            return row.id

    def finish_critic(
        self,
        critic_id: int,
        *,
        verdict: str | None = None,
        score: float | None = None,
        principles: list[str] | None = None,
        rationale: str | None = None,
        usage: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self._orm() as orm, orm.begin():
            row = orm.get(CriticVerdict, critic_id)
            if row is None:
                return
            row.status = "error" if error else "done"
            row.verdict, row.score, row.principles, row.rationale = verdict, score, principles, rationale
            row.usage, row.error, row.finished_at = usage, error, utcnow()

    def critic_results(self, proposal_ids: Iterable[int]) -> dict[int, CriticResult]:
        with self._orm() as orm:
            rows = _latest_per_proposal(orm, CriticVerdict, list(proposal_ids))
            return {row.proposal_id: _critic_result(row) for row in rows}

    def human_and_critic(
        self, workspace_root: str | None = None, *, last: int | None = None
    ) -> list[tuple[int, str, str, str, str | None]]:
        """(proposal id, workspace, reviewer, human verdict, critic verdict) for every live human decision on a
        proposal the critic judged (``last``: only the newest so many), oldest first. An edit counts as not approving
        the proposal as it was: 'reject'. The critic's own decisions are never among them."""
        newest = (
            select(func.max(CriticVerdict.id)).where(CriticVerdict.status == "done").group_by(CriticVerdict.proposal_id)
        )
        query = (
            select(Proposal.id, Workspace.root_path, Decision.reviewer, Decision.verdict, CriticVerdict.verdict)
            .join(Decision, Decision.proposal_id == Proposal.id)
            .join(CriticVerdict, CriticVerdict.proposal_id == Proposal.id)
            .join(Proposal.session)
            .join(Workspace)
            .where(CriticVerdict.id.in_(newest), live_decisions(), Decision.reviewer != CRITIC_REVIEWER)
            .order_by(Decision.id.desc())
        )
        if workspace_root is not None:
            query = query.where(Workspace.root_path == workspace_root)
        if last is not None:
            query = query.limit(last)
        with self._orm() as orm:
            rows = orm.execute(query).all()
        return [
            (pid, root, reviewer, "approve" if human == "approve" else "reject", critic)
            for pid, root, reviewer, human, critic in reversed(rows)
        ]

    def critic_decisions(self, since: dt.datetime) -> list[tuple[int, dt.datetime, str | None]]:
        """(proposal id, when, reason) of the critic's own standing decisions (auto-approvals) since ``since``,
        newest first."""
        query = (
            select(Decision.proposal_id, Decision.decided_at, Decision.reason)
            .where(Decision.reviewer == CRITIC_REVIEWER, Decision.decided_at >= since, live_decisions())
            .order_by(Decision.id.desc())
        )
        with self._orm() as orm:
            return [(pid, as_utc(at), reason) for pid, at, reason in orm.execute(query).all()]
