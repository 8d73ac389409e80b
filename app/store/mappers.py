"""Row -> record mappers: the plain, immutable copies (app.domain.records) made from ORM rows, and the one query
every proposal record is read with. No Qt here; no writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import object_session

from app.domain.lifecycle import ProposalStatus
from app.domain.records import (
    AlternativeRecord,
    ChangedFile,
    CompareRecord,
    DecisionRecord,
    ProposalRecord,
    SessionRecord,
    as_utc,
)
from app.store.models import AgentSession, Alternative, ChangesetFile, Compare, Decision, Proposal, Workspace

if TYPE_CHECKING:
    from sqlalchemy import Select


# Columns an alternative row takes from the caller (everything but ids and the time).
ALTERNATIVE_FIELDS = (
    "position",
    "content",
    "api_message_id",
    "stop_reason",
    "sampling",
    "usage",
    "tool_use_id",
    "tool_name",
    "tool_input",
    "kind",
    "path",
    "command",
    "cwd",
    "base_hash",
    "old_content",
    "new_content",
    "shown_text",
    "shown_hash",
    "lines_added",
    "lines_removed",
    "note",
)


def session_record(row: AgentSession, root: str) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        workspace_root=root,
        task=row.task,
        endpoint=row.endpoint,
        model=row.model,
        system_prompt=row.system_prompt,
        tools=row.tools,
        sampling=row.sampling,
        max_turns=row.max_turns,
        status=row.status,
        stop_reason=row.stop_reason,
        error=row.error,
        turns=row.turns,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_creation_input_tokens=row.cache_creation_input_tokens,
        cache_read_input_tokens=row.cache_read_input_tokens,
        runner_id=row.runner_id,
        heartbeat_at=as_utc(row.heartbeat_at),
        created_at=as_utc(row.created_at),
        ended_at=as_utc(row.ended_at),
        source=row.source,
        parent_id=row.parent_id,
        mode=row.mode,
        role=row.role,
        depth=row.depth or 0,
        parent_tool_use_id=row.parent_tool_use_id,
        plan_step=row.plan_step,
        delegation_limits=row.delegation_limits,
    )


def proposal_query() -> Select[Proposal, str, str]:
    """Proposal rows with what a ProposalRecord needs besides them: the workspace root and the session's task."""
    return (
        select(Proposal, Workspace.root_path, AgentSession.task)
        .join(AgentSession, Proposal.session_id == AgentSession.id)
        .join(Workspace, AgentSession.workspace_id == Workspace.id)
    )


def proposal_record(row: Proposal, root: str, task: str) -> ProposalRecord:
    return ProposalRecord(
        id=row.id,
        session_id=row.session_id,
        workspace_root=root,
        task=task,
        message_seq=row.message_seq,
        tool_use_id=row.tool_use_id,
        tool_name=row.tool_name,
        tool_input=row.tool_input,
        kind=row.kind,
        path=row.path,
        command=row.command,
        cwd=row.cwd,
        base_hash=row.base_hash,
        old_content=row.old_content,
        new_content=row.new_content,
        shown_text=row.shown_text,
        shown_hash=row.shown_hash,
        lines_added=row.lines_added,
        lines_removed=row.lines_removed,
        status=ProposalStatus(row.status),
        result=row.result,
        created_at=as_utc(row.created_at),
        decided_at=as_utc(row.decided_at),
        protocol_note=row.protocol_note,
        withdrawn_reason=row.withdrawn_reason,
        changeset_files=_changeset_files(row) if row.kind == "changeset" else (),
    )


def _changeset_files(row: Proposal) -> tuple[ChangedFile, ...]:
    """A changeset proposal's files, read in the session that read the proposal."""
    orm = object_session(row)
    if orm is None:
        return ()
    rows = orm.execute(
        select(ChangesetFile.path, ChangesetFile.old_content, ChangesetFile.new_content)
        .where(ChangesetFile.proposal_id == row.id)
        .order_by(ChangesetFile.position)
    ).all()
    return tuple(ChangedFile(path, old, new) for path, old, new in rows)


def decision_record(row: Decision) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        proposal_id=row.proposal_id,
        verdict=row.verdict,
        reason=row.reason,
        edited_content=row.edited_content,
        reviewer=row.reviewer,
        time_on_screen_ms=row.time_on_screen_ms,
        decided_at=as_utc(row.decided_at),
        channel=row.channel,
        hunk_verdicts=row.hunk_verdicts,
        strength=row.strength,
        shown_hash=row.shown_hash,
        review_stage=row.review_stage,
        grants=getattr(row, "grants", None),
    )


def alternative_record(row: Alternative) -> AlternativeRecord:
    return AlternativeRecord(row.id, row.compare_id, *(getattr(row, name) for name in ALTERNATIVE_FIELDS))


def compare_record(row: Compare) -> CompareRecord:
    return CompareRecord(
        row.id,
        row.proposal_id,
        row.requested_by,
        row.count,
        row.channel,
        as_utc(row.created_at),
        tuple(alternative_record(alternative) for alternative in row.alternatives),
    )
