"""``signoff queue`` and ``signoff stats``: what waits for whom, and how the reviewers agree."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli import common


def _lite_store(db_url: str | None):
    """The SQLite file's lite reads (app.store.queue_lite) when the chosen database is a SQLite file that needs no
    migration; None means the repository (and SQLAlchemy) answer."""
    from app.store.queue_lite import open_lite_queue

    found = common.sqlite_file_and_head(db_url)
    return None if found is None else open_lite_queue(*found)


def queue(args: argparse.Namespace, db_url: str | None) -> int:
    import sqlite3

    lite = _lite_store(db_url) if not args.flag else None
    if lite is not None:
        try:
            # The critic's recent auto-approvals are listed from whole proposals, which only the repository reads.
            if not lite.judgments.critic_decisions(_auto_since()):
                return _queue(args, lite)
        except sqlite3.Error:
            pass  # the repository says it in its words
        finally:
            lite.close()
    return _queue(args, common.repository(db_url))


def _queue(args: argparse.Namespace, repository) -> int:
    from app.services import queue as core_queue

    # The reviewer's own queue: plain waiting proposals plus the second reviews (never of their own first review,
    # and without its verdict) and adjudications they may do.
    reviewer = common.reviewer(args)
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
    from app.cli.judges import judges_fields

    judges = judges_fields(repository, pending, flags)
    if args.sort == "risk":
        # Riskiest first; among equals, the oldest (the order they came in).
        pending.sort(key=lambda p: -judges[p.id]["risk"])
    auto = _auto_approved(repository)
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
                "auto_approved": False,
                "decided_by": None,
                **judges[p.id],
            }
            for p in pending
        ]
        # orjson: json's indenting encoder is pure Python (about 50 ms for a thousand rows on a fresh process).
        import orjson

        sys.stdout.write(
            orjson.dumps(rows + [row for row, _ in auto], option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
        )
        return 0
    _print_auto_approved(auto)
    if not pending:
        print("Nothing is waiting for a decision.")
        return 0
    print(
        f"{'ID':>6}  {'SESSION':>7}  {'STATE':<22} {'KIND':<8} {'+/-':>9}  {'FLAGS':<16} {'TESTS':<8} RISK "
        "PATH OR COMMAND"
    )
    for p in pending:
        counts = "" if p.kind == "command" else f"+{p.lines_added} -{p.lines_removed}"
        state = core_queue.state_text(p.status, claimed_by=p.claimed_by)
        marks = ",".join(sorted(flags.get(p.id, ()))) or "-"
        tests = (judges[p.id]["verifier"] or {}).get("status", "-")
        risk = judges[p.id]["risk"]
        print(
            f"{p.id:>6}  {p.session_id:>7}  {state:<22} {p.kind:<8} {counts:>9}  {marks:<16} {tests:<8} {risk:.2f} "
            f"{p.target}"
        )
    disputed = [p.id for p in pending if p.status == "disputed"]
    if disputed:
        print(
            f"Disputed: `signoff show ID --reviewer {reviewer}` shows both reviews to you as adjudicator; "
            "decide with --adjudication."
        )
    return 0


# The critic's own approvals stay listed in the queue this long, marked, so nobody misses one.
AUTO_APPROVED_SHOWN_S = 600


def _auto_since():
    import datetime as dt

    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=AUTO_APPROVED_SHOWN_S)


def _auto_approved(repository) -> list[tuple[dict, str]]:
    """The critic's recent auto-approvals as queue rows (``"auto_approved": true``, ``"decided_by": "critic"``), with
    the line the table prints for each."""
    decided = repository.judgments.critic_decisions(_auto_since())
    if not decided:
        return []
    from app.cli.judges import judges_fields
    from app.services import queue as core_queue

    proposals = [repository.proposals.get(pid) for pid, _, _ in decided]
    judges = judges_fields(repository, proposals)
    out = []
    for proposal, (_, decided_at, reason) in zip(proposals, decided, strict=True):
        row = {
            "id": proposal.id,
            "session": proposal.session_id,
            "workspace": proposal.workspace_root,
            "task": proposal.task,
            "kind": proposal.kind,
            "path": proposal.path,
            "command": proposal.command,
            "status": str(proposal.status),
            "auto_approved": True,
            "decided_by": "critic",
            "decided_at": decided_at.isoformat(),
            "reason": reason,
            **judges[proposal.id],
        }
        state = core_queue.state_text(proposal.status, verdict="approve")
        out.append((row, f"{proposal.id:>6}  {state:<22} {proposal.kind:<8} {proposal.target}  — {reason or ''}"))
    return out


def _print_auto_approved(auto: list[tuple[dict, str]]) -> None:
    if not auto:
        return
    print(
        f"Approved by the critic on its own in the last {AUTO_APPROVED_SHOWN_S // 60} minutes "
        "(`signoff undo ID` takes one back inside its undo window):"
    )
    for _, line in auto:
        print(line)
    print()


def stats(args: argparse.Namespace, db_url: str | None) -> int:
    from app.cli import judges

    repository = common.repository(db_url)
    stats = repository.reviews.stats()
    if args.json:
        print(json.dumps({**stats.as_json(), "critic_agreement": judges.stats_json(repository)}, indent=2))
        return 0
    judges.print_stats(repository)
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
            f"{pair.reviewer_a:<20} {pair.reviewer_b:<20} {pair.items:>6} "
            f"{pair.percent_agreement * 100:>6.1f}% {kappa:>7}"
        )
    return 0
