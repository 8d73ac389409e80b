"""Workspace rows: found by folder, created on first use. No Qt here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from app.store.models import Workspace


def workspace_row(orm: OrmSession, root_path: str) -> Workspace:
    """The workspace row for a folder, created on first use (inside the caller's transaction)."""
    workspace = orm.scalar(select(Workspace).where(Workspace.root_path == root_path))
    if workspace is None:
        workspace = Workspace(root_path=root_path)
        orm.add(workspace)
        orm.flush()
    return workspace
