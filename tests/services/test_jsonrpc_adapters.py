"""Codex app-server and ACP agents, played by fake peers speaking JSON-RPC over pipes: their approval requests wait
in the queue as real diffs and commands, and get the decisions in each protocol's words."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from app.services import review
from app.services.adapters.acp import AcpPermissions
from app.services.adapters.codex import CodexApprovals, apply_unified_diff
from app.services.adapters.jsonrpc import JsonRpcPeer
from app.services.adapters.mcp_server import PromptService
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.adapter_setup import new_database, project_with
from tests.support.claude_code_driver import wait_until
from tests.support.store_queries import pending_proposals


class FakePeer:
    """The agent's end of the connection: writes its messages, reads Signoff's, line by line."""

    def __init__(self, *, with_version: bool) -> None:
        to_signoff_read, to_signoff_write = os.pipe()
        to_peer_read, to_peer_write = os.pipe()
        self.signoff_side = JsonRpcPeer(
            os.fdopen(to_signoff_read, "rb"), os.fdopen(to_peer_write, "wb"), with_version=with_version
        )
        self._out = os.fdopen(to_signoff_write, "wb")
        self._in = os.fdopen(to_peer_read, "rb")
        self.with_version = with_version

    def send(self, message: dict) -> None:
        if self.with_version:
            message = {"jsonrpc": "2.0", **message}
        self._out.write((json.dumps(message) + "\n").encode())
        self._out.flush()

    def receive(self) -> dict:
        line = self._in.readline()
        assert line, "Signoff closed the connection"
        return json.loads(line)

    def close(self) -> None:
        self._out.close()
        self._in.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with(tmp_path, {"greet.py": "def greet():\n    return 'hello'\n"})


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return new_database(tmp_path)


@pytest.fixture
def repository(db_url: str) -> Repository:
    return Repository(open_database(db_url))


def _decide_next(repository: Repository, verdict: str, **extra):
    proposal = wait_until(lambda: pending_proposals(repository), what="a waiting proposal")[0]
    review.decide(repository, review.DecisionRequest(proposal.id, verdict, "ana", channel="cli", **extra))
    return proposal


def _serving(adapter) -> threading.Thread:
    thread = threading.Thread(target=adapter.serve, daemon=True)
    thread.start()
    return thread


def test_a_unified_diff_from_codex_applies_to_the_file_on_disk():
    old = "a\nb\nc\nd\n"
    diff = "@@ -2,2 +2,3 @@\n b\n-c\n+C\n+c2\n"

    assert apply_unified_diff(old, diff) == "a\nb\nC\nc2\nd\n"


def test_codex_gets_decline_and_the_reviewers_reason_as_its_next_user_turn_then_accept_for_a_command(
    project, db_url, repository
):
    peer = FakePeer(with_version=False)
    adapter = CodexApprovals(peer.signoff_side, PromptService(db_url=db_url, timeout_s=60, cwd=str(project)))
    serving = _serving(adapter)
    diff = "@@ -1,2 +1,2 @@\n def greet():\n-    return 'hello'\n+    return 'hi'\n"
    peer.send(
        {
            "method": "item/started",
            "params": {
                "threadId": "thr_1",
                "item": {
                    "type": "fileChange",
                    "id": "item_1",
                    "changes": [{"path": "greet.py", "kind": {"type": "update"}, "diff": diff}],
                },
            },
        }
    )
    peer.send(
        {
            "id": 1,
            "method": "item/fileChange/requestApproval",
            "params": {"threadId": "thr_1", "turnId": "t1", "itemId": "item_1"},
        }
    )

    proposal = _decide_next(repository, "reject", reason="Keep 'hello'; tests depend on it.")
    declined = peer.receive()
    peer.send({"method": "turn/completed", "params": {"threadId": "thr_1", "turn": {"id": "t1"}}})
    next_turn = peer.receive()
    peer.send({"id": next_turn["id"], "result": {"turn": {"id": "t2"}}})
    peer.send(
        {
            "id": 2,
            "method": "item/commandExecution/requestApproval",
            "params": {"threadId": "thr_1", "itemId": "item_2", "command": "make test", "cwd": str(project)},
        }
    )
    command = _decide_next(repository, "approve")
    accepted = peer.receive()
    peer.close()
    serving.join(30)
    adapter.peer.join()
    adapter.peer.close()

    assert "jsonrpc" not in declined
    assert declined == {"id": 1, "result": {"decision": "decline"}}
    assert proposal.kind == "edit" and "+    return 'hi'" in proposal.shown_text
    assert next_turn["method"] == "turn/start"
    assert next_turn["params"]["threadId"] == "thr_1"
    assert "Keep 'hello'; tests depend on it." in next_turn["params"]["input"][0]["text"]
    assert accepted == {"id": 2, "result": {"decision": "accept"}}
    assert command.command == "make test"
    assert repository.sessions.get(command.session_id).source == "codex"


def test_an_acp_agent_gets_its_options_selected_and_an_always_option_becomes_a_policy_rule(project, db_url, repository):
    peer = FakePeer(with_version=True)
    adapter = AcpPermissions(peer.signoff_side, PromptService(db_url=db_url, timeout_s=60, cwd=str(project)))
    serving = _serving(adapter)
    once = [
        {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
        {"optionId": "no", "name": "Reject", "kind": "reject_once"},
    ]
    always_only = [
        {"optionId": "always", "name": "Always allow", "kind": "allow_always"},
        {"optionId": "never", "name": "Never", "kind": "reject_always"},
    ]
    edit_call = {
        "toolCallId": "call_1",
        "title": "Edit greet.py",
        "kind": "edit",
        "content": [
            {
                "type": "diff",
                "path": str(project / "greet.py"),
                "oldText": "def greet():\n    return 'hello'\n",
                "newText": "def greet():\n    return 'hey'\n",
            }
        ],
    }
    peer.send(
        {
            "id": 1,
            "method": "session/request_permission",
            "params": {"sessionId": "s1", "toolCall": edit_call, "options": once},
        }
    )
    edit = _decide_next(repository, "reject", reason="Say hello.")
    rejected = peer.receive()
    run_call = {"toolCallId": "call_2", "title": "pytest -q", "kind": "execute", "rawInput": {"command": "pytest -q"}}
    peer.send(
        {
            "id": 2,
            "method": "session/request_permission",
            "params": {"sessionId": "s1", "toolCall": run_call, "options": always_only},
        }
    )
    _decide_next(repository, "approve")
    allowed = peer.receive()
    sender = threading.Thread(target=adapter.send_next_prompts, args=("s1",))
    sender.start()
    prompt = peer.receive()
    peer.send({"jsonrpc": "2.0", "id": prompt["id"], "result": {"stopReason": "end_turn"}})
    sender.join(30)
    peer.close()
    serving.join(30)
    adapter.peer.join()
    adapter.peer.close()

    assert rejected == {"jsonrpc": "2.0", "id": 1, "result": {"outcome": {"outcome": "selected", "optionId": "no"}}}
    assert edit.old_content == b"def greet():\n    return 'hello'\n" and "+    return 'hey'" in edit.shown_text
    assert allowed["result"] == {"outcome": {"outcome": "selected", "optionId": "always"}}
    assert 'pattern = "pytest -q"' in (project / ".signoff" / "policy.toml").read_text(encoding="utf-8")
    assert prompt["method"] == "session/prompt" and "Say hello." in prompt["params"]["prompt"][0]["text"]
