"""Decisions made on a page that can still be taken back (u, Ctrl+Z), and the countdown that says so; one mechanism for
the Queue page and the Sessions page. The undo itself is SessionManager.undo (app.services.decisions.undo) via run_op.
No widgets here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.domain.records import DecisionRecord, ProposalRecord
from app.services import decisions
from app.services.sessions import SessionManager
from app.store.models import utcnow
from app.ui.operations import run_op

UNDO_KEYS = "u or Ctrl+Z"


@dataclass(frozen=True)
class Undoable:
    proposal_id: int
    verdict: str
    decided_at: dt.datetime


def seconds_left(entry: Undoable, window_s: float, now: dt.datetime) -> float:
    return (entry.decided_at - now).total_seconds() + window_s


def countdown_text(entry: Undoable, window_s: float, now: dt.datetime) -> str | None:
    """'Approved #8 · applies in 4 s — u or Ctrl+Z to undo', or None once the window has passed."""
    remaining = seconds_left(entry, window_s, now)
    if window_s <= 0 or remaining <= 0:
        return None
    seconds = min(math.ceil(remaining), math.ceil(window_s))
    said = {"approve": "Approved", "reject": "Rejected", "edit": "Approved with your edit"}.get(
        entry.verdict, "Decided"
    )
    effect = "sent to the agent in" if entry.verdict == "reject" else "applies in"
    return f"{said} #{entry.proposal_id} · {effect} {seconds} s — {UNDO_KEYS} to undo"


class UndoTrail:
    """The newest decisions made here, newest last; ``undo`` takes one back through the one service path."""

    def __init__(self, manager: SessionManager, actor: Callable[[], decisions.Actor]) -> None:
        self._manager = manager
        self._actor = actor
        self._entries: list[Undoable] = []

    @property
    def window_s(self) -> float:
        return self._manager.waiter.undo_window_s

    def __contains__(self, proposal_id: object) -> bool:
        return any(e.proposal_id == proposal_id for e in self._entries)

    def push(self, decision: DecisionRecord) -> None:
        self.remember(decision.proposal_id, decision.verdict, decision.decided_at)

    def remember(self, proposal_id: int, verdict: str, decided_at: dt.datetime) -> None:
        """A decision ``u`` may take back (one made here, or the critic's own approval shown here)."""
        self.discard(proposal_id)
        self._entries.append(Undoable(proposal_id, verdict, decided_at))

    def discard(self, proposal_id: int) -> None:
        self._entries = [e for e in self._entries if e.proposal_id != proposal_id]

    def take(self, still_undoable: Callable[[Undoable], bool]) -> Undoable | None:
        """Remove and return the newest entry ``still_undoable`` accepts; older ones it refuses are dropped."""
        while self._entries:
            entry = self._entries.pop()
            if still_undoable(entry):
                return entry
        return None

    def open_entry(self, now: dt.datetime | None = None) -> Undoable | None:
        """The newest decision whose undo window is still open."""
        now = now or utcnow()
        for entry in reversed(self._entries):
            if seconds_left(entry, self.window_s, now) > 0:
                return entry
        return None

    def countdown(self, now: dt.datetime | None = None) -> str | None:
        entry = self.open_entry(now)
        return None if entry is None else countdown_text(entry, self.window_s, now or utcnow())

    async def undo(self, entry: Undoable, on_refused: Callable[[decisions.Failure], Any]) -> ProposalRecord | None:
        """Take ``entry``'s decision back (the proposal waits again); on refusal ``on_refused`` gets the sentence."""
        return await run_op(
            self._manager.undo(entry.proposal_id, self._actor()),
            entry.proposal_id,
            on_success=lambda _record: None,
            on_failure=on_refused,
        )
