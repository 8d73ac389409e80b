"""``signoff diff OLD NEW``: the unified diff Signoff would show for two files. Needs no database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.errors import CliError


def diff(args: argparse.Namespace, db_url: str | None) -> int:
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
