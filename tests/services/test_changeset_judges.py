"""The machine judges take a changeset like any proposal: the verifier runs the tests with every file of the changeset
laid over a copy of the workspace (never the workspace itself), the critic reads the whole changeset's diff. Real git,
real pytest runs, the real SDK against the stand-in, real SQLite."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.domain.changeset import CHANGESET_KIND, build
from app.domain.records import ChangedFile
from app.services.critic import Critic
from app.services.verifier import Verifier
from app.standin.server import StandinServer
from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.repository import Repository
from tests.services.test_critic import StandinEndpoints
from tests.support.agent_harness import run
from tests.support.judges import BROKEN_ADD, CALC, TESTS, tiny_pytest_workspace
from tests.support.scripted_scenario import ScriptedScenario


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "judges.db"))
    repository = AsyncRepository(Repository(database))
    yield repository
    repository.close()
    database.close()


def changeset_proposal(repository: Repository, root: Path, files: list[ChangedFile]):
    session = repository.sessions.create(
        workspace_root=str(root),
        task="Fix calc",
        endpoint="anthropic",
        model="m",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=5,
    )
    diff = build(files)
    shown = diff.shown_text
    return repository.changesets.create_proposal(
        list(diff.files),
        session_id=session.id,
        message_seq=1,
        tool_use_id="changeset:1",
        tool_name="changeset",
        tool_input={"files": [{"path": f.path, "status": f.status} for f in diff.files], "refused": []},
        kind=CHANGESET_KIND,
        shown_text=shown,
        shown_hash=hashlib.sha256(shown.encode()).hexdigest(),
        lines_added=diff.lines_added,
        lines_removed=diff.lines_removed,
    )


def test_the_verifier_runs_the_tests_on_the_whole_changeset_and_names_what_it_breaks(tmp_path, repository):
    root = tiny_pytest_workspace(tmp_path / "ws")
    more_tests = "from calc import add\n\n\ndef test_add_more():\n    assert add(1, 1) == 2\n"
    files = [
        ChangedFile("calc.py", CALC.encode(), BROKEN_ADD.encode()),
        ChangedFile("test_more.py", None, more_tests.encode()),
    ]
    proposal = changeset_proposal(repository.sync, root, files)

    result = run(Verifier(repository, overlay=False).verify(proposal))

    assert result.status == "failed"
    # The new test file of the changeset ran too, against the changeset's calc.py.
    assert result.newly_failing == ["test_calc.py::test_add", "test_more.py::test_add_more"]
    assert not (root / "test_more.py").exists() and (root / "test_calc.py").read_text() == TESTS


def test_the_critic_is_shown_the_whole_changeset(tmp_path, repository):
    root = tiny_pytest_workspace(tmp_path / "ws")
    files = [ChangedFile("calc.py", CALC.encode(), BROKEN_ADD.encode()), ChangedFile("notes.md", None, b"why\n")]
    proposal = changeset_proposal(repository.sync, root, files)

    with StandinServer(ScriptedScenario([])) as server:
        result = run(Critic(repository, StandinEndpoints(server)).critique(proposal))
        text = server.critic_bodies[-1]["messages"][0]["content"][0]["text"]

    assert result.status == "done"
    assert "A changeset (every file the agent changed" in text
    assert "a/calc.py" in text and "b/notes.md" in text
