"""The real `signoff hook claude-code` process, driven by a fake Claude Code: edits, writes, multi-edits and commands
wait in the queue with real diffs and get exactly the decision made elsewhere, in Claude Code's shapes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.domain import agent_tools
from app.domain.hunks import HunkVerdict
from app.services import review
from app.services.adapters import spool
from app.services.adapters.hooks_install import hook_command
from app.store.db import open_database
from app.store.errors import AlreadyDecidedError
from app.store.external import ExternalStore
from app.store.repository import Repository
from tests.support.adapter_setup import new_database, project_with
from tests.support.claude_code_driver import FakeClaudeCode, wait_until
from tests.support.store_queries import list_proposals, pending_proposals


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with(tmp_path, {"greet.py": "def greet():\n    return 'hello'\n\n\nprint(greet())\n"})


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return new_database(tmp_path)


@pytest.fixture
def repository(db_url: str) -> Repository:
    return Repository(open_database(db_url))


@pytest.fixture
def claude(project: Path, db_url: str) -> FakeClaudeCode:
    return FakeClaudeCode(project, hook_command(db_url=db_url, timeout_s=60))


def _pending(repository: Repository):
    return wait_until(lambda: pending_proposals(repository), what="the hook's proposal in the queue")[0]


def _decide(repository: Repository, proposal_id: int, verdict: str, **extra) -> None:
    review.decide(repository, review.DecisionRequest(proposal_id, verdict, "ana", channel="cli", **extra))


def _hook_output(answer: dict) -> dict:
    return answer["hookSpecificOutput"]


def test_a_read_tool_passes_through_with_no_answer_and_no_proposal(claude, repository):
    code, answer, _ = claude.call(claude.payload("Read", {"file_path": str(claude.project / "greet.py")}))

    assert (code, answer) == (0, None)
    assert list_proposals(repository) == []


def test_an_approved_edit_waits_as_a_real_diff_in_the_claude_code_session_and_is_allowed(claude, repository):
    run = claude.start(
        claude.payload(
            "Edit", {"file_path": str(claude.project / "greet.py"), "old_string": "'hello'", "new_string": "'hi'"}
        )
    )
    proposal = _pending(repository)
    assert proposal.kind == "edit" and proposal.path == "greet.py"
    assert "-    return 'hello'\n+    return 'hi'" in proposal.shown_text
    assert proposal.old_content == (claude.project / "greet.py").read_bytes()
    session = repository.sessions.get(proposal.session_id)
    assert session.source == "claude-code"
    assert session.workspace_root == str(claude.project.resolve())
    assert session.task == "Tidy up the greeting module"

    _decide(repository, proposal.id, "approve")
    code, answer, _ = run.result()

    assert code == 0
    assert _hook_output(answer)["permissionDecision"] == "allow"
    assert "updatedInput" not in _hook_output(answer)
    assert repository.proposals.get(proposal.id).status == "applied"


def test_a_rejected_write_reaches_the_model_with_the_reason_verbatim(claude, repository):
    reason = "Don't add a new module; put the helper in greet.py instead."
    run = claude.start(claude.payload("Write", {"file_path": "helpers.py", "content": "X = 1\n"}))
    proposal = _pending(repository)
    assert proposal.kind == "create" and proposal.old_content is None and proposal.new_content == b"X = 1\n"

    _decide(repository, proposal.id, "reject", reason=reason)
    code, answer, _ = run.result()

    assert code == 0
    assert _hook_output(answer)["permissionDecision"] == "deny"
    assert _hook_output(answer)["permissionDecisionReason"] == reason


def test_an_edited_multi_edit_comes_back_as_updated_input_in_multi_edits_own_shape(claude, repository):
    path = claude.project / "greet.py"
    old = path.read_text(encoding="utf-8")
    run = claude.start(
        claude.payload(
            "MultiEdit",
            {
                "file_path": str(path),
                "edits": [
                    {"old_string": "'hello'", "new_string": "'hi'"},
                    {"old_string": "print(greet())", "new_string": "print(greet().upper())"},
                ],
            },
        )
    )
    proposal = _pending(repository)
    assert (
        proposal.new_content
        == old.replace("'hello'", "'hi'").replace("print(greet())", "print(greet().upper())").encode()
    )
    reviewers_version = old.replace("'hello'", "'good day'")

    _decide(repository, proposal.id, "edit", edited_content=reviewers_version.encode())
    code, answer, _ = run.result()

    output = _hook_output(answer)
    assert code == 0 and output["permissionDecision"] == "allow"
    updated = output["updatedInput"]
    assert updated["file_path"] == str(path) and len(updated["edits"]) == 1
    assert agent_tools.new_file_text("MultiEdit", updated, old) == reviewers_version


def test_hunk_decisions_on_an_edit_become_updated_input_holding_only_the_approved_hunks(claude, repository):
    path = claude.project / "greet.py"
    old = "".join(f"line {number}\n" for number in range(1, 21))
    path.write_text(old, encoding="utf-8")
    run = claude.start(
        claude.payload(
            "MultiEdit",
            {
                "file_path": str(path),
                "edits": [
                    {"old_string": "line 2\n", "new_string": "line two\n"},
                    {"old_string": "line 19\n", "new_string": "line nineteen\n"},
                ],
            },
        )
    )
    proposal = _pending(repository)
    reason = "Leave line 19 alone; the parser counts on it."

    # Shift+A on the first hunk, Shift+R with a reason on the second: one decision, as the window records it.
    verdicts = [HunkVerdict(0, "approve"), HunkVerdict(1, "reject", reason=reason)]
    review.decide(repository, review.by_hunk(proposal.id, "ana", verdicts, channel="window"))
    code, answer, _ = run.result()

    output = _hook_output(answer)
    assert code == 0 and output["permissionDecision"] == "allow"
    assert agent_tools.new_file_text("MultiEdit", output["updatedInput"], old) == old.replace("line 2\n", "line two\n")
    assert reason in output["permissionDecisionReason"]
    assert repository.proposals.latest_decision(proposal.id).verdict == "edit"


def test_an_edited_bash_command_keeps_the_tools_other_fields(claude, repository):
    run = claude.start(claude.payload("Bash", {"command": "rm -rf build", "description": "Clean the build"}))
    proposal = _pending(repository)
    assert proposal.kind == "command" and proposal.command == "rm -rf build"

    _decide(repository, proposal.id, "edit", edited_content=b"rm -rf build/tmp")
    _, answer, _ = run.result()

    assert _hook_output(answer)["updatedInput"] == {"command": "rm -rf build/tmp", "description": "Clean the build"}


def test_a_permission_request_is_answered_in_its_own_decision_shape(claude, repository):
    path = claude.project / "greet.py"
    run = claude.start(
        claude.payload(
            "Edit",
            {"file_path": str(path), "old_string": "'hello'", "new_string": "'hi'"},
            event="PermissionRequest",
        )
    )
    proposal = _pending(repository)
    edited = path.read_text(encoding="utf-8").replace("'hello'", "'hey'")

    _decide(repository, proposal.id, "edit", edited_content=edited.encode())
    _, answer, _ = run.result()

    decision = answer["hookSpecificOutput"]["decision"]
    assert answer["hookSpecificOutput"]["hookEventName"] == "PermissionRequest"
    assert decision["behavior"] == "allow"
    assert agent_tools.new_file_text("Edit", decision["updatedInput"], path.read_text(encoding="utf-8")) == edited


def test_policy_allow_and_deny_answer_without_a_person_and_are_kept_as_policy_decisions(claude, repository):
    policy = claude.project / ".signoff" / "policy.toml"
    policy.parent.mkdir()
    policy.write_text(
        '[[rule]]\naction = "allow"\nkind = "file"\npattern = "*.py"\n\n'
        '[[rule]]\naction = "deny"\nkind = "command"\npattern = "git push"\n',
        encoding="utf-8",
    )

    _, allowed, _ = claude.call(
        claude.payload("Edit", {"file_path": "greet.py", "old_string": "'hello'", "new_string": "'hi'"})
    )
    _, denied, _ = claude.call(claude.payload("Bash", {"command": "git push --force"}))
    spool.ingest()

    assert _hook_output(allowed)["permissionDecision"] == "allow"
    assert _hook_output(denied)["permissionDecision"] == "deny"
    assert "git push" in _hook_output(denied)["permissionDecisionReason"]
    stored = {p.kind: p for p in list_proposals(repository)}
    assert stored["edit"].status == "applied" and "+    return 'hi'" in stored["edit"].shown_text
    assert stored["command"].status == "rejected"
    assert repository.proposals.latest_decision(stored["edit"].id).channel == "policy"


def test_an_unreachable_database_answers_ask_never_allow(project):
    claude = FakeClaudeCode(project, hook_command(db_url="postgresql://nobody@127.0.0.1:1/signoff", timeout_s=60))

    code, answer, stderr = claude.call(claude.payload("Bash", {"command": "make deploy"}))

    assert code == 0
    assert _hook_output(answer)["permissionDecision"] == "ask"
    assert "database cannot be reached" in _hook_output(answer)["permissionDecisionReason"]
    assert "Traceback" not in stderr


def test_paths_outside_the_sessions_folder_and_malformed_input_get_clear_answers(claude, repository):
    _, outside, _ = claude.call(claude.payload("Write", {"file_path": "/etc/passwd", "content": "x"}))
    code, malformed, stderr = claude.call("{not json")

    assert _hook_output(outside)["permissionDecision"] == "deny"
    assert "outside the workspace" in _hook_output(outside)["permissionDecisionReason"]
    assert code == 0 and _hook_output(malformed)["permissionDecision"] == "ask"
    assert "Traceback" not in stderr
    assert list_proposals(repository) == []


def test_a_hook_killed_while_waiting_leaves_its_proposal_withdrawn_and_undecidable(claude, repository, db_url):
    from app.services.adapters.broker import Broker

    run = claude.start(claude.payload("Bash", {"command": "make release"}))
    proposal = _pending(repository)
    os.killpg(run.process.pid, signal.SIGKILL)
    run.result()

    assert Broker(open_database(db_url)).sweep() == 1

    assert repository.proposals.get(proposal.id).status == "cancelled"
    assert "killed or crashed" in ExternalStore(open_database(db_url)).withdrawn_reason(proposal.id)
    with pytest.raises(AlreadyDecidedError, match="withdrawn"):
        _decide(repository, proposal.id, "approve")


def test_a_hook_stopped_by_claude_code_withdraws_its_own_proposal_with_the_reason(claude, repository, db_url):
    run = claude.start(claude.payload("Bash", {"command": "make release"}))
    proposal = _pending(repository)

    os.killpg(run.process.pid, signal.SIGTERM)
    run.result()

    assert repository.proposals.get(proposal.id).status == "cancelled"
    assert "SIGTERM" in ExternalStore(open_database(db_url)).withdrawn_reason(proposal.id)


def test_an_ended_session_withdraws_what_still_waits_in_it(claude, repository, db_url):
    waiting = claude.start(claude.payload("Bash", {"command": "make release"}))
    proposal = _pending(repository)

    code, answer, _ = claude.call({**claude.payload("Bash", {}), "hook_event_name": "SessionEnd", "reason": "logout"})
    _, withdrawn, _ = waiting.result()

    assert (code, answer) == (0, None)
    assert repository.proposals.get(proposal.id).status == "cancelled"
    assert _hook_output(withdrawn)["permissionDecision"] == "ask"
    assert "session ended (logout)" in _hook_output(withdrawn)["permissionDecisionReason"]
    assert repository.sessions.get(proposal.session_id).status == "finished"


def test_two_reviewers_racing_on_postgresql_decide_once_and_the_hook_delivers_the_winner(project, postgres_url):
    import threading

    open_database(postgres_url).close()
    claude = FakeClaudeCode(project, hook_command(db_url=postgres_url, timeout_s=60))
    repository = Repository(open_database(postgres_url))
    run = claude.start(claude.payload("Bash", {"command": "make migrate"}))
    proposal = _pending(repository)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def reviewer(name: str, verdict: str, reason: str | None) -> None:
        with open_database(postgres_url) as database:
            mine = Repository(database)
            start.wait()
            try:
                review.decide(mine, review.DecisionRequest(proposal.id, verdict, name, channel="cli", reason=reason))
                outcomes[name] = "won"
            except AlreadyDecidedError:
                outcomes[name] = "lost"

    reviewers = [
        threading.Thread(target=reviewer, args=("ana", "approve", None)),
        threading.Thread(target=reviewer, args=("bo", "reject", "Not on Fridays.")),
    ]
    for thread in reviewers:
        thread.start()
    for thread in reviewers:
        thread.join(60)
    code, answer, _ = run.result()

    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    expected = {"ana": ("allow", "Approved in Signoff."), "bo": ("deny", "Not on Fridays.")}[winner]
    output = _hook_output(answer)
    assert code == 0 and (output["permissionDecision"], output["permissionDecisionReason"]) == expected
    assert repository.proposals.latest_decision(proposal.id).reviewer == winner
    repository.database.close()
