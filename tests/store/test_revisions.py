"""The versions-folder scan that lets an open at head skip Alembic (app.store.revisions) agrees with Alembic, and
declines what it cannot read for sure."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic.script import ScriptDirectory

from app.paths import migrations_dir
from app.store.db import alembic_config, head_revision
from app.store.revisions import scan_revisions


def test_the_scan_finds_the_same_head_and_revisions_as_alembic():
    graph = scan_revisions(migrations_dir())
    assert graph is not None
    script = ScriptDirectory.from_config(alembic_config())
    assert graph.head == head_revision() == script.get_current_head()
    assert graph.known == {revision.revision for revision in script.walk_revisions()}


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_a_new_revision_moves_the_head(tmp_path):
    folder = _copy(tmp_path)
    (folder / "versions" / "0099_next.py").write_text(f'revision = "0099"\ndown_revision = "{head_revision()}"\n')
    graph = scan_revisions(folder)
    assert graph is not None and graph.head == "0099"


def test_what_the_scan_cannot_read_for_sure_is_left_to_alembic(tmp_path):
    folder = _copy(tmp_path)
    branch = folder / "versions" / "0098_branch.py"
    branch.write_text('revision = "0098"\ndown_revision = "0006"\n')
    assert scan_revisions(folder) is None  # two heads
    branch.write_text('revision = "0098"\ndown_revision = ("0006", "0007")\n')
    assert scan_revisions(folder) is None  # a merge
    branch.write_text("revision = make_id()\ndown_revision = '0007'\n")
    assert scan_revisions(folder) is None  # not a literal
    assert scan_revisions(tmp_path / "nowhere") is None
