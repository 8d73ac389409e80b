"""What a command says when it cannot do what was asked: CliError (one sentence, printed as ``signoff: ...`` on
stderr) and the exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
# argparse's own code for a command line it cannot parse.
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """The command cannot run as asked; the message says why in one sentence."""
