"""Changeset mode for one session's runner: its worktree (made, or found again after a restart), edits and commands
applied there at once, and its changeset proposed, waited for and merged hunk by hunk.

The runner (services/agent.py) calls ``attach``, ``end_of_turn`` and ``finished``; its tool calls
(services/tool_calls.py) call ``act`` and ``propose_if_requested``.
Merging is idempotent (a file already holding its merged bytes is not written again), so a runner killed mid-merge
finishes it on resume and nothing is merged twice. No Qt here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.domain import changeset_words as words
from app.domain import hunks
from app.domain.changeset import CHANGESET_KIND, ChangesetDiff, ChangesetPathError, build
from app.domain.diffing import compute_diff
from app.domain.input_limits import InputLimitError, check_edit_bytes
from app.domain.lifecycle import STILL_UNDECIDED, ProposalStatus
from app.domain.policy import PolicyError
from app.domain.records import DecisionRecord, ProposalRecord, SessionRecord, WorktreeRecord
from app.domain.tools import COMMAND_TOOL_NAME
from app.domain.wording import waiting_for
from app.services import changesets, editor_tool
from app.services.apply import ApplyConflict, apply_file_change
from app.services.command_tool import draft_command, run_command
from app.services.decision_wait import DecisionWaiter, ProposalWithdrawn
from app.services.events import ProposalWaiting, ToolResultSent
from app.services.policy_file import load_policy
from app.services.sandbox import sandbox_info
from app.services.settings import load_settings
from app.services.workspace import ToolInputError, Workspace
from app.services.worktrees import (
    Worktree,
    WorktreeError,
    advance_base,
    find_worktree,
    open_worktree,
    remove_worktree,
)
from app.store.async_repository import AsyncRepository

log = logging.getLogger(__name__)

TOOL_NAME = "changeset"


class WorktreeLost(Exception):
    """The session's worktree cannot be found again; the message says what is missing."""


@dataclass(frozen=True)
class ReviewOutcome:
    """What the review of one changeset did; ``text`` is what the agent is told."""

    proposal_id: int | None
    text: str
    merged_all: bool


def worktree_of(record: WorktreeRecord, workspace_root: str) -> Worktree:
    assert record.kind and record.path and record.git_dir and record.base_commit
    return find_worktree(
        workspace_root,
        kind=record.kind,
        path=record.path,
        git_dir=record.git_dir,
        branch=record.branch,
        base_commit=record.base_commit,
    )


async def attach(repository: AsyncRepository, session: SessionRecord, **context: Any) -> ChangesetMode | None:
    """The session's changeset mode with its worktree ready, or None for an ordinary session. Raises WorktreeLost."""
    record = await repository.read(lambda store: store.changesets.worktree(session.id))
    if record is None:
        return None
    mode = ChangesetMode(repository, session, **context)
    await mode.prepare(record)
    return mode


class ChangesetMode:
    def __init__(
        self,
        repository: AsyncRepository,
        session: SessionRecord,
        *,
        waiter: DecisionWaiter,
        set_status: Callable[..., Any],
        emit: Callable[[Any], None] = lambda event: None,
        command_timeout_s: float = 120.0,
    ) -> None:
        self._repository = repository
        self._session = session
        self._waiter = waiter
        self._set_status = set_status
        self._emit = emit
        self._command_timeout_s = command_timeout_s
        self.tree: Worktree | None = None

    @property
    def workspace(self) -> Workspace:
        assert self.tree is not None
        return Workspace(self.tree.path)

    async def prepare(self, record: WorktreeRecord) -> None:
        session_id, root = self._session.id, self._session.workspace_root
        if record.state == "requested":
            # A crash while it was being made left at most a leftover folder, which open_worktree removes first.
            try:
                tree = await asyncio.to_thread(open_worktree, root, name=f"session-{session_id}")
            except WorktreeError as err:
                raise WorktreeLost(f"The agent's worktree could not be made: {err}") from None
            await self._repository.write(
                lambda store: store.changesets.update_worktree(
                    session_id,
                    state="open",
                    kind=tree.kind,
                    path=str(tree.path),
                    git_dir=str(tree.git_dir),
                    branch=tree.branch,
                    base_commit=tree.base_commit,
                )
            )
            self.tree = tree
            return
        if record.state != "open":
            raise WorktreeLost(f"The agent's worktree was {record.state}: {record.note or 'no longer on disk'}.")
        try:
            self.tree = await asyncio.to_thread(worktree_of, record, root)
        except WorktreeError as err:
            note = f"{err} Its unmerged work is lost; the workspace itself was never touched by it."
            await self._repository.write(
                lambda store: store.changesets.update_worktree(session_id, state="lost", note=note)
            )
            raise WorktreeLost(note) from None

    # -- the agent's tools, applied at once in the worktree ------------------------------------------------------------

    async def act(self, name: str, tool_input: Any) -> tuple[str, bool] | None:
        """Carry out a world-changing tool call in the worktree now; None when a person must approve it instead (a
        command where no sandbox is available)."""
        if name == COMMAND_TOOL_NAME:
            info = await asyncio.to_thread(sandbox_info)
            if not info.available:
                return None
            draft = draft_command(self.workspace, tool_input)
            denied = await asyncio.to_thread(self._denied, draft.command, draft.cwd)
            if denied is not None:
                return denied, True
            try:
                outcome = await run_command(self.workspace, draft, timeout_s=self._command_timeout_s, info=info)
            except OSError as err:
                return f"The command could not be run: {err}", True
            return outcome.as_tool_result_text(draft.command), False
        change = editor_tool.draft_change(self.workspace, tool_input)
        try:
            check_edit_bytes(
                change.new_content, what=f"The new content of {change.path}", max_bytes=load_settings().max_edit_bytes
            )
        except InputLimitError as err:
            raise ToolInputError(str(err)) from None
        try:
            await asyncio.to_thread(
                apply_file_change, self.workspace, change.path, change.base_hash, change.new_content
            )
        except (ApplyConflict, OSError) as err:
            return f"Not applied in your worktree: {err}", True
        diff = await asyncio.to_thread(compute_diff, change.old_content, change.new_content, change.path)
        return words.edit_applied(change.path, diff.lines_added, diff.lines_removed), False

    def _denied(self, command: str, cwd: str) -> str | None:
        """The workspace's deny rules hold in changeset mode too: why the command may not run, or None."""
        try:
            rules = load_policy(Path(self._session.workspace_root))
        except PolicyError as err:
            return f"Not run: the workspace's policy file cannot be read ({err})."
        verdict = rules.check_command(command, cwd or ".", root=self.workspace.root)
        if verdict.action == "deny":
            return f"Not run: denied by this workspace's policy (.signoff/policy.toml). {verdict.reason}"
        return None

    # -- proposing and carrying out a changeset ---------------------------------------------------------------------

    async def end_of_turn(self, message_seq: int) -> ReviewOutcome:
        """The agent ended its turn: its whole changeset is reviewed (``merged_all`` and no proposal: nothing to)."""
        return await self._review(message_seq, f"{TOOL_NAME}:{message_seq}", "end_of_turn")

    async def propose_if_requested(self, message_seq: int, tool_use_id: str) -> ReviewOutcome | None:
        """On demand (`signoff changeset ID --propose`, the window): review the changeset before this tool call."""
        record = await self._repository.read(lambda store: store.changesets.worktree(self._session.id))
        key = f"{TOOL_NAME}:{message_seq}:{tool_use_id}"
        existing = await self._repository.read(lambda store: store.proposals.for_tool_use(self._session.id, key))
        if existing is None and (record is None or not record.propose_requested):
            return None
        await self._repository.write(
            lambda store: store.changesets.update_worktree(self._session.id, propose_requested=False)
        )
        return await self._review(message_seq, key, "on_demand")

    async def _review(self, message_seq: int, key: str, origin: str) -> ReviewOutcome:
        proposal = await self._repository.read(lambda store: store.proposals.for_tool_use(self._session.id, key))
        if proposal is None:
            proposal = await self._propose(message_seq, key, origin)
            if proposal is None:
                return ReviewOutcome(None, "There was nothing to review: your worktree has no changes.", True)
        if proposal.result is not None:
            return ReviewOutcome(proposal.id, proposal.result["content"], bool(proposal.result.get("merged_all")))
        if proposal.status in (ProposalStatus.DECIDED, *STILL_UNDECIDED):
            # Also while a decision found on resuming sits in its undo window (an undo makes it wait again).
            undecided = proposal.status in STILL_UNDECIDED
            said = f"Waiting for a review of changeset {proposal.id}." if undecided else waiting_for(proposal.id, False)
            await self._set_status("waiting", said)
            if undecided:
                self._emit(ProposalWaiting(self._session.id, proposal))
            try:
                decision = await self._waiter.wait(proposal.id)
            except ProposalWithdrawn:
                return ReviewOutcome(proposal.id, "Your changeset was withdrawn before anyone reviewed it.", False)
            await self._set_status("running")
        else:
            latest = await self._repository.read(lambda store: store.proposals.latest_decision(proposal.id))
            if latest is None:
                return ReviewOutcome(proposal.id, "Your changeset was withdrawn before anyone reviewed it.", False)
            decision = latest
        status, result = await self._carry_out(proposal, decision)
        await self._repository.write(lambda store: store.proposals.resolve(proposal.id, status=status, result=result))
        # What the window shows (a conflict's files, base vs now vs proposed, in its notice) and the transcript keeps.
        self._emit(
            ToolResultSent(
                self._session.id, key, TOOL_NAME, result["content"], bool(result["is_error"]), proposal.id, status
            )
        )
        return ReviewOutcome(proposal.id, result["content"], bool(result["merged_all"]))

    async def _propose(self, message_seq: int, key: str, origin: str) -> ProposalRecord | None:
        assert self.tree is not None
        tree = self.tree
        change = await asyncio.to_thread(changesets.changeset_of, tree)
        if change.empty:
            return None
        diff = change.diff
        shown = diff.shown_text
        refused = [f"{item.path}: {item.why}" for item in change.refused]
        fields: dict[str, Any] = {
            "session_id": self._session.id,
            "message_seq": message_seq,
            "tool_use_id": key,
            "tool_name": TOOL_NAME,
            "tool_input": {
                "origin": origin,
                "files": [{"path": f.path, "status": f.status} for f in diff.files],
                "refused": refused,
                "base_commit": change.base_commit,
                "worktree": str(tree.path),
                "branch": tree.branch,
            },
            "kind": CHANGESET_KIND,
            "shown_text": shown,
            "shown_hash": hashlib.sha256(shown.encode("utf-8")).hexdigest(),
            "lines_added": diff.lines_added,
            "lines_removed": diff.lines_removed,
        }
        files = list(diff.files)
        return await self._repository.write(lambda store: store.changesets.create_proposal(files, **fields))

    async def _carry_out(self, proposal: ProposalRecord, decision: DecisionRecord) -> tuple[ProposalStatus, dict]:
        files = await self._repository.read(lambda store: store.changesets.files(proposal.id))
        diff = await asyncio.to_thread(build, files)
        refused = list((proposal.tool_input or {}).get("refused") or [])
        if hashlib.sha256(diff.shown_text.encode("utf-8")).hexdigest() != (decision.shown_hash or proposal.shown_hash):
            text = (
                "The stored changeset no longer matches what the reviewer saw (its hash changed); nothing was merged."
            )
            return ProposalStatus.FAILED, {"content": text, "is_error": True, "merged_all": False}
        verdicts = verdicts_of(decision, diff)
        if all(v.verdict == hunks.REJECT for v in verdicts):
            text = (
                words.rejected_whole(decision.reason or "(no reason given)")
                if not decision.hunk_verdicts
                else words.review_outcome(diff, verdicts, refused)
            )
            return ProposalStatus.REJECTED, {"content": text, "is_error": True, "merged_all": False}
        # Durably say a merge is under way before any byte is written (a resumed runner finishes it).
        plan = hashlib.sha256(repr([(v.hunk, v.verdict) for v in verdicts]).encode()).hexdigest()
        if not await self._repository.write(lambda store: store.proposals.record_apply_intent(proposal.id, plan)):
            text = "The decision on your changeset is no longer being carried out; nothing was merged."
            return ProposalStatus.FAILED, {"content": text, "is_error": True, "merged_all": False}
        root = self._session.workspace_root
        try:
            merged = await asyncio.to_thread(changesets.merge, root, diff, verdicts)
        except changesets.MergeConflict as conflict:
            await self._advance(
                {c.path: c.now for c in conflict.conflicts}, f"signoff: workspace changed under #{proposal.id}"
            )
            text = words.conflict(changesets.describe_conflict(conflict))
            return ProposalStatus.CONFLICT, {
                "content": text,
                "is_error": True,
                "merged_all": False,
                "conflicts": [c.path for c in conflict.conflicts],
            }
        except (ChangesetPathError, hunks.HunkError, OSError) as err:
            text = f"Your changeset was not merged: {err}"
            return ProposalStatus.FAILED, {"content": text, "is_error": True, "merged_all": False}
        await self._advance(merged.written, f"signoff: merged changeset #{proposal.id}")
        merged_all = all(v.verdict == hunks.APPROVE for v in verdicts) and not refused
        text = words.review_outcome(diff, verdicts, refused)
        return ProposalStatus.APPLIED, {
            "content": text,
            "is_error": False,
            "merged_all": merged_all,
            "merged": sorted(merged.written),
            "already_merged": list(merged.already),
        }

    async def _advance(self, written: dict[str, bytes | None], message: str) -> None:
        """Move the base the next changeset is diffed against to the workspace as it now is for ``written``."""
        assert self.tree is not None
        if not written:
            return
        commit = await asyncio.to_thread(advance_base, self.tree, written, message)
        session_id = self._session.id
        await self._repository.write(lambda store: store.changesets.update_worktree(session_id, base_commit=commit))
        self.tree = Worktree(
            self.tree.workspace_root, self.tree.path, self.tree.kind, self.tree.git_dir, self.tree.branch, commit
        )

    async def finished(self) -> None:
        """The session is over: remove its worktree once no changeset of it waits for a decision."""
        await remove_if_done(self._repository, self._session.id, self._session.workspace_root)


def verdicts_of(decision: DecisionRecord, diff: ChangesetDiff) -> list[hunks.HunkVerdict]:
    """The decision as one verdict per unit: stored per-hunk verdicts, or the whole verdict for every unit."""
    if decision.hunk_verdicts:
        return hunks.from_json(decision.hunk_verdicts)
    if decision.verdict == hunks.REJECT:
        return [
            hunks.HunkVerdict(i, hunks.REJECT, reason=decision.reason or "rejected") for i in range(diff.hunk_count)
        ]
    return [hunks.HunkVerdict(i, hunks.APPROVE) for i in range(diff.hunk_count)]


async def remove_if_done(repository: AsyncRepository, session_id: int, workspace_root: str) -> bool:
    """Remove the session's worktree when the session is over and none of its changesets waits; True if removed."""

    def undecided(store: Any) -> bool:
        return any(
            store.proposals.get(pid).status in (*STILL_UNDECIDED, ProposalStatus.DECIDED, ProposalStatus.APPLYING)
            for pid in store.changesets.proposals_of(session_id)
        )

    record = await repository.read(lambda store: store.changesets.worktree(session_id))
    session = await repository.read(lambda store: store.sessions.get(session_id))
    if record is None or record.state != "open" or not session.is_over or await repository.read(undecided):
        return False
    try:
        tree = await asyncio.to_thread(worktree_of, record, workspace_root)
        await asyncio.to_thread(remove_worktree, tree)
        note = "removed: the session is over and its changesets decided"
    except WorktreeError as err:
        note = f"already gone ({err})"
    await repository.write(lambda store: store.changesets.update_worktree(session_id, state="removed", note=note))
    return True


async def sweep(repository: AsyncRepository) -> int:
    """Remove the worktrees of every finished session whose changesets are all decided (after a crash, say)."""
    records = await repository.read(lambda store: store.changesets.open_worktrees())
    removed = 0
    for record in records:
        session = await repository.read(lambda store, sid=record.session_id: store.sessions.get(sid))
        if await remove_if_done(repository, record.session_id, session.workspace_root):
            removed += 1
    return removed
