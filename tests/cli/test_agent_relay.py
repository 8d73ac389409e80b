"""`signoff codex -- CMD` and `signoff acp -- CMD` as a person's editor starts them: a real Signoff process between
the client (this test, on its stdin/stdout) and a fake agent process speaking JSON-RPC over pipes. Everything passes
through except the agent's approval requests, which wait in Signoff's queue; the reviewer's reason reaches the agent
as its next turn."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.services import review
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.adapter_setup import new_database, project_with
from tests.support.claude_code_driver import wait_until
from tests.support.store_queries import pending_proposals

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_AGENT = REPO_ROOT / "tests" / "support" / "fake_jsonrpc_agent.py"


class Client:
    """The editor's end: writes to Signoff's stdin, reads what Signoff passes on, one JSON message per line."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.received: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.received.put(json.loads(line))

    def send(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()

    def next_where(self, wanted) -> dict:
        while True:
            message = self.received.get(timeout=60)
            self.seen.append(message)
            if wanted(message):
                return message

    def close(self) -> tuple[int, str]:
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        self._reader.join(60)
        stderr = self.process.stderr.read().decode(errors="replace")
        self.process.stdout.close()
        self.process.stderr.close()
        return code, stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with(tmp_path, {"greet.py": "def greet():\n    return 'hello'\n"})


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return new_database(tmp_path)


@pytest.fixture
def repository(db_url: str) -> Repository:
    return Repository(open_database(db_url))


def _decide_waiting(repository: Repository, verdict: str, **extra):
    proposal = wait_until(lambda: pending_proposals(repository), what="the agent's request in the queue")[0]
    review.decide(repository, review.DecisionRequest(proposal.id, verdict, "ana", channel="cli", **extra))
    return proposal


def _signoff(protocol: str, db_url: str) -> list[str]:
    return [sys.executable, "-m", "app", protocol, "--db", db_url, "--", sys.executable, str(FAKE_AGENT), protocol]


def test_signoff_codex_answers_codexs_approval_and_sends_the_reason_as_the_next_user_turn(project, db_url, repository):
    client = Client(_signoff("codex", db_url), project)
    client.send(
        {
            "id": 1,
            "method": "turn/start",
            "params": {"threadId": "thr_1", "input": [{"type": "text", "text": "Say hi"}]},
        }
    )
    started = client.next_where(lambda m: m.get("id") == 1)
    reason = "Keep 'hello': the tests check it."

    proposal = _decide_waiting(repository, "reject", reason=reason)
    decided = client.next_where(lambda m: m.get("method") == "test/decided")
    reviewer_turn = client.next_where(lambda m: m.get("method") == "test/reviewerTurn")
    code, stderr = client.close()

    assert started["result"]["turn"]["id"] == "turn_1"
    assert proposal.kind == "edit" and "+    return 'hi'" in proposal.shown_text
    assert "next user message" in (repository.proposals.get(proposal.id).protocol_note or "")
    assert decided["params"] == {"id": 900, "result": {"decision": "decline"}}
    assert reason in reviewer_turn["params"]["text"]
    # The approval request and the answer to Signoff's own turn/start stayed between Signoff and the agent.
    assert not any(m.get("method") == "item/fileChange/requestApproval" for m in client.seen)
    assert not any(str(m.get("id", "")).startswith("signoff-") for m in client.seen)
    assert any(m.get("method") == "item/started" for m in client.seen)
    assert code == 0, stderr
    assert repository.sessions.get(proposal.session_id).source == "codex"


def test_signoff_acp_selects_the_agents_allow_option_when_the_reviewer_approves(project, db_url, repository):
    client = Client(_signoff("acp", db_url), project)
    client.send(
        {"jsonrpc": "2.0", "id": 7, "method": "session/prompt", "params": {"sessionId": "sess_1", "prompt": []}}
    )

    proposal = _decide_waiting(repository, "approve")
    decided = client.next_where(
        lambda m: (m.get("params") or {}).get("update", {}).get("sessionUpdate") == "test_decided"
    )
    ended = client.next_where(lambda m: m.get("id") == 7)
    code, stderr = client.close()

    assert decided["params"]["update"]["outcome"] == {"outcome": "selected", "optionId": "yes"}
    assert ended["result"] == {"stopReason": "end_turn"}
    assert proposal.kind == "edit" and proposal.old_content == b"def greet():\n    return 'hello'\n"
    assert not any(m.get("method") == "session/request_permission" for m in client.seen)
    assert code == 0, stderr


def test_signoff_acp_sends_a_rejections_reason_as_the_next_prompt_once_the_turn_ended(project, db_url, repository):
    client = Client(_signoff("acp", db_url), project)
    client.send(
        {"jsonrpc": "2.0", "id": 7, "method": "session/prompt", "params": {"sessionId": "sess_1", "prompt": []}}
    )
    reason = "Not 'hi': say 'good day'."

    _decide_waiting(repository, "reject", reason=reason)
    decided = client.next_where(
        lambda m: (m.get("params") or {}).get("update", {}).get("sessionUpdate") == "test_decided"
    )
    told = client.next_where(
        lambda m: (m.get("params") or {}).get("update", {}).get("sessionUpdate") == "test_reviewer_prompt"
    )
    code, stderr = client.close()

    assert decided["params"]["update"]["outcome"] == {"outcome": "selected", "optionId": "no"}
    assert reason in told["params"]["update"]["text"]
    assert not any(str(m.get("id", "")).startswith("signoff-") for m in client.seen)
    assert code == 0, stderr


def test_an_agent_command_that_cannot_start_is_one_line_and_exit_code_1(db_url, project):
    done = subprocess.run(
        [sys.executable, "-m", "app", "acp", "--db", db_url, "--", str(project / "no-such-agent")],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode == 1
    assert done.stderr.startswith("signoff: cannot start ") and "Traceback" not in done.stderr
