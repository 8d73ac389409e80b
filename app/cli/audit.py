"""``signoff audit verify``: check the decisions' hash chain."""

from __future__ import annotations

import argparse

from app.cli import common
from app.cli.errors import EXIT_ERROR


def audit(args: argparse.Namespace, db_url: str | None) -> int:
    from app.store.audit import verify_chain

    report = verify_chain(common.database(db_url))
    print(report.summary())
    return 0 if report.intact else EXIT_ERROR
