"""The repository for asyncio code: every call runs on one dedicated database thread (like anki's taskman).

The event loop (and with it the window) never waits on SQL, and only plain records cross back. No Qt here.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from app.store.repository import Repository


class AsyncRepository:
    def __init__(self, repository: Repository) -> None:
        self.sync = repository
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signoff-db")

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run any synchronous database work (e.g. a core operation taking the repository) on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.sync, name)
        if not callable(method):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(method, *args, **kwargs))

        call.__name__ = name
        return call

    def close(self) -> None:
        self._executor.shutdown(wait=True)
