"""One proposal in the terminal: its syntax-coloured unified diff (hunks n/p, folds x/X, search /) or its command, and
the window's keys to judge it whole (a, r, e) or hunk by hunk (Shift+A/R/E, then s). Decisions go through the app.
"""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from app.domain import hunks as core_hunks
from app.domain.records import ProposalRecord
from app.tui.diff_rows import ProposalView
from app.tui.widgets import DiffView, Prompt


class ProposalScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "back", "back"),
        Binding("a", "approve", "approve"),
        Binding("r", "reject", "reject"),
        Binding("e", "edit", "edit"),
        Binding("A", "hunk('approve')", "hunk✓"),
        Binding("R", "hunk('reject')", "hunk✗"),
        Binding("E", "hunk('edit')", "hunk edit", show=False),
        Binding("s,ctrl+enter", "send_hunks", "send hunks", show=False),
        Binding("n", "move_hunk(1)", "hunk"),
        Binding("p", "move_hunk(-1)", "prev hunk", show=False),
        Binding("x", "fold", "fold", show=False),
        Binding("X", "all_folds", "all folds", show=False),
        Binding("slash,ctrl+f", "search", "find"),
        Binding("f3", "match(1)", "next match", show=False),
        Binding("shift+f3", "match(-1)", "previous match", show=False),
        Binding("u", "undo", "undo"),
        Binding("c", "compare", "compare", show=False),
        Binding("J", "neighbour(1)", "next item", show=False),
        Binding("K", "neighbour(-1)", "previous item", show=False),
    ]

    DEFAULT_CSS = """
    ProposalScreen #title { height: 1; background: $primary-background; text-style: bold; }
    ProposalScreen #task { height: 1; color: $text-muted; }
    ProposalScreen #status { height: 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.view: ProposalView | None = None
        self.current_hunk: int | None = None
        self.shown_at: dt.datetime | None = None
        self.search_text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        yield Static("", id="task")
        yield DiffView(id="diff")
        yield Static("", id="status")
        yield Footer()

    @property
    def diff(self) -> DiffView:
        return self.query_one("#diff", DiffView)

    @property
    def proposal(self) -> ProposalRecord | None:
        return self.view.proposal if self.view is not None else None

    def show_proposal(self, proposal: ProposalRecord, flags: frozenset[str]) -> None:
        self.view = ProposalView(proposal, flags)
        self.current_hunk = 0 if self.view.hunks else None
        self.shown_at = dt.datetime.now(dt.UTC)
        if self.is_mounted:
            self._draw_proposal()

    def on_mount(self) -> None:
        # The first proposal is given before the screen is composed.
        if self.view is not None:
            self._draw_proposal()

    def _draw_proposal(self) -> None:
        assert self.view is not None
        proposal = self.view.proposal
        position = self.app.model_position(proposal.id)
        where = f"{position[0]} of {position[1]}" if position else proposal.status
        # The folder's name fits 80 columns; the task line and `signoff show` give the whole path.
        folder = proposal.workspace_root.rstrip("/").rsplit("/", 1)[-1]
        self.query_one("#title", Static).update(f"Proposal #{proposal.id} · {where} · {folder}")
        self.query_one("#task", Static).update(f"Task: {proposal.task}")
        self.search_text = ""
        self.diff.clear_search()
        self.redraw(keep_position=False)
        self.say(self._hint())
        self.diff.focus()

    def redraw(self, *, keep_position: bool = True) -> None:
        if self.view is not None:
            self.diff.show(self.view.rows(self.current_hunk), keep_position=keep_position)
            if self.search_text:
                self.diff.search(self.search_text)

    def say(self, message: str) -> None:
        self.query_one("#status", Static).update(message)

    def _hint(self) -> str:
        view = self.view
        if view is None or not view.judged_by_hunk or len(view.hunks) < 2:
            return "a approve · r reject · e edit · / search · Esc queue"
        judged = len(view.verdicts)
        return f"{judged} of {len(view.hunks)} hunks judged · Shift+A/R per hunk · s sends · a/r whole"

    # -- whole-proposal decisions --------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.close_proposal()

    def action_approve(self) -> None:
        if self.proposal is not None:
            self.app.approve(self.proposal, shown_at=self.shown_at)

    def action_reject(self) -> None:
        if self.proposal is not None:
            self.app.reject(self.proposal, shown_at=self.shown_at)

    def action_edit(self) -> None:
        if self.proposal is not None:
            self.app.edit(self.proposal, shown_at=self.shown_at)

    def action_undo(self) -> None:
        self.app.undo()

    def action_compare(self) -> None:
        if self.proposal is not None:
            self.app.compare(self.proposal, shown_at=self.shown_at)

    def action_neighbour(self, step: int) -> None:
        if self.proposal is not None:
            self.app.open_neighbour(self.proposal.id, step)

    # -- hunks ---------------------------------------------------------------------------------------------------------

    def action_move_hunk(self, step: int) -> None:
        view = self.view
        if view is None or not view.hunks:
            self.say("No hunks here.")
            return
        current = self.current_hunk if self.current_hunk is not None else -step
        self.current_hunk = max(0, min(len(view.hunks) - 1, current + step))
        self.redraw()
        self._reveal_hunk()
        self.say(core_hunks.hunk_title(view.diff, self.current_hunk))

    def _reveal_hunk(self) -> None:
        for index, row in enumerate(self.diff.rows):
            if row.kind == "hunk" and row.hunk == self.current_hunk:
                self.diff.reveal(index)
                return

    def action_hunk(self, verdict: str) -> None:
        view = self.view
        if view is None or not view.judged_by_hunk or self.current_hunk is None:
            self.say("This proposal is judged as a whole: a, r or e.")
            return
        index = self.current_hunk
        if verdict == core_hunks.APPROVE:
            self._set_hunk(core_hunks.HunkVerdict(index, verdict))
        elif verdict == core_hunks.REJECT:

            def rejected(reason: str | None) -> None:
                if reason:
                    self._set_hunk(core_hunks.HunkVerdict(index, core_hunks.REJECT, reason=reason))

            self.app.push_screen(Prompt(f"Why reject hunk {index + 1}?", required=True), rejected)
        else:
            hunk = view.hunks[index]
            text = self.app.run_editor(core_hunks.edit_text(hunk).encode("utf-8"), suffix=_suffix(view.proposal))
            if text is not None:
                edited = core_hunks.edited_bytes(hunk, text.decode("utf-8", errors="replace"))
                self._set_hunk(core_hunks.HunkVerdict(index, core_hunks.EDIT, edited=edited))

    def _set_hunk(self, verdict: core_hunks.HunkVerdict) -> None:
        view = self.view
        assert view is not None
        view.verdicts[verdict.hunk] = verdict
        unjudged = [i for i in range(len(view.hunks)) if i not in view.verdicts]
        # On to the next hunk still to judge, as the window does.
        following = [i for i in unjudged if i > verdict.hunk] or unjudged
        if following:
            self.current_hunk = following[0]
        self.redraw()
        self._reveal_hunk()
        if unjudged:
            self.say(self._hint())
        else:
            self.say("Every hunk judged: s sends the verdicts.")

    def action_send_hunks(self) -> None:
        view = self.view
        if view is None or not view.verdicts:
            self.say("Judge hunks first (Shift+A / Shift+R), or decide the whole with a / r.")
            return
        missing = [i + 1 for i in range(len(view.hunks)) if i not in view.verdicts]
        if missing:
            self.say(f"Hunk {', '.join(map(str, missing))} not judged yet.")
            return
        self.app.decide_hunks(view.proposal, [view.verdicts[i] for i in sorted(view.verdicts)], shown_at=self.shown_at)

    # -- folds and search ----------------------------------------------------------------------------------------------

    def action_fold(self) -> None:
        view = self.view
        if view is None or not view.folds:
            self.say("Nothing folded here.")
            return
        near = self.current_hunk or 0
        # The fold just above the current hunk, else the one below it.
        candidates = [fold for fold in view.folds if fold.index in (near, near + 1)]
        fold = candidates[0] if candidates else view.folds[0]
        view.expanded ^= {fold.index}
        self.redraw()

    def action_all_folds(self) -> None:
        view = self.view
        if view is None or not view.folds:
            return
        every = {fold.index for fold in view.folds}
        view.expanded = set() if view.expanded == every else every
        self.redraw()

    def action_search(self) -> None:
        def found(text: str | None) -> None:
            if text is None:
                self.search_text = ""
                self.diff.clear_search()
                self.say("")
                return
            self.search_text = text
            count = self.diff.search(text)
            self.say(f"{count} match{'es' if count != 1 else ''} for {text!r} · F3 next · Shift+F3 previous")

        self.app.push_screen(Prompt("Search the diff", value=self.search_text), found)

    def action_match(self, step: int) -> None:
        where = self.diff.step_match(step)
        self.say("No matches." if where is None else f"Match {where[0]} of {where[1]}")


def _suffix(proposal: ProposalRecord) -> str:
    if proposal.kind == "command":
        return ".sh"
    name = (proposal.path or "").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1] if "." in name else ".txt"
