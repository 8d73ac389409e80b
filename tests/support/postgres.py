"""Pytest plugin: one real PostgreSQL server per test session (initdb + pg_ctl) and a fresh database for each test.

It never skips: without the server binaries the tests that ask for PostgreSQL fail and say what to install.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

SUPERUSER = "postgres"
# The role the tests connect as: an ordinary login that owns its test database, as a team's Signoff user would.
APP_ROLE = "signoff"
# PostgreSQL refuses to run as root; when the tests run as root the server runs as this account.
SERVER_ACCOUNT = "postgres"
POSTGRES_FIXTURES = {"postgres_server", "postgres_url"}


def find_postgres_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, from ``pg_config --bindir`` or Debian's /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    # Debian's pg_config may come from libpq-dev alone and point at /usr/bin, so look at the versioned dirs too.
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates.extend(Path(path) for path in versioned)
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _version_key(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: superuser over the unix socket (trust), APP_ROLE over TCP on 127.0.0.1 with a password."""

    bindir: Path
    base_dir: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    startup_seconds: float = 0.0
    _database_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def url(self, database: str, *, password: str | None = None) -> str:
        return URL.create(
            "postgresql+psycopg",
            username=APP_ROLE,
            password=self.password if password is None else password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    def admin_execute(self, sql: str) -> None:
        """Run one statement as the superuser outside a transaction (CREATE/DROP DATABASE need that)."""
        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(sql)

    def create_database(self) -> str:
        name = f"test_{next(self._database_numbers)}"
        self.admin_execute(f'CREATE DATABASE "{name}" OWNER "{APP_ROLE}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a failed test may have left open, so the next test starts clean.
        self.admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_ACCOUNT, "--", *command]
        return subprocess.run(
            command,
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"},
        )

    def _fail(self, what: str, result: subprocess.CompletedProcess[str] | None = None) -> None:
        output = "" if result is None else (result.stdout + result.stderr).strip()
        pytest.fail(f"{what}\n{output}\n--- server log ---\n{self.log_tail()}", pytrace=False)

    def start(self) -> None:
        started = time.monotonic()
        self.socket_dir.mkdir()
        password_file = self.base_dir / "superuser-password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            self._hand_over_to_server_account(self.base_dir, self.socket_dir, password_file)

        result = self._run(
            str(self.bindir / "initdb"),
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--pwfile", str(password_file),
            "--auth-local", "trust",
            "--auth-host", "scram-sha-256",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        if result.returncode != 0:
            self._fail("initdb failed for the test PostgreSQL server.", result)

        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# Test server: loopback only, socket in the temp dir, durability traded for speed.\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 40\nshared_buffers = 32MB\n"
            )

        # The free port can be taken between probing and binding; a couple of fresh tries cover that race.
        for _attempt in range(3):
            self.port = _free_loopback_port()
            result = self._run(
                str(self.bindir / "pg_ctl"),
                "--pgdata", str(self.data_dir),
                "--log", str(self.log_file),
                "--options", f"-p {self.port}",
                "--wait", "--timeout", "60",
                "start",
            )  # fmt: skip
            if result.returncode == 0:
                break
        else:
            self._fail("pg_ctl could not start the test PostgreSQL server.", result)

        self.admin_execute(f"CREATE ROLE \"{APP_ROLE}\" LOGIN PASSWORD '{self.password}'")
        self.startup_seconds = time.monotonic() - started

    def _hand_over_to_server_account(self, *paths: Path) -> None:
        try:
            account = pwd.getpwnam(SERVER_ACCOUNT)
        except KeyError:
            pytest.fail(
                f"The tests run as root and PostgreSQL refuses root, but there is no '{SERVER_ACCOUNT}' account to "
                "run it as (installing Debian's postgresql package creates it).",
                pytrace=False,
            )
        for path in paths:
            os.chown(path, account.pw_uid, account.pw_gid)

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "--pgdata", str(self.data_dir), "--mode", "immediate", "stop")
        shutil.rmtree(self.base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_postgres_bindir()
    if bindir is None:
        pytest.fail(
            "These tests need a real PostgreSQL server, but initdb and pg_ctl were not found (looked at "
            "`pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH); install the server, e.g. "
            "`apt-get install postgresql`.",
            pytrace=False,
        )
    # A short path under /tmp: the unix socket path must stay under ~100 bytes and the server account must reach it.
    base_dir = Path(tempfile.mkdtemp(prefix="signoff-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    server = PostgresServer(bindir=bindir, base_dir=base_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A ``postgresql+psycopg://`` URL of a brand-new empty database owned by the test role, dropped afterwards."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that uses the server is a postgres test even if its author forgot the marker, so `-m "not postgres"` works.
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
