"""The terminal queue: what waits, one row each (id, state, kind, +/-, flags, path or command), j/k to move, Enter to
read it, a/r/e/u to decide from the list, / to filter, o for riskiest first and w for why a row is risky. Asks the
app (app.tui.app) for every decision.
"""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from app.store.errors import StoreError
from app.tui.queue_model import FILTER_HELP, FilterError, filter_text, parse_filter
from app.tui.widgets import Prompt

COLUMNS = ("ID", "STATE", "KIND", "+/-", "!", "PATH OR COMMAND")


class QueueScreen(Screen):
    BINDINGS = [
        Binding("j,down", "cursor(1)", "down", show=False),
        Binding("k,up", "cursor(-1)", "up", show=False),
        Binding("g,home", "jump(0)", "first", show=False),
        Binding("G,end", "jump(-1)", "last", show=False),
        Binding("enter,l", "open", "read", key_display="⏎"),
        Binding("a", "approve", "approve"),
        Binding("r", "reject", "reject"),
        Binding("e", "edit", "edit"),
        Binding("u", "undo", "undo"),
        Binding("slash,f", "filter", "filter"),
        # Not in the footer (it is full at 80 columns); listed in the help line of the status bar instead.
        Binding("w", "why", "why risky", show=False),
        Binding("o", "order", "risk order", show=False),
        Binding("q", "app.quit", "quit"),
    ]

    DEFAULT_CSS = """
    QueueScreen #title { height: 1; background: $primary-background; color: $text; text-style: bold; }
    QueueScreen DataTable { height: 1fr; }
    QueueScreen #status { height: 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Signoff · queue", id="title")
        table: DataTable = DataTable(id="queue", cursor_type="row", zebra_stripes=False)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="status")
        yield Footer()

    @property
    def table(self) -> DataTable:
        return self.query_one("#queue", DataTable)

    def on_mount(self) -> None:
        self.refresh_rows()
        self.show_stats()
        self.table.focus()

    # -- drawing -------------------------------------------------------------------------------------------------------

    def refresh_rows(self, keep_id: int | None = None, keep_index: int | None = None) -> None:
        """Draw the model's rows again, the cursor on ``keep_id`` if it is still there, else at ``keep_index``."""
        app = self.app
        model = app.model
        table = self.table
        if keep_id is None and keep_index is None:
            keep_id = self.selected_id()
            keep_index = table.cursor_row
        now = dt.datetime.now(dt.UTC)
        table.clear()
        for item in model.items:
            table.add_row(*model.row_cells(item, now), key=str(item.id))
        position = next((i for i, item in enumerate(model.items) if item.id == keep_id), None)
        if position is None and model.items:
            position = min(keep_index or 0, len(model.items) - 1)
        if position is not None:
            table.move_cursor(row=position, animate=False)
        self.update_title()

    def update_title(self) -> None:
        app = self.app
        model = app.model
        more = "+" if model.has_more else ""
        shown = filter_text(model.spec.filter)
        mode = " · offline demo" if app.demo else ""
        team = " · team" if app.team else ""
        text = f"Signoff · {len(model.items)}{more} waiting for {app.decider.reviewer}{mode}{team}"
        if shown:
            text += f" · filter: {shown}"
        self.query_one("#title", Static).update(text)

    def show_stats(self) -> None:
        try:
            self.say(self.app.model.stats_line(dt.datetime.now(dt.UTC)))
        except StoreError as err:
            self.say(str(err))

    def say(self, message: str) -> None:
        self.query_one("#status", Static).update(message)

    def selected_id(self) -> int | None:
        items = self.app.model.items
        row = self.table.cursor_row
        if not items or row is None or not 0 <= row < len(items):
            return None
        return items[row].id

    # -- keys ----------------------------------------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        table = self.table
        target = table.cursor_row + step
        model = self.app.model
        if target >= len(model.items) - 5 and model.load_more():
            self.refresh_rows(keep_index=table.cursor_row)
        table.move_cursor(row=max(0, min(target, len(model.items) - 1)), animate=False)

    def action_jump(self, where: int) -> None:
        model = self.app.model
        if where < 0:
            while model.load_more():
                pass
            self.refresh_rows(keep_index=len(model.items) - 1)
        else:
            self.table.move_cursor(row=0, animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        proposal_id = self.selected_id()
        if proposal_id is not None:
            self.app.open_proposal(proposal_id)

    def action_approve(self) -> None:
        self._with_selected(lambda proposal: self.app.approve(proposal))

    def action_reject(self) -> None:
        self._with_selected(lambda proposal: self.app.reject(proposal))

    def action_edit(self) -> None:
        self._with_selected(lambda proposal: self.app.edit(proposal))

    def action_undo(self) -> None:
        self.app.undo()

    def action_why(self) -> None:
        proposal_id = self.selected_id()
        item = next((item for item in self.app.model.items if item.id == proposal_id), None)
        if item is None:
            self.say("Nothing is waiting.")
            return
        try:
            self.say(self.app.model.why_risky(item, self.app.settings))
        except StoreError as err:
            self.say(str(err))

    def action_order(self) -> None:
        try:
            by_risk = self.app.model.toggle_risk_order()
        except StoreError as err:
            self.say(str(err))
            return
        self.refresh_rows(keep_index=0)
        self.say("Riskiest first (o: oldest first; w: why)." if by_risk else "Oldest first (o: riskiest first).")

    def _with_selected(self, act) -> None:
        proposal_id = self.selected_id()
        if proposal_id is None:
            self.say("Nothing is waiting.")
            return
        proposal = self.app.load_proposal(proposal_id)
        if proposal is not None:
            act(proposal)

    def action_filter(self) -> None:
        current = filter_text(self.app.model.spec.filter)

        def apply(text: str | None) -> None:
            if text is None:
                return
            try:
                queue_filter = parse_filter(text)
            except FilterError as err:
                self.say(str(err))
                return
            self.app.model.set_filter(queue_filter)
            self.refresh_rows(keep_index=0)
            self.say(f"{len(self.app.model.items)} match{'es' if len(self.app.model.items) != 1 else ''}.")

        self.app.push_screen(Prompt("Filter the queue (empty: everything)", value=current, hint=FILTER_HELP), apply)
