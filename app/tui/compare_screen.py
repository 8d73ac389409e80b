"""Compare mode in the terminal (`c` on a proposal): the original and the sampled alternatives stacked, each with its
header and coloured diff; identical ones say so. 0-9 pick one (applied as the agent's own call), R rejects them all
with a reason, Esc goes back undecided. The picking goes through the app (one decision path)."""

from __future__ import annotations

from collections.abc import Callable

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from app.domain.records import AlternativeRecord, CompareRecord


class CompareScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "back", "back"),
        *[Binding(str(digit), f"pick({digit})", "pick" if digit == 0 else "", show=digit == 0) for digit in range(10)],
        Binding("R", "reject_all", "reject all"),
        Binding("j,down", "scroll(1)", show=False),
        Binding("k,up", "scroll(-1)", show=False),
        Binding("space,pagedown", "page(1)", show=False),
        Binding("b,pageup", "page(-1)", show=False),
    ]

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; background: $primary-background; text-style: bold; }
    CompareScreen #compare-status { height: 1; color: $text-muted; }
    CompareScreen .alternative-header { background: $boost; text-style: bold; margin-top: 1; }
    CompareScreen .alternative-note { color: $text-muted; }
    """

    def __init__(
        self,
        record: CompareRecord,
        *,
        on_pick: Callable[[int], None],
        on_reject_all: Callable[[], None],
    ) -> None:
        super().__init__()
        self.record = record
        self.on_pick = on_pick
        self.on_reject_all = on_reject_all
        from app.services.compare import identical_to

        self.same = identical_to(record.alternatives)

    def compose(self) -> ComposeResult:
        count = len(self.record.alternatives) - 1
        yield Static(
            f"Compare #{self.record.proposal_id}: the original [0] and {count} alternatives", id="compare-title"
        )
        with VerticalScroll(id="alternatives"):
            for alternative in self.record.alternatives:
                yield from self._alternative(alternative)
        yield Static("0-9 pick · R reject all (with a reason) · Esc back undecided", id="compare-status")
        yield Footer()

    def _alternative(self, alternative: AlternativeRecord) -> ComposeResult:
        from app.services.compare import target_text

        header = Text(f"[{alternative.position}] {alternative.label} · {target_text(alternative)}")
        if alternative.position in self.same:
            header.append(f" · same as [{self.same[alternative.position]}]", style="italic")
        yield Static(header, classes="alternative-header")
        said = " ".join(
            block.get("text", "") for block in (alternative.content or []) if block.get("type") == "text"
        ).strip()
        if said:
            yield Static(Text(f"says: {said[:300]}"), classes="alternative-note")
        if alternative.position in self.same:
            return
        if alternative.proposes_change:
            lexer = "bash" if alternative.kind == "command" else "diff"
            yield Static(Syntax(alternative.shown_text.rstrip("\n"), lexer, theme="ansi_dark", word_wrap=False))
        else:
            yield Static(Text(alternative.note or "No change proposed."), classes="alternative-note")

    def say(self, message: str) -> None:
        self.query_one("#compare-status", Static).update(message)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_pick(self, position: int) -> None:
        positions = {a.position: a for a in self.record.alternatives}
        alternative = positions.get(position)
        if alternative is None:
            self.say(f"There is no [{position}] here: pick 0 to {len(positions) - 1}.")
            return
        if not alternative.proposes_change:
            self.say(f"[{position}] proposes no change: pick another, or R to reject them all.")
            return
        self.on_pick(position)

    def action_reject_all(self) -> None:
        self.on_reject_all()

    def action_scroll(self, step: int) -> None:
        self.query_one("#alternatives", VerticalScroll).scroll_relative(y=step, animate=False)

    def action_page(self, step: int) -> None:
        scroller = self.query_one("#alternatives", VerticalScroll)
        scroller.scroll_relative(y=step * max(1, scroller.size.height - 1), animate=False)
