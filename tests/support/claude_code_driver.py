"""A fake Claude Code: runs the hook command exactly as Claude Code does (the settings' command string through a
shell, the hook input JSON on stdin, CLAUDE_PROJECT_DIR in the environment, a timeout, exit code and stdout read
back), and reads the answer the way Claude Code does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], timeout_s: float = 30.0, what: str = "the condition") -> Any:
    """Polls a condition the way qtbot.waitUntil does; fails with ``what`` when it does not come true in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class HookRun:
    process: subprocess.Popen[str]
    timeout_s: float

    def result(self) -> tuple[int, dict[str, Any] | None, str]:
        """(exit code, parsed stdout JSON or None when empty, stderr), as Claude Code reads them."""
        stdout, stderr = self.process.communicate(timeout=self.timeout_s)
        text = stdout.strip()
        return self.process.returncode, (json.loads(text) if text else None), stderr


class FakeClaudeCode:
    def __init__(self, project: Path, command: str, *, session_id: str | None = None, timeout_s: float = 60.0):
        self.project = project
        self.command = command
        self.session_id = session_id or str(uuid.uuid4())
        self.timeout_s = timeout_s
        self.transcript = project.parent / f"{self.session_id}.jsonl"
        self.transcript.write_text(
            json.dumps({"type": "user", "message": {"role": "user", "content": "Tidy up the greeting module"}}) + "\n",
            encoding="utf-8",
        )

    def payload(self, tool_name: str, tool_input: dict[str, Any], *, event: str = "PreToolUse") -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "transcript_path": str(self.transcript),
            "cwd": str(self.project),
            "permission_mode": "default",
            "hook_event_name": event,
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_use_id": f"toolu_{uuid.uuid4().hex[:20]}",
        }

    def start(self, payload: dict[str, Any] | str) -> HookRun:
        environment = {
            **os.environ,
            "CLAUDE_PROJECT_DIR": str(self.project),
            "PYTHONPATH": str(REPO_ROOT),
        }
        process = subprocess.Popen(
            self.command,
            shell=True,
            cwd=self.project,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert process.stdin is not None
        process.stdin.write(payload if isinstance(payload, str) else json.dumps(payload))
        process.stdin.close()
        process.stdin = None
        return HookRun(process, self.timeout_s)

    def call(self, payload: dict[str, Any] | str) -> tuple[int, dict[str, Any] | None, str]:
        return self.start(payload).result()


def python_command(*words: str) -> str:
    """The hook command as `signoff hooks install` writes it when run from a checkout."""
    import shlex

    return shlex.join([sys.executable, "-m", "app", *words])
