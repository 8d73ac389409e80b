"""``signoff queue`` and ``signoff stats``: what waits for whom, and how the reviewers agree."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli import common


def _lite_store(db_url: str | None):
    """The SQLite file's lite reads (app.store.queue_lite) when the chosen database is a SQLite file that needs no
    migration; None means the repository (and SQLAlchemy) answer."""
    import os
    from pathlib import Path

    from app.paths import migrations_dir
    from app.services.settings import load_settings
    from app.store.queue_lite import open_lite_queue
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
    return open_lite_queue(Path(os.path.abspath(Path(chosen).expanduser())), graph.head)


def queue(args: argparse.Namespace, db_url: str | None) -> int:
    import sqlite3

    lite = _lite_store(db_url) if not args.flag else None
    if lite is not None:
        try:
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
        pending.sort(key=lambda p: -judges[p.id]["risk"])
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
                **judges[p.id],
            }
            for p in pending
        ]
        # orjson: json's indenting encoder is pure Python (about 50 ms for a thousand rows on a fresh process).
        import orjson

        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n")
        return 0
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
