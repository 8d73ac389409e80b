"""The ``signoff`` argument tree. Imports nothing but argparse and constants, so `signoff --help` and every parse
stay fast; what a command needs is imported by its own module when it runs (app.cli.COMMANDS).

Values that could only fail later, deep in the database or the agent loop (an id beyond SQLite's 64-bit integers,
a lease of ``nan`` seconds, zero turns), are refused here with one line.
"""

from __future__ import annotations

import argparse
import math

from app.services.compare_limits import DEFAULT_ALTERNATIVES, MAX_ALTERNATIVES, MIN_ALTERNATIVES

# SQLite and PostgreSQL (BIGINT) ids are signed 64-bit integers.
MAX_ID = 2**63 - 1
# A claim longer than this is a mistake (and a timedelta past year 9999 would overflow).
MAX_LEASE_S = 365 * 86400.0


def record_id(text: str) -> int:
    """A proposal, session or compare id: a whole number from 1 to MAX_ID."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id; ids are whole numbers from 1") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text} is not an id; ids are whole numbers from 1 to {MAX_ID}")
    return value


def lease_seconds(text: str) -> float:
    """A claim's lease: a finite number of seconds above 0 and at most MAX_LEASE_S."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_LEASE_S:
        raise argparse.ArgumentTypeError(
            f"a lease is a number of seconds above 0 and at most {MAX_LEASE_S:g} (a year), not {text}"
        )
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"give 1 or more, not {value}")
    return value


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", dest="sub_db")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff",
        description="Review every change an AI agent proposes; keep every judgment as preference data.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database path or URL (default: SIGNOFF_DB, Settings, then SQLite in the data folder)",
    )
    parser.add_argument("--demo", action="store_true", help="start the window with the offline demo agent")
    from app import __version__

    parser.add_argument("--version", action="version", version=f"signoff {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run_commands(commands)
    _add_queue_commands(commands)
    _add_review_rules_commands(commands)
    _add_review_commands(commands)
    _add_compare_commands(commands)
    _add_other_commands(commands)
    _add_export_command(commands)
    _add_policy_commands(commands)
    init_db = commands.add_parser("init-db", help="create the database (at URL, SIGNOFF_DB, Settings or the default)")
    init_db.add_argument("url", nargs="?", metavar="URL", help="a SQLite file path or a postgresql+psycopg:// URL")
    from app.cli.adapters import add_commands as add_adapter_commands

    add_adapter_commands(commands)
    _add_judges_commands(commands)
    from app.cli.changeset import add_commands as add_changeset_commands

    add_changeset_commands(commands)
    return parser


def _add_judges_commands(commands) -> None:
    from app.cli.judges import add_commands

    add_commands(commands)


def _add_run_commands(commands) -> None:
    run = commands.add_parser("run", help="run an agent session headless; its proposals wait in the database")
    run.add_argument("--workspace", required=True, metavar="DIR")
    run.add_argument("--task", required=True, metavar="TEXT")
    run.add_argument("--model", metavar="M")
    run.add_argument("--max-turns", type=positive_int, metavar="N", help="model turns before it stops (1 or more)")
    run.add_argument("--max-tokens", type=positive_int, metavar="N")
    run.add_argument("--demo", action="store_true", dest="run_demo", help="use the offline demo agent")
    run.add_argument(
        "--plan", action="store_true", help="start in plan mode: the agent reads, proposes a plan, acts once approved"
    )
    run.add_argument("--max-subagents", type=positive_int, metavar="N", help="sub-agents each session may start")
    run.add_argument("--max-depth", type=positive_int, metavar="N", help="how deep sub-agents may nest")
    run.add_argument("--max-tree-tokens", type=positive_int, metavar="N", help="tokens the whole tree may use")
    run.add_argument(
        "--changeset",
        action="store_true",
        help="the agent works in its own worktree; its changes are reviewed as one changeset, hunk by hunk",
    )
    _db_option(run)

    resume = commands.add_parser("resume", help="continue an interrupted or waiting session headless")
    resume.add_argument("session_id", type=record_id, metavar="SESSION")
    _db_option(resume)

    tui = commands.add_parser("tui", help="review the queue in the terminal (works over SSH, no display needed)")
    tui.add_argument("--demo", action="store_true", dest="run_demo", help="also run the offline demo agent")
    tui.add_argument("--reviewer", metavar="NAME", help="who decides (default: the reviewer name in Settings)")
    tui.add_argument(
        "--team", action="store_true", default=None, help="claim the proposal on screen (default: on PostgreSQL)"
    )
    _db_option(tui)

    sessions = commands.add_parser("sessions", help="list sessions")
    sessions.add_argument("--json", action="store_true")
    sessions.add_argument("--tree", action="store_true", help="each session with its sub-agents under it")
    _db_option(sessions)


def _add_queue_commands(commands) -> None:
    queue = commands.add_parser(
        "queue", help="list waiting proposals, with the second reviews and adjudications you may do (team mode)"
    )
    queue.add_argument("--json", action="store_true")
    queue.add_argument("--reviewer", metavar="NAME", help="whose queue (default: the reviewer name in Settings)")
    queue.add_argument("--flag", choices=["hidden", "conflict", "outside-policy"], help="only proposals with this flag")
    queue.add_argument("--sort", choices=["age", "risk"], default="age", help="oldest or riskiest first")
    _db_option(queue)

    stats = commands.add_parser("stats", help="what waits, decisions per reviewer, and agreement between reviewers")
    stats.add_argument("--json", action="store_true")
    _db_option(stats)


def _add_review_rules_commands(commands) -> None:
    rules = commands.add_parser(
        "review-rules", help="a workspace's two-review rules (kept in the database, out of the agent's reach)"
    )
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    rules_show = rules_commands.add_parser("show", help="which proposals need two reviews, and who adjudicates")
    rules_set = rules_commands.add_parser("set", help="replace the rules (give none of the options to need one review)")
    rules_set.add_argument(
        "--kinds", default="", metavar="LIST", help="kinds that always need two reviews: edit,create,command"
    )
    rules_set.add_argument(
        "--paths",
        action="append",
        default=[],
        metavar="GLOB",
        help="path glob whose changes need two reviews, e.g. 'migrations/**' (repeatable, or comma-separated)",
    )
    rules_set.add_argument(
        "--adjudicators",
        default="",
        metavar="NAMES",
        help="who may settle a disagreement, comma-separated (default: anyone but the two reviewers)",
    )
    for sub in (rules_show, rules_set):
        sub.add_argument("--workspace", default=".", metavar="DIR", help="the workspace folder (default: here)")
        _db_option(sub)
    rules_set.add_argument("--reviewer", metavar="NAME", help="who changes them (default: the reviewer in Settings)")


def _add_review_commands(commands) -> None:
    show = commands.add_parser("show", help="print a proposal's diff or command")
    show.add_argument("proposal_id", type=record_id, metavar="ID")
    show.add_argument("--json", action="store_true", help="the proposal and its judges' results as JSON")
    show.add_argument(
        "--reviewer", metavar="NAME", help="who reads it: an adjudicator of a disputed one sees both reviews"
    )
    _db_option(show)

    decide = commands.add_parser(
        "decide", help="judge a file change hunk by hunk (`signoff show ID` numbers the hunks)"
    )
    decide.add_argument("proposal_id", type=record_id, metavar="ID")
    decide.add_argument(
        "--hunk",
        action="append",
        required=True,
        metavar="N=VERDICT",
        help="one per hunk: N=approve, N=reject:REASON, or N=edit:PATH "
        "(PATH holds the exact lines that replace hunk N)",
    )
    decide.add_argument("--reviewer", metavar="NAME")
    _db_option(decide)

    for name, help_text in (
        ("approve", "approve a proposal"),
        ("reject", "reject a proposal with a reason"),
        ("edit", "approve your own version instead"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("proposal_id", type=record_id, metavar="ID")
        sub.add_argument("--reviewer", metavar="NAME")
        _db_option(sub)
        sub.add_argument("--adjudication", action="store_true", help="settle a disputed proposal (team mode)")
        if name in ("approve", "edit"):
            sub.add_argument(
                "--grant-git",
                action="store_true",
                help="commands: let it write .git/ (e.g. git commit); without this .git/ is read-only",
            )
            sub.add_argument(
                "--grant-network", action="store_true", help="commands: let it reach the network (off without this)"
            )
        if name == "reject":
            sub.add_argument("--reason", required=True, metavar="TEXT")
        if name == "edit":
            sub.add_argument(
                "--file",
                required=True,
                metavar="PATH",
                help="the new file content, or the command, to apply instead (UTF-8 text, up to 5 MB)",
            )

    undo = commands.add_parser("undo", help="take back your decision while its undo window (Settings) is open")
    undo.add_argument("proposal_id", type=record_id, metavar="ID")
    undo.add_argument("--reviewer", metavar="NAME")
    _db_option(undo)

    for name, help_text in (
        ("claim", "hold a proposal for yourself for a while (team mode)"),
        ("release", "give up your claim on a proposal"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("proposal_id", type=record_id, metavar="ID")
        sub.add_argument("--reviewer", metavar="NAME")
        _db_option(sub)
        if name == "claim":
            sub.add_argument(
                "--lease",
                type=lease_seconds,
                default=120.0,
                metavar="SECONDS",
                help="how long the claim lasts (default 120)",
            )


def _add_compare_commands(commands) -> None:
    sub = commands.add_parser("compare", help="sample N alternatives for a waiting proposal and print them")
    sub.add_argument("proposal_id", type=record_id, metavar="ID")
    sub.add_argument(
        "-n",
        "--count",
        type=int,
        default=DEFAULT_ALTERNATIVES,
        metavar="N",
        help=f"how many alternatives ({MIN_ALTERNATIVES}-{MAX_ALTERNATIVES}, default {DEFAULT_ALTERNATIVES})",
    )
    sub.add_argument("--last", action="store_true", help="print the alternatives sampled last time, sample nothing")
    sub.add_argument("--reviewer", metavar="NAME")
    _db_option(sub)

    pick = commands.add_parser("pick", help="pick one of a proposal's compared alternatives, or reject them all")
    pick.add_argument("proposal_id", type=record_id, metavar="ID")
    choice = pick.add_mutually_exclusive_group(required=True)
    choice.add_argument("--alternative", type=int, metavar="K", help="0 is the original, 1..N the alternatives")
    choice.add_argument("--reject-all", action="store_true", help="reject every alternative (needs --reason)")
    pick.add_argument("--reason", metavar="TEXT")
    pick.add_argument("--compare", type=record_id, metavar="C", help="which compare (default: the proposal's latest)")
    pick.add_argument("--strength", type=int, metavar="1-5")
    pick.add_argument("--reviewer", metavar="NAME")
    _db_option(pick)


def _add_other_commands(commands) -> None:
    diff = commands.add_parser("diff", help="print the unified diff Signoff would show for two files")
    diff.add_argument("old", metavar="OLD", help="old file (/dev/null for none)")
    diff.add_argument("new", metavar="NEW", help="new file (/dev/null for none)")

    audit = commands.add_parser("audit", help="check the decisions' hash chain")
    audit.add_argument("audit_command", choices=["verify"], metavar="verify")
    _db_option(audit)


def _add_export_command(commands) -> None:
    export = commands.add_parser("export", help="write decisions as a training dataset (JSONL + dataset card)")
    export.add_argument(
        "--format",
        required=True,
        metavar="F",
        help="trl-dpo, trl-kto, trl-reward, openai-dpo, hh-rlhf, sft, raw or trajectory",
    )
    export.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="a .jsonl file (its card goes beside it as NAME.card.md) "
        "or a folder (the data files and README.md go in it)",
    )
    export.add_argument("--force", action="store_true", help="replace the data files and card if they already exist")
    export.add_argument(
        "--since", metavar="DATE", help="decisions on or after this ISO date or time (UTC unless given)"
    )
    export.add_argument("--until", metavar="DATE", help="decisions on or before this ISO date or time")
    export.add_argument("--workspace", metavar="DIR")
    export.add_argument("--reviewer", metavar="NAME")
    export.add_argument("--model", metavar="M")
    export.add_argument(
        "--verdict", action="append", default=[], metavar="V", help="approve, reject or edit (repeatable)"
    )
    export.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="S",
        help="approve, reject, edit, revision, hunks or compare (repeatable)",
    )
    export.add_argument("--min-seconds", type=float, metavar="S", help="only decisions on screen at least this long")
    export.add_argument("--split", type=float, metavar="FRACTION", help="put this fraction of sessions in a test file")
    export.add_argument("--seed", type=int, default=0, metavar="N")
    export.add_argument("--no-redact", action="store_true", help="keep secrets found in prompts and completions")
    export.add_argument("--no-dedupe", action="store_true", help="keep rows identical to an earlier one")
    export.add_argument(
        "--margin",
        default="strength",
        metavar="FROM",
        help="trl-reward's margin: 'strength' (the reviewer's 1-5 rating, the default) or 'verifier' (the reward gap)",
    )
    export.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes rendering rows (default: one per core, up to 4, from 20,000 decisions; 1 = this process only)",
    )
    _db_option(export)


def _add_policy_commands(commands) -> None:
    policy = commands.add_parser("policy", help="a workspace's allow / ask / deny rules (.signoff/policy.toml)")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    policy_show = policy_commands.add_parser("show", help="list the rules")
    policy_add = policy_commands.add_parser("add", help="add a rule at the end")
    policy_add.add_argument("action", choices=["allow", "ask", "deny"])
    policy_add.add_argument("kind", choices=["command", "edit", "create", "file", "delegate"])
    policy_add.add_argument("pattern", metavar="PATTERN", help='command words ("pytest -q") or a path glob ("src/**")')
    policy_add.add_argument(
        "--match", choices=["prefix", "exact", "glob"], help="for commands (default: glob if PATTERN has * ? [)"
    )
    policy_add.add_argument("--note", default="", metavar="TEXT")
    policy_add.add_argument(
        "--git-writes", action="store_true", help="allow command rules: the command may write .git/ (git commit)"
    )
    policy_add.add_argument(
        "--network", action="store_true", help="allow command rules: the command may use the network"
    )
    policy_remove = policy_commands.add_parser("remove", help="remove rule N (as listed by show)")
    policy_remove.add_argument("number", type=int, metavar="N")
    policy_check = policy_commands.add_parser("check", help="what the rules decide for a command or a file change")
    target = policy_check.add_mutually_exclusive_group(required=True)
    target.add_argument("--command", metavar="TEXT", dest="check_command")
    target.add_argument("--edit", metavar="PATH")
    target.add_argument("--create", metavar="PATH")
    policy_check.add_argument(
        "--cwd", default=".", metavar="DIR", help="for --command: folder it runs in, in the workspace"
    )
    for sub in (policy_show, policy_add, policy_remove, policy_check):
        sub.add_argument("--workspace", default=".", metavar="DIR", help="the workspace folder (default: here)")
