"""A tiny real workspace for the machine judges: git init'ed, with a module and its pytest tests (one already failing),
and proposals on it stored in a real SQLite file."""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from pathlib import Path

from app.store.repository import Repository

CALC = "def add(a, b):\n    return a + b\n\n\ndef half(n):\n    return n / 3\n"
TESTS = (
    "from calc import add, half\n\n\n"
    "def test_add():\n    assert add(2, 2) == 4\n\n\n"
    "def test_half():\n    assert half(4) == 2\n"
)
BROKEN_ADD = CALC.replace("a + b", "a - b")
FIXED_HALF = CALC.replace("n / 3", "n / 2")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "gc.auto=0", *args],
        check=True,
        capture_output=True,
    )


def tiny_pytest_workspace(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TESTS)
    (root / "pytest.ini").write_text("[pytest]\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "calc")
    return root.resolve()


def file_proposal(repository: Repository, root: Path, path: str, new: str, *, tool_use_id: str) -> object:
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
    old = (root / path).read_bytes() if (root / path).exists() else None
    return repository.proposals.create(
        session_id=session.id,
        message_seq=1,
        tool_use_id=tool_use_id,
        tool_name="str_replace_based_edit_tool",
        tool_input={"command": "create", "path": path, "file_text": new},
        kind="edit" if old is not None else "create",
        path=path,
        base_hash=None if old is None else hashlib.sha256(old).hexdigest(),
        old_content=old,
        new_content=new.encode(),
        shown_text="".join(
            difflib.unified_diff(
                (old or b"").decode().splitlines(keepends=True), new.splitlines(keepends=True), path, path
            )
        ),
        shown_hash=hashlib.sha256(new.encode()).hexdigest(),
        lines_added=1,
        lines_removed=1,
    )
