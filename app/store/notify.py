"""Live queue updates: a thread that calls back when proposals appear, change status or are claimed elsewhere.

PostgreSQL: LISTEN on the channel the 0004 migration's trigger NOTIFYs at every commit, on a connection of its own.
SQLite: a cheap poll (``PRAGMA data_version`` on a file; a count/max signature otherwise). Callbacks run on the
listener's thread, so a window must hand them to its own thread. ``stop()`` joins the thread. No Qt here.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from sqlalchemy import func, select

from app.domain.lifecycle import STILL_UNDECIDED
from app.store.models import Decision, Proposal

log = logging.getLogger(__name__)

# The channel the 0004 migration's trigger notifies (spelled out there too: migrations never import app code).
CHANNEL = "signoff_queue"
# How often a blocked listener looks up to see whether it was told to stop: the bound on stop()'s join.
_STOP_CHECK_S = 0.2
_RECONNECT_PAUSE_S = 1.0


@dataclass(frozen=True)
class QueueChange:
    # None when the listener only knows that something changed (a poll, or a reconnect that may have missed some).
    proposal_id: int | None
    status: str | None
    # 'proposal' (new), 'status' (decided, applied, ...), 'claim' (claimed or released), 'changed' (unspecific).
    event: str


QueueCallback = Callable[[QueueChange], None]


class QueueListener(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def is_running(self) -> bool: ...


def parse_payload(payload: str) -> QueueChange:
    try:
        data = json.loads(payload)
        return QueueChange(int(data["id"]), str(data.get("status")), str(data.get("event", "status")))
    except (ValueError, KeyError, TypeError):
        return QueueChange(None, None, "changed")


class _ThreadedListener:
    def __init__(self, callback: QueueCallback, name: str) -> None:
        self._callback = callback
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = name

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _deliver(self, change: QueueChange) -> None:
        try:
            self._callback(change)
        except Exception:
            log.exception("queue listener callback failed")

    def _start_thread(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Any:
        self.start()  # type: ignore[attr-defined]  # every listener class below defines start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class PostgresQueueListener(_ThreadedListener):
    """LISTEN on CHANNEL; ``start()`` returns once listening, so any commit after it is reported."""

    def __init__(self, connect_kwargs: dict[str, Any], callback: QueueCallback) -> None:
        super().__init__(callback, "signoff-pg-listen")
        self._connect_kwargs = connect_kwargs
        self._connection: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        connection = psycopg.connect(autocommit=True, **self._connect_kwargs)
        connection.execute(f"LISTEN {CHANNEL}")
        return connection

    def start(self) -> None:
        # Connect here, not in the thread: a wrong URL fails the caller, and nothing committed after start() is missed.
        self._connection = self._connect()
        self._start_thread()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    if self._connection is None:
                        self._connection = self._connect()
                        # Notifications sent while disconnected are gone: say that something may have changed.
                        self._deliver(QueueChange(None, None, "changed"))
                    for notification in self._connection.notifies(timeout=_STOP_CHECK_S):
                        self._deliver(parse_payload(notification.payload))
                        if self._stopping.is_set():
                            break
                except psycopg.Error as err:
                    log.info("queue listener lost its connection (%s); reconnecting", err)
                    self._close_connection()
                    self._stopping.wait(_RECONNECT_PAUSE_S)
        finally:
            self._close_connection()

    def _close_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except psycopg.Error:
                pass
            self._connection = None


class SqlitePollingListener(_ThreadedListener):
    """Polls every ``interval_s``: ``PRAGMA data_version`` of its own connection to a file, else a cheap signature."""

    def __init__(self, database: Any, callback: QueueCallback, *, interval_s: float = 1.0) -> None:
        super().__init__(callback, "signoff-sqlite-poll")
        self._database = database
        self._interval_s = interval_s

    def start(self) -> None:
        self._start_thread()

    def _run(self) -> None:
        path = getattr(self._database, "path", None)
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) if path is not None else None
        try:
            last = self._look(connection)
            while not self._stopping.wait(self._interval_s):
                try:
                    now = self._look(connection)
                except Exception as err:  # a locked or busy file, a closing database: try again next round
                    log.info("queue poll failed: %s", err)
                    continue
                if now != last:
                    last = now
                    self._deliver(QueueChange(None, None, "changed"))
        finally:
            if connection is not None:
                connection.close()

    def _look(self, connection: sqlite3.Connection | None) -> object:
        if connection is not None:
            # Changes whenever another connection commits to the file; costs no table access.
            return connection.execute("PRAGMA data_version").fetchone()[0]
        with self._database.session() as orm:
            return tuple(
                orm.execute(
                    select(func.count(Proposal.id), func.max(Proposal.id), func.max(Proposal.decided_at)).where(
                        Proposal.status.in_(STILL_UNDECIDED)
                    )
                ).one()
            ) + (orm.scalar(select(func.max(Decision.id))),)


def postgres_connect_kwargs(database: Any) -> dict[str, Any]:
    url = database.url
    kwargs: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
        "connect_timeout": 10,
    }
    kwargs.update({key: value for key, value in url.query.items() if isinstance(value, str)})
    return {key: value for key, value in kwargs.items() if value is not None}


def open_queue_listener(database: Any, callback: QueueCallback, *, poll_interval_s: float = 1.0) -> QueueListener:
    """A started listener for ``database`` (an open app.store.db.Database); stop() it when done."""
    listener: QueueListener
    if database.dialect == "postgresql":
        listener = PostgresQueueListener(postgres_connect_kwargs(database), callback)
    else:
        listener = SqlitePollingListener(database, callback, interval_s=poll_interval_s)
    listener.start()
    return listener
