"""The terminal UI's own widgets: the diff pane (draws only the lines on screen, with search marks) and the one-line
prompt used for reasons and filters. They show what they are given; no database, no decisions here.
"""

from __future__ import annotations

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from app.tui.diff_rows import Row

MATCH = Style(bgcolor="#5f5f00")
CURRENT_MATCH = Style(color="black", bgcolor="#ffd75f", bold=True)


class DiffView(ScrollView, can_focus=True):
    """Rows of a proposal, drawn line by line (a long diff costs only what is on screen)."""

    BINDINGS = [
        Binding("j,down", "scroll_down", show=False),
        Binding("k,up", "scroll_up", show=False),
        Binding("space,pagedown", "page_down", show=False),
        Binding("b,pageup", "page_up", show=False),
        Binding("home", "scroll_home", show=False),
        Binding("end", "scroll_end", show=False),
    ]

    DEFAULT_CSS = """
    DiffView { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[Row] = []
        self.matches: list[tuple[int, int, int]] = []
        self.current_match: int | None = None

    def show(self, rows: list[Row], *, keep_position: bool = False) -> None:
        self.rows = rows
        width = max((row.text.cell_len for row in rows), default=0)
        self.virtual_size = Size(width, len(rows))
        if not keep_position:
            self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def reveal(self, row_index: int) -> None:
        """Bring a row near the top of the pane (two rows of context above it)."""
        self.scroll_to(y=max(0, row_index - 2), animate=False, immediate=True)

    # -- search --------------------------------------------------------------------------------------------------------

    def search(self, needle: str) -> int:
        """Mark every case-insensitive occurrence; returns how many there are and moves to the first."""
        self.matches = []
        self.current_match = None
        wanted = needle.casefold()
        if wanted:
            for index, row in enumerate(self.rows):
                plain = row.text.plain.casefold()
                start = plain.find(wanted)
                while start >= 0:
                    self.matches.append((index, start, start + len(wanted)))
                    start = plain.find(wanted, start + len(wanted))
        if self.matches:
            self.step_match(0, absolute=True)
        self.refresh()
        return len(self.matches)

    def step_match(self, step: int, *, absolute: bool = False) -> tuple[int, int] | None:
        """(1-based position, total) after moving ``step`` matches on (wrapping), or None without matches."""
        if not self.matches:
            return None
        if absolute or self.current_match is None:
            position = step % len(self.matches)
        else:
            position = (self.current_match + step) % len(self.matches)
        self.current_match = position
        self.reveal(self.matches[position][0])
        self.refresh()
        return position + 1, len(self.matches)

    def clear_search(self) -> None:
        self.matches, self.current_match = [], None
        self.refresh()

    # -- drawing -------------------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        text = row.text
        marks = [(n, m) for n, m in enumerate(self.matches) if m[0] == index] if self.matches else []
        if marks:
            text = text.copy()
            for number, (_row, start, end) in marks:
                text.stylize(CURRENT_MATCH if number == self.current_match else MATCH, start, end)
        strip = Strip(list(text.render(self.app.console)), text.cell_len)
        background = Style(bgcolor=row.background) if row.background else None
        strip = strip.crop_extend(scroll_x, scroll_x + width, background)
        return strip.apply_style(self.rich_style)


class Prompt(ModalScreen[str | None]):
    """One line of text: Enter gives it back, Esc gives back None. Empty text is refused when ``required``."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    DEFAULT_CSS = """
    Prompt { align: center bottom; }
    Prompt > Vertical { height: auto; width: 100%; border: round $accent; background: $surface; padding: 0 1; }
    Prompt Static { color: $text-muted; }
    """

    def __init__(self, title: str, *, value: str = "", required: bool = False, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.required = required
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="prompt-title")
            yield Input(value=self.value, id="prompt-input")
            if self.hint:
                yield Static(self.hint, id="prompt-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.query_one("#prompt-title", Static).update(f"{self.title_text} (it cannot be empty)")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
