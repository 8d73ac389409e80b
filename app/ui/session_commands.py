"""The window's session commands: the new-session form, starting a session or the demos, and stop, resume and
propose-changeset for the selected session.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject
from qasync import asyncSlot

from app.services.demo_workspace import DEMO_TASK, make_demo_workspace
from app.services.endpoints import DEMO, NoApiKeyError
from app.services.sessions import NewSession
from app.services.settings import save_settings
from app.standin.demo import DEMO_MODEL_ID
from app.store.errors import StoreError, UnknownItemError
from app.ui.background import run_in_thread


class SessionCommands(QObject):
    """Starts, stops and resumes sessions for the menus and the new-session form."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window

    def show_composer(self) -> None:
        self.window.sessions_page.select(None)
        self.window.composer.task_edit.setFocus()

    @asyncSlot(object)
    async def start_session(self, spec: NewSession) -> None:
        self.window.composer.start_button.setEnabled(False)
        try:
            session = await self.window.manager.start(spec)
        except (NoApiKeyError, ValueError, FileNotFoundError, StoreError) as err:
            self.window.composer.show_error(str(err))
            return
        finally:
            self.window.composer.start_button.setEnabled(True)
        if spec.endpoint != DEMO:
            self.window.settings = replace(self.window.settings, last_workspace=spec.workspace_root, model=spec.model)
            await run_in_thread(save_settings, self.window.settings)
        self.window.composer.task_edit.clear()
        view = self.window.sessions_page.transcript_for(session.id)
        view.add_task(session.task)
        self.window.sessions_page.upsert(session)
        self.window.sessions_page.select(session.id)
        self.window.review_panel.setFocus()

    @asyncSlot()
    async def start_demo(self) -> None:
        await self._start_demo(DEMO_TASK)

    @asyncSlot()
    async def start_plan_demo(self) -> None:
        """The offline demo in plan mode: a plan to approve or edit, then two coders working in parallel."""
        from app.standin.plan_demo import PLAN_DEMO_PROMPT

        await self._start_demo(PLAN_DEMO_PROMPT, plan=True)

    async def _start_demo(self, task: str, *, plan: bool = False) -> None:
        """A fresh copy of the sample project and a session on the offline demo's stand-in."""
        workspace = await run_in_thread(make_demo_workspace)
        spec = NewSession(
            workspace_root=str(workspace),
            task=task,
            model=DEMO_MODEL_ID,
            max_turns=self.window.settings.max_turns,
            max_tokens=self.window.settings.max_tokens,
            endpoint=DEMO,
            plan=plan,
        )
        await self.start_session(spec)

    def stop_selected(self) -> None:
        session_id = self.window.sessions_page.selected_id()
        if session_id is None:
            return
        if not self.window.manager.stop(session_id):
            self.window.statusBar().showMessage(f"Session {session_id} is not running in this window.", 5000)

    @asyncSlot()
    async def resume_selected(self) -> None:
        session_id = self.window.sessions_page.selected_id()
        if session_id is None:
            return
        try:
            await self.window.manager.resume(session_id)
        except (ValueError, NoApiKeyError, UnknownItemError) as err:
            self.window.statusBar().showMessage(str(err), 8000)

    @asyncSlot()
    async def propose_changeset_selected(self) -> None:
        session_id = self.window.sessions_page.selected_id()
        if session_id is None:
            return
        asked = await self.window.manager.repository.write(lambda store: store.changesets.request_propose(session_id))
        self.window.statusBar().showMessage(
            f"Session {session_id} proposes its changeset at its next step."
            if asked
            else f"Session {session_id} does not work in changeset mode.",
            6000,
        )
