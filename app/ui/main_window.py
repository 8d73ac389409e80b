"""The main window: sessions on the left, the selected session's transcript (or the new-session form) above, the
waiting proposal below. Binds widgets to the core's SessionManager; holds no agent or database logic of its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
)

from app.domain.records import ProposalRecord, SessionRecord
from app.services import decisions, review
from app.services.api_key import ApiKeyStore
from app.services.compare import PickRequest
from app.services.endpoints import Endpoints
from app.services.runtime import session_runtime
from app.services.sessions import NewSession, SessionManager
from app.services.settings import Settings
from app.store.async_repository import AsyncRepository
from app.ui.composer import Composer
from app.ui.judges_dialog import JudgesSettingsController
from app.ui.menus import WindowMenus
from app.ui.pending_book import PendingBook
from app.ui.pending_feed import PendingFeed
from app.ui.policy_dialog import PolicyController
from app.ui.queue_view import QueueView
from app.ui.review_flow import ReviewFlow
from app.ui.review_panel import ReviewPanel
from app.ui.review_rules_dialog import ReviewRulesController
from app.ui.session_commands import SessionCommands
from app.ui.sessions_page import SessionsPage
from app.ui.sessions_undo import SessionsUndo
from app.ui.settings_flow import SettingsFlow
from app.ui.shortcut_sheet import ShortcutSheet
from app.ui.team_mode import TeamModeController
from app.ui.transcript_view import TranscriptView
from app.ui.window_lifecycle import WindowLifecycle
from app.ui.window_state import restore_geometry, save_window

# The window's size on a first start (later starts restore the last one).
DEFAULT_SIZE = (1280, 860)


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
        self.demo_mode = demo
        # The window's collaborators, one concern each; the state they share (below) stays on the window.
        self.sessions_page = SessionsPage(self)
        self.review_flow = ReviewFlow(self)
        self.pending_feed = PendingFeed(self)
        self.session_commands = SessionCommands(self)
        self.settings_flow = SettingsFlow(self)
        self.lifecycle = WindowLifecycle(self, force_demo=demo)
        # Waiting proposals; the pane shows only the selected session's (app.ui.pending_book).
        self.pending = PendingBook(self.sessions_page.under)
        self.sessions: dict[int, SessionRecord] = {}
        self.transcripts: dict[int, TranscriptView] = {}
        self._shutting_down = False
        self.manager.add_listener(self.pending_feed.on_session_event)

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
        self.poll_timer = self.pending_feed.poll_timer
        self.decision_watch = self.pending_feed.decision_watch
        # Decisions of this page that u / Ctrl+Z can still take back, and their countdown (the Queue page's mechanism).
        self.undo = SessionsUndo(self)

    # -- layout --------------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.session_list = QListWidget()
        self.session_list.setObjectName("sessionList")
        self.session_list.setUniformItemSizes(True)
        self.session_list.setMinimumWidth(240)
        self.session_list.currentItemChanged.connect(self.sessions_page.on_selected)
        self.session_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.session_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        new_item = QListWidgetItem("+  New session")
        new_item.setData(Qt.ItemDataRole.UserRole, None)
        self.session_list.addItem(new_item)

        self.composer = Composer()
        self.composer.start_requested.connect(self.session_commands.start_session)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.composer)

        self.review_panel = ReviewPanel()
        self.review_panel.decision_requested.connect(self.review_flow.decide)
        self.review_panel.compare_requested.connect(self.review_flow.sample_alternatives)
        self.review_panel.pick_requested.connect(self.review_flow.pick)
        self.review_panel.comparing_changed.connect(self.review_flow.make_room_to_compare)
        self.review_panel.last_compare_requested.connect(self.review_flow.show_last_compare)
        self.review_panel.compare_enabled = True
        self.review_panel.compare_button.show()
        self.review_panel.scanner.found.connect(self.review_flow.on_deceptive_scan)

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

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            menus = getattr(self, "menus", None)
            if menus is not None:
                menus.refresh_icons()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        save_window(self)
        event.accept()
        self.closed.emit()

    # -- pages ---------------------------------------------------------------------------------------------------------

    def show_queue(self) -> None:
        self.pages.setCurrentWidget(self.queue_view)
        self.queue_view.focus_list()

    def show_sessions(self) -> None:
        self.pages.setCurrentWidget(self.splitter)

    @property
    def is_closing(self) -> bool:
        return self._shutting_down

    # -- export --------------------------------------------------------------------------------------------------------

    def open_export(self) -> None:
        from app.ui.export_dialog import ExportDialog

        if getattr(self, "export_dialog", None) is None:
            self.export_dialog = ExportDialog(self.context.database, parent=self)
        else:
            self.export_dialog.reopened()
        self.export_dialog.open()

    # -- what tests, menus (window_commands) and the other collaborators call on the window ---------------------------

    async def start(self) -> None:
        """Load history and waiting work, pick API or demo mode, start polling for other processes' proposals."""
        await self.lifecycle.start()

    async def shutdown(self) -> None:
        self._shutting_down = True
        await self.lifecycle.shutdown()

    def refresh(self) -> asyncio.Future:
        """Pick up proposals made by other processes (``signoff run`` elsewhere) and decisions made elsewhere."""
        return self.pending_feed.refresh()

    def selected_session_id(self) -> int | None:
        return self.sessions_page.selected_id()

    def select_session(self, session_id: int | None) -> None:
        self.sessions_page.select(session_id)

    def _session_item(self, session_id: int) -> QListWidgetItem | None:
        return self.sessions_page.item_of(session_id)

    def _transcript_for(self, session_id: int) -> TranscriptView:
        return self.sessions_page.transcript_for(session_id)

    def next_proposal(self) -> ProposalRecord | None:
        return self.review_flow.next_proposal()

    def _show_next_proposal(self, *, force: bool = False, prefer: ProposalRecord | None = None) -> None:
        self.review_flow.show_next(force=force, prefer=prefer)

    def focus_review(self) -> None:
        self.review_flow.focus_review()

    def actor(self) -> decisions.Actor:
        return self.review_flow.actor()

    def decide(self, request: review.DecisionRequest) -> asyncio.Future:
        return self.review_flow.decide(request)

    def pick(self, request: PickRequest) -> asyncio.Future:
        return self.review_flow.pick(request)

    def sample_alternatives(self, proposal_id: int, count: int) -> asyncio.Future:
        return self.review_flow.sample_alternatives(proposal_id, count)

    def show_last_compare(self, proposal_id: int) -> asyncio.Future:
        return self.review_flow.show_last_compare(proposal_id)

    def waits_again(self, record: ProposalRecord) -> None:
        self.review_flow.waits_again(record)

    def show_composer(self) -> None:
        self.session_commands.show_composer()

    def start_session(self, spec: NewSession) -> asyncio.Future:
        return self.session_commands.start_session(spec)

    def start_demo(self) -> asyncio.Future:
        return self.session_commands.start_demo()

    def start_plan_demo(self) -> asyncio.Future:
        return self.session_commands.start_plan_demo()

    def stop_selected(self) -> None:
        self.session_commands.stop_selected()

    def resume_selected(self) -> asyncio.Future:
        return self.session_commands.resume_selected()

    def propose_changeset_selected(self) -> asyncio.Future:
        return self.session_commands.propose_changeset_selected()

    def open_settings(self) -> asyncio.Future:
        return self.settings_flow.open_settings()

    def set_theme(self, theme: str) -> asyncio.Future:
        """Apply a theme at once and keep it in Settings."""
        return self.settings_flow.set_theme(theme)
