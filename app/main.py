"""The ``signoff`` entry point: the window when no command is given, the command line otherwise.

The only module that knows both: app.cli never imports the window, and the window is imported only when it opens.
"""

from __future__ import annotations

from collections.abc import Sequence


def _open_window(db_url: str | None, demo: bool) -> int:
    from app.ui.application import run_window

    return run_window(db_url=db_url, demo=demo)


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli import main as run_command

    return run_command(argv, open_window=_open_window)
