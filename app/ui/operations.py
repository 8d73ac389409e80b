"""Running a user action from the window: one op per action (in the manner of anki's ``CollectionOp``) that awaits
the service call (app.services.decisions through SessionManager), then calls ``on_success`` or ``on_failure`` on the
GUI thread.

Errors are mapped to one sentence in one place (``decisions.failure``); an op never touches widgets itself, its
callbacks do. Unexpected errors (bugs) are not swallowed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.services.decisions import Failure, failure

T = TypeVar("T")


async def run_op(
    action: Awaitable[T],
    proposal_id: int,
    *,
    on_success: Callable[[T], Any],
    on_failure: Callable[[Failure], Any],
    on_done: Callable[[], Any] | None = None,
) -> T | None:
    """Await ``action`` (a service coroutine about ``proposal_id``); hand its result to ``on_success`` or its mapped
    failure to ``on_failure``; ``on_done`` runs first either way (e.g. to end a busy state)."""
    try:
        result = await action
    except Exception as error:
        mapped = failure(error, proposal_id)
        if on_done is not None:
            on_done()
        if mapped is None:
            raise
        on_failure(mapped)
        return None
    if on_done is not None:
        on_done()
    on_success(result)
    return result
