"""``signoff export``: the command line's options become typed ExportOptions, the service (app.services.export)
writes the dataset and returns an ExportReport, and this module prints it."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from app.cli import common
from app.cli.errors import CliError


def options_from_args(args: argparse.Namespace) -> Any:
    """The ExportOptions the command line asks for; raises ExportError for a value that cannot run."""
    from app.services.export import ExportFilters, ExportOptions, parse_when, validate

    filters = ExportFilters(
        since=parse_when(args.since),
        until=parse_when(args.until, end_of_day=True),
        workspace=str(Path(args.workspace).expanduser().resolve()) if args.workspace else None,
        reviewer=args.reviewer or None,
        model=args.model or None,
        verdicts=tuple(args.verdict or ()),
        sources=tuple(args.source or ()),
        min_seconds=args.min_seconds,
    )
    options = ExportOptions(
        format=args.format,
        out=Path(args.out),
        filters=filters,
        split=args.split,
        seed=args.seed,
        redact=not args.no_redact,
        dedupe=not args.no_dedupe,
        workers=args.workers,
        force=args.force,
        margin=args.margin,
    )
    validate(options)
    return options


def export(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.export import ExportError, ExportTargetsExistError, command_line, existing_targets, export_dataset

    try:
        options = options_from_args(args)
        # Refused before the database is opened (and possibly migrated) for nothing.
        if not options.force and existing_targets(options):
            raise ExportTargetsExistError(existing_targets(options))
    except ExportTargetsExistError as err:
        names = ", ".join(str(path) for path in err.paths)
        raise CliError(
            f"{names} already {'exists' if len(err.paths) == 1 else 'exist'}; "
            "give --force to replace, or choose another --out."
        ) from None
    except ExportError as err:
        raise CliError(str(err)) from None
    options = dataclasses.replace(options, command=command_line(options, db_url))
    database = common.database(db_url)
    try:
        report = export_dataset(database, options)
    except ExportTargetsExistError as err:
        raise CliError(f"{err.paths[0]} appeared while the export ran; nothing was replaced.") from None
    except ExportError as err:
        raise CliError(str(err)) from None
    finally:
        database.close()
    print_report(report, redact=options.redact)
    return 0


def print_report(report: Any, *, redact: bool) -> None:
    from app.domain.wording import count

    for name, path in report.files.items():
        print(f"{path}: {count(report.rows[name], 'row')} ({name})")
    print(f"{report.card}: dataset card")
    workers = f" by {count(report.workers, 'worker process', 'worker processes')}" if report.workers else ""
    print(
        f"{count(report.decisions, 'decision')} in {count(report.sessions, 'session')} -> "
        f"{count(report.total_rows, 'row')} in {report.seconds:.2f} s"
        f"{workers}; {count(report.duplicates_dropped, 'duplicate')} dropped; "
        + (f"{count(report.redacted, 'secret')} redacted." if redact else "redaction off.")
    )
    fewer = report.why_fewer_rows()
    if fewer:
        print(fewer)
