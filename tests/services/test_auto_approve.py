"""Critic auto-approval on a real SQLite file with the critic answering through the real SDK against the stand-in:
allowed only at or above the owner's kappa over the last N decisions, for the kinds they named and low risk; recorded
as reviewer `critic` through the one decision path, undoable by a person, said aloud; never otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.judgments import JudgeConfig
from app.services import decisions, review
from app.services.auto_approve import AutoApprover, evaluate
from app.services.critic import Critic
from app.standin.server import StandinServer
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.errors import UndoRefusedError
from app.store.repository import Repository
from tests.services.test_critic import StandinEndpoints
from tests.support.agent_harness import run
from tests.support.judges import FIXED_HALF, file_proposal, tiny_pytest_workspace
from tests.support.scripted_scenario import ScriptedScenario


@pytest.fixture
def server():
    with StandinServer(ScriptedScenario([])) as standin:
        yield standin


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "auto.db"))
    repository = AsyncRepository(Repository(database))
    yield repository
    repository.close()
    database.close()


def _history(store: Repository, root: Path, *, agreeing: int, disagreeing: int = 0) -> None:
    """Human decisions on proposals the critic judged: half approved by both, half rejected by both (agreeing), then
    ``disagreeing`` the person rejected though the critic approved."""
    for n in range(agreeing + disagreeing):
        proposal = file_proposal(store, root, "calc.py", FIXED_HALF + f"# h{n}\n", tool_use_id=f"h{n}")
        critic_id = store.judgments.start_critic(proposal.id, model="m")
        says = "approve" if n % 2 == 0 or n >= agreeing else "reject"
        store.judgments.finish_critic(critic_id, verdict=says, score=0.8, principles=["scope"], rationale="r")
        human = says if n < agreeing else "reject"
        request = review.approve(proposal.id, "ada") if human == "approve" else review.reject(proposal.id, "ada", "no")
        decisions.decide(store, request, decisions.Actor.cli("ada"))


def _allow(store: Repository, root: Path, **overrides) -> None:
    config = {"auto_approve_kappa": 0.8, "auto_approve_window": 10, "auto_approve_kinds": ("edit",), **overrides}
    store.judgments.set_config(str(root), JudgeConfig(**config))


def _approver(repository, notices):
    async def decide(request, actor):
        return await repository.write(decisions.decide, request, actor)

    return AutoApprover(repository, decide, notices.append)


def test_the_critic_approves_a_low_risk_edit_as_reviewer_critic_when_its_kappa_meets_the_owners_threshold(
    tmp_path, server, repository
) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    _history(repository.sync, root, agreeing=10)
    _allow(repository.sync, root)
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="new")
    run(Critic(repository, StandinEndpoints(server)).critique(proposal))
    notices = []

    done = run(_approver(repository, notices).consider(proposal.id))

    decision = repository.sync.proposals.visible_decision(proposal.id)
    assert done is not None and notices == [done]
    assert (decision.verdict, decision.reviewer, decision.channel) == ("approve", "critic", "critic")
    assert "kappa" in decision.reason and "1.00 over the last 10 decisions" in decision.reason
    assert "u takes it back" in done.notice and f"#{proposal.id}" in done.notice
    # The critic's own decisions never count toward its agreement with people.
    assert all(reviewer == "ada" for _, _, reviewer, _, _ in repository.sync.judgments.human_and_critic())
    assert [pid for pid, _, _ in repository.sync.judgments.critic_decisions(decision.decided_at)] == [proposal.id]


def test_a_person_takes_back_the_critics_approval_like_any_decision(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    _history(repository.sync, root, agreeing=10)
    _allow(repository.sync, root)
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="new")
    run(Critic(repository, StandinEndpoints(server)).critique(proposal))
    run(_approver(repository, []).consider(proposal.id))

    back = decisions.undo(repository.sync, proposal.id, decisions.Actor.cli("bo"), window_s=60)

    assert back.status == "pending"
    assert repository.sync.proposals.visible_decision(proposal.id) is None


def test_below_the_threshold_the_critic_never_approves(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    _history(repository.sync, root, agreeing=7, disagreeing=3)
    _allow(repository.sync, root)
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="new")
    run(Critic(repository, StandinEndpoints(server)).critique(proposal))

    _, verdict = evaluate(repository.sync, proposal.id)
    done = run(_approver(repository, []).consider(proposal.id))

    assert done is None and not verdict.allowed
    assert "below the threshold 0.80" in verdict.why
    assert repository.sync.proposals.get(proposal.id).status == "pending"


def test_a_high_risk_item_or_a_kind_the_owner_did_not_name_is_never_auto_approved(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    _history(repository.sync, root, agreeing=10)
    _allow(repository.sync, root, auto_approve_kinds=("edit", "create"))
    (root / ".github").mkdir()
    (root / ".github" / "ci.yml").write_text("on: push\n")
    sensitive = file_proposal(repository.sync, root, ".github/ci.yml", "on: [push, pull_request]\n", tool_use_id="s")
    plain_edit = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="e")
    critic = Critic(repository, StandinEndpoints(server))
    run(critic.critique(sensitive))
    run(critic.critique(plain_edit))

    _, risky = evaluate(repository.sync, sensitive.id)
    _allow(repository.sync, root, auto_approve_kinds=("create",))
    _, unnamed = evaluate(repository.sync, plain_edit.id)

    assert not risky.allowed and "risk" in risky.why
    assert not unnamed.allowed and "edit proposals" in unnamed.why
    assert run(_approver(repository, []).consider(sensitive.id)) is None


def test_without_the_owners_threshold_auto_approval_is_off(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    _history(repository.sync, root, agreeing=10)
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="new")
    run(Critic(repository, StandinEndpoints(server)).critique(proposal))

    _, verdict = evaluate(repository.sync, proposal.id)

    assert not verdict.allowed and verdict.why == "Auto-approval is off for this workspace."


def test_nobody_else_may_decide_under_the_critics_name(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="new")

    with pytest.raises(review.ReviewError, match="the critic's name"):
        decisions.decide(repository.sync, review.approve(proposal.id, ""), decisions.Actor.cli("critic"))


def test_a_person_may_not_undo_another_persons_decision_still(tmp_path, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="new")
    decisions.decide(repository.sync, review.approve(proposal.id, ""), decisions.Actor.cli("ada"))

    with pytest.raises(UndoRefusedError, match="only they can undo it"):
        decisions.undo(repository.sync, proposal.id, decisions.Actor.cli("bo"), window_s=60)


def test_closing_while_the_critic_waits_on_a_running_verifier_cancels_the_judges_cleanly(
    tmp_path, server, repository
) -> None:
    """Closing the window cancels the judges mid-run: the runner's task ends cancelled, never with an error of its own
    (a missing import once turned the cancellation into a NameError logged at exit)."""
    import asyncio

    from app.services.events import ProposalWaiting
    from app.services.judges import JudgeRunner

    root = tiny_pytest_workspace(tmp_path / "ws")
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="slow")

    class RunningVerifier:
        """A verifier run still going when the window closes: its future ends only when shut down."""

        async def on_proposal(self, proposal):
            self.running = asyncio.get_running_loop().create_future()
            return self.running

        async def shutdown(self):
            self.running.cancel()

    async def scenario():
        runner = JudgeRunner(RunningVerifier(), Critic(repository, StandinEndpoints(server)), _approver(repository, []))
        runner(ProposalWaiting(proposal.session_id, proposal))
        (task,) = runner._tasks
        for _ in range(100):
            await asyncio.sleep(0)
            if runner.critic._tasks:
                break
        assert runner.critic._tasks, "the critic started and waits on the verifier"
        await runner.shutdown()
        return task

    task = run(scenario())
    assert task.cancelled() or task.exception() is None
