"""The store for asyncio code, typed: ``await store.read(fn)`` and ``await store.write(fn)``, where ``fn`` receives the
synchronous ``Repository`` (and any further arguments) and its result type flows through (like Datasette's
``execute_fn`` / ``execute_write_fn``). No Qt here.

Threads: writes run on one dedicated database thread (like anki's taskman), in the order they were asked for. Reads
use that same thread too (the simpler choice on SQLite): a read asked for after a write sees it, and a read asked for
before a write never arrives after it with the older state. The exception is ``read_beside(fn)``, for the queue's
polling reads (its pages, figures, filter choices and item states): they run on reader threads of their own, since
SQLite's WAL (and PostgreSQL) let readers run beside the writer, so a decision pressed meanwhile never queues behind
them; they may see the state of just before a write that is running, which the queue's next poll reconciles. An
in-memory SQLite database is one shared connection, so there ``read_beside`` uses the database thread as well. The
event loop never waits on SQL, and only plain records cross back.

Every read and every write gets the same translation of a database failure (disk full, a lock held too long, a
read-only file, a server gone): a StoreError whose message says so in one sentence (``Database.explain``), never the
driver's text.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from app.store.repository import Repository

P = ParamSpec("P")
T = TypeVar("T")

# Reads beside the writer at once: the queue's page, its figures and its choices can overlap; more would only contend.
READER_THREADS = 4


class AsyncRepository:
    def __init__(self, repository: Repository) -> None:
        self.sync = repository
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signoff-db")
        shared_connection = repository.database.dialect == "sqlite" and repository.database.path is None
        self._readers = (
            self._writer
            if shared_connection
            else ThreadPoolExecutor(max_workers=READER_THREADS, thread_name_prefix="signoff-db-read")
        )

    async def read(self, fn: Callable[Concatenate[Repository, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(repository, *args, **kwargs)`` on the database thread, in order with the writes; writes nothing."""
        return await self._run(self._writer, functools.partial(fn, self.sync, *args, **kwargs))

    async def read_beside(self, fn: Callable[Concatenate[Repository, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(repository, *args, **kwargs)`` on a reader thread beside the writer: for polling reads that must never
        hold up a write (and may see the state of just before one); writes nothing."""
        return await self._run(self._readers, functools.partial(fn, self.sync, *args, **kwargs))

    async def write(self, fn: Callable[Concatenate[Repository, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(repository, *args, **kwargs)`` on the one writer thread, after every write asked for before it."""
        return await self._run(self._writer, functools.partial(fn, self.sync, *args, **kwargs))

    async def _run(self, executor: ThreadPoolExecutor, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, work)
        except Exception as exc:
            explained = self.sync.database.explain(exc)
            if explained is None or explained is exc:
                raise
            raise explained from exc

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        if self._readers is not self._writer:
            self._readers.shutdown(wait=True)
