"""The ``signoff`` command: the window by default, and headless commands over the same core for SSH reviewers,
scripts and agent runners on other machines (the database is the queue between them).

Errors are one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff",
        description="Review every change an AI agent proposes; keep every judgment as preference data.",
    )
    parser.add_argument("--db", metavar="URL", help="database path or URL (default: SIGNOFF_DB, Settings, then SQLite in the data folder)")
    parser.add_argument("--demo", action="store_true", help="start the window with the offline demo agent")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run an agent session headless; its proposals wait in the database")
    run.add_argument("--workspace", required=True, metavar="DIR")
    run.add_argument("--task", required=True, metavar="TEXT")
    run.add_argument("--model", metavar="M")
    run.add_argument("--max-turns", type=int, metavar="N")
    run.add_argument("--max-tokens", type=int, metavar="N")
    run.add_argument("--demo", action="store_true", dest="run_demo", help="use the offline demo agent")
    run.add_argument("--db", metavar="URL", dest="sub_db")

    resume = commands.add_parser("resume", help="continue an interrupted or waiting session headless")
    resume.add_argument("session_id", type=int, metavar="SESSION")
    resume.add_argument("--db", metavar="URL", dest="sub_db")

    queue = commands.add_parser("queue", help="list waiting proposals")
    queue.add_argument("--json", action="store_true")
    queue.add_argument("--db", metavar="URL", dest="sub_db")

    sessions = commands.add_parser("sessions", help="list sessions")
    sessions.add_argument("--json", action="store_true")
    sessions.add_argument("--db", metavar="URL", dest="sub_db")

    show = commands.add_parser("show", help="print a proposal's diff or command")
    show.add_argument("proposal_id", type=int, metavar="ID")
    show.add_argument("--db", metavar="URL", dest="sub_db")

    for name, help_text in (("approve", "approve a proposal"), ("reject", "reject a proposal with a reason"), ("edit", "approve your own version instead")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("proposal_id", type=int, metavar="ID")
        sub.add_argument("--reviewer", metavar="NAME")
        sub.add_argument("--db", metavar="URL", dest="sub_db")
        if name == "reject":
            sub.add_argument("--reason", required=True, metavar="TEXT")
        if name == "edit":
            sub.add_argument("--file", required=True, metavar="PATH", help="the new file content, or the command, to apply instead")

    diff = commands.add_parser("diff", help="print the unified diff Signoff would show for two files")
    diff.add_argument("old", metavar="OLD", help="old file (/dev/null for none)")
    diff.add_argument("new", metavar="NEW", help="new file (/dev/null for none)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    db_url = getattr(args, "sub_db", None) or args.db
    try:
        if args.command is None:
            from app.ui.application import run_window

            return run_window(db_url=db_url, demo=args.demo)
        handler = _HANDLERS[args.command]
        return handler(args, db_url)
    except CliError as err:
        print(f"signoff: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


# -- helpers ---------------------------------------------------------------------------------------------------------


def _database(db_url: str | None):
    from app.core.settings import load_settings
    from app.store.db import open_database
    from app.store.errors import StoreError

    url = db_url or os.environ.get("SIGNOFF_DB") or load_settings().database or None
    try:
        return open_database(url)
    except StoreError as err:
        raise CliError(str(err)) from None


def _repository(db_url: str | None):
    from app.store.repository import Repository

    return Repository(_database(db_url))


def _reviewer(args: argparse.Namespace) -> str:
    from app.core.settings import load_settings

    return (getattr(args, "reviewer", None) or "").strip() or load_settings().reviewer_name


def _proposal(repository, proposal_id: int):
    from app.store.repository import UnknownItemError

    try:
        return repository.get_proposal(proposal_id)
    except UnknownItemError as err:
        raise CliError(str(err)) from None


def _summary(proposal) -> str:
    if proposal.kind == "command":
        return f"command: {proposal.command}"
    return f"{proposal.kind} {proposal.path} (+{proposal.lines_added} -{proposal.lines_removed})"


# -- commands --------------------------------------------------------------------------------------------------------


def _cmd_queue(args: argparse.Namespace, db_url: str | None) -> int:
    repository = _repository(db_url)
    pending = repository.pending_proposals()
    if args.json:
        rows = [
            {
                "id": p.id,
                "session": p.session_id,
                "workspace": p.workspace_root,
                "task": p.task,
                "kind": p.kind,
                "path": p.path,
                "command": p.command,
                "added": p.lines_added,
                "removed": p.lines_removed,
                "created_at": p.created_at.isoformat(),
            }
            for p in pending
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not pending:
        print("Nothing is waiting for a decision.")
        return 0
    print(f"{'ID':>6}  {'SESSION':>7}  {'KIND':<8} {'+/-':>9}  PATH OR COMMAND")
    for p in pending:
        counts = "" if p.kind == "command" else f"+{p.lines_added} -{p.lines_removed}"
        print(f"{p.id:>6}  {p.session_id:>7}  {p.kind:<8} {counts:>9}  {p.target}")
    return 0


def _cmd_sessions(args: argparse.Namespace, db_url: str | None) -> int:
    repository = _repository(db_url)
    sessions = repository.list_sessions()
    if args.json:
        print(json.dumps([
            {"id": s.id, "status": s.status, "workspace": s.workspace_root, "task": s.task, "model": s.model,
             "turns": s.turns, "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
             "created_at": s.created_at.isoformat()}
            for s in sessions
        ], indent=2))
        return 0
    for s in sessions:
        print(f"{s.id:>6}  {s.status:<11} {s.model:<20} {s.workspace_root}  {s.task[:60]}")
    return 0


def _cmd_show(args: argparse.Namespace, db_url: str | None) -> int:
    repository = _repository(db_url)
    proposal = _proposal(repository, args.proposal_id)
    print(f"Proposal {proposal.id} · session {proposal.session_id} · {proposal.status} · {_summary(proposal)}")
    print(f"Workspace: {proposal.workspace_root}")
    if proposal.kind == "command":
        print(f"Working directory: {proposal.cwd or '.'}")
        print(f"$ {proposal.command}")
    else:
        sys.stdout.write(proposal.shown_text if proposal.shown_text.endswith("\n") else proposal.shown_text + "\n")
    decision = repository.latest_decision(proposal.id)
    if decision is not None:
        reason = f": {decision.reason}" if decision.reason else ""
        print(f"Decision: {decision.verdict} by {decision.reviewer}{reason}")
    return 0


def _decide(args: argparse.Namespace, db_url: str | None, verdict: str) -> int:
    from app.core import review
    from app.store.repository import AlreadyDecidedError, UnknownItemError

    repository = _repository(db_url)
    proposal = _proposal(repository, args.proposal_id)
    edited = None
    if verdict == "edit":
        path = Path(args.file)
        try:
            edited = path.read_bytes()
        except OSError as err:
            raise CliError(f"Cannot read {path}: {err.strerror or err}.") from None
    request = review.DecisionRequest(
        proposal.id, verdict, _reviewer(args), reason=getattr(args, "reason", None), edited_content=edited, channel="cli"
    )
    try:
        decision = review.decide(repository, request)
    except (review.ReviewError, AlreadyDecidedError, UnknownItemError) as err:
        raise CliError(str(err)) from None
    words = {"approve": "Approved", "reject": "Rejected", "edit": "Approved with your edit"}[decision.verdict]
    print(f"{words}: proposal {proposal.id} ({_summary(proposal)}).")
    if repository.has_live_runner(proposal.session_id):
        print(f"The runner of session {proposal.session_id} applies it and the agent continues.")
    else:
        print(
            f"No process is running session {proposal.session_id} now; "
            f"`signoff resume {proposal.session_id}` (or opening Signoff) applies it and continues."
        )
    return 0


def _cmd_diff(args: argparse.Namespace, db_url: str | None) -> int:
    from app.core.diffing import compute_diff

    def read(name: str) -> bytes | None:
        if name == "/dev/null":
            return None
        try:
            return Path(name).read_bytes()
        except IsADirectoryError:
            raise CliError(f"{name} is a folder; give two files.") from None
        except OSError as err:
            raise CliError(f"Cannot read {name}: {err.strerror or err}.") from None

    old, new = read(args.old), read(args.new)
    if old is None and new is None:
        raise CliError("Give at least one real file.")
    path = Path(args.new if new is not None else args.old).name
    diff = compute_diff(old, new, path)
    sys.stdout.buffer.write(diff.patch)
    sys.stdout.flush()
    return 0


def _print_event(event: Any) -> None:
    from app.core import events

    if isinstance(event, events.TextDelta):
        sys.stdout.write(event.text)
    elif isinstance(event, events.AssistantMessageDone):
        sys.stdout.write("\n")
    elif isinstance(event, events.ProposalWaiting):
        p = event.proposal
        print(f"\n[proposal {p.id}] {_summary(p)} — waiting for a decision.")
        print(f"    signoff show {p.id} | signoff approve {p.id} | signoff reject {p.id} --reason TEXT | signoff edit {p.id} --file PATH")
    elif isinstance(event, events.ToolResultSent):
        first = event.text.splitlines()[0] if event.text else ""
        marker = "!" if event.is_error else "·"
        print(f"  {marker} {event.tool_name}: {first[:160]}")
    elif isinstance(event, events.StatusChanged) and event.detail:
        print(f"[session {event.session_id}] {event.status}: {event.detail}")
    sys.stdout.flush()


async def _run_headless(db_url: str | None, start) -> int:
    from app.core.api_key import ApiKeyStore
    from app.core.endpoints import Endpoints
    from app.core.sessions import SessionManager
    from app.store.async_repository import AsyncRepository
    from app.store.repository import Repository

    repository = AsyncRepository(Repository(_database(db_url)))
    endpoints = Endpoints(ApiKeyStore().current)
    manager = SessionManager(repository, endpoints)
    manager.add_listener(_print_event)
    loop = asyncio.get_running_loop()
    try:
        session_id = await start(manager)
        loop.add_signal_handler(signal.SIGINT, manager.stop, session_id)
        loop.add_signal_handler(signal.SIGTERM, manager.stop, session_id)
        status = await manager.wait(session_id)
        final = await repository.get_session(session_id)
        print(f"Session {session_id} {final.status}" + (f": {final.error}" if final.error else "."))
        return 0 if status in ("finished", "stopped") else EXIT_ERROR
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        await manager.shutdown()
        endpoints.close()
        repository.close()


def _cmd_run(args: argparse.Namespace, db_url: str | None) -> int:
    from app.core.endpoints import ANTHROPIC, DEMO, NoApiKeyError
    from app.core.sessions import NewSession
    from app.core.settings import load_settings
    from app.core.workspace import Workspace

    settings = load_settings()
    try:
        workspace = Workspace(args.workspace)
    except FileNotFoundError as err:
        raise CliError(str(err)) from None
    endpoint = DEMO if args.run_demo else ANTHROPIC
    from app.standin.demo import DEMO_MODEL_ID

    spec = NewSession(
        workspace_root=str(workspace.root),
        task=args.task,
        model=args.model or (DEMO_MODEL_ID if endpoint == DEMO else settings.model),
        max_turns=args.max_turns or settings.max_turns,
        max_tokens=args.max_tokens or settings.max_tokens,
        endpoint=endpoint,
    )

    async def start(manager) -> int:
        try:
            session = await manager.start(spec)
        except (NoApiKeyError, ValueError) as err:
            raise CliError(str(err)) from None
        print(f"Session {session.id} started in {session.workspace_root} with {session.model}.")
        return session.id

    return asyncio.run(_run_headless(db_url, start))


def _cmd_resume(args: argparse.Namespace, db_url: str | None) -> int:
    from app.core.endpoints import NoApiKeyError
    from app.store.repository import UnknownItemError

    async def start(manager) -> int:
        try:
            await manager.resume(args.session_id)
        except (NoApiKeyError, ValueError, UnknownItemError) as err:
            raise CliError(str(err)) from None
        print(f"Session {args.session_id} resumed.")
        return args.session_id

    return asyncio.run(_run_headless(db_url, start))


_HANDLERS = {
    "run": _cmd_run,
    "resume": _cmd_resume,
    "queue": _cmd_queue,
    "sessions": _cmd_sessions,
    "show": _cmd_show,
    "approve": lambda args, db: _decide(args, db, "approve"),
    "reject": lambda args, db: _decide(args, db, "reject"),
    "edit": lambda args, db: _decide(args, db, "edit"),
    "diff": _cmd_diff,
}
