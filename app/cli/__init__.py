"""The ``signoff`` command line: a parser, one module per command group, all calling the services layer."""

from app.cli.main import main

__all__ = ["main"]
