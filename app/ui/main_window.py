"""The main window: sessions on the left, the selected session's transcript (or the new-session form) above, the
waiting proposal below. Binds widgets to the core's SessionManager; holds no agent or database logic of its own.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTextEdit,
)
from qasync import asyncSlot

from app.domain.lifecycle import ProposalStatus
from app.domain.records import ProposalRecord, SessionRecord
from app.domain.wording import session_ended
from app.services import decisions, events, review
from app.services.api_key import ApiKeyStore
from app.services.compare import PickRequest
from app.services.decision_watch import UnownedDecisionWatcher
from app.services.demo_workspace import DEMO_TASK, make_demo_workspace
from app.services.endpoints import ANTHROPIC, DEMO, Endpoints, NoApiKeyError
from app.services.runtime import session_runtime
from app.services.sessions import NewSession, SessionManager, load_agent_loop
from app.services.settings import Settings, save_settings
from app.standin.demo import DEMO_MODEL_ID
from app.store.async_repository import AsyncRepository
from app.store.errors import StoreError, UnknownItemError
from app.ui.background import run_in_thread
from app.ui.composer import Composer
from app.ui.judges_dialog import JudgesSettingsController
from app.ui.menus import WindowMenus
from app.ui.operations import run_op
from app.ui.pending_book import PendingBook
from app.ui.policy_dialog import PolicyController
from app.ui.queue_view import QueueView
from app.ui.review_panel import ReviewPanel
from app.ui.review_rules_dialog import ReviewRulesController
from app.ui.sessions_undo import SessionsUndo
from app.ui.settings_dialog import SettingsDialog
from app.ui.shortcut_sheet import ShortcutSheet
from app.ui.team_mode import TeamModeController
from app.ui.theme import apply_theme
from app.ui.transcript_view import TranscriptView
from app.ui.window_state import restore_geometry, restore_page, save_window

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 1000
# The window's size on a first start (later starts restore the last one).
DEFAULT_SIZE = (1280, 860)
STATUS_MARKS = {
    "running": "●",
    "waiting": "◆",
    "finished": "✓",
    "stopped": "■",
    "failed": "✗",
    "interrupted": "‖",
}


@dataclass
class WindowContext:
    database: Any
    repository: AsyncRepository
    key_store: ApiKeyStore
    endpoints: Endpoints
    manager: SessionManager
    settings: Settings

    @classmethod
    def create(cls, database: Any, *, settings: Settings, key_store: ApiKeyStore | None = None) -> WindowContext:
        # The composition root the command line shares (app.services.runtime).
        built = session_runtime(database, settings=settings, key_store=key_store)
        return cls(database, built.repository, built.key_store, built.endpoints, built.manager, settings)


def _typing_somewhere() -> bool:
    widget = QApplication.focusWidget()
    if isinstance(widget, QLineEdit):
        return True
    if isinstance(widget, (QPlainTextEdit, QTextEdit)) and not widget.isReadOnly():
        return True
    return False


class MainWindow(QMainWindow):
    closed = Signal()
    # Emitted after each handled session event; tests wait on it.
    session_event = Signal(object)
    pending_changed = Signal()

    def __init__(self, context: WindowContext, *, demo: bool = False) -> None:
        super().__init__()
        self.context = context
        self.settings = context.settings
        self.manager = context.manager
        self.repository = context.repository
        self._force_demo = demo
        self.demo_mode = demo
        # Waiting proposals; the pane shows only the selected session's (app.ui.pending_book).
        self.pending = PendingBook(self._under_session)
        self.sessions: dict[int, SessionRecord] = {}
        self.transcripts: dict[int, TranscriptView] = {}
        self._refreshing = False
        self._shutting_down = False
        self.manager.add_listener(self._on_session_event)

        self.setWindowTitle("Signoff")
        self.resize(*DEFAULT_SIZE)
        restore_geometry(self)
        self._build()
        # The machine judges (issue 13): a badge on the review pane, the verifier and critic on every proposal.
        from app.ui.judges_badge import attach_judges

        self.judges = attach_judges(self)
        # Plans and delegation (issue 15): the tree of agents under the session list, Stop tree, the plan demo.
        from app.ui.session_tree import attach_session_tree

        self.session_tree = attach_session_tree(self)
        self._build_actions()
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_INTERVAL_MS)
        self.poll_timer.timeout.connect(self.refresh)
        # Decisions made elsewhere (`signoff approve`, another window) on sessions nobody runs are carried out here.
        self.decision_watch = UnownedDecisionWatcher(
            self.repository, self.manager, say=lambda text: self.statusBar().showMessage(text, 15000)
        )
        # Decisions of this page that u / Ctrl+Z can still take back, and their countdown (the Queue page's mechanism).
        self.undo = SessionsUndo(self)

    # -- layout --------------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.session_list = QListWidget()
        self.session_list.setObjectName("sessionList")
        self.session_list.setUniformItemSizes(True)
        self.session_list.setMinimumWidth(240)
        self.session_list.currentItemChanged.connect(self._session_selected)
        self.session_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.session_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        new_item = QListWidgetItem("+  New session")
        new_item.setData(Qt.ItemDataRole.UserRole, None)
        self.session_list.addItem(new_item)

        self.composer = Composer()
        self.composer.start_requested.connect(self.start_session)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.composer)

        self.review_panel = ReviewPanel()
        self.review_panel.decision_requested.connect(self.decide)
        self.review_panel.compare_requested.connect(self.sample_alternatives)
        self.review_panel.pick_requested.connect(self.pick)
        self._split_before_compare: list[int] | None = None
        self.review_panel.comparing_changed.connect(self._make_room_to_compare)
        self.review_panel.last_compare_requested.connect(self.show_last_compare)
        self.review_panel.compare_enabled = True
        self.review_panel.compare_button.show()
        self.review_panel.scanner.found.connect(self._on_deceptive_scan)

        # The diff is what gets reviewed: the review pane takes three quarters of the height, the transcript the rest.
        self.review_split = right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("reviewSplit")
        right.addWidget(self.stack)
        right.addWidget(self.review_panel)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 3)
        right.setSizes([250, 750])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.session_list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 1000])
        self.queue_view = QueueView(self.repository, self.manager, lambda: self.settings.reviewer_name)
        self.queue_view.notifier.enabled = self.settings.desktop_notifications
        self.pages = QTabWidget()
        self.pages.setObjectName("pages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.queue_view, "Queue  (Ctrl+1)")
        self.pages.addTab(self.splitter, "Sessions  (Ctrl+2)")
        self.pages.setCurrentWidget(self.splitter)
        self.setCentralWidget(self.pages)

        self.usage_label = QLabel("")
        self.mode_label = QLabel("")
        self.statusBar().addWidget(self.usage_label, 1)
        self.statusBar().addPermanentWidget(self.mode_label)

    def _build_actions(self) -> None:
        # The controllers first: menu entries run their methods.
        self.team_mode = TeamModeController(self)
        self.policies = PolicyController(self)
        self.judges_settings = JudgesSettingsController(self)
        self.review_rules = ReviewRulesController(self)
        self.menus = WindowMenus(self)
        # The tree's commands live in the menus' table (window_commands); the tree panel triggers the same actions.
        self.session_tree.stop_tree_action = self.stop_tree_action
        self.session_tree.plan_demo_action = self.plan_demo_action
        self.shortcut_sheet: ShortcutSheet | None = None

    # -- menu commands -------------------------------------------------------------------------------------------------

    def active_review_panel(self) -> ReviewPanel:
        """The review pane of the page on screen (the queue's or the sessions')."""
        return self.queue_view.panel if self.pages.currentWidget() is self.queue_view else self.review_panel

    def quit(self) -> None:
        # Closing the window ends the run (app.ui.application waits for ``closed``), after saving its size.
        self.close()

    def find(self) -> None:
        if self.pages.currentWidget() is self.queue_view:
            self.queue_view.filter_bar.focus_search()
        else:
            self.review_panel.diff_view.open_find()

    def show_shortcuts(self) -> None:
        if self.shortcut_sheet is None:
            self.shortcut_sheet = ShortcutSheet(self)
        self.shortcut_sheet.open_filtered()

    def show_about(self) -> None:
        from app.paths import config_dir, data_dir

        # open(), not the static about(): no nested event loop under the running sessions.
        box = QMessageBox(QMessageBox.Icon.NoIcon, "About Signoff", "", parent=self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(
            "<b>Signoff</b> — an approval desk for AI agents.<br>"
            f"Settings: {config_dir()}<br>Data and log: {data_dir()}<br>Every key: F1"
        )
        box.setIconPixmap(self.windowIcon().pixmap(48, 48))
        box.setModal(False)
        self.about_box = box
        box.open()

    @asyncSlot(str)
    async def set_theme(self, theme: str) -> None:
        """Apply a theme at once and keep it in Settings."""
        self.settings = replace(self.settings, theme=theme)
        self._apply_theme()
        await run_in_thread(save_settings, self.settings)

    def _apply_theme(self) -> None:
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self.settings.theme)
        self.menus.show_theme(self.settings.theme)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            menus = getattr(self, "menus", None)
            if menus is not None:
                menus.refresh_icons()

    # -- start and stop ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load history and waiting work, pick API or demo mode, start polling for other processes' proposals."""
        key = await run_in_thread(self.context.key_store.current)
        self.demo_mode = self._force_demo or key is None
        await self._load_sessions()
        await self.refresh()
        self._apply_mode()
        self.poll_timer.start()
        await self.decision_watch.start()
        await self.queue_view.start()
        # PostgreSQL: live updates (LISTEN/NOTIFY) and a claim on what is on screen.
        await self.team_mode.start()
        if self._force_demo or (self.demo_mode and not self.sessions):
            await self.start_demo()
        elif self.pending:
            self.focus_review()
        else:
            self.show_composer()
        if not self._force_demo:
            # Back on the page the reviewer left (the demo shows its session instead).
            restore_page(self)
        await self._load_models()
        # The agent loop and the API SDK load on a worker thread while the person reads: Start never waits for them.
        self._warm_up = asyncio.ensure_future(load_agent_loop())

    async def shutdown(self) -> None:
        self._shutting_down = True
        warm_up = getattr(self, "_warm_up", None)
        if warm_up is not None:
            warm_up.cancel()
        self.poll_timer.stop()
        self.undo.stop()
        self.queue_view.stop()
        await self.team_mode.stop()
        export_dialog = getattr(self, "export_dialog", None)
        if export_dialog is not None:
            # An export reads the database being closed below: stop it first (it leaves no partial file).
            export_dialog.cancel_export()
            await run_in_thread(export_dialog.wait, 10.0)
        await self.judges.shutdown()
        await self.session_tree.shutdown()
        await self.decision_watch.stop()
        await self.manager.shutdown()
        self.context.endpoints.close()
        self.repository.close()
        self.context.database.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        save_window(self)
        event.accept()
        self.closed.emit()

    def _apply_mode(self) -> None:
        if self.demo_mode:
            self.composer.endpoint = DEMO
            self.composer.mode_label.setText(
                "<b>Offline demo.</b> No API key is set, so a scripted agent — served by Signoff's local stand-in "
                "of the Messages API — proposes changes to a sample project. Add a key in Settings (Ctrl+,) to "
                "work with Claude."
            )
            self.mode_label.setText("Offline demo")
        else:
            self.composer.endpoint = ANTHROPIC
            self.composer.mode_label.setText("")
            self.mode_label.setText("Anthropic API")
        self.composer.mode_label.setVisible(self.demo_mode)
        self.composer.max_turns.setValue(self.settings.max_turns)
        self.composer.max_tokens.setValue(self.settings.max_tokens)
        if self.settings.last_workspace and not self.composer.workspace_edit.text():
            self.composer.workspace_edit.setText(self.settings.last_workspace)

    async def _load_models(self) -> None:
        endpoint = DEMO if self.demo_mode else ANTHROPIC
        preferred = DEMO_MODEL_ID if self.demo_mode else self.settings.model
        try:
            ids = await asyncio.wait_for(self.context.endpoints.model_ids(endpoint), 15)
        except Exception as err:  # the picker still works with the saved model; say why the list is short
            log.info("could not list models: %s", err)
            ids = []
            if not self.demo_mode:
                self.statusBar().showMessage(f"Could not list models from the API ({type(err).__name__}).", 8000)
        self.composer.set_models(ids or [preferred], preferred)
        self.model_ids = ids

    # -- sessions ------------------------------------------------------------------------------------------------------

    async def _load_sessions(self) -> None:
        for session in reversed(await self.repository.read(lambda store: store.sessions.recent())):
            self._upsert_session(session)

    def _session_item(self, session_id: int) -> QListWidgetItem | None:
        for row in range(self.session_list.count()):
            item = self.session_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == session_id:
                return item
        return None

    def _upsert_session(self, session: SessionRecord) -> None:
        self.sessions[session.id] = session
        mark = STATUS_MARKS.get(session.status, "·")
        waiting = sum(1 for p in self.pending.values() if p.session_id == session.id)
        badge = f"  ({waiting} waiting)" if waiting else ""
        # A waiting proposal with hidden or deceptive characters flags its session until it is decided.
        if session.id in self._flagged_sessions():
            mark = f"⚠ {mark}"
        # A sub-agent is indented under its parent's place in the tree, with its role.
        indent = "    " * session.depth + ("↳ " if session.parent_id is not None else "")
        role = f"{session.role} · " if session.role else ""
        text = (
            f"{indent}{mark} #{session.id} {role}{session.task[:48]}{badge}\n"
            f"    {'    ' * session.depth}{Path(session.workspace_root).name} · {session.status}"
            + (" · plan mode" if session.mode == "plan" else "")
        )
        item = self._session_item(session.id)
        if item is None:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, session.id)
            parent = self._session_item(session.parent_id) if session.parent_id is not None else None
            # A sub-agent goes under its parent (after the siblings started before it); a session at the top.
            row = 1 if parent is None else self.session_list.row(parent) + 1
            while parent is not None and row < self.session_list.count():
                below = self.sessions.get(self.session_list.item(row).data(Qt.ItemDataRole.UserRole))
                if below is None or below.depth <= self.sessions.get(session.parent_id, session).depth:
                    break
                row += 1
            self.session_list.insertItem(row, item)
        else:
            item.setText(text)
        item.setToolTip(f"{session.task}\n{session.workspace_root}\n{session.model}")

    def selected_session_id(self) -> int | None:
        item = self.session_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def show_queue(self) -> None:
        self.pages.setCurrentWidget(self.queue_view)
        self.queue_view.focus_list()

    def show_sessions(self) -> None:
        self.pages.setCurrentWidget(self.splitter)

    def select_session(self, session_id: int | None) -> None:
        self.show_sessions()
        if session_id is None:
            self.session_list.setCurrentRow(0)
            return
        item = self._session_item(session_id)
        if item is not None:
            self.session_list.setCurrentItem(item)

    def _session_selected(self, current: QListWidgetItem | None, _previous=None) -> None:
        session_id = None if current is None else current.data(Qt.ItemDataRole.UserRole)
        if session_id is None:
            self.stack.setCurrentWidget(self.composer)
            self._update_usage(None)
            return
        view = self.transcripts.get(session_id)
        if view is None:
            view = self._transcript_for(session_id)
            self._load_transcript(session_id)
        self.stack.setCurrentWidget(view)
        self._update_usage(self.sessions.get(session_id))
        self._show_next_proposal()

    def _transcript_for(self, session_id: int) -> TranscriptView:
        view = self.transcripts.get(session_id)
        if view is None:
            view = TranscriptView(session_id)
            self.transcripts[session_id] = view
            self.stack.addWidget(view)
        return view

    @asyncSlot(int)
    async def _load_transcript(self, session_id: int) -> None:
        messages = await self.repository.read(lambda store: store.sessions.messages(session_id))
        if self._shutting_down:
            return
        session = self.sessions.get(session_id)
        self.transcripts[session_id].load(session.task if session else "", messages)
        if session is not None and session.status not in ("running", "waiting"):
            ended = session_ended(session.status, session.stop_reason, session.error)
            self.transcripts[session_id].add_status(ended)

    @asyncSlot(int, str)
    async def _reload_transcript(self, session_id: int, note: str) -> None:
        messages = await self.repository.read(lambda store: store.sessions.messages(session_id))
        view = self.transcripts.get(session_id)
        if self._shutting_down or view is None:
            return
        session = self.sessions.get(session_id)
        view.load(session.task if session else "", messages)
        view.add_status(note)

    def show_composer(self) -> None:
        self.select_session(None)
        self.composer.task_edit.setFocus()

    @asyncSlot(object)
    async def start_session(self, spec: NewSession) -> None:
        self.composer.start_button.setEnabled(False)
        try:
            session = await self.manager.start(spec)
        except (NoApiKeyError, ValueError, FileNotFoundError, StoreError) as err:
            self.composer.show_error(str(err))
            return
        finally:
            self.composer.start_button.setEnabled(True)
        if spec.endpoint != DEMO:
            self.settings = replace(self.settings, last_workspace=spec.workspace_root, model=spec.model)
            await run_in_thread(save_settings, self.settings)
        self.composer.task_edit.clear()
        view = self._transcript_for(session.id)
        view.add_task(session.task)
        self._upsert_session(session)
        self.select_session(session.id)
        self.review_panel.setFocus()

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
            max_turns=self.settings.max_turns,
            max_tokens=self.settings.max_tokens,
            endpoint=DEMO,
            plan=plan,
        )
        await self.start_session(spec)

    def stop_selected(self) -> None:
        session_id = self.selected_session_id()
        if session_id is None:
            return
        if not self.manager.stop(session_id):
            self.statusBar().showMessage(f"Session {session_id} is not running in this window.", 5000)

    @asyncSlot()
    async def resume_selected(self) -> None:
        session_id = self.selected_session_id()
        if session_id is None:
            return
        try:
            await self.manager.resume(session_id)
        except (ValueError, NoApiKeyError, UnknownItemError) as err:
            self.statusBar().showMessage(str(err), 8000)

    @asyncSlot()
    async def propose_changeset_selected(self) -> None:
        session_id = self.selected_session_id()
        if session_id is None:
            return
        asked = await self.manager.repository.write(lambda store: store.changesets.request_propose(session_id))
        self.statusBar().showMessage(
            f"Session {session_id} proposes its changeset at its next step."
            if asked
            else f"Session {session_id} does not work in changeset mode.",
            6000,
        )

    # -- events from running sessions ----------------------------------------------------------------------------------

    def _on_session_event(self, event: events.SessionEvent) -> None:
        if self._shutting_down:
            return
        view = self.transcripts.get(event.session_id) or self._transcript_for(event.session_id)
        view.on_event(event)
        if isinstance(event, events.ProposalWaiting):
            self.pending.add(event.proposal)
            self.review_panel.scanner.scan(event.proposal)
            self._show_next_proposal()
            self._update_title()
            self.pending_changed.emit()
        elif isinstance(event, events.ToolResultSent) and event.proposal_id is not None:
            self.pending.pop(event.proposal_id, None)
            if event.proposal_status in (ProposalStatus.CONFLICT, ProposalStatus.FAILED):
                # Not applied (the file changed, the disk is full or read-only, a command was cut off by a crash).
                self.review_panel.show_notice(f"Proposal #{event.proposal_id}: {event.text}")
            self._show_next_proposal()
            self._update_title()
            self.pending_changed.emit()
        elif isinstance(event, events.StatusChanged):
            self._refresh_session_soon(event.session_id)
            if event.status == "picked":
                # The step's assistant message is now the picked alternative: show the transcript as stored.
                self._reload_transcript(event.session_id, event.detail)
            if event.status == "stopped":
                self._drop_pending_of(event.session_id)
            if event.status == "retrying":
                # Stays until the session moves on: the SDK is waiting out a 429/529/5xx/timeout before retrying.
                self.statusBar().showMessage(f"Session {event.session_id}: {event.detail}")
            elif self.statusBar().currentMessage().startswith(f"Session {event.session_id}: "):
                self.statusBar().clearMessage()
        elif isinstance(event, events.UsageUpdated):
            session = self.sessions.get(event.session_id)
            if session is not None:
                session = replace(
                    session,
                    input_tokens=event.input_tokens,
                    output_tokens=event.output_tokens,
                    cache_creation_input_tokens=event.cache_creation_input_tokens,
                    cache_read_input_tokens=event.cache_read_input_tokens,
                )
                self.sessions[event.session_id] = session
                if self.selected_session_id() == event.session_id:
                    self._update_usage(session)
        self.session_event.emit(event)

    def _drop_pending_of(self, session_id: int) -> None:
        self.pending.drop_session(session_id)
        self._show_next_proposal(force=True)
        self.pending_changed.emit()

    @asyncSlot(int)
    async def _refresh_session_soon(self, session_id: int) -> None:
        try:
            session = await self.repository.read(lambda store: store.sessions.get(session_id))
        except (UnknownItemError, RuntimeError):
            return
        if self._shutting_down:
            return
        self._upsert_session(session)
        if self.selected_session_id() == session_id:
            self._update_usage(session)

    def _update_usage(self, session: SessionRecord | None) -> None:
        if session is None:
            self.usage_label.setText("")
            return
        self.usage_label.setText(
            f"Session #{session.id} · {session.model} · {session.status} · tokens in {session.input_tokens:,}"
            f" · out {session.output_tokens:,} · cache read {session.cache_read_input_tokens:,}"
            f" · cache write {session.cache_creation_input_tokens:,}"
        )

    # -- the waiting queue ---------------------------------------------------------------------------------------------

    @asyncSlot()
    async def refresh(self) -> None:
        """Pick up proposals made by other processes (``signoff run`` elsewhere) and decisions made elsewhere."""
        if self._refreshing or self._shutting_down:
            return
        self._refreshing = True
        try:
            # Waiting proposals and second reviews of others' first reviews (team mode), never one's own first review.
            # Read beside the database thread, so a decision never queues behind the poll; a snapshot read before a
            # change made here (a decision, an undo, a runner's event) is stale and dropped (PendingBook.replace).
            token = self.pending.snapshot_token()
            pending = await self.repository.read_beside(
                lambda store, reviewer: store.reviews.reviewable_proposals(reviewer), self.settings.reviewer_name
            )
            if self._shutting_down or not self.pending.replace(token, pending):
                return
            known_sessions = set(self.sessions)
            for session_id in {p.session_id for p in pending} - known_sessions:
                session = await self.repository.read(
                    lambda store, session_id=session_id: store.sessions.get(session_id)
                )
                if self._shutting_down:
                    return  # the window closed while the database thread answered
                self._upsert_session(session)
            for session_id in {p.session_id for p in pending}:
                self._upsert_session(self.sessions[session_id])
            for proposal in pending:
                self.review_panel.scanner.scan(proposal)
            self._show_next_proposal()
            self._update_title()
            self.pending_changed.emit()
        except StoreError as err:
            self.statusBar().showMessage(str(err), 5000)
        finally:
            self._refreshing = False

    def _flagged_sessions(self) -> set[int]:
        """Sessions with a waiting proposal that adds hidden or deceptive characters."""
        results = self.review_panel.scanner.results
        return {p.session_id for p in self.pending.values() if results.get(p.id)}

    def _update_title(self) -> None:
        waiting = len(self.pending)
        flagged = self._flagged_sessions()
        title = f"Signoff — {waiting} waiting" if waiting else "Signoff"
        if flagged:
            title += f" — ⚠ deceptive characters in session {', '.join(f'#{i}' for i in sorted(flagged))}"
        self.setWindowTitle(title)

    def _on_deceptive_scan(self, proposal_id: int, findings: list) -> None:
        proposal = self.pending.get(proposal_id)
        if proposal is None or self._shutting_down:
            return
        session = self.sessions.get(proposal.session_id)
        if session is not None:
            self._upsert_session(session)
        self._update_title()

    def next_proposal(self) -> ProposalRecord | None:
        """The selected session's oldest waiting proposal (never another session's: the pane sits under its
        transcript)."""
        return self.pending.to_show(self.selected_session_id(), None, keep=False)

    def _under_session(self, session_id: int, selected: int) -> bool:
        """Whether ``session_id`` is ``selected`` or one of its sub-agents (their proposals show under the parent's
        transcript, which waits on them)."""
        seen = 0
        current: int | None = session_id
        while current is not None and seen < 64:
            if current == selected:
                return True
            record = self.sessions.get(current)
            current = record.parent_id if record is not None else None
            seen += 1
        return False

    def _show_next_proposal(self, *, force: bool = False, prefer: ProposalRecord | None = None) -> None:
        shown = self.review_panel.proposal
        selected = self.selected_session_id()
        mine = shown is not None and (selected is None or self.pending.belongs(shown.session_id, selected))
        if not force and mine and self.review_panel.is_busy:
            return  # its decision is being stored
        # Kept while it waits and belongs to the selected session; else that session's next one, else nothing.
        proposal = self.pending.to_show(selected, prefer or shown, keep=prefer is not None or not force)
        changed = proposal is not None and (shown is None or shown.id != proposal.id)
        self.review_panel.show_proposal(proposal)
        if proposal is None:
            elsewhere = len(self.pending.elsewhere(selected))
            if selected is not None and elsewhere:
                self.review_panel.title.setText(
                    f"Nothing waiting in session #{selected} · {elsewhere} waiting in other sessions (Ctrl+J)."
                )
        self.judges.shown(proposal)
        if changed and not _typing_somewhere():
            self.review_panel.setFocus(Qt.FocusReason.OtherFocusReason)
        self.team_mode.shown_changed()

    def focus_review(self) -> None:
        """Ctrl+J: the selected session's waiting proposal, else the oldest one elsewhere with its session."""
        self.show_sessions()
        selected = self.selected_session_id()
        if not self.pending.of_session(selected):
            elsewhere = self.pending.elsewhere(selected)
            if elsewhere:
                self.select_session(elsewhere[0].session_id)
        self._show_next_proposal()
        self.review_panel.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def actor(self) -> decisions.Actor:
        """Who decides in this window: the reviewer of Settings (filled into every request by the service)."""
        return decisions.Actor.window(self.settings.reviewer_name)

    @asyncSlot(object)
    async def decide(self, request: review.DecisionRequest) -> None:
        decided = await self._store_decision(request.proposal_id, self.manager.decide(request, self.actor()))
        if decided is not None:
            self.judges.after_decision(request.proposal_id, request.verdict)
        if decided is not None and request.verdict == "approve":
            self.policies.after_decision(decided)

    async def _store_decision(self, proposal_id: int, action) -> ProposalRecord | None:
        """Run a decision (or a pick) made in the review pane, then move the pane on; on failure say why there.
        Returns the waiting proposal it settled (if stored and the window listed it)."""
        self.review_panel.set_busy(True)
        settled: list[ProposalRecord | None] = []

        def failed(failure: decisions.Failure) -> None:
            self.review_panel.show_banner(failure.message)
            if failure.gone:
                self.pending.pop(proposal_id, None)

        def stored(decision) -> None:
            self.undo.decided(decision)
            decided = self.pending.pop(proposal_id, None)
            settled.append(decided)
            self._show_next_proposal(force=True)
            if decided is not None and decided.session_id in self.sessions:
                self._upsert_session(self.sessions[decided.session_id])
            self._update_title()
            self.pending_changed.emit()

        await run_op(
            action, proposal_id, on_success=stored, on_failure=failed, on_done=lambda: self.review_panel.set_busy(False)
        )
        return settled[0] if settled else None

    @property
    def is_closing(self) -> bool:
        return self._shutting_down

    def waits_again(self, record: ProposalRecord) -> None:
        """An undo put ``record`` back: on screen again, with its session."""
        self.pending.add(record)
        self.select_session(record.session_id)
        self._show_next_proposal(force=True, prefer=record)
        self.review_panel.show_banner(f"Undone: #{record.id} waits again.", kind="info")
        self.review_panel.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_title()
        self.pending_changed.emit()

    # -- compare mode --------------------------------------------------------------------------------------------------

    @asyncSlot(int, int)
    async def sample_alternatives(self, proposal_id: int, count: int) -> None:
        """Sample alternatives for a waiting proposal with its session's endpoint, then show them side by side."""
        alive = lambda: not self._shutting_down  # noqa: E731
        if await self.review_panel.sample_from(self.manager, proposal_id, count, self.settings.reviewer_name, alive):
            self.statusBar().showMessage(f"Proposal #{proposal_id}: {count} alternatives sampled.", 5000)

    def _make_room_to_compare(self, comparing: bool) -> None:
        """While alternatives are compared the transcript keeps a few lines and the panes get the rest of the height;
        back at the proposal, the transcript gets its height again."""
        if comparing and self._split_before_compare is None:
            self._split_before_compare = self.review_split.sizes()
            kept = 4 * self.fontMetrics().lineSpacing()
            # The stack's own minimum is its tallest page's (the new-session form), not the transcript's.
            self.stack.setMinimumHeight(kept)
            self.review_split.setSizes([kept, sum(self._split_before_compare) - kept])
        elif not comparing and self._split_before_compare is not None:
            self.stack.setMinimumHeight(0)
            self.review_split.setSizes(self._split_before_compare)
            self._split_before_compare = None

    @asyncSlot(int)
    async def show_last_compare(self, proposal_id: int) -> None:
        await self.review_panel.show_last_from(self.repository, proposal_id, lambda: not self._shutting_down)

    @asyncSlot(object)
    async def pick(self, request: PickRequest) -> None:
        """Record the pick among compared alternatives (or the rejection of all); the runner carries it out."""
        await self._store_decision(request.proposal_id, self.manager.pick(request, self.actor()))

    # -- export --------------------------------------------------------------------------------------------------------

    def open_export(self) -> None:
        from app.ui.export_dialog import ExportDialog

        if getattr(self, "export_dialog", None) is None:
            self.export_dialog = ExportDialog(self.context.database, parent=self)
        self.export_dialog.open()

    # -- settings ------------------------------------------------------------------------------------------------------

    @asyncSlot()
    async def open_settings(self) -> None:
        # The keyring may take seconds (a locked desktop keyring): never ask it on the UI thread.
        key = await run_in_thread(self.context.key_store.current)
        if key is None:
            status = "No key: the offline demo runs instead of Claude."
        else:
            status = {
                "keyring": "A key is saved in the system keyring.",
                "environment": "Using ANTHROPIC_API_KEY from the environment.",
                "this run": "A key is set for this run only (no keyring available).",
            }[key.source]
        self.settings_dialog = SettingsDialog(
            self.settings, key_status=status, model_ids=getattr(self, "model_ids", []), parent=self
        )
        self.settings_dialog.accepted.connect(self._settings_accepted)
        self.settings_dialog.judges_requested.connect(self.judges_settings.open_dialog)
        self.settings_dialog.open()

    @asyncSlot()
    async def _settings_accepted(self) -> None:
        result = self.settings_dialog.result_value()
        theme_changed = result.settings.theme != self.settings.theme
        self.settings = result.settings
        self.queue_view.notifier.enabled = self.settings.desktop_notifications
        if theme_changed:
            self._apply_theme()
        self.manager.waiter.undo_window_s = self.settings.undo_seconds
        self.queue_view.set_undo_window(self.settings.undo_seconds)
        await run_in_thread(save_settings, self.settings)
        if result.new_api_key == "":
            await run_in_thread(self.context.key_store.forget)
        elif result.new_api_key:
            where = await run_in_thread(self.context.key_store.save, result.new_api_key)
            self.statusBar().showMessage(f"API key: {where}", 10000)
        key = await run_in_thread(self.context.key_store.current)
        self.demo_mode = key is None
        self._apply_mode()
        await self._load_models()
