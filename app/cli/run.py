"""``signoff run``, ``resume`` and ``sessions``: agent sessions headless, their proposals waiting in the database for
any reviewer (this terminal, another machine, the window). Only these commands load the agent and the anthropic SDK."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.cli import common
from app.cli.errors import EXIT_ERROR, CliError


def sessions(args: argparse.Namespace, db_url: str | None) -> int:
    repository = common.repository(db_url)
    if getattr(args, "tree", False):
        from app.cli.session_tree import print_trees

        return print_trees(repository, as_json=args.json)
    sessions = repository.sessions.recent()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "status": s.status,
                        "workspace": s.workspace_root,
                        "task": s.task,
                        "model": s.model,
                        "turns": s.turns,
                        "input_tokens": s.input_tokens,
                        "output_tokens": s.output_tokens,
                        "created_at": s.created_at.isoformat(),
                    }
                    for s in sessions
                ],
                indent=2,
            )
        )
        return 0
    for s in sessions:
        print(f"{s.id:>6}  {s.status:<11} {s.model:<20} {s.workspace_root}  {s.task[:60]}")
    return 0


def _print_event(event: Any) -> None:
    from app.services import events

    if isinstance(event, events.TextDelta):
        sys.stdout.write(event.text)
    elif isinstance(event, events.AssistantMessageDone):
        sys.stdout.write("\n")
    elif isinstance(event, events.ProposalWaiting):
        p = event.proposal
        print(f"\n[proposal {p.id}] {common.summary(p)} — waiting for a decision.")
        print(
            f"    signoff show {p.id} | signoff approve {p.id} | signoff reject {p.id} --reason TEXT"
            f" | signoff edit {p.id} --file PATH"
        )
    elif isinstance(event, events.ToolResultSent):
        first = event.text.splitlines()[0] if event.text else ""
        marker = "!" if event.is_error else "·"
        print(f"  {marker} {event.tool_name}: {first[:160]}")
    elif isinstance(event, events.StatusChanged) and event.detail:
        print(f"[session {event.session_id}] {event.status}: {event.detail}")
    sys.stdout.flush()


_DETACHING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


async def _run_headless(db_url: str | None, start: Callable[[Any], Awaitable[int]]) -> int:
    from app.services.runtime import session_runtime
    from app.services.settings import load_settings

    runtime = session_runtime(common.database(db_url), settings=load_settings())
    repository, manager = runtime.repository, runtime.manager
    manager.add_listener(_print_event)
    from app.cli.judges import attach_judges

    judges = attach_judges(manager, repository, runtime.endpoints)
    loop = asyncio.get_running_loop()
    try:
        session_id = await start(manager)
        ended_by: list[signal.Signals] = []

        def detach(signum: signal.Signals) -> None:
            ended_by.append(signum)
            manager.detach(session_id)

        # Ctrl+C is the person at this terminal stopping the agent; SIGTERM / SIGHUP end only this process (a
        # supervisor, a closed terminal): the session and its waiting proposals stay, as when the window closes.
        loop.add_signal_handler(signal.SIGINT, manager.stop, session_id)
        for signum in _DETACHING_SIGNALS:
            loop.add_signal_handler(signum, detach, signum)
        status = await manager.wait(session_id)
        if status == "detached":
            waiting = await repository.read(lambda store: store.proposals.waiting_count(session_id))
            print(
                f"Runner ended by {ended_by[0].name if ended_by else 'a signal'}; session {session_id} keeps "
                f"{waiting} waiting proposal(s) and stays resumable: `signoff resume {session_id}`."
            )
            return 128 + int(ended_by[0]) if ended_by else EXIT_ERROR
        final = await repository.read(lambda store: store.sessions.get(session_id))
        print(f"Session {session_id} {final.status}" + (f": {final.error}" if final.error else "."))
        return 0 if status in ("finished", "stopped") else EXIT_ERROR
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        for signum in _DETACHING_SIGNALS:
            loop.remove_signal_handler(signum)
        await judges.shutdown()
        await manager.shutdown()
        runtime.close()


def run(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.endpoints import ANTHROPIC, DEMO, NoApiKeyError
    from app.services.sessions import NewSession
    from app.services.settings import load_settings
    from app.services.workspace import Workspace

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
        plan=bool(getattr(args, "plan", False)),
        delegation_limits=_limits(args),
        changeset=bool(getattr(args, "changeset", False)),
    )

    async def start(manager) -> int:
        try:
            session = await manager.start(spec)
        except (NoApiKeyError, ValueError) as err:
            raise CliError(str(err)) from None
        print(f"Session {session.id} started in {session.workspace_root} with {session.model}.")
        return session.id

    return asyncio.run(_run_headless(db_url, start))


def _limits(args: argparse.Namespace) -> dict[str, int] | None:
    """The tree's budget from --max-subagents / --max-depth / --max-tree-tokens (None: the defaults)."""
    given = {
        "max_subagents": getattr(args, "max_subagents", None),
        "max_depth": getattr(args, "max_depth", None),
        "max_tree_tokens": getattr(args, "max_tree_tokens", None),
    }
    limits = {key: value for key, value in given.items() if value is not None}
    return limits or None


def resume(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.endpoints import NoApiKeyError
    from app.store.errors import UnknownItemError

    async def start(manager) -> int:
        try:
            await manager.resume(args.session_id)
        except (NoApiKeyError, ValueError, UnknownItemError) as err:
            raise CliError(str(err)) from None
        print(f"Session {args.session_id} resumed.")
        return args.session_id

    return asyncio.run(_run_headless(db_url, start))
