"""Garbage collection on the GUI thread only (as anki's aqt does).

Python's cyclic collector runs on whichever thread happens to allocate when a threshold is crossed: the database
thread, a stream reader. If a cycle holding a Qt object is collected there, Qt destroys it on the wrong thread
("Timers cannot be stopped from another thread") and can crash. So automatic collection is switched off and a timer
on the GUI thread collects instead, as often as the thresholds would have.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 1000


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        first, second, third = gc.get_count()
        if first > self._threshold[0]:
            generation = 0
            if second > self._threshold[1]:
                generation = 1
                if third > self._threshold[2]:
                    generation = 2
            gc.collect(generation)

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        gc.enable()


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Exempt what exists once the window is up from the cyclic collector, once per process (the app calls it after
    its first screen; tests never do, so each test's objects stay collectable).

    By then the process holds ~260k long-lived objects (Qt bindings, SQLAlchemy, the SDK and pydantic models). A full
    collection walks them all: 30-110 ms with the interpreter lock held, and the window stops meanwhile (it was the
    queue's largest scroll stall). Frozen, later collections walk only what was made since (gc.freeze, as CPython's
    docs advise for long-lived startup state). Garbage is collected first so none is kept.
    """
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()
