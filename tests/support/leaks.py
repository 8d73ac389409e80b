"""Fails any test that leaves a thread running it started, after a short grace period for threads told to stop.

Sees only Python threads (threading.enumerate); QThreads and foreign threads that called into Python go unchecked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# Long enough for a stopped server or worker to finish its last loop on a busy 2-core CI machine; paid only on a leak.
JOIN_GRACE_SECONDS = 5.0

# Threads Python registers for foreign (e.g. Qt) threads that call into it; they can't be joined and never leave.
_DummyThread = getattr(threading, "_DummyThread", ())


def describe_thread(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    target_name = getattr(target, "__qualname__", None) or repr(target)
    kind = "daemon" if thread.daemon else "non-daemon"
    return f"{thread.name!r} ({kind}, target={target_name})"


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    yield
    new_threads = [
        thread
        for thread in threading.enumerate()
        if thread not in threads_before and not isinstance(thread, _DummyThread) and thread.is_alive()
    ]
    deadline = time.monotonic() + JOIN_GRACE_SECONDS
    for thread in new_threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    still_running = [thread for thread in new_threads if thread.is_alive()]
    if still_running:
        listing = "\n  ".join(describe_thread(thread) for thread in still_running)
        pytest.fail(
            f"the test left {len(still_running)} thread(s) running {JOIN_GRACE_SECONDS:g}s after it ended "
            f"(stop and join them in the code or fixture that started them):\n  {listing}",
            pytrace=False,
        )
