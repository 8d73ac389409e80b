"""The machine judges beside the person, as the queue, ``show`` and exports read them: each proposal's latest verifier
run, critic verdict (hidden until decided in blind mode) and risk score; and the runner that starts the judges when a
proposal starts waiting. No Qt here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.domain.agreement import cohens_kappa
from app.domain.judgments import DEFAULT_SENSITIVE_GLOBS, CriticResult, JudgeConfig, VerifierResult
from app.domain.risk import Risk, risk_of
from app.services.events import ProposalWaiting, SessionEvent
from app.services.settings import Settings

log = logging.getLogger(__name__)

# Statuses in which a person has not decided yet: in blind mode the critic stays hidden while a proposal has one.
UNDECIDED = ("pending", "awaiting_second_review", "disputed")


@dataclass(frozen=True)
class Judged:
    verifier: VerifierResult | None
    critic: CriticResult | None
    # The critic has answered but blind mode keeps it from the reviewer until they decide.
    critic_hidden: bool
    risk: Risk

    def as_json(self) -> dict[str, Any]:
        return {
            "verifier": None if self.verifier is None else self.verifier.as_json(),
            "critic": None if self.critic is None or self.critic_hidden else self.critic.as_json(),
            "critic_hidden": self.critic_hidden,
            "risk": self.risk.score,
            "risk_reasons": list(self.risk.reasons),
        }


def is_team_database(repository) -> bool:
    """A shared PostgreSQL queue: several people review there."""
    return getattr(getattr(repository, "database", None), "dialect", "") == "postgresql"


def blind(config: JudgeConfig, settings: Settings, *, team: bool = False) -> bool:
    """Blind mode in force: the workspace's own choice, else on for a team's shared queue (so each person's label
    stays independent of the critic), else the person's Settings."""
    if config.critic_blind is not None:
        return config.critic_blind
    return True if team else settings.critic_blind


def judged(
    repository,
    proposals: Iterable[Any],
    flags: dict[int, Iterable[str]] | None = None,
    settings: Settings | None = None,
    *,
    reveal: bool = False,
) -> dict[int, Judged]:
    """Judges' results for proposal records (anything with id, kind, path, command, status, workspace_root and line
    counts), read with one query per judge; call on the database thread. ``reveal``: ignore blind mode (for the
    machine's own use, never for what a person is shown)."""
    proposals = list(proposals)
    settings = settings or Settings()
    team = is_team_database(repository)
    ids = [proposal.id for proposal in proposals]
    verifiers = repository.judgments.verifier_results(ids)
    critics = repository.judgments.critic_results(ids)
    configs: dict[str, JudgeConfig] = {}
    out = {}
    for proposal in proposals:
        root = proposal.workspace_root
        if root not in configs:
            configs[root] = repository.judgments.config(root)
        config = configs[root]
        critic = critics.get(proposal.id)
        hidden = (
            not reveal and critic is not None and blind(config, settings, team=team) and proposal.status in UNDECIDED
        )
        risk = risk_of(
            kind=proposal.kind,
            path=proposal.path,
            command=proposal.command,
            lines_changed=(proposal.lines_added or 0) + (proposal.lines_removed or 0),
            flags=(flags or {}).get(proposal.id, ()),
            verifier=verifiers.get(proposal.id),
            # Blind mode keeps the critic out of the score the reviewer sees, too: the order would give it away.
            critic=None if hidden else critic,
            sensitive_globs=config.sensitive_globs or DEFAULT_SENSITIVE_GLOBS,
        )
        out[proposal.id] = Judged(verifiers.get(proposal.id), critic, hidden, risk)
    return out


@dataclass(frozen=True)
class CriticAgreement:
    """Human versus critic on the proposals both judged: per reviewer and per workspace."""

    scope: str
    name: str
    items: int
    percent_agreement: float
    kappa: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "name": self.name,
            "items": self.items,
            "percent_agreement": round(self.percent_agreement * 100, 2),
            "kappa": None if self.kappa is None else round(self.kappa, 4),
        }


def critic_agreement(rows: Iterable[tuple[int, str, str, str, str]]) -> list[CriticAgreement]:
    """From ``Judgments.human_and_critic`` rows: agreement per reviewer, per workspace, and overall."""
    rows = list(rows)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for _, root, reviewer, human, critic in rows:
        for key in (("reviewer", reviewer), ("workspace", root), ("all", "all")):
            groups.setdefault(key, []).append((human, critic))
    out = []
    for (scope, name), pairs in sorted(groups.items()):
        agreed = sum(1 for human, critic in pairs if human == critic)
        out.append(CriticAgreement(scope, name, len(pairs), agreed / len(pairs), cohens_kappa(pairs)))
    return out


class JudgeRunner:
    """Starts the judges when a proposal starts waiting (a SessionManager listener); never waits on them."""

    def __init__(self, verifier=None, critic=None, auto_approver=None) -> None:
        self.verifier = verifier
        self.critic = critic
        # app.services.auto_approve.AutoApprover: asked after each verdict whether the critic may approve on its own.
        self.auto_approver = auto_approver
        self._tasks: set[asyncio.Task[Any]] = set()

    def __call__(self, event: SessionEvent) -> None:
        # A plan or a delegation is neither a diff nor a command: nothing to verify or criticise.
        if isinstance(event, ProposalWaiting) and event.proposal.kind not in ("plan", "delegate"):
            self._spawn(self._judge(event.proposal))

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _judge(self, proposal) -> None:
        verifier_task = None
        try:
            if self.verifier is not None:
                verifier_task = await self.verifier.on_proposal(proposal)
            critic_task = None
            if self.critic is not None:
                critic_task = await self.critic.on_proposal(proposal, verifier_task)
            if critic_task is not None and self.auto_approver is not None:
                result = await critic_task
                if result.status == "done" and result.verdict == "approve":
                    await self.auto_approver.consider(proposal.id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a judge could not start on proposal %s", proposal.id)

    async def shutdown(self) -> None:
        for judge in (self.verifier, self.critic):
            if judge is not None:
                await judge.shutdown()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
