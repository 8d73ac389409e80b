"""``signoff init-db [URL]``: create the database where the person asks (a --db or SIGNOFF_DB URL never creates one)
and say which file is in use."""

from __future__ import annotations

import argparse

from app.cli.errors import CliError


def init_db(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.database_location import init_database
    from app.store.errors import StoreError

    try:
        with init_database(args.url or db_url) as database:
            print(f"The database in use is {database.location}.")
    except StoreError as err:
        raise CliError(str(err)) from None
    return 0
