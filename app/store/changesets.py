"""The store's changesets aggregate: changeset-mode sessions' worktrees and the files of proposals of kind
'changeset'. A changeset proposal and its files are stored in one transaction. No Qt here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain.lifecycle import ProposalStatus
from app.domain.records import ChangedFile, ProposalRecord, WorktreeRecord
from app.store.base import StoreBase
from app.store.models import ChangesetFile, Proposal, SessionWorktree, utcnow


def _worktree_record(row: SessionWorktree) -> WorktreeRecord:
    return WorktreeRecord(
        session_id=row.session_id,
        state=row.state,
        kind=row.kind,
        path=row.path,
        git_dir=row.git_dir,
        branch=row.branch,
        base_commit=row.base_commit,
        propose_requested=bool(row.propose_requested),
        note=row.note,
    )


class Changesets(StoreBase):
    """Worktrees of changeset-mode sessions and changeset files (``store.changesets``)."""

    def request_worktree(self, session_id: int) -> WorktreeRecord:
        """Mark a session as working in changeset mode; its runner makes the worktree when it starts."""
        with self._orm() as orm, orm.begin():
            row = orm.scalar(select(SessionWorktree).where(SessionWorktree.session_id == session_id))
            if row is None:
                row = SessionWorktree(session_id=session_id, state="requested", propose_requested=False)
                orm.add(row)
                orm.flush()
            return _worktree_record(row)

    def worktree(self, session_id: int) -> WorktreeRecord | None:
        with self._orm() as orm:
            row = orm.scalar(select(SessionWorktree).where(SessionWorktree.session_id == session_id))
            return None if row is None else _worktree_record(row)

    def update_worktree(self, session_id: int, **fields: Any) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(SessionWorktree)
                .where(SessionWorktree.session_id == session_id)
                .values(updated_at=utcnow(), **fields)
            )

    def open_worktrees(self) -> list[WorktreeRecord]:
        """Every worktree still on disk (or about to be), for the sweep that removes those of finished sessions."""
        with self._orm() as orm:
            rows = orm.scalars(select(SessionWorktree).where(SessionWorktree.state.in_(("open", "requested"))))
            return [_worktree_record(row) for row in rows]

    def request_propose(self, session_id: int) -> bool:
        """Ask the session's runner to propose its changeset at its next step; False if it has no worktree."""
        with self._orm() as orm, orm.begin():
            result = orm.execute(
                update(SessionWorktree)
                .where(SessionWorktree.session_id == session_id, SessionWorktree.state.in_(("open", "requested")))
                .values(propose_requested=True, updated_at=utcnow())
            )
            return bool(getattr(result, "rowcount", 0))

    def create_proposal(self, files: list[ChangedFile], **fields: Any) -> ProposalRecord:
        """Store a changeset proposal and its files together; idempotent per (session, tool_use_id)."""
        from app.store.proposals import Proposals

        proposals = Proposals(self.database)
        existing = proposals.for_tool_use(fields["session_id"], fields["tool_use_id"])
        if existing is not None:
            return existing
        try:
            with self._orm() as orm, orm.begin():
                row = Proposal(status=ProposalStatus.PENDING, **fields)
                orm.add(row)
                orm.flush()
                proposal_id = row.id
                for position, changed in enumerate(files):
                    orm.add(
                        ChangesetFile(
                            proposal_id=proposal_id,
                            position=position,
                            path=changed.path,
                            base_hash=changed.base_hash,
                            old_content=changed.old,
                            new_content=changed.new,
                        )
                    )
        except IntegrityError:
            existing = proposals.for_tool_use(fields["session_id"], fields["tool_use_id"])
            if existing is None:
                raise
            return existing
        return proposals.get(proposal_id)

    def files(self, proposal_id: int) -> list[ChangedFile]:
        """A changeset proposal's files in their order ([] for any other proposal)."""
        with self._orm() as orm:
            rows = orm.execute(
                select(ChangesetFile.path, ChangesetFile.old_content, ChangesetFile.new_content)
                .where(ChangesetFile.proposal_id == proposal_id)
                .order_by(ChangesetFile.position)
            ).all()
            return [ChangedFile(path, old, new) for path, old, new in rows]

    def proposals_of(self, session_id: int) -> list[int]:
        """The session's changeset proposals, oldest first."""
        with self._orm() as orm:
            return list(
                orm.scalars(
                    select(Proposal.id)
                    .where(Proposal.session_id == session_id, Proposal.kind == "changeset")
                    .order_by(Proposal.id)
                )
            )
