"""Worker processes for large exports: each reads and renders whole batches of sessions and writes its rows straight
into the export's files at the offsets the exporting process gives it, so rendering uses every core while the rows
and their order stay exactly those of an export in one process. No Qt.

The exporting process keeps the Ledger (dedupe in batch order) and hands out batches; a worker may hold two batches,
rendering the next while the ledger places the last. Messages are pickles over the worker's stdin and stdout
(multiprocessing's Connection framing); the worker's own prints go to stderr.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from app.services.export_batches import BatchSpec, KeptCounts, Ledger, RowPlan

# Batches handed to a worker at a time: it renders the next while the last waits for its place.
_BATCHES_HELD = 2
# Rendered parts a worker holds before it waits for their places (each about export_batches.PART_BYTES).
_PARTS_HELD = 6


class WorkerFailed(Exception):
    """A worker could not do its part; the message says why in one sentence."""


def available() -> bool:
    """Whether worker processes can be started here (an interpreter to run, pipes that select works on)."""
    return sys.platform != "win32" and not getattr(sys, "frozen", False) and bool(sys.executable)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (VmHWM), where /proc has it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def fork_is_safe() -> bool:
    """Whether workers can be forked from this process rather than started afresh: a fork copies the imported
    modules for free (starting an interpreter and importing took about 0.3 s a worker) but is safe only where no
    other thread runs (the window exports from a thread, so it starts fresh interpreters)."""
    return hasattr(os, "fork") and threading.active_count() == 1 and sys.platform.startswith("linux")


class _Worker:
    # Pipe ends this process holds for earlier workers: a forked worker closes them, so each worker sees the end of
    # its own pipe when the exporting process goes.
    _open_ends: set[int] = set()

    def __init__(self, index: int, fork: bool, hash_seed: str) -> None:
        self.index = index
        self.in_flight = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.stderr = None
        if fork:
            self._fork()
        else:
            self._spawn(hash_seed)
        _Worker._open_ends |= {self.send_to.fileno(), self.receive_from.fileno()}

    def _fork(self) -> None:
        from_worker, worker_out = os.pipe()
        worker_in, to_worker = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                for fd in (from_worker, to_worker, *_Worker._open_ends):
                    os.close(fd)
                _serve(Connection(worker_in, writable=False), Connection(worker_out, readable=False))
            except BaseException:  # noqa: BLE001 (nothing may escape into the parent's code)
                status = 1
            finally:
                os._exit(status)
        os.close(worker_in)
        os.close(worker_out)
        self.pid = pid
        self.send_to = Connection(to_worker, readable=False)
        self.receive_from = Connection(from_worker, writable=False)

    def _spawn(self, hash_seed: str) -> None:
        self.stderr = tempfile.TemporaryFile()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        # Dedupe compares row keys made by hash() in different workers: they must share one hash seed.
        env["PYTHONHASHSEED"] = hash_seed
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from app.services.export_workers import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.send_to = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.receive_from = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()

    def why_stopped(self) -> str:
        if self.process is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.pid = 0
                return f"An export worker stopped unexpectedly (exit status {os.waitstatus_to_exitcode(status)})."
            except ChildProcessError:
                return "An export worker stopped unexpectedly."
        self.process.wait(timeout=5)
        assert self.stderr is not None
        self.stderr.seek(0)
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        tail = lines[-1] if lines else f"exit status {self.process.returncode}"
        return f"An export worker stopped unexpectedly ({tail})."

    def stop(self) -> None:
        for connection in (self.send_to, self.receive_from):
            if not connection.closed:
                _Worker._open_ends.discard(connection.fileno())
                connection.close()
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self.stderr is not None:
                self.stderr.close()
        elif self.pid:
            try:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
                if pid == 0:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
            except (ChildProcessError, ProcessLookupError):
                pass
            self.pid = 0


class ExportWorkers:
    """``count`` worker processes rendering one export's batches into ``fds``' files (opened again by path)."""

    def __init__(
        self, count: int, db_url: str, spec: BatchSpec, paths: dict[str, Path], *, fork: bool | None = None
    ) -> None:
        self.peaks_mb: list[float] = []
        self._workers: list[_Worker] = []
        fork = fork_is_safe() if fork is None else fork
        hash_seed = str(int.from_bytes(os.urandom(4), "big"))
        try:
            for index in range(count):
                worker = _Worker(index, fork, hash_seed)
                self._workers.append(worker)
                worker.send_to.send(("open", db_url, spec, {name: str(path) for name, path in paths.items()}))
        except (OSError, BrokenPipeError) as err:
            self.stop()
            raise WorkerFailed(f"Could not start export workers: {err}.") from None

    def run(
        self,
        batches: Iterator[list[int]],
        ledger: Ledger,
        on_plan: Callable[[RowPlan], None],
        on_written: Callable[[KeptCounts], None],
        cancelled: Callable[[], bool],
    ) -> None:
        """Hand out every batch, place each part in order (batch, part) as its plan arrives, and wait until every
        batch is written."""
        plans: dict[tuple[int, int], tuple[_Worker, RowPlan]] = {}
        by_reader = {worker.receive_from: worker for worker in self._workers}
        next_batch = 0
        next_to_place = (0, 0)
        remaining = True
        while True:
            while remaining:
                worker = min(self._workers, key=lambda w: w.in_flight)
                if worker.in_flight >= _BATCHES_HELD:
                    break
                ids = next(batches, None)
                if ids is None:
                    remaining = False
                    break
                self._send(worker, ("batch", next_batch, ids))
                worker.in_flight += 1
                next_batch += 1
            if not remaining and not any(w.in_flight for w in self._workers):
                break
            for reader in wait(list(by_reader), timeout=0.1):
                worker = by_reader[reader]
                message = self._receive(worker)
                if message[0] == "rows":
                    plan: RowPlan = message[1]
                    plans[(plan.batch, plan.part)] = (worker, plan)
                    while next_to_place in plans:
                        owner, ready = plans.pop(next_to_place)
                        self._send(owner, ("place", ledger.place(ready)))
                        on_plan(ready)
                        next_to_place = (ready.batch + 1, 0) if ready.last else (ready.batch, ready.part + 1)
                elif message[0] == "written":
                    _, counts, last = message
                    worker.in_flight -= last
                    on_written(counts)
                else:  # ("error", why)
                    raise WorkerFailed(message[1])
            if cancelled():
                return

    def close(self) -> list[float]:
        """Stop the workers after a finished export; returns each one's peak resident memory in MB."""
        for worker in self._workers:
            try:
                worker.send_to.send(("close",))
                message = worker.receive_from.recv()
                if message[0] == "closed" and message[1] is not None:
                    self.peaks_mb.append(message[1])
            except (OSError, EOFError):
                pass
        self.stop()
        return self.peaks_mb

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    @staticmethod
    def _send(worker: _Worker, message: tuple[Any, ...]) -> None:
        try:
            worker.send_to.send(message)
        except (OSError, BrokenPipeError):
            raise WorkerFailed(worker.why_stopped()) from None

    @staticmethod
    def _receive(worker: _Worker) -> tuple[Any, ...]:
        try:
            return worker.receive_from.recv()
        except (OSError, EOFError):
            raise WorkerFailed(worker.why_stopped()) from None


def serve() -> None:
    """A started worker's life: messages over stdin and stdout (the worker's own prints go to stderr)."""
    receive = Connection(os.dup(0), writable=False)
    send = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not land in the pickles
    _serve(receive, send)


def _serve(receive: Connection, send: Connection) -> None:
    """Open the database and the files, then render, place and write batches until told to close."""
    # The rendered data holds no reference cycles; the collector would only walk it, again and again. Cycles the
    # database layer makes are collected between batches.
    gc.disable()
    database = None
    try:
        from app.services.export_batches import BatchRenderer
        from app.store.db import open_database

        _, db_url, spec, paths = receive.recv()
        database = open_database(db_url, migrate=False)
        fds = {name: os.open(path, os.O_WRONLY) for name, path in paths.items()}
        renderer = BatchRenderer(database, spec)
        batches: deque[tuple[int, list[int]]] = deque()
        held: dict[tuple[int, int], Any] = {}
        closing = False

        def handle(message: tuple[Any, ...]) -> None:
            nonlocal closing
            if message[0] == "batch":
                batches.append((message[1], message[2]))
            elif message[0] == "place":
                placement = message[1]
                part = held.pop((placement.batch, placement.part))
                send.send(("written", part.write(placement, fds, renderer.written), part.plan.last))
            else:
                closing = True

        while not closing:
            if not batches:
                handle(receive.recv())
                continue
            number, ids = batches.popleft()
            for part in renderer.render(number, ids):
                held[(number, part.plan.part)] = part
                send.send(("rows", part.plan))
                while len(held) >= _PARTS_HELD:
                    handle(receive.recv())
            gc.collect(1)
        for fd in fds.values():
            os.close(fd)
        database.close()
        send.send(("closed", peak_rss_mb()))
    except EOFError:
        return
    except Exception as exc:  # noqa: BLE001 (told to the exporting process, which raises it there)
        explained = database.explain(exc) if database is not None else None
        send.send(("error", str(explained) if explained else f"An export worker failed: {type(exc).__name__}: {exc}"))
