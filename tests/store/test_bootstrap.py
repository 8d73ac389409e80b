"""Opening Signoff's database for real: SQLite files on disk and a real PostgreSQL server, and every clear refusal."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, inspect, select

from app.store import errors
from app.store.db import Database, db_url_from_setting, head_revision, open_database
from app.store.models import AgentSession, Base, Decision, Message, Proposal, Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
EVERY_BYTE = bytes(range(256)) * 3 + b"\x00\r\n\xff tail"
ODD_JSON = {
    "z_first": "keys keep their order",
    "unicode": "naïve — 日本語 🚀 \u0000 nul",
    "nested": [{"type": "text", "text": "a\nb"}, [1, 2.5, -0.0, 1e-300, 2**53 + 1], None, True],
    "big": 9007199254740993,
    "empty": {},
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "signoff.db")
    return request.getfixturevalue("postgres_url")


def run_python(code: str, *args: str, obey_permissions: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code, *args]
    if obey_permissions and os.geteuid() == 0:
        # Root ignores file modes through these two capabilities; without them a 0444 file is read-only even for root.
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd="/",
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
        check=False,
    )


OPEN_AND_REPORT = """
import json, sys
from app.store.db import open_database
try:
    open_database(sys.argv[1]).close()
    print(json.dumps({"error": None}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def open_obeying_permissions(path: Path) -> dict[str, str | None]:
    result = run_python(OPEN_AND_REPORT, str(path), obey_permissions=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_reviewed_session(db: Database) -> int:
    with db.session() as session:
        workspace = Workspace(root_path="/home/reviewer/project")
        agent_session = AgentSession(
            workspace=workspace,
            task="Fix the failing test",
            model="claude-sonnet-4-5",
            system_prompt="You are careful.",
            tools=[{"name": "edit_file", "input_schema": ODD_JSON}],
            sampling={"max_tokens": 4096, "temperature": 0.2},
            max_turns=30,
        )
        agent_session.messages.append(Message(seq=0, role="user", content=[{"type": "text", "text": "hi"}]))
        proposal = Proposal(
            session=agent_session,
            message_seq=1,
            tool_use_id="toolu_01",
            tool_name="edit_file",
            tool_input=ODD_JSON,
            kind="edit",
            path="src/app.py",
            base_hash="0" * 64,
            old_content=EVERY_BYTE,
            new_content=EVERY_BYTE[::-1],
            shown_text="--- a\n+++ b\n",
            shown_hash="f" * 64,
        )
        proposal.decisions.append(
            Decision(verdict="edit", reason="smaller change", edited_content=b"\x00edited\xff", reviewer="ana")
        )
        session.add(workspace)
        session.commit()
        return proposal.id


# -- fresh and reopened SQLite files -----------------------------------------------------------------------------------


def test_fresh_sqlite_file_gets_wal_full_sync_foreign_keys_and_every_table_at_head(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "signoff.db"

    with open_database(str(path)) as db:
        assert db.dialect == "sqlite"
        assert db.path == path
        assert (db.previous_revision, db.revision) == (None, head_revision())
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
            tables = set(inspect(connection).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert db.backup_path is None


def test_every_pooled_sqlite_connection_enforces_foreign_keys_after_migrating(tmp_path: Path) -> None:
    with open_database(str(tmp_path / "signoff.db")) as db:
        held = [db.engine.connect() for _ in range(3)]
        try:
            assert [c.exec_driver_sql("PRAGMA foreign_keys").scalar() for c in held] == [1, 1, 1]
        finally:
            for connection in held:
                connection.close()


def test_reopening_a_database_at_head_migrates_nothing_and_makes_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()

    with open_database(str(path)) as db:
        assert not db.migrated
        assert db.previous_revision == db.revision == head_revision()
        assert db.backup_path is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signoff.db"]


def test_no_url_opens_signoff_db_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNOFF_DATA_DIR", str(tmp_path / "data"))

    with open_database() as db:
        assert db.path == tmp_path / "data" / "signoff.db"
    assert (tmp_path / "data" / "signoff.db").is_file()


def test_in_memory_sqlite_keeps_one_database_across_sessions() -> None:
    with open_database("sqlite://") as db:
        make_reviewed_session(db)
        with db.session() as session:
            assert session.scalar(select(Workspace.root_path)) == "/home/reviewer/project"


def test_settings_text_becomes_an_absolute_sqlite_url_or_a_psycopg_url(tmp_path: Path) -> None:
    odd = tmp_path / "my data?#%" / "signoff.db"
    assert db_url_from_setting(f"  {odd}  ") == f"sqlite:///{tmp_path}/my data%3F%23%25/signoff.db"
    assert db_url_from_setting("~/x.db") == f"sqlite:///{Path.home()}/x.db"
    assert db_url_from_setting("postgres://u:p@db.example/signoff") == "postgresql+psycopg://u:p@db.example/signoff"

    with open_database(str(odd)) as db:
        assert db.path == odd
    assert odd.is_file()


@pytest.mark.parametrize(
    "setting", ["", "mysql://u:p@host/db", "postgresql+asyncpg://u:p@host/db", "sqlite:///x.db?mode=ro&uri=true"]
)
def test_unsupported_settings_are_refused_with_a_sentence_naming_them(setting: str) -> None:
    with pytest.raises(errors.UnsupportedDatabaseError) as refused:
        open_database(setting)
    message = str(refused.value)
    assert message.endswith(".") and "\n" not in message
    if setting:
        assert ":p@" not in message


# -- refusals that must leave the file alone ---------------------------------------------------------------------------


def test_database_stamped_by_a_newer_signoff_is_refused_and_left_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    with open_database(str(path)) as db, db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    before = path.read_bytes()

    with pytest.raises(errors.DatabaseTooNewError) as refused:
        open_database(str(path))

    assert str(refused.value) == (
        f"The database at {path} was written by a newer Signoff (revision f00dfeed9999); upgrade Signoff or choose "
        "another database."
    )
    assert refused.value.revision == "f00dfeed9999"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signoff.db"]


def test_garbage_file_is_refused_as_not_a_database_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    garbage = b"these are my notes, not a database\n" + os.urandom(4096)
    path.write_bytes(garbage)

    with pytest.raises(errors.NotADatabaseError) as refused:
        open_database(str(path))

    assert str(refused.value).startswith(f"The file at {path} is not a SQLite database or is damaged")
    assert path.read_bytes() == garbage


def test_damaged_sqlite_file_is_refused_as_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    damaged = bytearray(path.read_bytes())
    damaged[100:4096] = os.urandom(3996)  # page 1 after the header: the schema table
    path.write_bytes(bytes(damaged))

    with pytest.raises(errors.NotADatabaseError, match="is not a SQLite database or is damaged"):
        open_database(str(path))
    assert path.read_bytes() == bytes(damaged)


def test_sqlite_file_holding_someone_elses_tables_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE bookmarks (url TEXT)")
    other.close()
    before = path.read_bytes()

    with pytest.raises(errors.ForeignDatabaseError, match=r"already holds tables Signoff did not create \(bookmarks\)"):
        open_database(str(path))
    assert path.read_bytes() == before


def test_folder_given_as_the_database_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(errors.NotADatabaseError, match="is a folder, not a file"):
        open_database(str(tmp_path))


# -- permissions, locks, disk ------------------------------------------------------------------------------------------


@pytest.fixture
def restore_modes(tmp_path: Path) -> Iterator[None]:
    yield
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.usefixtures("restore_modes")
def test_read_only_folder_gives_a_clear_error_for_a_new_database(tmp_path: Path) -> None:
    folder = tmp_path / "locked-down"
    folder.mkdir(mode=0o555)

    report = open_obeying_permissions(folder / "signoff.db")

    assert report["error"] == "DatabaseReadOnlyError"
    assert report["message"] == (
        f"Signoff cannot write to the database at {folder / 'signoff.db'} because its folder {folder} is read-only "
        "(SQLite writes its journal files beside the database); fix the permissions or choose another location."
    )
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("restore_modes")
def test_read_only_folder_gives_a_clear_error_for_an_existing_database(tmp_path: Path) -> None:
    folder = tmp_path / "locked-down"
    folder.mkdir()
    open_database(str(folder / "signoff.db")).close()
    before = (folder / "signoff.db").read_bytes()
    folder.chmod(0o555)

    report = open_obeying_permissions(folder / "signoff.db")

    assert report["error"] == "DatabaseReadOnlyError"
    assert f"because its folder {folder} is read-only" in str(report["message"])
    assert (folder / "signoff.db").read_bytes() == before


@pytest.mark.usefixtures("restore_modes")
def test_read_only_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    before = path.read_bytes()
    path.chmod(0o444)

    report = open_obeying_permissions(path)

    assert report["error"] == "DatabaseReadOnlyError"
    assert report["message"] == (
        f"Signoff cannot write to the database at {path} because the file is read-only; fix the permissions or "
        "choose another location."
    )
    assert path.read_bytes() == before


HOLD_EXCLUSIVE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA locking_mode = EXCLUSIVE")
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


def test_database_locked_by_another_program_is_reported_after_a_short_wait(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    open_database(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_EXCLUSIVE_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"

        with pytest.raises(errors.DatabaseLockedError) as refused:
            open_database(str(path), lock_timeout=0.3)

        assert str(refused.value) == (
            f"Another program holds a lock on the database at {path} and kept it for over 0.3 seconds; close the "
            "other program (or the other Signoff using it) and try again."
        )
    finally:
        holder.communicate("")
    assert holder.returncode == 0

    with open_database(str(path)) as db:
        assert db.revision == head_revision()


OPEN_WHEN_TOLD = """
import json, sys
from app.store.db import open_database
print("ready", flush=True)
sys.stdin.readline()
database = open_database(sys.argv[1])
print(json.dumps({"migrated": database.migrated, "revision": database.revision}), flush=True)
database.close()
"""


def _open_from_two_processes_at_once(url: str) -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_WHEN_TOLD, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for opener in openers:
        assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
    for opener in openers:
        assert opener.stdin is not None
        opener.stdin.write("go\n")
        opener.stdin.flush()
    reports = []
    for opener in openers:
        out, err = opener.communicate(timeout=120)
        assert opener.returncode == 0, err
        reports.append(json.loads(out))
    return reports


def test_two_processes_creating_one_sqlite_file_at_once_both_succeed_and_only_one_migrates(tmp_path: Path) -> None:
    reports = _open_from_two_processes_at_once(str(tmp_path / "signoff.db"))

    assert sorted(report["migrated"] for report in reports) == [False, True]
    assert {report["revision"] for report in reports} == {head_revision()}


# -- PostgreSQL --------------------------------------------------------------------------------------------------------


def test_proposal_and_decision_round_trip_bytes_and_json_exactly(any_database_url: str) -> None:
    with open_database(any_database_url) as db:
        proposal_id = make_reviewed_session(db)

    with open_database(any_database_url) as db, db.session() as session:
        assert not db.migrated
        proposal = session.get(Proposal, proposal_id)
        assert proposal is not None
        assert proposal.old_content == EVERY_BYTE
        assert proposal.new_content == EVERY_BYTE[::-1]
        assert json.dumps(proposal.tool_input) == json.dumps(ODD_JSON)
        assert json.dumps(proposal.session.tools) == json.dumps([{"name": "edit_file", "input_schema": ODD_JSON}])
        assert proposal.session.workspace.root_path == "/home/reviewer/project"
        assert [m.content for m in proposal.session.messages] == [[{"type": "text", "text": "hi"}]]
        [decision] = proposal.decisions
        assert (decision.verdict, decision.edited_content, decision.reviewer) == ("edit", b"\x00edited\xff", "ana")
        assert isinstance(decision.decided_at, dt.datetime)


def test_deleting_a_workspace_cascades_to_everything_under_it(any_database_url: str) -> None:
    with open_database(any_database_url) as db:
        make_reviewed_session(db)
        with db.session() as session:
            # Core DELETE: the cascade under test is the database's ON DELETE CASCADE, not the ORM's.
            session.execute(delete(Workspace))
            session.commit()
            assert [
                session.scalar(select(model.id).limit(1)) for model in (AgentSession, Message, Proposal, Decision)
            ] == [None] * 4


@pytest.mark.postgres
def test_fresh_postgres_database_is_migrated_to_head_and_reopened_without_migrating(postgres_url: str) -> None:
    with open_database(postgres_url) as db:
        assert db.dialect == "postgresql"
        assert (db.previous_revision, db.revision) == (None, head_revision())
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}

    with open_database(postgres_url) as db:
        assert not db.migrated


@pytest.mark.postgres
def test_postgres_url_shows_its_password_masked(postgres_url: str, postgres_server) -> None:
    with open_database(postgres_url) as db:
        assert postgres_server.password not in str(db.url)
        assert postgres_server.password not in repr(db)
        assert "***" in db.location


@pytest.mark.postgres
def test_wrong_postgres_password_is_reported_without_revealing_it(postgres_url: str, postgres_server) -> None:
    bad_url = postgres_url.replace(postgres_server.password, "not-the-password")

    with pytest.raises(errors.DatabaseAuthError) as refused:
        open_database(bad_url)

    assert "not-the-password" not in str(refused.value)
    assert str(refused.value) == (
        f"The PostgreSQL server for postgresql+psycopg://signoff:***@127.0.0.1:{postgres_server.port}/"
        f"{postgres_url.rsplit('/', 1)[1]} refused the user name or password; check them in the database setting."
    )


@pytest.mark.postgres
def test_missing_postgres_database_is_reported_by_name(postgres_server) -> None:
    with pytest.raises(errors.DatabaseNotFoundError, match=r"/no_such_db has no such database; create it"):
        open_database(postgres_server.url("no_such_db"))


def test_unreachable_postgres_server_is_reported_with_its_masked_url() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(errors.DatabaseUnreachableError) as refused:
            open_database(f"postgresql://signoff:secret@127.0.0.1:{port}/signoff")

    assert str(refused.value) == (
        f"Signoff cannot reach the PostgreSQL server for postgresql+psycopg://signoff:***@127.0.0.1:{port}/signoff "
        "(Connection refused); check that the server runs and that the host and port are right."
    )


@pytest.mark.postgres
def test_postgres_database_stamped_by_a_newer_signoff_is_refused(postgres_url: str) -> None:
    with open_database(postgres_url) as db, db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed9999'")

    with pytest.raises(errors.DatabaseTooNewError, match=r"written by a newer Signoff \(revision f00dfeed9999\)"):
        open_database(postgres_url)


@pytest.mark.postgres
def test_two_processes_opening_a_fresh_postgres_database_at_once_both_succeed_and_only_one_migrates(
    postgres_url: str,
) -> None:
    reports = _open_from_two_processes_at_once(postgres_url)

    assert sorted(report["migrated"] for report in reports) == [False, True]
    assert {report["revision"] for report in reports} == {head_revision()}
