"""What several commands share: opening the database through the composition root (app.services.runtime), the
reviewer's name, reading a proposal, reading a file the reviewer gives (bounded), and the one-line summaries."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.errors import CliError

if TYPE_CHECKING:
    from app.store.db import Database
    from app.store.decide_lite import LiteDecisionStore
    from app.store.repository import Repository

# The largest file `edit --file` and `decide --hunk N=edit:PATH` read: a proposal's replacement, never a data dump.
MAX_EDIT_FILE_BYTES = 5 * 1024 * 1024


def database(db_url: str | None) -> Database:
    from app.services.runtime import open_store
    from app.store.errors import StoreError

    try:
        return open_store(db_url)
    except StoreError as err:
        raise CliError(str(err)) from None


def repository(db_url: str | None) -> Repository:
    return repository_of(database(db_url))


def repository_of(database: Database) -> Repository:
    from app.services.runtime import repository_over

    return repository_over(database)


def sqlite_file_and_head(db_url: str | None) -> tuple[Path, str] | None:
    """The SQLite file the chosen database is and the schema's head revision, for the commands that read and write
    it without SQLAlchemy (app.store.queue_lite, app.store.decide_lite); None for PostgreSQL, or when the migrations
    cannot be read for sure (then the repository, which runs Alembic, opens it)."""
    import os

    from app.paths import migrations_dir
    from app.services.settings import load_settings
    from app.store.revisions import scan_revisions

    chosen = db_url or os.environ.get("SIGNOFF_DB") or load_settings().database
    if chosen is None:
        from app.paths import data_dir

        chosen = str(data_dir() / "signoff.db")
    chosen = chosen.strip()
    if chosen.startswith("sqlite:///"):
        chosen = chosen[len("sqlite:///") :]
    elif "://" in chosen or not chosen:
        return None
    graph = scan_revisions(migrations_dir())
    if graph is None:
        return None
    return Path(os.path.abspath(Path(chosen).expanduser())), graph.head


def reviewer(args: argparse.Namespace) -> str:
    from app.services.settings import load_settings

    return (getattr(args, "reviewer", None) or "").strip() or load_settings().reviewer_name


def proposal(repository: Repository, proposal_id: int) -> Any:
    from app.store.errors import UnknownItemError

    try:
        return repository.proposals.get(proposal_id)
    except UnknownItemError as err:
        raise CliError(str(err)) from None


def read_edit_file(name: str, *, limit: int = MAX_EDIT_FILE_BYTES) -> bytes:
    """The bytes of a reviewer's replacement file: at most ``limit`` bytes of UTF-8 text. A bigger file (or an endless
    one such as /dev/zero), a folder, a binary or non-UTF-8 file is refused with one sentence; nothing else is read."""
    path = Path(name)
    if path.is_dir():
        raise CliError(f"{name} is a folder; give the file holding your version.")
    try:
        with path.open("rb") as source:
            content = source.read(limit + 1)
    except OSError as err:
        raise CliError(f"Cannot read {name}: {err.strerror or err}.") from None
    if len(content) > limit:
        raise CliError(
            f"{name} is larger than {_size(limit)}, the most Signoff reads for an edit; give a smaller file."
        )
    if b"\x00" in content:
        raise CliError(f"{name} is a binary file (it holds NUL bytes); an edit must be UTF-8 text.")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CliError(
            f"{name} is not UTF-8 text (byte {err.start} cannot be decoded); save it as UTF-8 and try again."
        ) from None
    return content


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def say_who_applies(repository: Repository | LiteDecisionStore, session_id: int) -> None:
    """Who carries the recorded decision out: the session's runner, an open window (app.services.decision_watch)
    that resumes it within a second, or nobody until `signoff resume`."""
    windows = repository.watchers.live("window")
    runner = repository.sessions.live_runner(session_id)
    if runner is not None:
        window = next((w for w in windows if w.runner_id == runner), None)
        if window is not None:
            print(
                f"The Signoff window running session {session_id} (pid {window.pid} on {window.host}) carries it "
                "out and the agent continues."
            )
        else:
            print(f"The runner of session {session_id} applies it and the agent continues.")
    elif windows:
        window = windows[0]
        print(
            f"No process runs session {session_id} now; the Signoff window open on {window.host} (pid {window.pid}) "
            "resumes it and carries the decision out within a second."
        )
    else:
        print(
            f"No process is running session {session_id} now; "
            f"`signoff resume {session_id}` (or opening Signoff) applies it and continues."
        )


def summary(proposal: Any) -> str:
    if proposal.kind == "plan":
        return f"plan: {proposal.command} ({proposal.lines_added} step{'s' if proposal.lines_added != 1 else ''})"
    if proposal.kind == "delegate":
        return f"delegate to {proposal.command}"
    if proposal.kind == "command":
        return f"command: {proposal.command}"
    if proposal.kind == "changeset":
        files = len((proposal.tool_input or {}).get("files") or [])
        return (
            f"changeset of {files} file{'' if files == 1 else 's'} (+{proposal.lines_added} -{proposal.lines_removed})"
        )
    return f"{proposal.kind} {proposal.path} (+{proposal.lines_added} -{proposal.lines_removed})"
