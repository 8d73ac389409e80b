"""Reads what a dataset export needs, a batch of sessions at a time: the filters as SQL, the ids of matching sessions
in keyset-paginated batches, and each session's facts, transcript and matching decisions. No Qt, no files.

Reads go through SQLAlchemy Core with results fetched whole per query (iterating a result fetches row by row) and the
JSON columns read as text and parsed here with orjson: at 100k decisions the ORM's row machinery cost more than SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Text, bindparam, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.domain import preference as pref
from app.domain.records import ChangedFile
from app.store.audit import live_decisions
from app.store.models import (
    AgentSession,
    Alternative,
    ChangesetFile,
    CriticVerdict,
    Decision,
    Message,
    Proposal,
    VerifierRun,
    Workspace,
)

SESSIONS_PER_BATCH = 100
_FIRST_BATCH = 25


@dataclass(frozen=True)
class ExportFilters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    workspace: str | None = None
    reviewer: str | None = None
    model: str | None = None
    verdicts: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    min_seconds: float | None = None


def _session_clauses(filters: ExportFilters) -> list[Any]:
    clauses = []
    if filters.workspace:
        clauses.append(Workspace.root_path == filters.workspace)
    if filters.model:
        clauses.append(AgentSession.model == filters.model)
    return clauses


class _mostly_true(FunctionElement[bool]):  # noqa: N801 (an SQL function, named like one)
    """A condition almost every row meets. SQLite has no statistics on a fresh file and takes `revokes_id IS NULL`
    for a selective index lookup: every batch then walked all decisions (37 ms a batch at 20k decisions, growing
    with the table, so the export was quadratic). Inside likelihood() (which says "mostly true") the condition is
    no index lookup any more, and SQLite walks sessions -> proposals -> decisions by their ids (2 ms a batch)."""

    type = Boolean()
    inherit_cache = True


@compiles(_mostly_true)
def _mostly_true_anywhere(element: _mostly_true, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_mostly_true, "sqlite")
def _mostly_true_on_sqlite(element: _mostly_true, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.9375)"


def _decision_clauses(filters: ExportFilters) -> list[Any]:
    # Undo entries and the decisions they took back are no judgments (app.store.audit.live_decisions).
    clauses: list[Any] = [_mostly_true(live_decisions())]
    if filters.since:
        clauses.append(Decision.decided_at >= filters.since)
    if filters.until:
        clauses.append(Decision.decided_at <= filters.until)
    if filters.reviewer:
        clauses.append(Decision.reviewer == filters.reviewer)
    if filters.verdicts:
        clauses.append(Decision.verdict.in_(list(filters.verdicts)))
    if filters.min_seconds is not None:
        clauses.append(Decision.time_on_screen_ms >= int(filters.min_seconds * 1000))
    return clauses


def _joined(statement: Any) -> Any:
    return (
        statement.select_from(Decision)
        .join(Proposal, Decision.proposal_id == Proposal.id)
        .join(AgentSession, Proposal.session_id == AgentSession.id)
        .join(Workspace, AgentSession.workspace_id == Workspace.id)
    )


def count_decisions(database: Any, filters: ExportFilters, *, up_to: int | None = None) -> int:
    """How many decisions match; with ``up_to``, counting stops there (a quick "at least this many?")."""
    with database.session() as orm:
        if up_to is None:
            statement = _joined(select(func.count(Decision.id))).where(
                *_session_clauses(filters), *_decision_clauses(filters)
            )
        else:
            matching = (
                _joined(select(Decision.id)).where(*_session_clauses(filters), *_decision_clauses(filters)).limit(up_to)
            )
            statement = select(func.count()).select_from(matching.subquery())
        return int(orm.scalar(statement) or 0)


@dataclass
class SessionData:
    facts: pref.SessionFacts
    messages: list[dict[str, Any]]
    steps: list[pref.DecidedStep]
    # Each message's content exactly as stored (JSON text): scanned for secrets and reused by the raw format unparsed.
    content_texts: list[str] = field(default_factory=list)
    # Compare mode: the compared answers of the session's compare decisions, by compare id.
    alternatives: dict[int, list[pref.ComparedAlternative]] = field(default_factory=dict)
    # The machine judges (issue 13) per proposal id: {"verifier": {...} | None, "critic": {...} | None}.
    judges: dict[int, dict[str, Any]] = field(default_factory=dict)
    # An external agent's session: which agent ('claude-code', ...) and its own transcript file, if it named one
    # (its messages are not in Signoff's table; app.services.export_transcripts reads them).
    source: str | None = None
    transcript_path: str | None = None
    task: str = ""
    # Changesets (issue 15): each decided changeset proposal's files, by proposal id.
    changeset_files: dict[int, list[ChangedFile]] = field(default_factory=dict)


_STEP_COLUMNS = (
    Proposal.session_id,
    Proposal.id,
    Proposal.message_seq,
    Proposal.tool_use_id,
    Proposal.tool_name,
    Proposal.tool_input,
    Proposal.kind,
    Proposal.path,
    Proposal.command,
    Proposal.cwd,
    Proposal.old_content,
    Proposal.new_content,
    Decision.id,
    Decision.verdict,
    Decision.reason,
    Decision.edited_content,
    Decision.reviewer,
    Decision.time_on_screen_ms,
    Decision.decided_at,
    Decision.channel,
    Decision.hunk_verdicts,
    Decision.strength,
    Proposal.status,
    # Team mode's column, where this schema has it.
    getattr(Decision, "review_stage", literal(None)),
    # Compare mode's column, where this schema has it.
    getattr(Decision, "compare", literal(None)),
    # What the agent was told (a command's output and its effects), and what a decision granted a command.
    Proposal.result,
    getattr(Decision, "grants", literal(None)),
)
# JSON columns are read as their text and parsed by _loads (the column type's json.loads took a third of the read);
# rows are the driver's own tuples (see _fetch_all), so read_sessions makes the time a UTC datetime itself.
assert [at for at, column in enumerate(_STEP_COLUMNS) if isinstance(column.type, JSON)] == [5, 20, 24, 25, 26]
_CONTENT_COLUMNS = (Proposal.old_content, Proposal.new_content)


def _step_select(with_contents: bool) -> tuple[Any, ...]:
    """The step columns as selected. A proposal's file before and after (whole files) is needed only where the
    reviewer's bytes replace the proposal, unless every column is exported (``with_contents``)."""
    selected = []
    for column in _STEP_COLUMNS:
        if isinstance(column.type, JSON):
            column = cast(column, Text)
        elif not with_contents and any(column is content for content in _CONTENT_COLUMNS):
            column = case((Decision.edited_content.is_not(None), column), else_=None)
        selected.append(column)
    return tuple(selected)


def _fetch_all(connection: Any, statement: Any, parameters: dict[str, Any] | None = None) -> list[Any]:
    """Every row as the driver's tuple: SQLAlchemy binds the parameters, and its per-row result processing (a
    third of the read at 100k decisions) is skipped; the callers convert the few typed columns themselves."""
    result = connection.execute(statement, parameters)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _loads(text: str) -> Any:
    """Stored JSON text -> value: orjson, or json for the little orjson refuses (NaN, integers past 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _utc(moment: Any) -> dt.datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite's text, UTC without an offset (SQLAlchemy's storage format)
        if moment[-6:-5] in ("+", "-") or moment.endswith("Z"):
            moment = dt.datetime.fromisoformat(moment)
        else:
            # Parsing with the offset appended is 5x faster than parsing and then replace(tzinfo=...).
            return dt.datetime.fromisoformat(moment + "+00:00")
    utc: dt.datetime = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return utc


class JsonTexts:
    """Session tools and sampling repeat across sessions: parse each distinct text once per export."""

    def __init__(self) -> None:
        self._parsed: dict[str, Any] = {}

    def parse(self, text: str | None, empty: Any) -> Any:
        if text is None:
            return empty
        found = self._parsed.get(text)
        if found is None:
            found = _loads(text)
            if found is None:
                found = empty
            if len(self._parsed) < 1000:
                self._parsed[text] = found
        return found


def session_id_batches(database: Any, filters: ExportFilters, batch: int = SESSIONS_PER_BATCH) -> Iterator[list[int]]:
    """The ids of sessions that may hold a matching decision (the session filters only), ascending, ``batch`` at a
    time (keyset pagination over the sessions' primary key). Decision filters apply in read_sessions, which leaves
    out sessions without a matching decision: grouping decisions by session here cost the exporting process 7 ms a
    batch, time taken from the worker processes on a small machine."""
    statement = select(AgentSession.id)
    if filters.workspace:
        statement = statement.join(Workspace, AgentSession.workspace_id == Workspace.id)
    statement = (
        statement.where(*_session_clauses(filters), AgentSession.id > bindparam("after"))
        .order_by(AgentSession.id)
        .limit(bindparam("size"))
    )
    last_id = 0
    # The first batches are small, so the first rows are ready (and every worker busy) sooner.
    size = min(batch, _FIRST_BATCH)
    # One plain connection, one statement built once: an ORM session and a new statement per batch cost the
    # exporting process 2.5 ms a batch, taken from the workers on a small machine.
    with database.engine.connect() as connection:
        while True:
            ids = [row[0] for row in _fetch_all(connection, statement, {"after": last_id, "size": size})]
            connection.rollback()  # end the read transaction between batches (SQLite WAL: let checkpoints run)
            if not ids:
                return
            last_id = ids[-1]
            size = min(batch, size * 2)
            yield ids


@dataclass(frozen=True)
class _Statements:
    """read_sessions' three queries for one set of filters, built once: building them took 3 ms a batch."""

    steps: Any
    facts: Any
    messages: Any


_statements: dict[tuple[ExportFilters, bool], _Statements] = {}


def _statements_for(filters: ExportFilters, with_contents: bool) -> _Statements:
    key = (filters, with_contents)
    found = _statements.get(key)
    if found is None:
        ids: Any = bindparam("ids", expanding=True)
        found = _Statements(
            select(*_step_select(with_contents))
            .join(Decision, Decision.proposal_id == Proposal.id)
            .where(Proposal.session_id.in_(ids), *_decision_clauses(filters))
            .order_by(Proposal.session_id, Proposal.id, Decision.id),
            select(
                AgentSession.id,
                Workspace.root_path,
                AgentSession.model,
                AgentSession.system_prompt,
                cast(AgentSession.tools, Text),
                cast(AgentSession.sampling, Text),
                AgentSession.source,
                AgentSession.transcript_path,
                AgentSession.task,
                AgentSession.parent_id,
                AgentSession.role,
                AgentSession.depth,
            )
            .join(Workspace, AgentSession.workspace_id == Workspace.id)
            .where(AgentSession.id.in_(ids)),
            select(Message.session_id, Message.seq, Message.role, cast(Message.content, Text))
            .where(Message.session_id.in_(ids))
            .order_by(Message.session_id, Message.seq),
        )
        if len(_statements) > 64:
            _statements.clear()
        _statements[key] = found
    return found


def read_sessions(
    database: Any, ids: Sequence[int], filters: ExportFilters, json_texts: JsonTexts, *, with_contents: bool = True
) -> list[SessionData]:
    """Those of the sessions ``ids`` with a decision that matches ``filters`` (in that order), with their transcripts
    and matching decisions; without ``with_contents``, a proposal's old and new file contents only where a reviewer's
    bytes replaced them."""
    statements = _statements_for(filters, with_contents)
    loads = _loads
    utc = _utc
    step = pref.DecidedStep
    with database.session() as orm:
        connection = orm.connection()
        steps: dict[int, list[pref.DecidedStep]] = {}
        # Unpacked in _STEP_COLUMNS' order; tool_input, hunk_verdicts and compare are JSON text.
        for (
            session_id,
            proposal_id,
            message_seq,
            tool_use_id,
            tool_name,
            tool_input,
            kind,
            path,
            command,
            cwd,
            old_content,
            new_content,
            decision_id,
            verdict,
            reason,
            edited_content,
            reviewer,
            time_on_screen_ms,
            decided_at,
            channel,
            hunk_verdicts,
            strength,
            status,
            review_stage,
            compare,
            result,
            grants,
        ) in _fetch_all(connection, statements.steps, {"ids": list(ids)}):
            made = step(
                proposal_id,
                message_seq,
                tool_use_id,
                tool_name,
                loads(tool_input),
                kind,
                path,
                command,
                cwd,
                old_content,
                new_content,
                decision_id,
                verdict,
                reason,
                edited_content,
                reviewer,
                time_on_screen_ms,
                utc(decided_at),
                channel,
                loads(hunk_verdicts) if hunk_verdicts is not None else None,
                strength,
                status,
                review_stage,
                loads(compare) if compare is not None else None,
                loads(result) if result is not None else None,
                loads(grants) if grants is not None else None,
            )
            found = steps.get(session_id)
            if found is None:
                steps[session_id] = [made]
            else:
                found.append(made)
        wanted = [session_id for session_id in ids if session_id in steps]
        if not wanted:
            return []
        facts: dict[int, pref.SessionFacts] = {}
        external: dict[int, tuple[str | None, str | None, str]] = {}
        for row in _fetch_all(connection, statements.facts, {"ids": wanted}):
            facts[row[0]] = pref.SessionFacts(
                row[0],
                row[1],
                row[2],
                row[3],
                json_texts.parse(row[4], []),
                json_texts.parse(row[5], {}),
                parent_id=row[9],
                role=row[10],
                depth=row[11] or 0,
            )
            if row[6] is not None:
                external[row[0]] = (row[6], row[7], row[8] or "")
        messages: dict[int, list[dict[str, Any]]] = {}
        texts: dict[int, list[str]] = {}
        current = None
        transcript: list[dict[str, Any]] = []
        stored: list[str] = []
        # The JSON as text, parsed here once: the column type would parse it too, and the text is worth keeping.
        for session_id, seq, role, content in _fetch_all(connection, statements.messages, {"ids": wanted}):
            if session_id != current:
                current = session_id
                transcript = messages[session_id] = []
                stored = texts[session_id] = []
            if len(transcript) < seq:  # a gap would shift every later prompt; keep seq == index
                while len(transcript) < seq:
                    transcript.append({"role": "user", "content": []})
                    stored.append("[]")
            transcript.append({"role": role, "content": loads(content) if content is not None else []})
            stored.append(content or "[]")
        compared = _compared_alternatives(orm, steps)
        judges = _judges_of(orm, steps)
        changeset_files = _changeset_files_of(orm, steps)
    return [
        SessionData(
            facts[session_id],
            messages.get(session_id, []),
            steps[session_id],
            texts.get(session_id, []),
            {c: compared[c] for c in _compare_ids(steps[session_id]) if c in compared},
            {step.proposal_id: judges[step.proposal_id] for step in steps[session_id] if step.proposal_id in judges},
            *external.get(session_id, (None, None, "")),
            changeset_files={
                s.proposal_id: changeset_files[s.proposal_id]
                for s in steps[session_id]
                if s.proposal_id in changeset_files
            },
        )
        for session_id in wanted
    ]


def _changeset_files_of(orm: Any, steps: dict[int, list[pref.DecidedStep]]) -> dict[int, list[ChangedFile]]:
    """The files of every changeset proposal among ``steps``, in their order."""
    ids = sorted({step.proposal_id for found in steps.values() for step in found if step.kind == "changeset"})
    if not ids:
        return {}
    rows = orm.execute(
        select(ChangesetFile.proposal_id, ChangesetFile.path, ChangesetFile.old_content, ChangesetFile.new_content)
        .where(ChangesetFile.proposal_id.in_(ids))
        .order_by(ChangesetFile.proposal_id, ChangesetFile.position)
    ).all()
    files: dict[int, list[ChangedFile]] = {}
    for proposal_id, path, old, new in rows:
        files.setdefault(proposal_id, []).append(ChangedFile(path, old, new))
    return files


def iter_sessions(database: Any, filters: ExportFilters, batch: int = SESSIONS_PER_BATCH) -> Iterator[SessionData]:
    """Every session with a matching decision, in id order, with its transcript and matching decisions; memory
    bounded by one batch."""
    json_texts = JsonTexts()
    for ids in session_id_batches(database, filters, batch):
        yield from read_sessions(database, ids, filters, json_texts)


def judge_coverage(database: Any, filters: ExportFilters) -> dict[str, Any]:
    """For the dataset card: how many matching decisions have a verifier result and a critic verdict, and the
    (human, critic) verdict pairs agreement is measured on (an edit counts as not approving: 'reject')."""
    finished_runs = select(VerifierRun.proposal_id).where(VerifierRun.status.in_(("passed", "failed", "error")))
    latest_critic = (
        select(func.max(CriticVerdict.id)).where(CriticVerdict.status == "done").group_by(CriticVerdict.proposal_id)
    )
    clauses = [*_session_clauses(filters), *_decision_clauses(filters)]
    with database.session() as orm:
        decisions = int(orm.scalar(_joined(select(func.count(Decision.id))).where(*clauses)) or 0)
        verified = int(
            orm.scalar(_joined(select(func.count(Decision.id))).where(*clauses, Proposal.id.in_(finished_runs))) or 0
        )
        pairs = [
            ("approve" if human == "approve" else "reject", critic)
            for human, critic in orm.execute(
                _joined(select(Decision.verdict, CriticVerdict.verdict))
                .join(CriticVerdict, CriticVerdict.proposal_id == Proposal.id)
                .where(*clauses, CriticVerdict.id.in_(latest_critic))
            )
        ]
    return {"decisions": decisions, "verified": verified, "critic_pairs": pairs}


def _judges_of(orm: Any, steps: dict[int, list[pref.DecidedStep]]) -> dict[int, dict[str, Any]]:
    """The latest finished verifier run and critic verdict of every proposal in the batch (two queries)."""
    ids = sorted({step.proposal_id for session_steps in steps.values() for step in session_steps})
    found: dict[int, dict[str, Any]] = {}
    if not ids:
        return found
    runs = (
        select(func.max(VerifierRun.id))
        .where(VerifierRun.proposal_id.in_(ids), VerifierRun.status.in_(("passed", "failed", "error")))
        .group_by(VerifierRun.proposal_id)
    )
    for proposal_id, status, reward, passed, failed, newly_failing, newly_passing, command in orm.execute(
        select(
            VerifierRun.proposal_id,
            VerifierRun.status,
            VerifierRun.reward,
            VerifierRun.passed,
            VerifierRun.failed,
            VerifierRun.newly_failing,
            VerifierRun.newly_passing,
            VerifierRun.command,
        ).where(VerifierRun.id.in_(runs))
    ):
        found.setdefault(proposal_id, {"verifier": None, "critic": None})["verifier"] = {
            "status": status,
            "reward": reward,
            "passed": passed,
            "failed": failed,
            "newly_failing": newly_failing or [],
            "newly_passing": newly_passing or [],
            "command": command,
        }
    verdicts = (
        select(func.max(CriticVerdict.id))
        .where(CriticVerdict.proposal_id.in_(ids), CriticVerdict.status == "done")
        .group_by(CriticVerdict.proposal_id)
    )
    for proposal_id, verdict, score, principles, rationale, model in orm.execute(
        select(
            CriticVerdict.proposal_id,
            CriticVerdict.verdict,
            CriticVerdict.score,
            CriticVerdict.principles,
            CriticVerdict.rationale,
            CriticVerdict.model,
        ).where(CriticVerdict.id.in_(verdicts))
    ):
        found.setdefault(proposal_id, {"verifier": None, "critic": None})["critic"] = {
            "verdict": verdict,
            "score": score,
            "principles": principles or [],
            "rationale": rationale,
            "model": model,
        }
    return found


def _compare_ids(steps: Sequence[pref.DecidedStep]) -> set[int]:
    return {int(step.compare["compare_id"]) for step in steps if step.compare and step.compare.get("compare_id")}


def _compared_alternatives(
    orm: Any, steps: dict[int, list[pref.DecidedStep]]
) -> dict[int, list[pref.ComparedAlternative]]:
    """The alternatives of every compare the batch's decisions name (one query; none when nothing was compared)."""
    wanted = set()
    for session_steps in steps.values():
        wanted |= _compare_ids(session_steps)
    found: dict[int, list[pref.ComparedAlternative]] = {}
    if not wanted:
        return found
    for compare_id, position, content, tool_use_id, sampling, kind in orm.execute(
        select(
            Alternative.compare_id,
            Alternative.position,
            Alternative.content,
            Alternative.tool_use_id,
            Alternative.sampling,
            Alternative.kind,
        )
        .where(Alternative.compare_id.in_(sorted(wanted)))
        .order_by(Alternative.compare_id, Alternative.position)
    ):
        found.setdefault(compare_id, []).append(
            pref.ComparedAlternative(position, pref.alternative_completion(content, tool_use_id), sampling or {}, kind)
        )
    return found
