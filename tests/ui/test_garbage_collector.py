"""The app collects cyclic garbage on the GUI thread only, so Qt objects are never destroyed on a worker thread."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

from PySide6.QtCore import QObject

from app.ui.garbage import MainThreadGarbageCollector


class Holder:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it
        self.qt = QObject()


def test_cycles_holding_qt_objects_are_collected_on_the_gui_thread_not_by_a_worker(qapp):
    collector = MainThreadGarbageCollector()
    try:
        assert not gc.isenabled()
        holder = Holder()
        destroyed_on: list[str] = []
        holder.qt.destroyed.connect(lambda: destroyed_on.append(threading.current_thread().name))
        del holder

        def allocate_a_lot() -> None:
            # Enough allocations to cross every threshold: with automatic collection on, this thread would collect.
            junk = [[] for _ in range(200_000)]
            del junk

        worker = threading.Thread(target=allocate_a_lot, name="worker")
        worker.start()
        worker.join()
        assert destroyed_on == []
        cycles = [Holder() for _ in range(1000)]  # pushes the allocation count over the first threshold
        del cycles
        collector.check()
        assert destroyed_on == [threading.main_thread().name]
    finally:
        collector.stop()
        gc.disable()  # the test session keeps automatic collection off (tests/conftest.py)


def test_the_startup_heap_is_frozen_once_after_garbage_is_collected_and_later_full_passes_skip_it():
    # In a child process: freezing is for the life of a process, and this one runs the rest of the tests.
    script = (
        "import gc, time, weakref\n"
        "from app.ui.garbage import freeze_startup_heap\n"
        "class Cycle:\n"
        "    def __init__(self): self.me = self\n"
        "keep = [[i] for i in range(300_000)]\n"
        "Cycle()\n"
        "started = time.perf_counter(); gc.collect(); before = time.perf_counter() - started\n"
        "garbage = weakref.ref(Cycle())\n"
        "freeze_startup_heap(); frozen = gc.get_freeze_count()\n"
        "freeze_startup_heap(); again = gc.get_freeze_count()\n"
        "left = 0 if garbage() is None else 1  # collected first, not frozen for ever\n"
        "started = time.perf_counter(); gc.collect(); after = time.perf_counter() - started\n"
        "print(frozen >= 300_000, again == frozen, left, after < before)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["True", "True", "0", "True"]
