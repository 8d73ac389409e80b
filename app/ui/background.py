"""Background work in the window, one name for each kind; every ui module uses these instead of threads of its own.

Which mechanism is for what:
- Database work: ``await repository.read(fn, …)`` / ``repository.write(fn, …)`` (app.store.async_repository): the one
  database thread, errors translated to one sentence. User actions go through app.ui.operations.run_op on top.
- Other blocking calls (keyring, settings and policy files, a read beside the database thread, a LISTEN connection):
  ``await run_in_thread(fn, …)``; pass ``explain`` to get the store's one-sentence errors for a database read.
- Long work that reports progress through Qt signals and is cancelled by an event (an export, a large scan):
  ``start_worker(fn, …)``, a named daemon thread; it must always report back through its signals.
- Syntax highlighting: the child-process protocol of app.ui.syntax (a hang or crash there cannot take the window).
- Qt signal to coroutine: qasync's ``asyncSlot``.
- Stale results: every async load carries a ``LoadToken`` naming what it is for; a late answer for something no
  longer current (another proposal, a newer load) is dropped (git-cola tags diff requests the same way).
No widgets here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


async def run_in_thread(
    fn: Callable[..., T], *args: Any, explain: Callable[[BaseException], Exception | None] | None = None, **kwargs: Any
) -> T:
    """Run a blocking call on a worker thread and await its result; ``explain`` maps a failure (e.g. a database
    driver's error) to the exception to raise instead, or None to keep it."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except Exception as exc:
        explained = explain(exc) if explain is not None else None
        if explained is None or explained is exc:
            raise
        raise explained from exc


def store_errors(repository: Any) -> Callable[[BaseException], Exception | None]:
    """``explain`` for a read of ``repository`` (sync or async) run beside the database thread: the store's
    one-sentence error instead of the driver's text (a locked or full database)."""
    sync = getattr(repository, "sync", repository)

    def explain(exc: BaseException) -> Exception | None:
        database = getattr(sync, "database", None)
        return database.explain(exc) if database is not None and hasattr(database, "explain") else None

    return explain


def start_worker(target: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Start a named daemon thread for long work that reports back through Qt signals (queued to the GUI thread)."""
    worker = threading.Thread(target=target, args=args, name=name, daemon=True)
    worker.start()
    return worker


@dataclass(frozen=True)
class LoadToken:
    purpose: str
    subject: Any
    serial: int


class LoadTokens:
    """Hands out a token per load; ``is_current`` is False once a newer load of the same purpose started or the
    widget shows something else than the token's subject."""

    def __init__(self) -> None:
        self._serial = 0
        self._latest: dict[str, int] = {}

    def issue(self, purpose: str, subject: Any) -> LoadToken:
        self._serial += 1
        self._latest[purpose] = self._serial
        return LoadToken(purpose, subject, self._serial)

    def is_current(self, token: LoadToken, shown_subject: Any) -> bool:
        return self._latest.get(token.purpose) == token.serial and token.subject == shown_subject
