"""The waiting proposals the Sessions page knows of, and which one its review pane may show: only ever one of the
selected session, so the pane and the transcript above it always belong together (any one under the new-session form).

A database snapshot (the window's poll) carries a LoadToken; a snapshot read before a change made here (a decision,
an undo, a runner's event) is stale and dropped instead of bringing back what was just decided. No widgets here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from app.domain.records import ProposalRecord
from app.ui.background import LoadToken, LoadTokens


def same_session(proposal_session: int, selected: int) -> bool:
    return proposal_session == selected


class PendingBook:
    def __init__(self, belongs: Callable[[int, int], bool] = same_session) -> None:
        # Whether a proposal of one session belongs under another's transcript: the same session, or (the window's
        # rule) one of its sub-agents, whose work the parent's transcript is waiting on.
        self.belongs = belongs
        self._proposals: dict[int, ProposalRecord] = {}
        # Bumped by every change made here; a snapshot token names the count it was read at.
        self._changes = 0
        self._loads = LoadTokens()

    # -- reading -------------------------------------------------------------------------------------------------------

    def __contains__(self, proposal_id: object) -> bool:
        return proposal_id in self._proposals

    def __len__(self) -> int:
        return len(self._proposals)

    def __bool__(self) -> bool:
        return bool(self._proposals)

    def __iter__(self) -> Iterator[int]:
        return iter(self._proposals)

    def get(self, proposal_id: int) -> ProposalRecord | None:
        return self._proposals.get(proposal_id)

    def values(self) -> Iterable[ProposalRecord]:
        return self._proposals.values()

    def of_session(self, session_id: int | None) -> list[ProposalRecord]:
        if session_id is None:
            return []
        return sorted(
            (p for p in self._proposals.values() if self.belongs(p.session_id, session_id)), key=lambda p: p.id
        )

    def elsewhere(self, session_id: int | None) -> list[ProposalRecord]:
        """Waiting proposals of other sessions, oldest first."""
        return sorted(
            (p for p in self._proposals.values() if session_id is None or not self.belongs(p.session_id, session_id)),
            key=lambda p: p.id,
        )

    def to_show(self, session_id: int | None, shown: ProposalRecord | None, *, keep: bool) -> ProposalRecord | None:
        """What the pane shows under ``session_id``'s transcript: ``shown`` while it still waits and belongs to it (and
        ``keep``: the reviewer is looking at it), else that session's oldest waiting proposal, else nothing. With no
        session selected (the new-session form: no transcript above) any session's."""
        if session_id is None:
            if keep and shown is not None and shown.id in self._proposals:
                return self._proposals[shown.id]
            waiting = sorted(self._proposals.values(), key=lambda p: p.id)
        else:
            if (
                keep
                and shown is not None
                and self.belongs(shown.session_id, session_id)
                and shown.id in self._proposals
            ):
                return self._proposals[shown.id]
            waiting = self.of_session(session_id)
        return waiting[0] if waiting else None

    # -- changes made here ---------------------------------------------------------------------------------------------

    def add(self, proposal: ProposalRecord) -> None:
        self._changes += 1
        self._proposals[proposal.id] = proposal

    def pop(self, proposal_id: int, default: ProposalRecord | None = None) -> ProposalRecord | None:
        self._changes += 1
        return self._proposals.pop(proposal_id, default)

    def drop_session(self, session_id: int) -> None:
        self._changes += 1
        self._proposals = {pid: p for pid, p in self._proposals.items() if p.session_id != session_id}

    # -- snapshots from the database -----------------------------------------------------------------------------------

    def snapshot_token(self) -> LoadToken:
        """Take before reading a snapshot; hand back to ``replace``."""
        return self._loads.issue("pending", self._changes)

    def replace(self, token: LoadToken, proposals: Iterable[ProposalRecord]) -> bool:
        """Take a snapshot read under ``token``, unless something changed here (or a newer read began) meanwhile: then
        it may hold a proposal just decided, and the next poll reads again. True when taken."""
        if not self._loads.is_current(token, self._changes):
            return False
        self._proposals = {p.id: p for p in proposals}
        return True
