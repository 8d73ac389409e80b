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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.domain.lifecycle import ProposalStatus

EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
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

    queue = commands.add_parser(
        "queue", help="list waiting proposals, with the second reviews and adjudications you may do (team mode)"
    )
    queue.add_argument("--json", action="store_true")
    queue.add_argument("--reviewer", metavar="NAME", help="whose queue (default: the reviewer name in Settings)")
    queue.add_argument("--flag", choices=["hidden", "conflict", "outside-policy"], help="only proposals with this flag")
    queue.add_argument("--db", metavar="URL", dest="sub_db")

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
        sub.add_argument("--db", metavar="URL", dest="sub_db")
    rules_set.add_argument("--reviewer", metavar="NAME", help="who changes them (default: the reviewer in Settings)")

    sessions = commands.add_parser("sessions", help="list sessions")
    sessions.add_argument("--json", action="store_true")
    sessions.add_argument("--db", metavar="URL", dest="sub_db")

    show = commands.add_parser("show", help="print a proposal's diff or command")
    show.add_argument("proposal_id", type=int, metavar="ID")
    show.add_argument(
        "--reviewer", metavar="NAME", help="who reads it: an adjudicator of a disputed one sees both reviews"
    )
    show.add_argument("--db", metavar="URL", dest="sub_db")

    decide = commands.add_parser(
        "decide", help="judge a file change hunk by hunk (`signoff show ID` numbers the hunks)"
    )
    decide.add_argument("proposal_id", type=int, metavar="ID")
    decide.add_argument(
        "--hunk",
        action="append",
        required=True,
        metavar="N=VERDICT",
        help="one per hunk: N=approve, N=reject:REASON, or N=edit:PATH (PATH holds the exact lines that replace hunk N)",
    )
    decide.add_argument("--reviewer", metavar="NAME")
    decide.add_argument("--db", metavar="URL", dest="sub_db")

    for name, help_text in (
        ("approve", "approve a proposal"),
        ("reject", "reject a proposal with a reason"),
        ("edit", "approve your own version instead"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("proposal_id", type=int, metavar="ID")
        sub.add_argument("--reviewer", metavar="NAME")
        sub.add_argument("--db", metavar="URL", dest="sub_db")
        sub.add_argument("--adjudication", action="store_true", help="settle a disputed proposal (team mode)")
        if name == "reject":
            sub.add_argument("--reason", required=True, metavar="TEXT")
        if name == "edit":
            sub.add_argument(
                "--file", required=True, metavar="PATH", help="the new file content, or the command, to apply instead"
            )

    undo = commands.add_parser("undo", help="take back your decision while its undo window (Settings) is open")
    undo.add_argument("proposal_id", type=int, metavar="ID")
    undo.add_argument("--reviewer", metavar="NAME")
    undo.add_argument("--db", metavar="URL", dest="sub_db")

    for name, help_text in (
        ("claim", "hold a proposal for yourself for a while (team mode)"),
        ("release", "give up your claim on a proposal"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("proposal_id", type=int, metavar="ID")
        sub.add_argument("--reviewer", metavar="NAME")
        sub.add_argument("--db", metavar="URL", dest="sub_db")
        if name == "claim":
            sub.add_argument(
                "--lease", type=float, default=120.0, metavar="SECONDS", help="how long the claim lasts (default 120)"
            )

    from app.cli.compare import add_commands as add_compare_commands

    add_compare_commands(commands)

    stats = commands.add_parser("stats", help="what waits, decisions per reviewer, and agreement between reviewers")
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--db", metavar="URL", dest="sub_db")

    diff = commands.add_parser("diff", help="print the unified diff Signoff would show for two files")
    diff.add_argument("old", metavar="OLD", help="old file (/dev/null for none)")
    diff.add_argument("new", metavar="NEW", help="new file (/dev/null for none)")

    export = commands.add_parser("export", help="write decisions as a training dataset (JSONL + dataset card)")
    export.add_argument(
        "--format", required=True, metavar="F", help="trl-dpo, trl-kto, trl-reward, openai-dpo, hh-rlhf, sft or raw"
    )
    export.add_argument(
        "--out", required=True, metavar="PATH", help="a folder, or a .jsonl file; README.md goes beside it"
    )
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
        "--workers",
        type=int,
        metavar="N",
        help="processes rendering rows (default: one per core, up to 4, from 20,000 decisions; 1 = this process only)",
    )
    export.add_argument("--db", metavar="URL", dest="sub_db")

    audit = commands.add_parser("audit", help="check the decisions' hash chain")
    audit.add_argument("audit_command", choices=["verify"], metavar="verify")
    audit.add_argument("--db", metavar="URL", dest="sub_db")

    policy = commands.add_parser("policy", help="a workspace's allow / ask / deny rules (.signoff/policy.toml)")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    policy_show = policy_commands.add_parser("show", help="list the rules")
    policy_add = policy_commands.add_parser("add", help="add a rule at the end")
    policy_add.add_argument("action", choices=["allow", "ask", "deny"])
    policy_add.add_argument("kind", choices=["command", "edit", "create", "file"])
    policy_add.add_argument("pattern", metavar="PATTERN", help='command words ("pytest -q") or a path glob ("src/**")')
    policy_add.add_argument(
        "--match", choices=["prefix", "exact", "glob"], help="for commands (default: glob if PATTERN has * ? [)"
    )
    policy_add.add_argument("--note", default="", metavar="TEXT")
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
    return parser


OpenWindow = Callable[[str | None, bool], int]


def main(argv: Sequence[str] | None = None, open_window: OpenWindow | None = None) -> int:
    """Run one command; with none, ``open_window(db_url, demo)`` (given by app.main, the only place that knows the
    window) starts the window."""
    args = _parser().parse_args(argv)
    db_url = getattr(args, "sub_db", None) or args.db
    try:
        if args.command is None:
            if open_window is None:
                raise CliError("no command given; `signoff --help` lists them")
            return open_window(db_url, args.demo)
        handler = _HANDLERS[args.command]
        return handler(args, db_url)
    except CliError as err:
        print(f"signoff: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


# -- helpers ---------------------------------------------------------------------------------------------------------


def _database(db_url: str | None):
    from app.services.settings import load_settings
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
    from app.services.settings import load_settings

    return (getattr(args, "reviewer", None) or "").strip() or load_settings().reviewer_name


def _proposal(repository, proposal_id: int):
    from app.store.errors import UnknownItemError

    try:
        return repository.proposals.get(proposal_id)
    except UnknownItemError as err:
        raise CliError(str(err)) from None


def _say_who_applies(repository, session_id: int) -> None:
    if repository.sessions.has_live_runner(session_id):
        print(f"The runner of session {session_id} applies it and the agent continues.")
    else:
        print(
            f"No process is running session {session_id} now; "
            f"`signoff resume {session_id}` (or opening Signoff) applies it and continues."
        )


def _summary(proposal) -> str:
    if proposal.kind == "command":
        return f"command: {proposal.command}"
    return f"{proposal.kind} {proposal.path} (+{proposal.lines_added} -{proposal.lines_removed})"


# -- commands --------------------------------------------------------------------------------------------------------


def _cmd_queue(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services import queue as core_queue

    repository = _repository(db_url)
    # The reviewer's own queue: plain waiting proposals plus the second reviews (never of their own first review,
    # and without its verdict) and adjudications they may do.
    reviewer = _reviewer(args)
    cache = core_queue.FlagCache()
    spec = core_queue.QueueSpec(core_queue.QueueFilter(flag=args.flag))
    pending, flags, after = [], {}, None
    while True:
        page = core_queue.fetch_page(repository, spec, after=after, limit=1000, flag_cache=cache, reviewer=reviewer)
        pending += page.items
        flags.update(page.flags)
        if page.next_after is None:
            break
        after = page.next_after
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
                "status": p.status,
                "flags": sorted(flags.get(p.id, ())),
                "claimed_by": p.claimed_by,
            }
            for p in pending
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not pending:
        print("Nothing is waiting for a decision.")
        return 0
    print(f"{'ID':>6}  {'SESSION':>7}  {'STATE':<22} {'KIND':<8} {'+/-':>9}  {'FLAGS':<16} PATH OR COMMAND")
    for p in pending:
        counts = "" if p.kind == "command" else f"+{p.lines_added} -{p.lines_removed}"
        state = core_queue.state_text(p.status, claimed_by=p.claimed_by)
        marks = ",".join(sorted(flags.get(p.id, ()))) or "-"
        print(f"{p.id:>6}  {p.session_id:>7}  {state:<22} {p.kind:<8} {counts:>9}  {marks:<16} {p.target}")
    disputed = [p.id for p in pending if p.status == ProposalStatus.DISPUTED]
    if disputed:
        print(
            f"Disputed: `signoff show ID --reviewer {reviewer}` shows both reviews to you as adjudicator; "
            "decide with --adjudication."
        )
    return 0


def _cmd_review_rules(args: argparse.Namespace, db_url: str | None) -> int:
    from app.domain.review_rules import ReviewRulesError

    root = Path(args.workspace).expanduser()
    if not root.is_dir():
        raise CliError(f"The workspace folder {root} does not exist or is not a folder.")
    workspace = str(root.resolve())
    repository = _repository(db_url)
    if args.rules_command == "set":
        try:
            rules = repository.reviews.set_rules(
                workspace,
                kinds=_comma_list([args.kinds]),
                path_globs=_comma_list(args.paths),
                adjudicators=_comma_list([args.adjudicators]),
                updated_by=_reviewer(args) or None,
            )
        except ReviewRulesError as err:
            raise CliError(str(err)) from None
        print(f"Saved the review rules of {workspace}.")
    else:
        rules = repository.reviews.rules(workspace)
    print(_rules_text(rules))
    return 0


def _comma_list(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _rules_text(rules) -> str:
    if rules.is_empty:
        return "One review decides every proposal here (no two-review rules)."
    lines = ["Two independent reviews for:"]
    if rules.kinds:
        lines.append("  kinds: " + ", ".join(rules.kinds))
    if rules.path_globs:
        lines.append("  paths: " + ", ".join(rules.path_globs))
    lines.append(
        "Disagreements are settled by: "
        + (", ".join(rules.adjudicators) if rules.adjudicators else "anyone except the two reviewers")
    )
    return "\n".join(lines)


def _cmd_sessions(args: argparse.Namespace, db_url: str | None) -> int:
    repository = _repository(db_url)
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


def _cmd_show(args: argparse.Namespace, db_url: str | None) -> int:
    repository = _repository(db_url)
    proposal = _proposal(repository, args.proposal_id)
    print(f"Proposal {proposal.id} · session {proposal.session_id} · {proposal.status} · {_summary(proposal)}")
    print(f"Workspace: {proposal.workspace_root}")
    if proposal.kind == "command":
        print(f"Working directory: {proposal.cwd or '.'}")
        print(f"$ {proposal.command}")
    else:
        sys.stdout.write(_numbered_hunks(proposal.shown_text))
    # A first of two reviews stays hidden until the proposal is decided (reviews are independent).
    decision = repository.proposals.visible_decision(proposal.id)
    if proposal.status in (ProposalStatus.AWAITING_SECOND_REVIEW, ProposalStatus.DISPUTED):
        from app.store.team_review import STATUS_WORDS

        print(f"Review: {STATUS_WORDS[proposal.status]}.")
        if proposal.status == ProposalStatus.DISPUTED:
            _print_reviews_for_adjudicator(repository, proposal.id, _reviewer(args))
    if decision is not None:
        reason = f": {decision.reason}" if decision.reason else ""
        print(f"Decision: {decision.verdict} by {decision.reviewer}{reason}")
        for entry in decision.hunk_verdicts or []:
            detail = f": {entry['reason']}" if entry.get("reason") else ""
            print(f"  Hunk {entry['hunk'] + 1}: {entry['verdict']}{detail}")
    return 0


def _print_reviews_for_adjudicator(repository, proposal_id: int, reviewer: str) -> None:
    from app.store.errors import DecisionRefusedError

    try:
        verdicts = repository.reviews.earlier_verdicts(proposal_id, reviewer)
    except DecisionRefusedError:
        print("You may not adjudicate it, so its two reviews stay hidden from you.")
        return
    for verdict in verdicts:
        reason = f": {verdict.reason}" if verdict.reason else ""
        print(f"  {verdict.stage} review by {verdict.reviewer}: {verdict.verdict}{reason}")
    print(f"Settle it with `signoff approve|reject|edit {proposal_id} --adjudication`.")


def _numbered_hunks(shown_text: str) -> str:
    """The shown diff with "Hunk 1 of 3" above each hunk, the numbers `signoff decide --hunk N=...` takes."""
    lines = shown_text.splitlines(keepends=True)
    # Inside a hunk every line starts with ' ', '+', '-' or '\\': only headers start with "@@".
    total = sum(1 for line in lines if line.startswith("@@ "))
    numbered, number = [], 0
    for line in lines:
        if line.startswith("@@ ") and total:
            number += 1
            numbered.append(f"── Hunk {number} of {total} ──\n")
        numbered.append(line)
    text = "".join(numbered)
    return text if text.endswith("\n") else text + "\n"


def _parse_hunk_verdicts(specs: list[str]):
    """``N=approve``, ``N=reject:REASON``, ``N=edit:PATH`` (N counts from 1) -> HunkVerdicts (0-based)."""
    from app.domain.hunks import HunkVerdict

    verdicts = []
    for spec in specs:
        number, equals, rest = spec.partition("=")
        if not equals or not number.strip().isdigit() or int(number) < 1:
            raise CliError(
                f"--hunk {spec!r}: write N=approve, N=reject:REASON or N=edit:PATH, with N from `signoff show`."
            )
        index = int(number) - 1
        verdict, _colon, detail = rest.partition(":")
        verdict = verdict.strip().lower()
        if verdict == "approve":
            verdicts.append(HunkVerdict(index, "approve"))
        elif verdict == "reject":
            if not detail.strip():
                raise CliError(f"--hunk {spec!r}: a rejected hunk needs a reason: {number}=reject:REASON.")
            verdicts.append(HunkVerdict(index, "reject", reason=detail.strip()))
        elif verdict == "edit":
            if not detail:
                raise CliError(
                    f"--hunk {spec!r}: an edited hunk needs the file with its new lines: {number}=edit:PATH."
                )
            try:
                edited = Path(detail).read_bytes()
            except OSError as err:
                raise CliError(f"Cannot read {detail}: {err.strerror or err}.") from None
            verdicts.append(HunkVerdict(index, "edit", edited=edited))
        else:
            raise CliError(f"--hunk {spec!r}: unknown verdict {verdict!r}; use approve, reject:REASON or edit:PATH.")
    return verdicts


def _cmd_decide(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services import review
    from app.store.errors import StoreError

    repository = _repository(db_url)
    proposal = _proposal(repository, args.proposal_id)
    verdicts = _parse_hunk_verdicts(args.hunk)
    try:
        request = review.by_hunk(proposal.id, _reviewer(args), verdicts, channel="cli")
        decision = review.decide(repository, request)
    except (review.ReviewError, StoreError) as err:
        raise CliError(str(err)) from None
    words = {"approve": "applied", "reject": "NOT applied", "edit": "applied with your edit"}
    judged = ", ".join(
        f"hunk {entry['hunk'] + 1} {words[entry['verdict']]}" + (f" ({entry['reason']})" if entry["reason"] else "")
        for entry in decision.hunk_verdicts or []
    )
    print(f"Decided hunk by hunk: proposal {proposal.id} ({_summary(proposal)}): {judged}.")
    _say_who_applies(repository, proposal.session_id)
    return 0


def _decide(args: argparse.Namespace, db_url: str | None, verdict: str) -> int:
    from app.services import review
    from app.services.settings import load_settings
    from app.store.errors import AlreadyDecidedError, UnknownItemError

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
        proposal.id,
        verdict,
        _reviewer(args),
        reason=getattr(args, "reason", None),
        edited_content=edited,
        channel="cli",
        adjudication=bool(getattr(args, "adjudication", False)),
    )
    from app.store.errors import DecisionRefusedError
    from app.store.team_review import STATUS_WORDS

    try:
        decision = review.decide(repository, request)
    except (review.ReviewError, AlreadyDecidedError, UnknownItemError, DecisionRefusedError) as err:
        raise CliError(str(err)) from None
    status_now = repository.proposals.get(proposal.id).status
    if status_now in STATUS_WORDS and status_now != ProposalStatus.PENDING:
        print(
            f"Recorded your review of proposal {proposal.id} ({_summary(proposal)}); it is now {STATUS_WORDS[status_now]}."
        )
        return 0
    words = {"approve": "Approved", "reject": "Rejected", "edit": "Approved with your edit"}[decision.verdict]
    print(f"{words}: proposal {proposal.id} ({_summary(proposal)}).")
    window_s = load_settings().undo_seconds
    if window_s > 0:
        print(f"It takes effect in {window_s:g} s; until then `signoff undo {proposal.id}` takes it back.")
    _say_who_applies(repository, proposal.session_id)
    return 0


def _cmd_export(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.export import ExportError, run_export

    try:
        return run_export(args, _database(db_url), db_url)
    except ExportError as err:
        raise CliError(str(err)) from None


def _cmd_claim(args: argparse.Namespace, db_url: str | None, *, release: bool) -> int:
    import datetime as dt

    from app.store.errors import DecisionRefusedError, UnknownItemError, clock

    reviewer = _reviewer(args)
    repository = _repository(db_url)
    try:
        if release:
            if not repository.claims.release(args.proposal_id, reviewer):
                raise CliError(f"{reviewer} holds no claim on proposal {args.proposal_id}.")
            print(f"Released proposal {args.proposal_id}.")
            return 0
        if args.lease <= 0:
            raise CliError("A lease is a positive number of seconds.")
        claim = repository.claims.claim(args.proposal_id, reviewer, lease=dt.timedelta(seconds=args.lease))
    except (DecisionRefusedError, UnknownItemError) as err:
        raise CliError(str(err)) from None
    print(f"Claimed proposal {claim.proposal_id} until {clock(claim.expires_at)} for {reviewer}.")
    return 0


def _cmd_stats(args: argparse.Namespace, db_url: str | None) -> int:
    stats = _repository(db_url).reviews.stats()
    if args.json:
        print(json.dumps(stats.as_json(), indent=2))
        return 0
    waiting = stats.waiting
    print(
        f"Waiting: {waiting['pending']} · awaiting second review: {waiting['awaiting_second_review']}"
        f" · disputed: {waiting['disputed']}"
    )
    if stats.reviewers:
        print(
            "Decisions by reviewer: " + ", ".join(f"{name} {count}" for name, count in sorted(stats.reviewers.items()))
        )
    if not stats.pairs:
        print("No item has two independent reviews yet, so there is no agreement to show.")
        return 0
    print(f"{'REVIEWER A':<20} {'REVIEWER B':<20} {'ITEMS':>6} {'AGREE':>7} {'KAPPA':>7}")
    for pair in stats.pairs:
        kappa = "n/a" if pair.kappa is None else f"{pair.kappa:.2f}"
        print(
            f"{pair.reviewer_a:<20} {pair.reviewer_b:<20} {pair.items:>6} {pair.percent_agreement * 100:>6.1f}% {kappa:>7}"
        )
    return 0


def _cmd_undo(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services import undo
    from app.services.settings import load_settings
    from app.store.errors import UndoRefusedError, UnknownItemError

    repository = _repository(db_url)
    window_s = load_settings().undo_seconds
    try:
        proposal = undo.undo(repository, args.proposal_id, _reviewer(args), window_s=window_s, channel="cli")
    except (UndoRefusedError, UnknownItemError) as err:
        raise CliError(str(err)) from None
    print(f"Undone: proposal {proposal.id} ({_summary(proposal)}) waits for a decision again.")
    return 0


def _cmd_diff(args: argparse.Namespace, db_url: str | None) -> int:
    from app.domain.diffing import compute_diff

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
    from app.services import events

    if isinstance(event, events.TextDelta):
        sys.stdout.write(event.text)
    elif isinstance(event, events.AssistantMessageDone):
        sys.stdout.write("\n")
    elif isinstance(event, events.ProposalWaiting):
        p = event.proposal
        print(f"\n[proposal {p.id}] {_summary(p)} — waiting for a decision.")
        print(
            f"    signoff show {p.id} | signoff approve {p.id} | signoff reject {p.id} --reason TEXT | signoff edit {p.id} --file PATH"
        )
    elif isinstance(event, events.ToolResultSent):
        first = event.text.splitlines()[0] if event.text else ""
        marker = "!" if event.is_error else "·"
        print(f"  {marker} {event.tool_name}: {first[:160]}")
    elif isinstance(event, events.StatusChanged) and event.detail:
        print(f"[session {event.session_id}] {event.status}: {event.detail}")
    sys.stdout.flush()


async def _run_headless(db_url: str | None, start) -> int:
    from app.services.api_key import ApiKeyStore
    from app.services.decision_wait import DecisionWaiter
    from app.services.endpoints import Endpoints
    from app.services.sessions import SessionManager
    from app.services.settings import load_settings
    from app.store.async_repository import AsyncRepository
    from app.store.repository import Repository

    repository = AsyncRepository(Repository(_database(db_url)))
    endpoints = Endpoints(ApiKeyStore().current)
    # A decision takes effect only after its undo window, whichever process or machine made it.
    waiter = DecisionWaiter(repository, undo_window_s=load_settings().undo_seconds)
    manager = SessionManager(repository, endpoints, waiter=waiter)
    manager.add_listener(_print_event)
    loop = asyncio.get_running_loop()
    try:
        session_id = await start(manager)
        loop.add_signal_handler(signal.SIGINT, manager.stop, session_id)
        loop.add_signal_handler(signal.SIGTERM, manager.stop, session_id)
        status = await manager.wait(session_id)
        final = await repository.read(lambda store: store.sessions.get(session_id))
        print(f"Session {session_id} {final.status}" + (f": {final.error}" if final.error else "."))
        return 0 if status in ("finished", "stopped") else EXIT_ERROR
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        await manager.shutdown()
        endpoints.close()
        repository.close()


def _cmd_run(args: argparse.Namespace, db_url: str | None) -> int:
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


def _cmd_audit(args: argparse.Namespace, db_url: str | None) -> int:
    from app.store.audit import verify_chain

    report = verify_chain(_database(db_url))
    print(report.summary())
    return 0 if report.intact else EXIT_ERROR


def _cmd_policy(args: argparse.Namespace, db_url: str | None) -> int:
    from app.domain import policy

    root = Path(args.workspace).expanduser()
    if not root.is_dir():
        raise CliError(f"The workspace folder {root} does not exist or is not a folder.")
    try:
        if args.policy_command == "show":
            print(policy.policy_listing(root))
        elif args.policy_command == "add":
            if args.kind == "command":
                rule = policy.Rule.for_command(args.action, args.pattern, args.match, args.note)
            else:
                rule = policy.Rule(args.action, args.kind, args.pattern, "prefix", args.note)
            policy.add_rules(root, [rule])
            print(f"Added: {rule.label} ({policy.policy_path(root)}).")
        elif args.policy_command == "remove":
            removed = policy.remove_rule(root, args.number)
            print(f"Removed rule {args.number}: {removed.label}.")
        else:
            rules = policy.load_policy(root)
            if args.check_command is not None:
                verdict = rules.check_command(args.check_command, args.cwd, root=root)
            else:
                verdict = rules.check_file(
                    "edit" if args.edit is not None else "create", (args.edit or args.create).strip("/")
                )
            print(f"{verdict.action}: {verdict.reason}")
    except policy.PolicyError as err:
        raise CliError(str(err)) from None
    return 0


def _cmd_compare(args: argparse.Namespace, db_url: str | None) -> int:
    from app.cli.compare import run_compare

    return run_compare(args, db_url, database=_database(db_url), reviewer=_reviewer(args), error=CliError)


def _cmd_pick(args: argparse.Namespace, db_url: str | None) -> int:
    from app.cli.compare import run_pick

    repository = _repository(db_url)
    code = run_pick(args, repository=repository, reviewer=_reviewer(args), error=CliError)
    _say_who_applies(repository, repository.proposals.get(args.proposal_id).session_id)
    return code


_HANDLERS = {
    "compare": _cmd_compare,
    "pick": _cmd_pick,
    "audit": _cmd_audit,
    "policy": _cmd_policy,
    "run": _cmd_run,
    "resume": _cmd_resume,
    "queue": _cmd_queue,
    "review-rules": _cmd_review_rules,
    "sessions": _cmd_sessions,
    "show": _cmd_show,
    "decide": _cmd_decide,
    "approve": lambda args, db: _decide(args, db, "approve"),
    "reject": lambda args, db: _decide(args, db, "reject"),
    "edit": lambda args, db: _decide(args, db, "edit"),
    "undo": lambda args, db: _cmd_undo(args, db),
    "claim": lambda args, db: _cmd_claim(args, db, release=False),
    "release": lambda args, db: _cmd_claim(args, db, release=True),
    "stats": _cmd_stats,
    "diff": _cmd_diff,
    "export": lambda args, db: _cmd_export(args, db),
}
