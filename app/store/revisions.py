"""Signoff's migration revisions read straight from the versions folder, without loading Alembic: opening a database
that is already at head (nearly every open) then costs a file scan instead of Alembic's import and script loading.
Alembic itself (app.store.db._upgrade) runs whenever the stored revision is not the head, so no migration is skipped.

A folder this scan cannot read with certainty (a merge revision, a file without plain string literals) is left to
Alembic's own ScriptDirectory. No Qt, no SQLAlchemy.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `revision = "0007"` or `revision: str = "0007"`, at the start of a line, as Alembic's template writes them.
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*([^\n#]+)", re.MULTILINE)


@dataclass(frozen=True)
class RevisionGraph:
    """Each revision's parent (None for the first), and the one head."""

    parents: dict[str, str | None]
    head: str

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.parents)


def scan_revisions(script_location: str | os.PathLike[str]) -> RevisionGraph | None:
    """The revision graph of ``<script_location>/versions``, or None when it is not a plain line with one head that
    this scan can read for sure (then Alembic's ScriptDirectory is the judge)."""
    versions = Path(script_location) / "versions"
    try:
        files = sorted(path for path in versions.glob("*.py") if path.name != "__init__.py")
    except OSError:
        return None
    parents: dict[str, str | None] = {}
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        found: dict[str, list[Any]] = {}
        for match in _ASSIGNMENT.finditer(source):
            try:
                found.setdefault(match.group(1), []).append(ast.literal_eval(match.group(2).strip()))
            except (ValueError, SyntaxError):
                return None
        revisions, downs = found.get("revision", []), found.get("down_revision", [])
        if len(revisions) != 1 or len(downs) != 1:
            return None
        revision, down = revisions[0], downs[0]
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)) or revision in parents:
            return None
        parents[revision] = down
    if not parents or any(down is not None and down not in parents for down in parents.values()):
        return None
    heads = set(parents) - {down for down in parents.values() if down is not None}
    if len(heads) != 1:
        return None
    return RevisionGraph(parents, heads.pop())
