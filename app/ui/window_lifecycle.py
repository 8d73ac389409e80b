"""The window's start (history, waiting work, mode, polling, the page last shown) and its orderly shutdown (every
timer, worker and connection before the database closes).
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QObject

from app.services.sessions import load_agent_loop
from app.ui.background import run_in_thread
from app.ui.window_state import restore_page


class WindowLifecycle(QObject):
    """Starts and stops everything the window runs."""

    def __init__(self, window: Any, *, force_demo: bool = False) -> None:
        super().__init__(window)
        self.window = window
        # Started with --demo: the demo runs even with a key, and its session is shown instead of the last page.
        self.force_demo = force_demo

    async def start(self) -> None:
        """Load history and waiting work, pick API or demo mode, start polling for other processes' proposals."""
        key = await run_in_thread(self.window.context.key_store.current)
        self.window.demo_mode = self.force_demo or key is None
        await self.window.sessions_page.load()
        await self.window.pending_feed.refresh()
        self.window.settings_flow.apply_mode()
        self.window.poll_timer.start()
        await self.window.decision_watch.start()
        await self.window.queue_view.start()
        # PostgreSQL: live updates (LISTEN/NOTIFY) and a claim on what is on screen.
        await self.window.team_mode.start()
        if self.force_demo or (self.window.demo_mode and not self.window.sessions):
            await self.window.session_commands.start_demo()
        elif self.window.pending:
            self.window.review_flow.focus_review()
        else:
            self.window.session_commands.show_composer()
        if not self.force_demo:
            # Back on the page the reviewer left (the demo shows its session instead).
            restore_page(self.window)
        await self.window.settings_flow.load_models()
        # The agent loop and the API SDK load on a worker thread while the person reads: Start never waits for them.
        self._warm_up = asyncio.ensure_future(load_agent_loop())

    async def shutdown(self) -> None:
        warm_up = getattr(self, "_warm_up", None)
        if warm_up is not None:
            warm_up.cancel()
        self.window.poll_timer.stop()
        self.window.undo.stop()
        self.window.queue_view.stop()
        await self.window.team_mode.stop()
        export_dialog = getattr(self.window, "export_dialog", None)
        if export_dialog is not None:
            # An export reads the database being closed below: stop it first (it leaves no partial file).
            export_dialog.cancel_export()
            await run_in_thread(export_dialog.wait, 10.0)
        await self.window.judges.shutdown()
        await self.window.session_tree.shutdown()
        await self.window.decision_watch.stop()
        await self.window.manager.shutdown()
        self.window.context.endpoints.close()
        self.window.repository.close()
        self.window.context.database.close()
