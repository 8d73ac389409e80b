"""The session tree in the sidebar: each agent of the selected session's tree (role, state, plan step, tokens, cost,
context used against its window), the approved plan with its steps ticked off, Stop for one agent or the whole tree,
and the plan-mode demo. Reads through app.services.session_tree; never writes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import events
from app.services.session_tree import TreeView, tree_view

log = logging.getLogger(__name__)

REFRESH_DELAY_MS = 150
COLUMNS = ("Agent", "State", "Step", "Tokens", "Cost", "Context")
STATE_MARKS = {
    "thinking": "…",
    "waiting on a person": "◆",
    "running a command": "▶",
    "waiting on sub-agents": "⋯",
    "done": "✓",
    "stopped": "■",
    "failed": "✗",
}


class SessionTreePanel(QWidget):
    """What the sidebar shows under the session list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionTreePanel")
        self.heading = QLabel("Agents")
        self.heading.setObjectName("sessionTreeHeading")
        self.tree = QTreeWidget()
        self.tree.setObjectName("sessionTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.plan_label = QLabel("")
        self.plan_label.setObjectName("planProgress")
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.PlainText)
        self.stop_agent_button = QPushButton("Stop agent  [Ctrl+.]")
        self.stop_tree_button = QPushButton("Stop tree  [Ctrl+⇧.]")
        buttons = QHBoxLayout()
        buttons.addWidget(self.stop_agent_button)
        buttons.addWidget(self.stop_tree_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.plan_label)
        layout.addLayout(buttons)
        self.view: TreeView | None = None

    def show_view(self, view: TreeView | None) -> None:
        self.view = view
        self.tree.clear()
        if view is None:
            self.heading.setText("Agents")
            self.plan_label.setText("")
            return
        self.heading.setText(f"Agents of session #{view.root_id}")
        items: dict[int, QTreeWidgetItem] = {}
        for row in view.rows:
            step = (
                "" if row.plan_step is None else f"{row.plan_step}" + (f". {row.step_title}" if row.step_title else "")
            )
            item = QTreeWidgetItem(
                [
                    f"#{row.session_id} {row.role}",
                    f"{STATE_MARKS.get(row.state, '·')} {row.state}",
                    step,
                    f"{row.tokens:,}",
                    f"${row.cost_usd:.4f}",
                    f"{row.context_used:,} / {row.context_window:,}",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, row.session_id)
            item.setToolTip(0, row.task)
            parent = items.get(row.parent_id) if row.parent_id is not None else None
            if parent is None:
                self.tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
            items[row.session_id] = item
        self.tree.expandAll()
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        if view.plan is None:
            self.plan_label.setText("")
            return
        lines = [f"Plan: {view.plan.title}"]
        for number, (step, done) in enumerate(zip(view.plan.steps, view.steps_done, strict=True), start=1):
            lines.append(f"{'☑' if done else '☐'} {number}. {step.title}")
        self.plan_label.setText("\n".join(lines))

    def selected_agent(self) -> int | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)


class SessionTreeController:
    """Keeps the panel on the selected session's tree, refreshed (debounced) as its agents report events."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.panel = SessionTreePanel()
        self._root_id: int | None = None
        self._loads: set[asyncio.Task[Any]] = set()
        self._timer = QTimer(window)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self._load)
        self.panel.stop_agent_button.clicked.connect(self.stop_agent)
        self.panel.stop_tree_button.clicked.connect(self.stop_tree)

    def on_event(self, event: events.SessionEvent) -> None:
        if isinstance(event, events.TextDelta | events.ToolInputDelta):
            return  # streaming text changes no row; the timer would only be restarted
        if not self._timer.isActive():
            self._timer.start()

    def on_selection(self, *_args: Any) -> None:
        self._timer.start(0)

    def _load(self) -> None:
        selected = self.window.selected_session_id()
        if selected is None:
            self._root_id = None
            self.panel.show_view(None)
            return
        task = asyncio.get_event_loop().create_task(self._read(selected))
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _read(self, selected: int) -> None:
        try:
            root = await self.window.repository.read(lambda store: store.sessions.root_of(selected))
            view = await self.window.repository.read(tree_view, root.id)
        except Exception:
            log.exception("reading the session tree failed")
            return
        # A late answer for a session no longer selected is dropped.
        if self.window.selected_session_id() != selected or self.window._shutting_down:
            return
        self._root_id = root.id
        self.panel.show_view(view)

    def stop_agent(self) -> None:
        agent = self.panel.selected_agent() or self.window.selected_session_id()
        if agent is not None and not self.window.manager.stop(agent):
            self.window.statusBar().showMessage(f"Agent #{agent} is not running in this window.", 5000)

    def stop_tree(self) -> None:
        selected = self.window.selected_session_id()
        if selected is None:
            return
        task = asyncio.get_event_loop().create_task(self._stop_tree(selected))
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _stop_tree(self, selected: int) -> None:
        root = await self.window.repository.read(lambda store: store.sessions.root_of(selected))
        stopped = await self.window.manager.stop_tree(root.id)
        self.window.statusBar().showMessage(f"Stopped {stopped} agent(s) of session #{root.id}.", 5000)

    async def shutdown(self) -> None:
        self._timer.stop()
        for task in list(self._loads):
            task.cancel()
        await asyncio.gather(*self._loads, return_exceptions=True)


def attach_session_tree(window: Any) -> SessionTreeController:
    """Put the tree panel under the session list, follow the selection and the agents' events, bind Stop tree and the
    plan demo."""
    controller = SessionTreeController(window)
    sidebar = QSplitter(Qt.Orientation.Vertical)
    sidebar.setObjectName("sidebar")
    # Inserted first, then the list moves into it (a replaced widget would lose its owner and be deleted).
    window.splitter.insertWidget(0, sidebar)
    sidebar.addWidget(window.session_list)
    window.splitter.setStretchFactor(1, 1)
    window.splitter.setSizes([380, 900])
    sidebar.addWidget(controller.panel)
    sidebar.setSizes([420, 300])
    window.session_list.currentItemChanged.connect(controller.on_selection)
    window.manager.add_listener(controller.on_event)
    return controller
