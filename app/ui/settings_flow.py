"""The Settings dialog and what follows from it: the theme, the demo or API mode (by whether a key is set), the model
list, the undo window and notifications.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication
from qasync import asyncSlot

from app.services.endpoints import ANTHROPIC, DEMO
from app.services.settings import save_settings
from app.standin.demo import DEMO_MODEL_ID
from app.ui.background import run_in_thread
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import apply_theme

log = logging.getLogger(__name__)


class SettingsFlow(QObject):
    """Opens Settings and applies what changed; the window keeps the current Settings."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window

    @asyncSlot(str)
    async def set_theme(self, theme: str) -> None:
        """Apply a theme at once and keep it in Settings."""
        self.window.settings = replace(self.window.settings, theme=theme)
        self.apply_theme()
        await run_in_thread(save_settings, self.window.settings)

    def apply_theme(self) -> None:
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self.window.settings.theme)
        self.window.menus.show_theme(self.window.settings.theme)

    def apply_mode(self) -> None:
        if self.window.demo_mode:
            self.window.composer.endpoint = DEMO
            self.window.composer.mode_label.setText(
                "<b>Offline demo.</b> No API key is set, so a scripted agent — served by Signoff's local stand-in "
                "of the Messages API — proposes changes to a sample project. Add a key in Settings (Ctrl+,) to "
                "work with Claude."
            )
            self.window.mode_label.setText("Offline demo")
        else:
            self.window.composer.endpoint = ANTHROPIC
            self.window.composer.mode_label.setText("")
            self.window.mode_label.setText("Anthropic API")
        self.window.composer.mode_label.setVisible(self.window.demo_mode)
        self.window.composer.max_turns.setValue(self.window.settings.max_turns)
        self.window.composer.max_tokens.setValue(self.window.settings.max_tokens)
        if self.window.settings.last_workspace and not self.window.composer.workspace_edit.text():
            self.window.composer.workspace_edit.setText(self.window.settings.last_workspace)

    async def load_models(self) -> None:
        endpoint = DEMO if self.window.demo_mode else ANTHROPIC
        preferred = DEMO_MODEL_ID if self.window.demo_mode else self.window.settings.model
        try:
            ids = await asyncio.wait_for(self.window.context.endpoints.model_ids(endpoint), 15)
        except Exception as err:  # the picker still works with the saved model; say why the list is short
            log.info("could not list models: %s", err)
            ids = []
            if not self.window.demo_mode:
                self.window.statusBar().showMessage(f"Could not list models from the API ({type(err).__name__}).", 8000)
        self.window.composer.set_models(ids or [preferred], preferred)
        self.window.model_ids = ids

    @asyncSlot()
    async def open_settings(self) -> None:
        # The keyring may take seconds (a locked desktop keyring): never ask it on the UI thread.
        key = await run_in_thread(self.window.context.key_store.current)
        if key is None:
            status = "No key: the offline demo runs instead of Claude."
        else:
            status = {
                "keyring": "A key is saved in the system keyring.",
                "environment": "Using ANTHROPIC_API_KEY from the environment.",
                "this run": "A key is set for this run only (no keyring available).",
            }[key.source]
        self.window.settings_dialog = SettingsDialog(
            self.window.settings, key_status=status, model_ids=getattr(self.window, "model_ids", []), parent=self.window
        )
        self.window.settings_dialog.accepted.connect(self.settings_accepted)
        self.window.settings_dialog.judges_requested.connect(self.window.judges_settings.open_dialog)
        self.window.settings_dialog.open()

    @asyncSlot()
    async def settings_accepted(self) -> None:
        result = self.window.settings_dialog.result_value()
        theme_changed = result.settings.theme != self.window.settings.theme
        self.window.settings = result.settings
        self.window.queue_view.notifier.enabled = self.window.settings.desktop_notifications
        if theme_changed:
            self.apply_theme()
        self.window.manager.waiter.undo_window_s = self.window.settings.undo_seconds
        self.window.queue_view.set_undo_window(self.window.settings.undo_seconds)
        await run_in_thread(save_settings, self.window.settings)
        if result.new_api_key == "":
            await run_in_thread(self.window.context.key_store.forget)
        elif result.new_api_key:
            where = await run_in_thread(self.window.context.key_store.save, result.new_api_key)
            self.window.statusBar().showMessage(f"API key: {where}", 10000)
        key = await run_in_thread(self.window.context.key_store.current)
        self.window.demo_mode = key is None
        self.apply_mode()
        await self.load_models()
