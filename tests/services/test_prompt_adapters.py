"""The permission prompt tool (`signoff mcp`, called by the `mcp` SDK's own client over stdio) and the Claude Agent
SDK callback (called with the SDK's own types): same queue, same decisions, answered in each one's shape."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from app.services import review
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.adapter_setup import new_database, project_with
from tests.support.claude_code_driver import REPO_ROOT, wait_until
from tests.support.store_queries import pending_proposals


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return project_with(tmp_path, {"notes.md": "# Notes\nfirst\n"})


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return new_database(tmp_path)


def _decide_when_waiting(db_url: str, verdict: str, **extra) -> int:
    repository = Repository(open_database(db_url))
    proposal = wait_until(lambda: pending_proposals(repository), what="a waiting proposal")[0]
    review.decide(repository, review.DecisionRequest(proposal.id, verdict, "ana", channel="cli", **extra))
    return proposal.id


def test_the_mcp_prompt_tool_denies_with_the_reviewers_reason_and_allows_with_the_edit(project, db_url):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app", "mcp", "--db", db_url],
        cwd=str(project),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )

    async def scenario():
        async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            assert [tool.name for tool in tools.tools] == ["approve"]
            write_call = asyncio.create_task(
                session.call_tool(
                    "approve",
                    {
                        "tool_name": "Write",
                        "input": {"file_path": "notes.md", "content": "gone\n"},
                        "tool_use_id": "t1",
                    },
                )
            )
            await asyncio.to_thread(_decide_when_waiting, db_url, "reject", reason="Keep the notes.")
            denied = await write_call
            bash_call = asyncio.create_task(
                session.call_tool("approve", {"tool_name": "Bash", "input": {"command": "ls -la"}, "tool_use_id": "t2"})
            )
            await asyncio.to_thread(_decide_when_waiting, db_url, "edit", edited_content=b"ls")
            allowed = await bash_call
            return denied, allowed

    denied, allowed = asyncio.run(scenario())

    assert json.loads(denied.content[0].text) == {"behavior": "deny", "message": "Keep the notes."}
    assert json.loads(allowed.content[0].text) == {"behavior": "allow", "updatedInput": {"command": "ls"}}
    sessions = Repository(open_database(db_url)).sessions.recent()
    assert [s.source for s in sessions] == ["mcp"] and sessions[0].workspace_root == str(project.resolve())


def test_the_agent_sdk_callback_answers_with_the_sdks_own_permission_results(project, db_url):
    from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny, ToolPermissionContext

    from app.adapters import signoff_can_use_tool

    can_use_tool = signoff_can_use_tool(db_url=db_url, cwd=str(project), session_id="sdk-run-1")

    async def scenario():
        edit = asyncio.create_task(
            can_use_tool(
                "Edit",
                {"file_path": str(project / "notes.md"), "old_string": "first", "new_string": "second"},
                ToolPermissionContext(tool_use_id="toolu_1"),
            )
        )
        await asyncio.to_thread(_decide_when_waiting, db_url, "edit", edited_content=b"# Notes\nthird\n")
        edited = await edit
        outside = await can_use_tool(
            "Write", {"file_path": "/etc/hosts", "content": "x"}, ToolPermissionContext(tool_use_id="toolu_2")
        )
        return edited, outside

    edited, outside = asyncio.run(scenario())

    assert isinstance(edited, PermissionResultAllow)
    assert edited.updated_input == {
        "file_path": str(project / "notes.md"),
        "old_string": "first\n",
        "new_string": "third\n",
        "replace_all": False,
    }
    assert isinstance(outside, PermissionResultDeny) and "outside the workspace" in outside.message
    can_use_tool.signoff_service.close()
    session = Repository(open_database(db_url)).sessions.recent()[0]
    assert (session.source, session.status) == ("agent-sdk", "finished")
