"""Policy decisions the hook made without opening the database, kept in a spool folder and moved into the
database by one detached ingesting process, so the agent gets its answer without waiting for SQLAlchemy.

Writing a record is stdlib only (it runs on the hook's fast path); ``python -m app.services.adapters.spool`` ingests.
A record is a file renamed into place whole and removed only after it is stored, so nothing is lost or doubled.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.services.adapters.base import Answer, Change, ToolRequest

_LOCK = ".ingest.lock"
# Held for an ingester's whole life: a hook starts one only when nobody holds it.
_ALIVE = ".ingester.lock"
# The descriptor of that lock, already held, when a hook started this ingester.
_LOCK_FD_ENV = "SIGNOFF_INGESTER_LOCK_FD"
# An ingester stays this long after the last record (looking every _POLL_S), so a burst of tool calls pays
# SQLAlchemy's import and the database connection once, not once per call on a machine the agent shares.
LINGER_S = 20.0
_POLL_S = 0.05


def _data_dir() -> Path:
    override = os.environ.get("SIGNOFF_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform.startswith("linux"):
        # platformdirs' answer on Linux, without its import on the hook's fast path.
        return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "signoff"
    from app.paths import data_dir

    return data_dir()


def spool_dir() -> Path:
    path = _data_dir() / "external-spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def write_record(db_url: str | None, request: ToolRequest, change: Change, answer: Answer, reviewer: str) -> Path:
    folder = spool_dir()
    record = {
        "db_url": db_url,
        "request": asdict(request),
        "change": {**asdict(change), "old_content": _b64(change.old_content), "new_content": _b64(change.new_content)},
        "answer": {"behavior": answer.behavior, "message": answer.message},
        "reviewer": reviewer,
    }
    name = f"{time.time_ns()}-{os.getpid()}"
    partial = folder / f".{name}.partial"
    partial.write_text(json.dumps(record), encoding="utf-8")
    final = folder / f"{name}.json"
    os.replace(partial, final)
    return final


@contextmanager
def _ingest_lock(folder: Path, *, blocking: bool, name: str = _LOCK) -> Iterator[bool]:
    with open(folder / name, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_ingester() -> None:
    """Start a detached ingester unless one is running. The hook takes the ingester's lock itself and hands it over
    open, so hooks that follow a moment later see it held while the new process is still starting Python."""
    folder = spool_dir()
    handle = open(folder / _ALIVE, "a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        import subprocess

        subprocess.Popen(
            [sys.executable, "-m", "app.services.adapters.spool"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            pass_fds=(handle.fileno(),),
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
                _LOCK_FD_ENV: str(handle.fileno()),
            },
        )
    finally:
        # The child's copy of the descriptor keeps the lock (flock belongs to the open file, not the process).
        handle.close()


def pending_records(folder: Path | None = None) -> list[Path]:
    return sorted((folder or spool_dir()).glob("*.json"))


def ingest(folder: Path | None = None, brokers: dict[str | None, Any] | None = None) -> int:
    """Store every spooled record; how many. Holds the lock, so one process ingests at a time."""
    folder = folder or spool_dir()
    brokers = {} if brokers is None else brokers
    stored = 0
    with _ingest_lock(folder, blocking=True):
        for path in pending_records(folder):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                path.rename(path.with_suffix(".bad"))
                continue
            broker = brokers.get(record["db_url"])
            if broker is None:
                broker = brokers[record["db_url"]] = _broker(record["db_url"])
            _store(broker, record)
            path.unlink()
            stored += 1
    return stored


def _broker(db_url: str | None):
    from app.services.adapters.broker import Broker
    from app.services.settings import load_settings
    from app.store.db import open_database

    return Broker(open_database(db_url or load_settings().database or None))


def _store(broker, record: dict[str, Any]) -> None:
    change_fields = record["change"]
    change = Change(
        **{
            **change_fields,
            "old_content": _unb64(change_fields["old_content"]),
            "new_content": _unb64(change_fields["new_content"]),
        }
    )
    answer = Answer(record["answer"]["behavior"], record["answer"]["message"], decided_by="policy")
    broker.record_policy(ToolRequest(**record["request"]), change, answer, record["reviewer"])


def _ingest_while_busy(folder: Path, brokers: dict[str | None, Any], linger_s: float) -> None:
    """Ingest until nothing was spooled for ``linger_s`` (or the folder is gone)."""
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < linger_s and folder.is_dir():
        if pending_records(folder):
            ingest(folder, brokers)
            idle_since = time.monotonic()
        else:
            time.sleep(_POLL_S)


@contextmanager
def _alive(folder: Path, inherited: int | None) -> Iterator[bool]:
    """The ingester's lock: the descriptor the hook handed over (already held), else taken here if free."""
    if inherited is None:
        with _ingest_lock(folder, blocking=False, name=_ALIVE) as mine:
            yield mine
        return
    try:
        yield True
    finally:
        os.close(inherited)


def main(linger_s: float = LINGER_S) -> int:
    folder = spool_dir()
    brokers: dict[str | None, Any] = {}
    handed = os.environ.pop(_LOCK_FD_ENV, None)
    inherited = int(handed) if handed and handed.isdigit() else None
    try:
        while True:
            with _alive(folder, inherited) as mine:
                inherited = None
                if not mine:
                    return 0  # another ingester runs
                _ingest_while_busy(folder, brokers, linger_s)
            # A hook that found the lock held just before it was let go had written its record before looking:
            # it is seen here, and taken unless a new ingester already took over.
            if not folder.is_dir() or not pending_records(folder):
                return 0
    except FileNotFoundError:
        return 0  # the spool folder was removed (a test's temporary folder): nothing is left to ingest


if __name__ == "__main__":
    sys.exit(main())
