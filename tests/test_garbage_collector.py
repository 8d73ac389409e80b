"""The app collects cyclic garbage on the GUI thread only, so Qt objects are never destroyed on a worker thread."""

from __future__ import annotations

import gc
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
