"""The ``signoff`` command line: a parser (app.cli.parser), one module per command group, all calling the services
layer; the database, repository and API client come from the composition root the window shares
(app.services.runtime).

Start-up is part of the interface: agent hooks and scripts call these commands constantly. So the parser imports
nothing heavy, and each command's module (and what it needs: SQLAlchemy only for commands that open the database, the
anthropic SDK only for those that call the API, Qt never) is imported when that command runs.

Errors are one clear line on stderr and a non-zero exit (app.cli.errors).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from app.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, CliError

__all__ = ["COMMANDS", "CliError", "OpenTui", "OpenWindow", "main"]

OpenWindow = Callable[[str | None, bool], int]
# (db_url, demo, reviewer, team or None for "on PostgreSQL") -> exit status
OpenTui = Callable[[str | None, bool, str | None, bool | None], int]

# command -> (module in app.cli, function taking (args, db_url) and returning the exit code)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run"),
    "resume": ("run", "resume"),
    "sessions": ("run", "sessions"),
    "show": ("review", "show"),
    "approve": ("review", "approve"),
    "reject": ("review", "reject"),
    "edit": ("review", "edit"),
    "decide": ("review", "decide_hunks"),
    "changeset": ("changeset", "changeset"),
    "undo": ("review", "undo"),
    "claim": ("review", "claim"),
    "release": ("review", "release"),
    "queue": ("queue", "queue"),
    "stats": ("queue", "stats"),
    "review-rules": ("review_rules", "review_rules"),
    "compare": ("compare", "compare"),
    "pick": ("compare", "pick"),
    "export": ("export", "export"),
    "policy": ("policy", "policy_command"),
    "init-db": ("init_db", "init_db"),
    "audit": ("audit", "audit"),
    "diff": ("diff", "diff"),
    # External agents (app.cli.adapters): the Claude Code hook, its settings, the MCP permission prompt tool.
    "hook": ("adapters", "hook"),
    "hooks": ("adapters", "hooks"),
    "mcp": ("adapters", "mcp"),
    "codex": ("adapters", "codex"),
    "acp": ("adapters", "acp"),
    "verify": ("judges", "run_verify"),
    "critique": ("judges", "run_critique"),
    "judges": ("judges", "run_judges"),
}


def main(
    argv: Sequence[str] | None = None, open_window: OpenWindow | None = None, open_tui: OpenTui | None = None
) -> int:
    """Run one command; with none, ``open_window(db_url, demo)`` (given by app.main, the only place that knows the
    window) starts the window, and ``signoff tui`` calls ``open_tui``."""
    from app.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    db_url = getattr(args, "sub_db", None) or args.db
    try:
        if args.command is None:
            if open_window is None:
                raise CliError("no command given; `signoff --help` lists them")
            return open_window(db_url, args.demo)
        if args.command == "tui":
            if open_tui is None:
                raise CliError("the terminal UI is not available here")
            return open_tui(db_url, args.run_demo or args.demo, args.reviewer, args.team)
        module_name, function_name = COMMANDS[args.command]
        handler = getattr(importlib.import_module(f"app.cli.{module_name}"), function_name)
        return int(handler(args, db_url))
    except CliError as err:
        print(f"signoff: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
