"""Alembic migrations against real SQLite files and a real PostgreSQL server: they match the models, back up, roll back.

Later migrations are simulated by copying the shipped migrations folder and adding a revision on top of the shipped head
to the copy.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from app.paths import migrations_dir
from app.store import errors
from app.store.db import alembic_config, head_revision, open_database
from app.store.models import AgentSession, Base, Decision, Message, Proposal, Workspace

# The shipped head, and the id of the "later Signoff" revision these tests simulate on top of it.
HEAD = head_revision()
NEXT = "9999"

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "signoff.db")
    return request.getfixturevalue("postgres_url")


def migrations_with_next_revision(tmp_path: Path, upgrade_body: str) -> Path:
    """A copy of the shipped migrations plus a revision NEXT on top of HEAD whose upgrade() runs ``upgrade_body``."""
    scripts = tmp_path / "migrations-next"
    shutil.copytree(migrations_dir(), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / f"{NEXT}_next.py").write_text(
        textwrap.dedent(
            f'''\
            """A later Signoff's schema change, for tests."""
            import sqlalchemy as sa
            from alembic import op

            revision = "{NEXT}"
            down_revision = "{HEAD}"
            branch_labels = None
            depends_on = None


            def upgrade():
            '''
        )
        + textwrap.indent(textwrap.dedent(upgrade_body), "    ")
        + "\n\ndef downgrade():\n    pass\n"
    )
    return scripts


def fill_one_reviewed_session(url: str) -> None:
    with open_database(url) as db, db.session() as session:
        workspace = Workspace(root_path="/work/project")
        agent_session = AgentSession(
            workspace=workspace, task="t", model="m", system_prompt="s", tools=[], sampling={}, max_turns=3
        )
        agent_session.messages.append(Message(seq=0, role="user", content=[{"type": "text", "text": "go"}]))
        proposal = Proposal(
            session=agent_session,
            message_seq=1,
            tool_use_id="toolu_1",
            tool_name="write_file",
            tool_input={"path": "a.txt"},
            kind="create",
            new_content=b"\x00new\xff",
            shown_text="+new",
            shown_hash="a" * 64,
        )
        proposal.decisions.append(Decision(verdict="approve", reviewer="ana"))
        session.add(workspace)
        session.commit()


def row_counts(db_session) -> dict[str, int]:
    return {
        model.__tablename__: db_session.scalar(select(func.count()).select_from(model))
        for model in (Workspace, AgentSession, Message, Proposal, Decision)
    }


def stored_revision(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        connection.close()


# -- models and migrations agree ---------------------------------------------------------------------------------------


def test_models_and_migrations_agree(any_database_url: str) -> None:
    with open_database(any_database_url) as db, db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "target_metadata": Base.metadata})
        assert compare_metadata(context, Base.metadata) == []


def test_autogenerate_against_a_migrated_database_writes_an_empty_revision(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    scripts = tmp_path / "migrations-copy"
    shutil.copytree(migrations_dir(), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    config = alembic_config(scripts)
    config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")

    script = command.revision(config, message="nothing to do", autogenerate=True, rev_id=NEXT)

    written = Path(script.path).read_text()
    compile(written, script.path, "exec")
    assert f"down_revision: Union[str, Sequence[str], None] = '{HEAD}'" in written
    assert "op." not in written  # no operation in either direction


def test_downgrading_to_base_removes_every_table_and_upgrading_restores_them(any_database_url: str) -> None:
    with open_database(any_database_url) as db:
        with db.engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        with db.engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "head")
            assert set(inspect(connection).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}


@pytest.mark.parametrize("url", ["sqlite:///unused.db", "postgresql+psycopg://u@host/db"])
def test_offline_mode_writes_the_schema_as_sql_for_a_dba(url: str) -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    script = config.output_buffer.getvalue()
    assert "CREATE TABLE decisions" in script
    assert ("BIGSERIAL" in script) == url.startswith("postgresql")
    assert f"UPDATE alembic_version SET version_num='{HEAD}'" in script or (
        f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD}')" in script
    )


# -- pending migrations on SQLite --------------------------------------------------------------------------------------


def test_pending_migration_backs_up_the_file_first_including_unsaved_wal_pages(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    # Another program's rows that still sit in the WAL, not yet checkpointed into the main file.
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO workspaces (root_path, created_at) VALUES ('/only/in/the/wal', '2026-01-01')")
    writer.commit()
    scripts = migrations_with_next_revision(
        tmp_path, 'op.add_column("workspaces", sa.Column("label", sa.String(100), nullable=True))'
    )
    try:
        with open_database(str(path), script_location=scripts) as db:
            assert (db.previous_revision, db.revision) == (HEAD, NEXT)
            assert db.backup_path == tmp_path / f"signoff.db.bak-{HEAD}"
    finally:
        writer.close()

    backup = sqlite3.connect(db.backup_path)
    try:
        assert backup.execute("SELECT root_path FROM workspaces").fetchall() == [("/only/in/the/wal",)]
        assert backup.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert backup.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        backup.close()
    assert stored_revision(path) == NEXT


def test_second_backup_of_the_same_revision_does_not_overwrite_the_first(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    earlier_backup = tmp_path / f"signoff.db.bak-{HEAD}"
    earlier_backup.write_bytes(b"an earlier backup the user kept")
    scripts = migrations_with_next_revision(tmp_path, "pass")

    with open_database(str(path), script_location=scripts) as db:
        assert db.backup_path == tmp_path / f"signoff.db.bak-{HEAD}.2"
    assert earlier_backup.read_bytes() == b"an earlier backup the user kept"


def test_batch_rebuild_of_parent_tables_keeps_every_child_row(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    fill_one_reviewed_session(str(path))
    # recreate="always" makes SQLite copy and DROP the parent tables: with foreign keys on, that would cascade.
    scripts = migrations_with_next_revision(
        tmp_path,
        """
        with op.batch_alter_table("workspaces", recreate="always") as batch:
            batch.add_column(sa.Column("label", sa.String(100), nullable=True))
        with op.batch_alter_table("sessions", recreate="always") as batch:
            batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        with op.batch_alter_table("proposals", recreate="always") as batch:
            batch.add_column(sa.Column("risk", sa.Integer(), nullable=True))
        """,
    )

    with open_database(str(path), script_location=scripts) as db:
        assert db.revision == NEXT
        with db.session() as session:
            assert row_counts(session) == {
                "workspaces": 1,
                "sessions": 1,
                "messages": 1,
                "proposals": 1,
                "decisions": 1,
            }
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_migration_that_would_orphan_rows_is_rolled_back_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    fill_one_reviewed_session(str(path))
    scripts = migrations_with_next_revision(tmp_path, 'op.execute("DELETE FROM workspaces")')

    with pytest.raises(errors.MigrationError) as refused:
        open_database(str(path), script_location=scripts)

    assert str(refused.value) == (
        f"Upgrading the database at {path} from revision {HEAD} would leave 1 row in sessions pointing at rows that no "
        f"longer exist, so nothing was changed and the backup {path}.bak-{HEAD} is still there."
    )
    assert stored_revision(path) == HEAD
    with open_database(str(path)) as db, db.session() as session:
        assert row_counts(session)["workspaces"] == 1
    assert (tmp_path / f"signoff.db.bak-{HEAD}").is_file()


def test_failing_migration_changes_nothing_and_names_the_backup(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    fill_one_reviewed_session(str(path))
    scripts = migrations_with_next_revision(
        tmp_path,
        """
        op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
        op.execute("DELETE FROM decisions")
        raise RuntimeError("the second step broke")
        """,
    )

    with pytest.raises(errors.MigrationError) as refused:
        open_database(str(path), script_location=scripts)

    assert str(refused.value) == (
        f"Upgrading the database at {path} from revision {HEAD} to {NEXT} failed (the second step broke), so nothing "
        f"was changed; the backup {path}.bak-{HEAD} is untouched."
    )
    with open_database(str(path)) as db, db.session() as session:
        assert db.revision == HEAD
        assert row_counts(session)["decisions"] == 1
        assert "half_done" not in inspect(session.connection()).get_table_names()


def test_disk_full_during_a_migration_is_reported_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    fill_one_reviewed_session(str(path))
    # SQLite's page limit raises the very SQLITE_FULL a full disk does, without needing a tiny filesystem.
    scripts = migrations_with_next_revision(
        tmp_path,
        """
        bind = op.get_bind()
        bind.exec_driver_sql("PRAGMA max_page_count = %d" % bind.exec_driver_sql("PRAGMA page_count").scalar())
        op.create_table("attachments", sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("data", sa.LargeBinary()))
        op.execute("INSERT INTO attachments (data) VALUES (zeroblob(1000000))")
        """,
    )

    with pytest.raises(errors.DiskFullError) as refused:
        open_database(str(path), script_location=scripts)

    assert str(refused.value) == f"The disk holding the database at {path} is full; free some space and try again."
    assert stored_revision(path) == HEAD


def test_older_signoff_refuses_a_database_a_newer_one_migrated(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path), script_location=migrations_with_next_revision(tmp_path, "pass")).close()
    before = path.read_bytes()

    with pytest.raises(errors.DatabaseTooNewError) as refused:
        open_database(str(path))

    assert str(refused.value) == (
        f"The database at {path} was written by a newer Signoff (revision {NEXT}); upgrade Signoff or choose another "
        "database."
    )
    assert path.read_bytes() == before


def test_open_without_migrating_leaves_a_pending_migration_pending(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    scripts = migrations_with_next_revision(tmp_path, "pass")

    with open_database(str(path), migrate=False, script_location=scripts) as db:
        assert (db.previous_revision, db.revision, db.migrated) == (HEAD, HEAD, False)
    assert stored_revision(path) == HEAD
    assert not (tmp_path / f"signoff.db.bak-{HEAD}").exists()


# -- PostgreSQL --------------------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_pending_postgres_migration_runs_under_the_lock_and_keeps_rows(tmp_path: Path, postgres_url: str) -> None:
    fill_one_reviewed_session(postgres_url)
    scripts = migrations_with_next_revision(
        tmp_path, 'op.add_column("sessions", sa.Column("note", sa.Text(), nullable=True))'
    )

    with open_database(postgres_url, script_location=scripts) as db:
        assert (db.previous_revision, db.revision, db.backup_path) == (HEAD, NEXT, None)
        with db.session() as session:
            assert row_counts(session)["decisions"] == 1


@pytest.mark.postgres
def test_failing_postgres_migration_rolls_back_every_step(tmp_path: Path, postgres_url: str) -> None:
    fill_one_reviewed_session(postgres_url)
    scripts = migrations_with_next_revision(
        tmp_path,
        """
        op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
        op.execute("DELETE FROM decisions")
        raise RuntimeError("the second step broke")
        """,
    )

    with pytest.raises(
        errors.MigrationError, match=rf"from revision {HEAD} to {NEXT} failed \(the second step broke\)"
    ):
        open_database(postgres_url, script_location=scripts)

    with open_database(postgres_url) as db, db.session() as session:
        assert db.revision == HEAD
        assert row_counts(session)["decisions"] == 1
        assert "half_done" not in inspect(session.connection()).get_table_names()


# -- packaging layout --------------------------------------------------------------------------------------------------


def test_installed_package_layout_finds_and_runs_the_migrations(tmp_path: Path) -> None:
    # The wheel puts migrations/ at app/migrations (see pyproject); mimic that tree outside the checkout.
    site = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "app", site / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "migrations", site / "app" / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    code = textwrap.dedent(
        """
        import sys
        import app.migrations.versions
        from app.paths import migrations_dir
        from app.store.db import open_database
        assert str(migrations_dir()).startswith(sys.argv[1]), migrations_dir()
        database = open_database(sys.argv[2])
        print(database.revision)
        database.close()
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", code, str(site), str(tmp_path / "signoff.db")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == head_revision()
