"""Real waiting proposals for the terminal UI's tests: a workspace on disk, a session, and file changes and commands
stored through the repository with their real diffs. Writes only under the folder it is given."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.domain.diffing import compute_diff
from app.store.repository import Repository

GREET_OLD = (
    "".join(f"line {n}\n" for n in range(1, 41))
    .replace("line 3\n", "def greet(name):\n")
    .replace("line 4\n", "    return 'hi ' + name\n")
)
# Two hunks far apart: line 4 and line 35 change.
GREET_NEW = GREET_OLD.replace("    return 'hi ' + name\n", "    return f'Hello, {name}!'\n").replace(
    "line 35\n", "line 35 # checked\n"
)


def make_session(repository: Repository, root: Path, task: str = "Tidy the greeting") -> int:
    return repository.sessions.create(
        workspace_root=str(root),
        task=task,
        endpoint="anthropic",
        model="claude-test",
        system_prompt="s",
        tools=[],
        sampling={},
        max_turns=5,
    ).id


def add_file_change(repository: Repository, session_id: int, tag: str, path: str, old: str | None, new: str) -> int:
    old_bytes = None if old is None else old.encode()
    diff = compute_diff(old_bytes, new.encode(), path)
    return repository.proposals.create(
        session_id=session_id,
        message_seq=1,
        tool_use_id=f"toolu_{tag}",
        tool_name="str_replace_based_edit_tool",
        tool_input={},
        kind="edit" if old is not None else "create",
        path=path,
        command=None,
        base_hash=None if old_bytes is None else hashlib.sha256(old_bytes).hexdigest(),
        old_content=old_bytes,
        new_content=new.encode(),
        shown_text=diff.text,
        shown_hash=hashlib.sha256(diff.patch).hexdigest(),
        lines_added=diff.lines_added,
        lines_removed=diff.lines_removed,
    ).id


def add_command(repository: Repository, session_id: int, tag: str, command: str) -> int:
    return repository.proposals.create(
        session_id=session_id,
        message_seq=1,
        tool_use_id=f"toolu_{tag}",
        tool_name="run_command",
        tool_input={"command": command},
        kind="command",
        path=None,
        command=command,
        cwd=".",
        shown_text=command,
        shown_hash=hashlib.sha256(command.encode()).hexdigest(),
        lines_added=0,
        lines_removed=0,
    ).id


def seed_queue(repository: Repository, root: Path) -> dict[str, int]:
    """greet.py (two hunks), a new test file and a command, waiting in that order; the files exist in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "greet.py").write_text(GREET_OLD)
    session_id = make_session(repository, root)
    return {
        "greet": add_file_change(repository, session_id, "greet", "greet.py", GREET_OLD, GREET_NEW),
        "test": add_file_change(
            repository, session_id, "test", "test_greet.py", None, "from greet import greet\n\nassert greet('x')\n"
        ),
        "command": add_command(repository, session_id, "command", "python3 -m unittest -v"),
    }
