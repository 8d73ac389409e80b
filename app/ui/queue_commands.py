"""The queue page's keys: what each command name of QUEUE_KEYS does (the list emits them, the pane's own shortcuts and
the menus too), from moving and skipping to deciding, undoing and ordering by risk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut

from app.domain.records import QueueItemRecord
from app.services import queue as core_queue
from app.ui.queue_model import COLUMN

if TYPE_CHECKING:
    from app.ui.queue_view import QueueView


class QueueCommands:
    """Runs the queue's key commands on one queue page."""

    def __init__(self, view: QueueView) -> None:
        self.view = view

    def install_shortcuts(self) -> None:
        """Esc, j, k and s on the review pane work as on the list; Ctrl+F anywhere on the page searches."""
        view = self.view
        back = QShortcut(QKeySequence(Qt.Key.Key_Escape), view.panel)
        back.setContext(Qt.ShortcutContext.WidgetShortcut)
        back.activated.connect(view.focus_list)
        for key, slot in (
            ("J", lambda: self.run("next")),
            ("K", lambda: self.run("previous")),
            ("S", lambda: self.run("skip")),
        ):
            shortcut = QShortcut(QKeySequence(key), view.panel)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)

        search = QShortcut(QKeySequence.StandardKey.Find, view)
        search.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        search.activated.connect(view.filter_bar.focus_search)

    def run(self, name: str) -> None:
        view = self.view
        table = view.table
        model = view.model
        row = table.current_row()
        if name in ("next", "previous", "extend-next", "extend-previous"):
            step = 1 if name.endswith("next") else -1
            target = row + step
            if target >= len(model.rows) and model.canFetchMore():
                model.fetchMore()
            if 0 <= target < len(model.rows):
                table.select_row(target, extend=name.startswith("extend"))
            return
        if name == "open":
            if view.panel.proposal is not None:
                view.panel.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        if name == "skip":
            following = table.first_waiting_row(row + 1)
            if following is None:
                # Past the last one, skipping wraps round to the oldest item still waiting.
                following = table.first_waiting_row(0)
            if following is not None and following != row:
                table.select_row(following)
            return
        if name == "undo":
            view.spawn(view.decisions.undo_last())
            return
        if name in ("order", "why"):
            self._judges_command(name)
            return
        selected = table.selected_waiting_items()
        if name in ("approve", "reject") and len(selected) > 1:
            view.decisions.open_bulk(name, selected)
            return
        item = view.current_item()
        if item is None or not model.is_waiting(item.id):
            if item is not None:
                view.show_message(f"#{item.id} is {model.state_text(item)}; press u to take a decision back.")
            return
        if view.panel.proposal is not None and view.panel.proposal.id == item.id:
            self._act(name)
        else:
            view.spawn(self._load_then_act(item, name))

    def _judges_command(self, name: str) -> None:
        """``o``: riskiest first, or back to oldest first (as a click on the Risk or Age header); ``w``: why the
        current item is as risky as it is (the Risk column's hover, for the keyboard)."""
        view = self.view
        if name == "order":
            by_risk = view.model.spec.sort.column != core_queue.RISK
            view.table.sortByColumn(COLUMN["risk" if by_risk else "age"], Qt.SortOrder.AscendingOrder)
            view.show_message("Riskiest first (o: oldest first)." if by_risk else "Oldest first.", kind="info")
            return
        item = view.current_item()
        risk = None if item is None else view.model.risks.get(item.id)
        if item is not None:
            why = (
                "not scored yet"
                if risk is None
                else f"Risk {risk.score:.2f}: " + ("; ".join(risk.reasons) or "nothing stands out")
            )
            view.show_message(f"#{item.id} · {why}", kind="info")

    async def _load_then_act(self, item: QueueItemRecord, name: str) -> None:
        record = await self.view.detail.record(item.id)
        current = self.view.current_item()
        if record is None or current is None or current.id != item.id:
            return
        self.view.detail.show(record)
        self._act(name)

    def _act(self, name: str) -> None:
        panel = self.view.panel
        if name == "approve":
            panel.approve()
        elif name == "reject":
            panel.start_reject()
        elif name == "edit":
            panel.start_edit()
        elif name == "compare":
            panel.start_compare()
        elif name == "always-allow":
            panel.always_allow()
