"""The repository for asyncio code: every call runs on one dedicated database thread (like anki's taskman).

The event loop (and with it the window) never waits on SQL, and only plain records cross back. No Qt here.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.store.errors import StoreError
from app.store.repository import Repository


class AsyncRepository:
    def __init__(self, repository: Repository) -> None:
        self.sync = repository
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signoff-db")

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run any synchronous database work (e.g. a core operation taking the repository) on the database thread.

        A database failure on the way (disk full, a lock held too long, a read-only file, a server gone) arrives as a
        StoreError whose message says so in one sentence, not as the driver's text.
        """
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))
        except Exception as exc:
            explained = self._explain(exc)
            if explained is None or explained is exc:
                raise
            raise explained from exc

    def _explain(self, exc: BaseException) -> StoreError | None:
        explain = getattr(getattr(self.sync, "database", None), "explain", None)
        return explain(exc) if explain is not None else None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.sync, name)
        if not callable(method):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.run(method, *args, **kwargs)

        call.__name__ = name
        return call

    def close(self) -> None:
        self._executor.shutdown(wait=True)
