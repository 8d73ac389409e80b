"""The critic through the real anthropic SDK against the stand-in: a structured verdict stored with the proposal, the
rubric cached (one write, then reads), the verifier's result read, blind mode, and human-critic agreement."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from app.domain.judgments import JudgeConfig
from app.services import review
from app.services.critic import Critic
from app.services.judges import critic_agreement, judged
from app.services.settings import Settings
from app.services.verifier import Verifier
from app.standin.server import StandinServer
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.agent_harness import run
from tests.support.judges import BROKEN_ADD, FIXED_HALF, file_proposal, tiny_pytest_workspace
from tests.support.scripted_scenario import ScriptedScenario


class StandinEndpoints:
    """Clients of the real SDK pointed at one stand-in server, whatever the session's endpoint."""

    def __init__(self, server: StandinServer) -> None:
        self.server = server

    def client(self, endpoint: str) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.server.base_url, api_key="sk-ant-test", max_retries=0)


@pytest.fixture
def server():
    with StandinServer(ScriptedScenario([])) as standin:
        yield standin


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "critic.db"))
    repository = AsyncRepository(Repository(database))
    yield repository
    repository.close()
    database.close()


def test_the_critic_answers_with_a_structured_verdict_stored_with_the_proposal(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="t1")

    result = run(Critic(repository, StandinEndpoints(server)).critique(proposal))

    assert result.status == "done"
    assert result.verdict == "approve" and 0 <= result.score <= 1
    assert result.principles and result.rationale
    body = server.critic_bodies[-1]
    assert body["model"] == Settings().critic_model
    assert body["tool_choice"] == {"type": "tool", "name": "record_verdict"}
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "Fix calc" in body["messages"][0]["content"][0]["text"]
    shown = judged(repository.sync, [proposal])[proposal.id].as_json()
    assert shown["critic"]["verdict"] == "approve"


def test_the_critic_reads_the_verifier_result_and_rejects_a_change_that_breaks_a_test(
    tmp_path, server, repository
) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    proposal = file_proposal(repository.sync, root, "calc.py", BROKEN_ADD, tool_use_id="t1")

    async def judge():
        await Verifier(repository).verify(proposal)
        return await Critic(repository, StandinEndpoints(server)).critique(proposal)

    result = run(judge())

    assert result.verdict == "reject"
    assert "tests" in result.principles
    assert "test_calc.py::test_add" in result.rationale
    assert "<verifier>" in server.critic_bodies[-1]["messages"][0]["content"][0]["text"]


def test_the_rubric_is_written_to_the_cache_once_and_read_by_every_later_call(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    repository.sync.judgments.set_config(str(root), JudgeConfig(critic_rubric="Only approve changes to calc.py. " * 60))
    proposals = [
        file_proposal(repository.sync, root, "calc.py", FIXED_HALF + f"# {n}\n", tool_use_id=f"t{n}") for n in range(5)
    ]
    critic = Critic(repository, StandinEndpoints(server))

    async def all_of_them():
        for proposal in proposals:
            await critic.critique(proposal)

    run(all_of_them())

    writes = [usage.get("cache_creation_input_tokens", 0) for usage in critic.usages]
    reads = [usage.get("cache_read_input_tokens", 0) for usage in critic.usages]
    assert writes[0] > 0 and writes[1:] == [0, 0, 0, 0]
    assert reads[0] == 0 and all(read > 0 for read in reads[1:])


def test_in_blind_mode_the_critic_is_hidden_until_the_person_decides(tmp_path, server, repository) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    repository.sync.judgments.set_config(str(root), JudgeConfig(critic_blind=True))
    proposal = file_proposal(repository.sync, root, "calc.py", FIXED_HALF, tool_use_id="t1")
    run(Critic(repository, StandinEndpoints(server)).critique(proposal))

    before = judged(repository.sync, [proposal])[proposal.id].as_json()
    review.decide(repository.sync, review.approve(proposal.id, "ada"))
    after = judged(repository.sync, [repository.sync.proposals.get(proposal.id)])[proposal.id].as_json()

    assert before["critic"] is None and before["critic_hidden"] is True
    assert after["critic"]["verdict"] == "approve" and after["critic_hidden"] is False


def test_human_critic_agreement_gives_percent_and_kappa_per_reviewer_and_workspace(
    tmp_path, server, repository
) -> None:
    root = tiny_pytest_workspace(tmp_path / "ws")
    critic = Critic(repository, StandinEndpoints(server))
    # The stand-in critic approves a plain change and rejects one that deletes a test.
    plain = [
        file_proposal(repository.sync, root, "calc.py", FIXED_HALF + f"# {n}\n", tool_use_id=f"p{n}") for n in range(3)
    ]
    gutted = [
        file_proposal(repository.sync, root, "test_calc.py", f"# no tests {n}\n", tool_use_id=f"g{n}") for n in range(3)
    ]

    async def critique_all():
        for proposal in plain + gutted:
            await critic.critique(proposal)

    run(critique_all())
    for proposal in plain[:2] + gutted[:1]:  # ada agrees on three...
        verdict = review.approve(proposal.id, "ada") if proposal in plain else review.reject(proposal.id, "ada", "no")
        review.decide(repository.sync, verdict)
    review.decide(repository.sync, review.approve(plain[2].id, "bo"))  # ...bo agrees...
    review.decide(repository.sync, review.approve(gutted[1].id, "bo"))  # ...and disagrees once.

    figures = {(a.scope, a.name): a for a in critic_agreement(repository.sync.judgments.human_and_critic())}

    ada, bo, overall = figures[("reviewer", "ada")], figures[("reviewer", "bo")], figures[("all", "all")]
    assert (ada.items, ada.percent_agreement, ada.kappa) == (3, 1.0, 1.0)
    assert (bo.items, bo.percent_agreement) == (2, 0.5)
    assert overall.items == 5 and overall.percent_agreement == pytest.approx(0.8)
    # 4 of 5 agree; chance = (4/5 * 3/5) + (1/5 * 2/5) = 0.56; kappa = (0.8 - 0.56) / 0.44
    assert overall.kappa == pytest.approx((0.8 - 0.56) / 0.44)
    assert figures[("workspace", str(root))].items == 5
