"""Benchmark of a tree of agents in the window: 8 sub-agents streaming at once through the stand-in (real SDK, real
SQLite file, the real main window on a qasync loop). The window's largest 5 ms heartbeat gap, against the same tree
with one sub-agent in the same run, and whether every streamed delta is in the stored transcripts."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import qasync  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.services import events, review  # noqa: E402
from app.services.sessions import NewSession  # noqa: E402
from app.services.settings import Settings  # noqa: E402
from app.store.db import open_database  # noqa: E402
from app.ui.main_window import MainWindow, WindowContext  # noqa: E402
from tests.benchmarks.figures import Figure  # noqa: E402
from tests.benchmarks.subagent_standin import ROOT_TASK  # noqa: E402

HEARTBEAT_TARGET_MS = 33.0
_HEARTBEAT_MS = 5
# Seconds between streamed deltas of one agent: 200 deltas (about 400 words) a second each, faster than the real API.
_CHUNK_DELAY_S = 0.005


async def _tree_in_the_window(agents: int, words: int, folder: Path) -> tuple[float, int, int]:
    """Largest heartbeat gap (ms) while ``agents`` sub-agents stream, and (sessions whose stored text is exactly what
    streamed, sessions that streamed)."""
    # The stand-in runs in its own process, as the API does: its threads must not take the window's interpreter.
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.subagent_standin", str(agents), str(words), str(_CHUNK_DELAY_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    os.environ["ANTHROPIC_BASE_URL"] = server.stdout.readline().strip()
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-bench"
    workspace = folder / f"ws-{agents}"
    workspace.mkdir()
    database = open_database(str(folder / f"tree-{agents}.db"))
    context = WindowContext.create(database, settings=Settings(reviewer="bench", undo_seconds=0.0))
    window = MainWindow(context)
    window.resize(1200, 800)
    window.show()
    streamed: dict[int, list[str]] = {}
    done = asyncio.Event()
    plan_waiting: asyncio.Queue[int] = asyncio.Queue()

    def listen(event: events.SessionEvent) -> None:
        if isinstance(event, events.TextDelta):
            streamed.setdefault(event.session_id, []).append(event.text)
        elif isinstance(event, events.ProposalWaiting) and event.proposal.kind == "plan":
            plan_waiting.put_nowait(event.proposal.id)
        elif isinstance(event, events.StatusChanged) and event.status in ("finished", "failed", "stopped"):
            if event.session_id == root_id[0]:
                done.set()

    root_id = [0]
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(_HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    try:
        await window.start()
        window.manager.add_listener(listen)
        spec = NewSession(
            workspace_root=str(workspace),
            task=ROOT_TASK,
            model="claude-sonnet-5-5",
            max_turns=10,
            max_tokens=8192,
            endpoint="anthropic",
            plan=True,
            delegation_limits={"max_subagents": agents},
        )
        session = await window.manager.start(spec)
        root_id[0] = session.id
        window.select_session(session.id)
        plan_id = await asyncio.wait_for(plan_waiting.get(), 30)
        heartbeat.start()
        await window.manager.decide(review.approve(plan_id, "bench"))
        await asyncio.wait_for(done.wait(), 300)
        heartbeat.stop()
        tree = await window.repository.read(lambda store: store.sessions.tree(session.id))
        matching = 0
        children = [s for s in tree if s.parent_id is not None]
        for child in children:
            messages = await window.repository.read(lambda store, i=child.id: store.sessions.messages(i))
            stored = "".join(
                b.get("text", "")
                for m in messages
                if m.role == "assistant"
                for b in m.content
                if b.get("type") == "text"
            )
            if stored == "".join(streamed.get(child.id, [])) and child.status == "finished":
                matching += 1
    finally:
        heartbeat.stop()
        window.close()
        await window.shutdown()
        window.deleteLater()
        server.stdin.close()
        server.wait(timeout=30)
        server.stdout.close()
    gaps = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    return (max(gaps) if gaps else 0.0), matching, len(children)


def benchmarks(quick: bool) -> Iterator[Figure]:
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app, already_running=False)
    asyncio.set_event_loop(loop)
    words = 300 if quick else 1500
    saved = {key: os.environ.get(key) for key in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")}
    try:
        with tempfile.TemporaryDirectory() as folder:
            one_gap, _, _ = loop.run_until_complete(_tree_in_the_window(1, words, Path(folder)))
            eight_gap, matching, children = loop.run_until_complete(_tree_in_the_window(8, words, Path(folder)))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    yield Figure.at_most(
        f"window: largest 5 ms heartbeat gap while 8 sub-agents stream {words} words each at once, a delta every "
        f"{_CHUNK_DELAY_S * 1000:g} ms each "
        "(baseline: the same tree with 1 sub-agent)",
        round(eight_gap, 1),
        "ms",
        HEARTBEAT_TARGET_MS,
        baseline=round(one_gap, 1),
    )
    yield Figure.at_least(
        "tree of 8 sub-agents: sessions whose stored transcript holds every streamed delta",
        float(matching),
        f"of {children}",
        8.0,
    )
