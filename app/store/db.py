"""Opens Signoff's database (a SQLite file by default, PostgreSQL for teams) and brings its schema to head with Alembic.

Driver failures leave here as one-sentence StoreErrors naming the file or masked URL. No app queries, no Qt.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from app.paths import data_dir, migrations_dir
from app.store.errors import (
    DatabaseAuthError,
    DatabaseLockedError,
    DatabaseNotFoundError,
    DatabaseReadOnlyError,
    DatabaseTooNewError,
    DatabaseUnreachableError,
    DiskFullError,
    ForeignDatabaseError,
    MigrationError,
    NotADatabaseError,
    StoreError,
    UnsupportedDatabaseError,
)
from app.store.models import Base
from app.store.revisions import RevisionGraph, scan_revisions

if TYPE_CHECKING:
    import psycopg
    from alembic.config import Config
    from alembic.script import ScriptDirectory

DEFAULT_FILE_NAME = "signoff.db"
DEFAULT_LOCK_TIMEOUT = 10.0
POSTGRES_CONNECT_TIMEOUT_S = 10
# A migration on a big team database may take a while; a second Signoff waits this long for it before giving up.
POSTGRES_MIGRATION_WAIT_S = 120
# Key of the transaction-level advisory lock that serialises migrations of one PostgreSQL database ("signoff" in hex).
MIGRATION_LOCK_KEY = 0x7369676E6F6666
SQLITE_HEADER = b"SQLite format 3\x00"
# Alembic's default version table, which Signoff's env.py keeps.
VERSION_TABLE = "alembic_version"
# Below this much free space an unexplained disk error is most likely a full disk.
NEARLY_FULL_BYTES = 1 << 20

_Result = TypeVar("_Result")


def db_url_from_setting(text_value: str) -> str:
    """The SQLAlchemy URL for a database setting: a plain path becomes an absolute ``sqlite:///`` URL.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://`` (the driver Signoff ships); anything else
    raises UnsupportedDatabaseError.
    """
    setting = text_value.strip()
    if not setting:
        raise UnsupportedDatabaseError(
            "The database setting is empty; give a file path or a postgresql+psycopg:// URL."
        )
    if "://" not in setting:
        path = Path(os.path.abspath(Path(setting).expanduser()))
        return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    return _normalised_url(setting).render_as_string(hide_password=False)


def _normalised_url(setting: str) -> URL:
    try:
        url = make_url(setting)
    except ArgumentError as exc:
        raise UnsupportedDatabaseError(
            f"The database setting {setting!r} is not a URL Signoff understands; give a file path or a "
            "postgresql+psycopg:// URL.",
            location=setting,
        ) from exc
    shown = url.render_as_string(hide_password=True)
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if url.query:
            raise UnsupportedDatabaseError(
                f"The SQLite URL {shown} carries options Signoff does not support; give just the file path.",
                location=shown,
            )
        database = url.database
        if database and database != ":memory:":
            database = os.path.abspath(Path(database).expanduser())
        return url.set(drivername="sqlite", database=database)
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    raise UnsupportedDatabaseError(
        f"Signoff cannot use the database {shown}; it supports SQLite files and postgresql+psycopg:// URLs.",
        location=shown,
    )


def alembic_config(
    script_location: str | os.PathLike[str] | None = None, *, connection: Connection | None = None
) -> Config:
    """An Alembic Config for Signoff's migrations without any alembic.ini; env.py uses ``connection`` when given."""
    from alembic.config import Config

    config = Config()
    location = str(script_location if script_location is not None else migrations_dir())
    # Config values go through ConfigParser interpolation, where a bare % would be read as a reference.
    config.set_main_option("script_location", location.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision(script_location: str | os.PathLike[str] | None = None) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()
    if head is None:
        raise MigrationError(f"Signoff's migrations folder {script_location or migrations_dir()} holds no revision.")
    return head


class _Migrations:
    """The shipped (or given) migrations: head and known revisions from a plain scan of the versions folder
    (app.store.revisions), Alembic's ScriptDirectory only when the scan cannot tell or a migration has to run."""

    def __init__(self, script_location: str | os.PathLike[str] | None) -> None:
        self.dir = str(script_location if script_location is not None else migrations_dir())
        self._graph: RevisionGraph | None = scan_revisions(self.dir)
        self._script: ScriptDirectory | None = None

    @property
    def script(self) -> ScriptDirectory:
        if self._script is None:
            from alembic.script import ScriptDirectory

            self._script = ScriptDirectory.from_config(alembic_config(self.dir))
        return self._script

    def get_current_head(self) -> str | None:
        return self._graph.head if self._graph is not None else self.script.get_current_head()

    def known_revisions(self) -> frozenset[str]:
        if self._graph is not None:
            return self._graph.known
        return frozenset(revision.revision for revision in self.script.walk_revisions())


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The exception types a database driver raises. psycopg is imported only by a PostgreSQL database (SQLAlchemy's
    dialect loads it), so where it was never imported none of its errors can occur."""
    errors: tuple[type[BaseException], ...] = (DBAPIError, sqlite3.Error)
    psycopg_module = sys.modules.get("psycopg")
    return errors + (psycopg_module.Error,) if psycopg_module is not None else errors


def _driver_or_os_errors() -> tuple[type[BaseException], ...]:
    return (*_driver_errors(), OSError)


def _is_psycopg_error(exc: BaseException) -> bool:
    psycopg_module = sys.modules.get("psycopg")
    return psycopg_module is not None and isinstance(exc, psycopg_module.Error)


class Database:
    """An open database at head: ``.session()`` gives ORM sessions; ``.url`` masks the password when shown."""

    def __init__(
        self,
        engine: Engine,
        url: URL,
        *,
        path: Path | None,
        revision: str | None,
        previous_revision: str | None,
        backup_path: Path | None,
    ) -> None:
        self.engine = engine
        self.url = url
        self.dialect: str = engine.dialect.name
        # The SQLite file (None for PostgreSQL and in-memory SQLite).
        self.path = path
        self.revision = revision
        # What the database was at before this open migrated it; equal to revision when nothing ran.
        self.previous_revision = previous_revision
        # The copy made before migrating an existing SQLite file, if this open made one.
        self.backup_path = backup_path
        # How long a SQLite open waits for another program's lock: named in messages about locks.
        self.lock_timeout = DEFAULT_LOCK_TIMEOUT
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @property
    def migrated(self) -> bool:
        return self.revision != self.previous_revision

    @property
    def location(self) -> str:
        """The file path, or the URL with its password masked: what messages show."""
        return _location(self.url, self.path)

    def session(self) -> Session:
        return self._sessions()

    def explain(self, exc: BaseException) -> StoreError | None:
        """The one-sentence StoreError for a database failure met while working (disk full, locked, read-only, gone),
        or None when ``exc`` is not a database failure."""
        if isinstance(exc, StoreError):
            return exc
        if not isinstance(exc, _driver_errors()):
            return None
        return _translate(exc, self.location, self.path, lock_timeout=self.lock_timeout)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Database {self.dialect} {self.location} at {self.revision}>"


def open_database(
    url: str | None = None,
    *,
    migrate: bool = True,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    script_location: str | os.PathLike[str] | None = None,
    create: bool = True,
    make_folders: bool = True,
) -> Database:
    """Open (creating if needed) the database at ``url`` and migrate it to head.

    A SQLite file that does not exist is created only with ``create`` (the default location, Settings, ``signoff
    init-db``: places the person chose), in a folder made only with ``make_folders``; otherwise a missing file or
    folder is a DatabaseNotFoundError naming it, so a mistyped URL never yields an empty queue.

    ``url`` None means ``data_dir()/signoff.db``; a plain path means a SQLite file. With ``migrate=False`` the schema is
    left as found (a database newer than this code is still refused). ``lock_timeout`` is how long to wait for another
    program's SQLite lock; ``script_location`` replaces the shipped migrations folder (tests of migrations use it).
    Raises a StoreError subclass with a one-sentence message for every failure Signoff can explain.
    """
    setting = url if url is not None else str(data_dir() / DEFAULT_FILE_NAME)
    resolved = make_url(db_url_from_setting(setting))
    script = _Migrations(script_location)
    if resolved.get_backend_name() == "sqlite":
        if resolved.database and resolved.database != ":memory:":
            _refuse_missing_sqlite(Path(resolved.database), create=create, make_folders=make_folders)
        return _open_sqlite(resolved, script, migrate=migrate, lock_timeout=lock_timeout)
    return _open_postgres(resolved, script, migrate=migrate)


def _refuse_missing_sqlite(path: Path, *, create: bool, make_folders: bool) -> None:
    if path.exists():
        return
    if not make_folders and not path.parent.is_dir():
        raise DatabaseNotFoundError(
            f"The folder {path.parent} for the database {path} does not exist; check the path, or create the "
            "folder first.",
            location=str(path),
        )
    if not create:
        raise DatabaseNotFoundError(
            f"There is no Signoff database at {path}; check the path, or create one there with "
            f"`signoff init-db {path}`.",
            location=str(path),
        )


# -- SQLite ------------------------------------------------------------------------------------------------------------


def _open_sqlite(url: URL, script: _Migrations, *, migrate: bool, lock_timeout: float) -> Database:
    path = Path(url.database) if url.database and url.database != ":memory:" else None
    location = _location(url, path)
    if path is not None:
        _check_sqlite_file(path)
        engine = create_engine(url, connect_args={"timeout": lock_timeout})
    else:
        # One shared connection: every new connection to :memory: would be a different, empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    pragmas = _SqlitePragmas(int(lock_timeout * 1000))
    event.listen(engine, "connect", pragmas)
    progress = _Progress()
    try:
        with _store_errors(location, path=path, lock_timeout=lock_timeout):
            outcome = _retry_while_locked(
                lambda: _bootstrap_sqlite(engine, pragmas, script, path, location, migrate=migrate, done=progress),
                lock_timeout,
            )
    except BaseException:
        engine.dispose()
        raise
    database = Database(
        engine,
        url,
        path=path,
        revision=outcome.revision,
        previous_revision=outcome.previous_revision,
        backup_path=outcome.backup_path,
    )
    database.lock_timeout = lock_timeout
    return database


class _SqlitePragmas:
    """Connect hook: busy timeout, FULL sync and foreign keys always; WAL once this open has accepted the file.

    Switching to WAL rewrites the file header, so a file that is refused (too new, someone else's) must not get it
    before the checks have run.
    """

    def __init__(self, busy_timeout_ms: int) -> None:
        self.busy_timeout_ms = busy_timeout_ms
        self.file_accepted = False

    def __call__(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first, so switching to WAL also waits out another program's lock.
            cursor.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            if self.file_accepted:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()


def _check_sqlite_file(path: Path) -> None:
    """Fail before SQLite touches anything when the path cannot be a database or its folder cannot be made."""
    if path.is_dir():
        raise NotADatabaseError(
            f"The database path {path} is a folder, not a file; choose a file name inside it instead.",
            location=str(path),
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, str(path), path, doing=f"create the folder {path.parent} for") from exc
    try:
        with path.open("rb") as existing:
            header = existing.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(
            f"Signoff cannot read the database file at {path} ({exc.strerror or exc}); fix its permissions or choose "
            "another file.",
            location=str(path),
        ) from exc
    if header and header != SQLITE_HEADER:
        raise _not_a_database(str(path))


@dataclass(frozen=True)
class _Outcome:
    revision: str | None
    previous_revision: str | None
    backup_path: Path | None = None


def _bootstrap_sqlite(
    engine: Engine,
    pragmas: _SqlitePragmas,
    script: _Migrations,
    path: Path | None,
    location: str,
    *,
    migrate: bool,
    done: _Progress | None = None,
) -> _Outcome:
    if done is not None and done.outcome is not None:
        # An earlier attempt migrated (or checked) the file and only its switch to WAL met a lock: keep what that
        # attempt found, or a retry would report "nothing migrated" for a migration this open did.
        outcome = done.outcome
        with engine.connect() as connection:
            _switch_to_wal(connection, pragmas)
        return outcome
    with engine.connect() as connection:
        if migrate:
            # Batch migrations rebuild tables with DROP TABLE, which would fire ON DELETE CASCADE on every child row;
            # the pragma is ignored inside a transaction, so it goes first.
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        try:
            outcome = _check_and_migrate_sqlite(connection, script, path, location, migrate=migrate)
        finally:
            if connection.in_transaction():
                connection.rollback()
            _restore_foreign_keys(connection)
        if done is not None:
            done.outcome = outcome
        if migrate:
            _switch_to_wal(connection, pragmas)
    return outcome


@dataclass
class _Progress:
    """What a bootstrap attempt already achieved, carried into the next attempt when a lock interrupts it."""

    outcome: _Outcome | None = None


def _switch_to_wal(connection: Connection, pragmas: _SqlitePragmas) -> None:
    # A new file was created in rollback-journal mode, so a refused file never had its header rewritten; a read-only
    # open (migrate=False) leaves the journal mode as the file has it.
    pragmas.file_accepted = True
    connection.exec_driver_sql("PRAGMA journal_mode = WAL")
    connection.rollback()


def _check_and_migrate_sqlite(
    connection: Connection, script: _Migrations, path: Path | None, location: str, *, migrate: bool
) -> _Outcome:
    head = script.get_current_head()
    # IMMEDIATE takes the write lock up front, so a second Signoff starting at the same moment waits here instead of
    # reading a revision that is about to change and migrating the same file twice.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if migrate else "BEGIN")
    current = _current_revision(connection, script, location)
    if current is None:
        _refuse_foreign_tables(connection, location, any_table=True)
    if migrate:
        # In WAL mode BEGIN IMMEDIATE succeeds even on a read-only file; rewriting one header field (rolled back
        # below or committed with the migration) proves that Signoff will be able to save.
        user_version = int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
        connection.exec_driver_sql(f"PRAGMA user_version = {user_version}")
    if current == head or not migrate:
        connection.rollback()
        return _Outcome(revision=current, previous_revision=current)
    backup_path = _backup_sqlite(path, current) if path is not None and current is not None else None
    _upgrade(connection, script, location, current, backup_path)
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        connection.rollback()
        tables = ", ".join(sorted({str(row[0]) for row in violations}))
        rows = f"{len(violations)} row" + ("s" if len(violations) != 1 else "")
        raise MigrationError(
            f"Upgrading the database at {location} from revision {current} would leave {rows} in {tables} pointing "
            "at rows that no longer exist, so nothing was changed"
            + (f" and the backup {backup_path} is still there." if backup_path else "."),
            location=location,
        )
    connection.commit()
    return _Outcome(revision=head, previous_revision=current, backup_path=backup_path)


def _restore_foreign_keys(connection: Connection) -> None:
    # The connection goes back to the pool; it must not keep foreign keys off for whoever gets it next.
    try:
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        enabled = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        connection.rollback()
    except (SQLAlchemyError, sqlite3.Error):
        enabled = 0
    if enabled != 1:
        connection.invalidate()


def _backup_sqlite(path: Path, revision: str) -> Path:
    """Copy the file with SQLite's backup API (so committed WAL content is included) to ``<file>.bak-<revision>``."""
    target = path.with_name(f"{path.name}.bak-{revision}")
    copy_number = 2
    while target.exists():
        target = path.with_name(f"{path.name}.bak-{revision}.{copy_number}")
        copy_number += 1
    partial = target.with_name(target.name + ".partial")
    try:
        partial.unlink(missing_ok=True)  # left by a crash during an earlier attempt
        source = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            destination = sqlite3.connect(partial)
            try:
                source.backup(destination)
            finally:
                destination.close()
        finally:
            source.close()
        # The backup connection synced the copy on commit; the rename only gives it its final name.
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        problem = _translate(exc, str(target), target, lock_timeout=DEFAULT_LOCK_TIMEOUT)
        raise type(problem)(
            f"Signoff did not upgrade the database at {path} because it could not first back it up to {target} "
            f"({str(problem).rstrip('.')}).",
            location=str(path),
        ) from exc
    return target


# -- PostgreSQL --------------------------------------------------------------------------------------------------------


def _open_postgres(url: URL, script: _Migrations, *, migrate: bool) -> Database:
    location = _location(url, None)
    engine = create_engine(
        url,
        # A desktop app keeps its pool for hours; a server restart or idle cut should not surface as an error.
        pool_pre_ping=True,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )
    try:
        with _store_errors(location, path=None, lock_timeout=POSTGRES_MIGRATION_WAIT_S):
            outcome = _bootstrap_postgres(engine, script, location, migrate=migrate)
    except BaseException:
        engine.dispose()
        raise
    return Database(
        engine, url, path=None, revision=outcome.revision, previous_revision=outcome.previous_revision, backup_path=None
    )


def _bootstrap_postgres(engine: Engine, script: _Migrations, location: str, *, migrate: bool) -> _Outcome:
    head = script.get_current_head()
    with engine.connect() as connection:
        with connection.begin():
            current = _current_revision(connection, script, location)
            if current == head or not migrate:
                if current is None:
                    _refuse_foreign_tables(connection, location, any_table=False)
                return _Outcome(revision=current, previous_revision=current)
        with connection.begin():
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{POSTGRES_MIGRATION_WAIT_S}s'")
            # Held until this transaction ends: a second Signoff waits here, then finds the schema already at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            current = _current_revision(connection, script, location)
            if current == head:
                return _Outcome(revision=current, previous_revision=current)
            if current is None:
                # Only Signoff's own table names matter: a team database may hold other applications' tables.
                _refuse_foreign_tables(connection, location, any_table=False)
            _upgrade(connection, script, location, current, None)
        return _Outcome(revision=head, previous_revision=current)


# -- shared ------------------------------------------------------------------------------------------------------------


def _current_revision(connection: Connection, script: _Migrations, location: str) -> str | None:
    heads = _stored_revisions(connection)
    known = script.known_revisions()
    unknown = [head for head in heads if head not in known]
    if unknown:
        raise DatabaseTooNewError(
            f"The database at {location} was written by a newer Signoff (revision {unknown[0]}); upgrade Signoff or "
            "choose another database.",
            location=location,
            revision=unknown[0],
        )
    if len(heads) > 1:
        raise MigrationError(
            f"The database at {location} records several schema revisions at once ({', '.join(heads)}), which this "
            "Signoff cannot reconcile; restore a backup or choose another database.",
            location=location,
        )
    return heads[0] if heads else None


def _stored_revisions(connection: Connection) -> list[str]:
    """What Alembic's version table records, read as MigrationContext.get_current_heads does, without Alembic."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return [str(row[0]) for row in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]


def _refuse_foreign_tables(connection: Connection, location: str, *, any_table: bool) -> None:
    """A database without Signoff's version stamp must not already hold tables Signoff would create or clobber."""
    existing = set(inspect(connection).get_table_names())
    clashing = existing if any_table else existing & set(Base.metadata.tables)
    if clashing:
        raise ForeignDatabaseError(
            f"The database at {location} already holds tables Signoff did not create ({', '.join(sorted(clashing))}), "
            "so Signoff left it alone; choose an empty database or one Signoff made.",
            location=location,
        )


def _upgrade(
    connection: Connection, script: _Migrations, location: str, current: str | None, backup_path: Path | None
) -> None:
    from alembic import command

    config = alembic_config(script.dir, connection=connection)
    try:
        command.upgrade(config, "head")
    except StoreError:
        raise
    except _driver_or_os_errors():
        # Disk full, lost connection and the like: _store_errors words them better than a generic failure.
        raise
    except Exception as exc:
        kept = f"; the backup {backup_path} is untouched" if backup_path else ""
        raise MigrationError(
            f"Upgrading the database at {location} from revision {current or 'empty'} to "
            f"{script.get_current_head()} failed ({exc}), so nothing was changed{kept}.",
            location=location,
        ) from exc


def _retry_while_locked(attempt: Callable[[], _Result], lock_timeout: float) -> _Result:
    """Run ``attempt`` again while SQLite reports a lock, for up to ``lock_timeout`` seconds in all.

    SQLite's busy handler already waits for most locks; some (a WAL being recovered, a snapshot gone stale) fail at
    once, and a short retry gets past those.
    """
    deadline = time.monotonic() + lock_timeout
    pause = 0.05
    while True:
        try:
            return attempt()
        except (DBAPIError, sqlite3.Error) as exc:
            if not _is_sqlite_lock(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def _is_sqlite_lock(exc: BaseException) -> bool:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(original, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@contextlib.contextmanager
def _store_errors(location: str, *, path: Path | None, lock_timeout: float) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except _driver_or_os_errors() as exc:
        raise _translate(exc, location, path, lock_timeout=lock_timeout) from exc


def _translate(exc: BaseException, location: str, path: Path | None, *, lock_timeout: float) -> StoreError:
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(original, sqlite3.Error):
        return _sqlite_error(original, location, path, lock_timeout)
    if _is_psycopg_error(original):
        return _postgres_error(cast("psycopg.Error", original), location)
    if isinstance(original, OSError):
        return _os_error(original, location, path, doing="use")
    return StoreError(f"The database at {location} failed: {_first_line(original)}.", location=location)


def _sqlite_error(exc: sqlite3.Error, location: str, path: Path | None, lock_timeout: float) -> StoreError:
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseLockedError(
            f"Another program holds a lock on the database at {location} and kept it for over {lock_timeout:g} "
            "seconds; close the other program (or the other Signoff using it) and try again.",
            location=location,
        )
    if code == sqlite3.SQLITE_READONLY:
        return _read_only(location, path)
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return _not_a_database(location)
    if code == sqlite3.SQLITE_FULL or _nearly_full(path):
        return _disk_full(location)
    if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH) and path is not None:
        if not path.parent.is_dir():
            return StoreError(
                f"Signoff cannot open the database at {location} because the folder {path.parent} does not exist.",
                location=location,
            )
        if not _writable(path):
            return _read_only(location, path)
    return StoreError(f"SQLite could not use the database at {location}: {exc}.", location=location)


def _postgres_error(exc: psycopg.Error, location: str) -> StoreError:
    import psycopg

    state = exc.sqlstate or ""
    message = _first_line(exc)
    lowered = str(exc).lower()
    if state in ("28P01", "28000") or "password authentication failed" in lowered or "no password supplied" in lowered:
        return DatabaseAuthError(
            f"The PostgreSQL server for {location} refused the user name or password; check them in the database "
            "setting.",
            location=location,
        )
    if state == "3D000" or ("database" in lowered and "does not exist" in lowered):
        return DatabaseNotFoundError(
            f"The PostgreSQL server for {location} has no such database; create it (createdb) or fix the URL.",
            location=location,
        )
    if state == "53100":
        return _disk_full(location)
    if state == "25006":
        return DatabaseReadOnlyError(
            f"The PostgreSQL database at {location} only accepts reads (a standby or read-only transaction); point "
            "Signoff at the primary server.",
            location=location,
        )
    if state == "55P03":
        return DatabaseLockedError(
            f"Another Signoff kept the database at {location} locked for over {POSTGRES_MIGRATION_WAIT_S} seconds "
            "while upgrading it; try again once it has finished.",
            location=location,
        )
    if state == "42501":
        return StoreError(
            f"The PostgreSQL user in {location} lacks a permission Signoff needs ({message}); ask the database's "
            "owner to grant it.",
            location=location,
        )
    if isinstance(exc, psycopg.OperationalError) and (not state or state.startswith("08") or state == "57P03"):
        return DatabaseUnreachableError(
            f"Signoff cannot reach the PostgreSQL server for {location} ({_connection_reason(exc)}); check that the "
            "server runs and that the host and port are right.",
            location=location,
        )
    return StoreError(f"PostgreSQL reported a problem with the database at {location}: {message}.", location=location)


def _os_error(exc: OSError, location: str, path: Path | None, *, doing: str) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full(location)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return _read_only(location, path)
    return StoreError(
        f"Signoff could not {doing} the database at {location}: {exc.strerror or exc}.", location=location
    )


def _read_only(location: str, path: Path | None) -> DatabaseReadOnlyError:
    if path is not None and path.parent.is_dir() and not os.access(path.parent, os.W_OK | os.X_OK):
        where = f"its folder {path.parent} is read-only (SQLite writes its journal files beside the database)"
    elif path is not None and path.exists() and not os.access(path, os.W_OK):
        where = "the file is read-only"
    else:
        where = "the file or its folder is read-only"
    return DatabaseReadOnlyError(
        f"Signoff cannot write to the database at {location} because {where}; fix the permissions or choose "
        "another location.",
        location=location,
    )


def _not_a_database(location: str) -> NotADatabaseError:
    return NotADatabaseError(
        f"The file at {location} is not a SQLite database or is damaged, so Signoff left it untouched; choose "
        "another file or restore a backup.",
        location=location,
    )


def _disk_full(location: str) -> DiskFullError:
    return DiskFullError(
        f"The disk holding the database at {location} is full; free some space and try again.", location=location
    )


def _writable(path: Path) -> bool:
    folder_ok = os.access(path.parent, os.W_OK | os.X_OK)
    return folder_ok and (not path.exists() or os.access(path, os.R_OK | os.W_OK))


def _nearly_full(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return shutil.disk_usage(path.parent).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def _connection_reason(exc: psycopg.Error) -> str:
    first_line = _first_line(exc)
    # psycopg says 'connection failed: connection to server at "h", port p failed: <reason>'; the reason is the news.
    return first_line.rsplit("failed: ", 1)[-1].strip().rstrip(".") or first_line


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(exc).__name__


def _location(url: URL, path: Path | None) -> str:
    if path is not None:
        return str(path)
    return url.render_as_string(hide_password=True)
