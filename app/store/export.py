"""Exports stored decisions as training datasets: streamed reads by session, filters, redaction, dedupe, a train/test
split by session, JSONL written to temp files then renamed, and a dataset card. No Qt here; cancellable from any thread.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import glob
import hashlib
import json
import os
import shlex
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import orjson
from sqlalchemy import JSON, Boolean, Text, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.core import preference as pref
from app.core.redaction import Redactor
from app.store.audit import live_decisions
from app.store.models import AgentSession, Alternative, Decision, Message, Proposal, Workspace

FORMATS = ("trl-dpo", "trl-kto", "trl-reward", "openai-dpo", "hh-rlhf", "sft", "raw")
FORMAT_DESCRIPTIONS = {
    "trl-dpo": "TRL conversational preference, explicit prompt: prompt / chosen / rejected + tools (DPOTrainer).",
    "trl-kto": "TRL conversational unpaired preference: prompt / completion / label + tools (KTOTrainer).",
    "trl-reward": "TRL conversational preference, implicit prompt: chosen / rejected + margin + tools (RewardTrainer).",
    "openai-dpo": "OpenAI preference fine-tuning: input{messages, tools} / preferred_output / non_preferred_output.",
    "hh-rlhf": "Anthropic HH-RLHF style: chosen / rejected transcripts of Human/Assistant turns.",
    "sft": "TRL conversational prompt-completion + tools: the approved and reviewer-edited turns (SFTTrainer).",
    "raw": "One full-fidelity record per decision: session, proposal, decision, the exact prompt and completion.",
}
PAIR_FORMATS = {"trl-dpo", "trl-reward", "openai-dpo", "hh-rlhf"}
SESSIONS_PER_BATCH = 200
_json_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# What that encoder does with a str, without its Python frame (metadata strings: several per row).
_json_str = json.encoder.encode_basestring


def _holds_float(value: Any) -> bool:
    """Whether a JSON-like value holds a float anywhere (orjson writes some floats unlike json: 1e-05, NaN)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            pending.extend(item.values())
        elif kind is list or kind is tuple:
            pending.extend(item)
        elif isinstance(item, float):
            return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


def _dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept: byte for byte what json.dumps(ensure_ascii=False, separators=(",", ":"))
    writes. Objects and arrays go through orjson (encoding them was the export's largest cost), unless they hold a
    float; strings through json's C function for them, the rest through json."""
    if type(value) is str:
        return _json_str(value)
    if isinstance(value, (dict, list)) and not _holds_float(value):
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError:
            # Integers past 64 bits, keys that are not strings, lone surrogates: json's way (or its error).
            pass
    return _json_dumps(value)


class ExportError(Exception):
    """The export cannot run as asked; the message says why in one sentence."""


class ExportCancelled(Exception):
    """The export was cancelled; nothing was left behind."""


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


@dataclass(frozen=True)
class ExportOptions:
    format: str
    out: Path
    filters: ExportFilters = ExportFilters()
    # Fraction of sessions in the test split; None writes one file.
    split: float | None = None
    seed: int = 0
    redact: bool = True
    dedupe: bool = True
    # The command line that made it, for the dataset card (command_line() when None).
    command: str | None = None


@dataclass(frozen=True)
class ExportProgress:
    decisions_done: int
    decisions_total: int
    rows_written: int


@dataclass
class ExportReport:
    format: str
    files: dict[str, Path]
    card: Path
    rows: dict[str, int]
    decisions: int
    sessions: int
    by_source: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, int] = field(default_factory=dict)
    reviewers: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    redactions: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    # Proposals with more than one decision, and those whose decisions all agree.
    multi_reviewed: int = 0
    agreed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first_decision: dt.datetime | None = None
    last_decision: dt.datetime | None = None
    command: str = ""
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def redacted(self) -> int:
        return sum(self.redactions.values())


def command_line(options: ExportOptions, db: str | None = None) -> str:
    """The `signoff export` command that makes this export."""
    f = options.filters
    words = ["signoff", "export"]
    if db:
        words += ["--db", db]
    words += ["--format", options.format, "--out", str(options.out)]
    if f.since:
        words += ["--since", f.since.isoformat()]
    if f.until:
        words += ["--until", f.until.isoformat()]
    for flag, value in (("--workspace", f.workspace), ("--reviewer", f.reviewer), ("--model", f.model)):
        if value:
            words += [flag, value]
    for verdict in f.verdicts:
        words += ["--verdict", verdict]
    for source in f.sources:
        words += ["--source", source]
    if f.min_seconds is not None:
        words += ["--min-seconds", f"{f.min_seconds:g}"]
    if options.split is not None:
        words += ["--split", f"{options.split:g}", "--seed", str(options.seed)]
    if not options.redact:
        words.append("--no-redact")
    if not options.dedupe:
        words.append("--no-dedupe")
    return shlex.join(words)


def validate(options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise ExportError(f"Unknown format {options.format!r}; use one of {', '.join(FORMATS)}.")
    if options.split is not None and not (0.0 < options.split < 1.0):
        raise ExportError(f"--split is the fraction of sessions for the test file: a number between 0 and 1, not {options.split:g}.")
    f = options.filters
    if f.since and f.until and f.since > f.until:
        raise ExportError("--since is after --until; nothing could match.")
    for verdict in f.verdicts:
        if verdict not in ("approve", "reject", "edit"):
            raise ExportError(f"Unknown verdict {verdict!r}; use approve, reject or edit.")
    for source in f.sources:
        if source not in pref.SOURCES:
            raise ExportError(f"Unknown source {source!r}; use one of {', '.join(pref.SOURCES)}.")
    if f.min_seconds is not None and f.min_seconds < 0:
        raise ExportError("--min-seconds cannot be negative.")


# -- where the files go --------------------------------------------------------------------------------------------------


def planned_files(options: ExportOptions) -> tuple[dict[str, Path], Path]:
    """The data files by split name and the card path: a `.jsonl` path is the file itself, anything else a folder."""
    out = Path(options.out).expanduser()
    if out.suffix == ".jsonl":
        folder = out.parent
        if options.split is None:
            files = {"train": out}
        else:
            files = {"train": out.with_name(out.stem + ".train.jsonl"), "test": out.with_name(out.stem + ".test.jsonl")}
    else:
        folder = out
        if options.split is None:
            files = {"train": out / f"{options.format}.jsonl"}
        else:
            files = {"train": out / "train.jsonl", "test": out / "test.jsonl"}
    return files, folder / "README.md"


# -- reading -------------------------------------------------------------------------------------------------------------


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
    return compiler.process(element.clauses, **kw)


@compiles(_mostly_true, "sqlite")
def _mostly_true_on_sqlite(element: _mostly_true, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.9375)"


def _decision_clauses(filters: ExportFilters) -> list[Any]:
    # Undo entries and the decisions they took back are no judgments (app.store.audit.live_decisions).
    clauses = [_mostly_true(live_decisions())]
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


def _joined(statement):
    return (
        statement.select_from(Decision)
        .join(Proposal, Decision.proposal_id == Proposal.id)
        .join(AgentSession, Proposal.session_id == AgentSession.id)
        .join(Workspace, AgentSession.workspace_id == Workspace.id)
    )


def count_decisions(database: Any, filters: ExportFilters) -> int:
    with database.session() as orm:
        statement = _joined(select(func.count(Decision.id))).where(*_session_clauses(filters), *_decision_clauses(filters))
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


_STEP_COLUMNS = (
    Proposal.session_id, Proposal.id, Proposal.message_seq, Proposal.tool_use_id, Proposal.tool_name,
    Proposal.tool_input, Proposal.kind, Proposal.path, Proposal.command, Proposal.cwd, Proposal.old_content,
    Proposal.new_content, Decision.id, Decision.verdict, Decision.reason, Decision.edited_content, Decision.reviewer,
    Decision.time_on_screen_ms, Decision.decided_at, Decision.channel, Decision.hunk_verdicts, Decision.strength,
    Proposal.status,
    # Team mode's column, where this schema has it.
    getattr(Decision, "review_stage", literal(None)),
    # Compare mode's column, where this schema has it.
    getattr(Decision, "compare", literal(None)),
)
# JSON columns are read as their text and parsed by _loads: the column type's json.loads took a third of the read.
_STEP_JSON_AT = tuple(at - 1 for at, column in enumerate(_STEP_COLUMNS) if isinstance(column.type, JSON))
_STEP_SELECT = tuple(
    cast(column, Text) if isinstance(column.type, JSON) else column for column in _STEP_COLUMNS
)


def _loads(text: str) -> Any:
    """Stored JSON text -> value: orjson, or json for the little orjson refuses (NaN, integers past 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class _JsonTexts:
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


def iter_sessions(database: Any, filters: ExportFilters, batch: int = SESSIONS_PER_BATCH) -> Iterator[SessionData]:
    """Every session with a matching decision, in id order, with its transcript and matching decisions.

    Keyset pagination over session ids: three queries per ``batch`` sessions, memory bounded by one batch.
    """
    session_clauses = _session_clauses(filters)
    decision_clauses = _decision_clauses(filters)
    json_texts = _JsonTexts()
    last_id = 0
    while True:
        with database.session() as orm:
            ids = list(
                orm.scalars(
                    _joined(select(AgentSession.id))
                    .where(*session_clauses, *decision_clauses, AgentSession.id > last_id)
                    .group_by(AgentSession.id)
                    .order_by(AgentSession.id)
                    .limit(batch)
                )
            )
            if not ids:
                return
            last_id = ids[-1]
            # Plain rows through the connection: the ORM's result machinery cost more than the SQL for these.
            connection = orm.connection()
            facts: dict[int, pref.SessionFacts] = {}
            for row in connection.execute(
                select(
                    AgentSession.id, Workspace.root_path, AgentSession.model, AgentSession.system_prompt,
                    cast(AgentSession.tools, Text), cast(AgentSession.sampling, Text),
                )
                .join(Workspace, AgentSession.workspace_id == Workspace.id)
                .where(AgentSession.id.in_(ids))
            ):
                facts[row[0]] = pref.SessionFacts(
                    row[0], row[1], row[2], row[3], json_texts.parse(row[4], []), json_texts.parse(row[5], {})
                )
            messages: dict[int, list[dict[str, Any]]] = {session_id: [] for session_id in ids}
            texts: dict[int, list[str]] = {session_id: [] for session_id in ids}
            loads = _loads
            # The JSON as text, parsed here once: the column type would parse it too, and the text is worth keeping.
            for session_id, seq, role, content in connection.execute(
                select(Message.session_id, Message.seq, Message.role, cast(Message.content, Text))
                .where(Message.session_id.in_(ids))
                .order_by(Message.session_id, Message.seq)
            ):
                transcript = messages[session_id]
                if len(transcript) < seq:  # a gap would shift every later prompt; keep seq == index
                    while len(transcript) < seq:
                        transcript.append({"role": "user", "content": []})
                        texts[session_id].append("[]")
                transcript.append({"role": role, "content": loads(content) if content is not None else []})
                texts[session_id].append(content or "[]")
            steps: dict[int, list[pref.DecidedStep]] = {session_id: [] for session_id in ids}
            for row in connection.execute(
                select(*_STEP_SELECT)
                .join(Decision, Decision.proposal_id == Proposal.id)
                .where(Proposal.session_id.in_(ids), *decision_clauses)
                .order_by(Proposal.session_id, Proposal.id, Decision.id)
            ):
                values = list(row[1:])
                for at in _STEP_JSON_AT:
                    if values[at] is not None:
                        values[at] = loads(values[at])
                steps[row[0]].append(pref.DecidedStep(*values))
            compared = _compared_alternatives(orm, steps)
        for session_id in ids:
            yield SessionData(
                facts[session_id], messages[session_id], steps[session_id], texts[session_id],
                {c: compared[c] for c in _compare_ids(steps[session_id]) if c in compared},
            )


def _compare_ids(steps: Sequence[pref.DecidedStep]) -> set[int]:
    return {int(step.compare["compare_id"]) for step in steps if step.compare and step.compare.get("compare_id")}


def _compared_alternatives(orm: Any, steps: dict[int, list[pref.DecidedStep]]) -> dict[int, list[pref.ComparedAlternative]]:
    """The alternatives of every compare the batch's decisions name (one query; none when nothing was compared)."""
    wanted = set()
    for session_steps in steps.values():
        wanted |= _compare_ids(session_steps)
    found: dict[int, list[pref.ComparedAlternative]] = {}
    if not wanted:
        return found
    for compare_id, position, content, tool_use_id, sampling, kind in orm.execute(
        select(
            Alternative.compare_id, Alternative.position, Alternative.content, Alternative.tool_use_id,
            Alternative.sampling, Alternative.kind,
        )
        .where(Alternative.compare_id.in_(sorted(wanted)))
        .order_by(Alternative.compare_id, Alternative.position)
    ):
        found.setdefault(compare_id, []).append(
            pref.ComparedAlternative(position, pref.alternative_completion(content, tool_use_id), sampling or {}, kind)
        )
    return found


# -- rendering rows ------------------------------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_or_base64(content: bytes | None) -> tuple[str | None, str | None]:
    if content is None:
        return None, None
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(content).decode("ascii")


class _ToolsCache:
    """Tool lists are the same in almost every session: convert and serialise each distinct one once per export."""

    def __init__(self, redactor: Redactor | None) -> None:
        self._redactor = redactor
        self._by_key: dict[str, tuple[str, str, str]] = {}
        self._texts: dict[str, tuple[str, dict[str, int]]] = {}

    def redacted_text(self, text: str) -> str:
        """System prompts repeat across sessions: redact each distinct one once, count it every time."""
        if self._redactor is None:
            return text
        found = self._texts.get(text)
        if found is None:
            probe = Redactor()
            found = (probe.text(text), probe.counts)
            if len(self._texts) < 1000:
                self._texts[text] = found
        for kind, count in found[1].items():
            self._redactor.counts[kind] = self._redactor.counts.get(kind, 0) + count
        return found[0]

    def get(self, tools: list[dict[str, Any]]) -> tuple[str, str, str]:
        """(sha256 of the stored tools, TRL/OpenAI function tools as JSON, the stored tools as JSON)."""
        raw = json.dumps(tools, sort_keys=True, separators=(",", ":"))
        found = self._by_key.get(raw)
        if found is None:
            stored = self._redactor.value(tools) if self._redactor else tools
            found = (_sha256(raw), _dumps(pref.function_tools(stored)), _dumps(stored))
            self._by_key[raw] = found
        return found


class _SessionView:
    """One session's prompts rendered lazily per style, each message converted and serialised once."""

    def __init__(self, data: SessionData, redactor: Redactor | None, tools_cache: _ToolsCache) -> None:
        self.data = data
        self.facts = data.facts
        self.redactor = redactor
        self.messages = data.messages
        # Messages whose stored JSON holds nothing secret-shaped are used as they are (most of them).
        self._verbatim = [True] * len(data.messages)
        if redactor:
            self.messages = list(data.messages)
            for seq, text in enumerate(data.content_texts):
                if redactor.might_hold_secrets(text):
                    self.messages[seq] = redactor.value(data.messages[seq])
                    self._verbatim[seq] = False
        self.system_prompt = tools_cache.redacted_text(self.facts.system_prompt)
        self.tool_names = pref.tool_names_by_id(self.messages)
        self.tools_sha, self.function_tools_json, self.stored_tools_json = tools_cache.get(self.facts.tools)
        self.system_sha = _sha256(self.facts.system_prompt)
        self.sampling_json = json.dumps(self.facts.sampling, sort_keys=True)
        self._fragments: dict[str, list[str]] = {}
        self._prompts: dict[tuple[str, int], tuple[str, int]] = {}
        self._session_meta: str | None = None

    def _message_fragments(self, style: str) -> list[str]:
        fragments = self._fragments.get(style)
        if fragments is None:
            fragments = []
            texts = self.data.content_texts
            for seq, message in enumerate(self.messages):
                if style == "raw":
                    if self._verbatim[seq] and seq < len(texts):
                        fragments.append('{"role":' + _dumps(message["role"]) + ',"content":' + texts[seq] + "}")
                    else:
                        fragments.append(_dumps(message))
                elif style == "hh":
                    fragments.append(pref.hh_turn(message, self.tool_names))
                else:
                    rendered = pref.chat_messages(message, style, self.tool_names)
                    fragments.append(",".join(_dumps(m) for m in rendered))
            self._fragments[style] = fragments
        return fragments

    def prompt(self, style: str, upto: int) -> tuple[str, int]:
        """The prompt before message ``upto`` as JSON (or hh-rlhf text) and a digest of it for dedupe."""
        key = (style, upto)
        found = self._prompts.get(key)
        if found is None:
            fragments = self._message_fragments(style)[:upto]
            if style == "hh":
                turns = list(fragments)
                human = "\n\nHuman: "
                if self.system_prompt:
                    # hh-rlhf alternates Human/Assistant: the system prompt opens the first Human turn.
                    if turns and turns[0].startswith(human):
                        turns[0] = human + self.system_prompt + "\n\n" + turns[0][len(human):]
                    else:
                        turns.insert(0, human + self.system_prompt)
                text = "".join(turns)
            elif style == "raw":
                text = "[" + ",".join(fragments) + "]"
            else:
                parts = [_dumps(pref.system_message(self.system_prompt))] if self.system_prompt else []
                parts.extend(f for f in fragments if f)
                text = "[" + ",".join(parts) + "]"
            # str caches its hash: rows sharing this prompt pay for hashing it once.
            found = (text, hash(text))
            self._prompts[key] = found
        return found

    def metadata_json(self, step: pref.DecidedStep, source: str, related: pref.DecidedStep | None, strength: int | None) -> str:
        """The metadata columns as JSON object members (no braces), the session's part serialised once."""
        if self._session_meta is None:
            self._session_meta = _dumps({
                "workspace": self.facts.workspace,
                "model": self.facts.model,
                "sampling": self.sampling_json,
                "system_prompt_sha256": self.system_sha,
                "tools_sha256": self.tools_sha,
            })[1:-1]
        reason = step.reason
        if reason and self.redactor:
            reason = self.redactor.text(reason)
        # Written out by hand: this runs for every row, and only the free-text values need escaping.
        return (
            f'"source":"{source}","session_id":{self.facts.session_id},"step_index":{step.message_seq},'
            f'"proposal_id":{step.proposal_id},"decision_id":{step.decision_id},'
            f'"related_decision_id":{_json_int(related.decision_id if related else None)},'
            f'"verdict":{_dumps(step.verdict)},"reviewer":{_dumps(step.reviewer)},'
            f'"time_on_screen_ms":{_json_int(step.time_on_screen_ms)},'
            f'"reason":{"null" if reason is None else _dumps(reason)},"strength":{_json_int(strength)},'
            f'"hunk_verdicts":{_dumps(json.dumps(step.hunk_verdicts)) if step.hunk_verdicts else "null"},'
            f'"decided_at":{_dumps(step.decided_at.isoformat()) if step.decided_at else "null"},'
            f'"channel":{_dumps(step.channel)},{self._session_meta}'
        )


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _row_id(step: pref.DecidedStep, source: str, related: pref.DecidedStep | None = None, role: str = "") -> str:
    parts = [f"signoff-d{step.decision_id}", source]
    if related is not None:
        parts.append(f"d{related.decision_id}")
    if role:
        parts.append(role)
    return "-".join(parts)


@dataclass
class _Row:
    id: str
    # Equal for rows with the same training content (prompt, completions, label); ids and metadata left out.
    key: int
    line: str
    source: str
    label: str
    step: pref.DecidedStep
    related: pref.DecidedStep | None = None


def _redacted_completion(
    view: _SessionView, completion: pref.Completion, cache: dict[int, pref.Completion], rebuilt: bool
) -> pref.Completion:
    """Completions rebuilt from stored bytes (the chosen side of edits) never passed through the message redaction;
    redact those once. The rest come from already redacted messages."""
    if view.redactor is None or not rebuilt:
        return completion
    found = cache.get(id(completion))
    if found is None:
        hint = view.redactor.might_hold_secrets
        if not hint(completion.text) and not any(isinstance(v, str) and hint(v) for v in completion.tool_input.values()):
            cache[id(completion)] = completion
            return completion
        found = pref.Completion(
            view.redactor.text(completion.text), completion.tool_use_id, completion.tool_name,
            view.redactor.value(completion.tool_input),
        )
        cache[id(completion)] = found
    return found


# Sources whose chosen side is rebuilt from the reviewer's bytes rather than taken from a stored message.
_REBUILT_SOURCES = frozenset({pref.SOURCE_EDIT, pref.SOURCE_HUNKS, pref.SOURCE_COMPARE})


def _margin(strength: int | None) -> float:
    # Strength 1..5 -> margin 0..1; no rating means no margin (the plain Bradley-Terry loss).
    return 0.0 if strength is None else (strength - 1) / 4


def _rows(view: _SessionView, examples: pref.SessionExamples, fmt: str, sources: set[str] | None) -> Iterator[_Row]:
    redo: dict[int, pref.Completion] = {}
    if fmt in PAIR_FORMATS:
        for pair in examples.pairs:
            if sources and pair.source not in sources:
                continue
            chosen = _redacted_completion(view, pair.chosen, redo, pair.source in _REBUILT_SOURCES)
            # Compared alternatives come from their own table, never through the messages' redaction.
            rejected = _redacted_completion(view, pair.rejected, redo, pair.source == pref.SOURCE_COMPARE)
            row_id = _row_id(pair.step, pair.source, pair.related, pair.variant)
            meta = view.metadata_json(pair.step, pair.source, pair.related, pair.strength)
            if fmt == "trl-dpo":
                prompt, prompt_key = view.prompt("trl", pair.prompt_seq)
                chosen_json = _dumps([pref.completion_message(chosen, "trl")])
                rejected_json = _dumps([pref.completion_message(rejected, "trl")])
                body = f'"prompt":{prompt},"chosen":{chosen_json},"rejected":{rejected_json},"tools":{view.function_tools_json}'
                key = hash((prompt_key, chosen_json, rejected_json, view.function_tools_json))
            elif fmt == "trl-reward":
                prompt, prompt_key = view.prompt("trl", pair.prompt_seq)
                chosen_message = _dumps(pref.completion_message(chosen, "trl"))
                rejected_message = _dumps(pref.completion_message(rejected, "trl"))
                head = prompt[:-1] + ("," if len(prompt) > 2 else "")
                margin = _margin(pair.strength)
                body = (
                    f'"chosen":{head}{chosen_message}],"rejected":{head}{rejected_message}],'
                    f'"margin":{margin!r},"tools":{view.function_tools_json}'
                )
                key = hash((prompt_key, chosen_message, rejected_message, margin))
            elif fmt == "openai-dpo":
                prompt, prompt_key = view.prompt("openai", pair.prompt_seq)
                chosen_json = _dumps([pref.completion_message(chosen, "openai")])
                rejected_json = _dumps([pref.completion_message(rejected, "openai")])
                body = (
                    f'"input":{{"messages":{prompt},"tools":{view.function_tools_json},"parallel_tool_calls":false}},'
                    f'"preferred_output":{chosen_json},"non_preferred_output":{rejected_json}'
                )
                key = hash((prompt_key, chosen_json, rejected_json))
                # OpenAI's validator knows only its own keys: the id, nothing else, rides along.
                meta = ""
            else:  # hh-rlhf
                prompt, prompt_key = view.prompt("hh", pair.prompt_seq)
                chosen_text = prompt + pref.hh_completion(chosen)
                rejected_text = prompt + pref.hh_completion(rejected)
                body = f'"chosen":{_dumps(chosen_text)},"rejected":{_dumps(rejected_text)}'
                key = hash((chosen_text, rejected_text))
            line = '{"id":"' + row_id + '",' + body + ("," + meta if meta else "") + "}"
            yield _Row(row_id, key, line, pair.source, "pair", pair.step, pair.related)
        return
    if fmt in ("trl-kto", "sft"):
        for item in examples.completions:
            if sources and item.source not in sources:
                continue
            if fmt == "sft" and (not item.label or item.source == pref.SOURCE_REVISION):
                continue
            completion = _redacted_completion(
                view, item.completion, redo,
                (item.role == "chosen" and item.source in _REBUILT_SOURCES) or item.source == pref.SOURCE_COMPARE,
            )
            prompt, prompt_key = view.prompt("trl", item.prompt_seq)
            completion_json = _dumps([pref.completion_message(completion, "trl")])
            row_id = _row_id(item.step, item.source, item.related, item.role)
            meta = view.metadata_json(item.step, item.source, item.related, item.step.strength)
            if fmt == "trl-kto":
                label = "true" if item.label else "false"
                body = f'"prompt":{prompt},"completion":{completion_json},"label":{label},"tools":{view.function_tools_json}'
                key = hash((prompt_key, completion_json, label))
            else:
                body = f'"prompt":{prompt},"completion":{completion_json},"tools":{view.function_tools_json}'
                key = hash((prompt_key, completion_json))
            line = '{"id":"' + row_id + '",' + body + "," + meta + "}"
            yield _Row(row_id, key, line, item.source, "desirable" if item.label else "undesirable", item.step, item.related)
        return
    # raw: one record per decision, whatever it yields.
    yielded: dict[int, set[str]] = {}
    for item in examples.completions:
        yielded.setdefault(item.step.decision_id, set()).add(item.source)
    for pair in examples.pairs:
        yielded.setdefault(pair.step.decision_id, set()).add(pair.source)
    for step in view.data.steps:
        step_sources = sorted(yielded.get(step.decision_id, ()))
        if sources and not sources.intersection(step_sources):
            continue
        yield _raw_row(view, step, step_sources)


def _raw_row(view: _SessionView, step: pref.DecidedStep, sources: list[str]) -> _Row:
    redactor = view.redactor

    def text(content: bytes | None) -> tuple[str | None, str | None]:
        decoded, encoded = _text_or_base64(content)
        if decoded is not None and redactor:
            decoded = redactor.text(decoded)
        return decoded, encoded

    old_text, old_b64 = text(step.old_content)
    new_text, new_b64 = text(step.new_content)
    edited_text, edited_b64 = text(step.edited_content)
    prompt, prompt_key = view.prompt("raw", step.message_seq)
    completion_message = view.messages[step.message_seq] if step.message_seq < len(view.messages) else None
    reason = redactor.text(step.reason) if (redactor and step.reason) else step.reason
    record_tail = {
        "completion": completion_message,
        "sources": sources,
        "session": {
            "id": view.facts.session_id,
            "workspace": view.facts.workspace,
            "model": view.facts.model,
            "sampling": view.facts.sampling,
            "system_prompt": view.system_prompt,
            "system_prompt_sha256": view.system_sha,
            "tools_sha256": view.tools_sha,
        },
        "proposal": {
            "id": step.proposal_id,
            "step_index": step.message_seq,
            "tool_use_id": step.tool_use_id,
            "tool_name": step.tool_name,
            "tool_input": redactor.value(step.tool_input) if redactor else step.tool_input,
            "kind": step.kind,
            "path": step.path,
            "command": redactor.text(step.command) if (redactor and step.command) else step.command,
            "cwd": step.cwd,
            "status": step.status,
            "old_content": old_text,
            "old_content_base64": old_b64,
            "new_content": new_text,
            "new_content_base64": new_b64,
        },
        "decision": {
            "id": step.decision_id,
            "verdict": step.verdict,
            "reason": reason,
            "reviewer": step.reviewer,
            "time_on_screen_ms": step.time_on_screen_ms,
            "decided_at": step.decided_at.isoformat() if step.decided_at else None,
            "channel": step.channel,
            "strength": step.strength,
            "review_stage": step.review_stage,
            "compare": _raw_compare(step, view.data.alternatives),
            "hunk_verdicts": step.hunk_verdicts,
            "edited_content": edited_text,
            "edited_content_base64": edited_b64,
        },
    }
    row_id = f"signoff-d{step.decision_id}"
    tail = _dumps(record_tail)[1:-1]
    line = "{" + f'"id":{_dumps(row_id)},"tools":{view.stored_tools_json},"prompt":{prompt},' + tail + "}"
    key = hash(("raw", step.decision_id))
    return _Row(row_id, key, line, ",".join(sources) or "none", step.verdict, step, None)


def _raw_compare(step: pref.DecidedStep, alternatives: dict[int, list[pref.ComparedAlternative]]) -> dict[str, Any] | None:
    """For a compare decision: what was compared (hashes, as sealed), the pick, and each alternative's sampling."""
    if not step.compare:
        return None
    sampled = {a.position: a for a in alternatives.get(step.compare.get("compare_id"), ())}
    return {
        "compare_id": step.compare.get("compare_id"),
        "picked": step.compare.get("picked"),
        "alternatives": [
            {**entry, "kind": getattr(sampled.get(entry.get("position")), "kind", None),
             "sampling": _dumps(getattr(sampled.get(entry.get("position")), "sampling", None))}
            for entry in step.compare.get("alternatives") or []
        ],
    }


# -- the export ----------------------------------------------------------------------------------------------------------


def _count_agreement(steps: Sequence[pref.DecidedStep], report: "ExportReport") -> None:
    """Proposals judged by more than one reviewer (team mode): how many got the same verdict from all of them."""
    verdicts: dict[int, set[str]] = {}
    counts: dict[int, int] = {}
    for step in steps:
        verdicts.setdefault(step.proposal_id, set()).add(step.verdict)
        counts[step.proposal_id] = counts.get(step.proposal_id, 0) + 1
    for proposal_id, count in counts.items():
        if count > 1:
            report.multi_reviewed += 1
            report.agreed += len(verdicts[proposal_id]) == 1


def _in_test_split(session_id: int, seed: int, fraction: float) -> bool:
    """A session's side of the split depends only on (seed, session id): stable, streaming, never both sides."""
    digest = hashlib.blake2b(f"{seed}:{session_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def export_dataset(
    database: Any,
    options: ExportOptions,
    *,
    progress: Callable[[ExportProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportReport:
    """Write the dataset and its card; raises ExportError (bad options), ExportCancelled (nothing left behind)."""
    validate(options)
    started = time.perf_counter()
    files, card_path = planned_files(options)
    folder = card_path.parent
    created_folder = False
    if not folder.exists():
        if Path(options.out).suffix == ".jsonl":
            raise ExportError(f"The folder {folder} does not exist.")
        try:
            folder.mkdir(parents=True)
        except OSError as err:
            raise ExportError(f"Cannot create the folder {folder}: {err.strerror or err}.") from None
        created_folder = True
    elif not folder.is_dir():
        raise ExportError(f"{folder} is a file, not a folder.")

    filters = options.filters
    total = count_decisions(database, filters)
    redactor = Redactor() if options.redact else None
    tools_cache = _ToolsCache(redactor)
    sources = set(filters.sources) or None
    report = ExportReport(options.format, files, card_path, {name: 0 for name in files}, 0, 0)
    report.command = options.command or command_line(options)
    # 64-bit hashes of row contents: about 60 bytes per distinct row (--no-dedupe keeps memory flat).
    seen: set[int] = set()
    temps: dict[str, Path] = {}
    handles: dict[str, Any] = {}
    done = 0
    last_progress = 0.0
    try:
        _remove_stale_partials([*files.values(), card_path])
        for name, path in files.items():
            temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
            temps[name] = temp
            try:
                handles[name] = open(temp, "w", encoding="utf-8", buffering=1 << 20)
            except OSError as err:
                raise ExportError(f"Cannot write {temp.parent}: {err.strerror or err}.") from None
        for data in iter_sessions(database, filters):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("The export was cancelled; no file was written.")
            report.sessions += 1
            split = "test" if (options.split is not None and _in_test_split(data.facts.session_id, options.seed, options.split)) else "train"
            handle = handles[split]
            view = _SessionView(data, redactor, tools_cache)
            settled, disagreements = pref.settled_steps(data.steps)
            if disagreements:
                report.skipped["reviewers_disagree"] = report.skipped.get("reviewers_disagree", 0) + disagreements
            examples = pref.session_examples(view.messages, settled, data.alternatives)
            _count_agreement(data.steps, report)
            for why, count in examples.skipped.items():
                report.skipped[why] = report.skipped.get(why, 0) + count
            written = 0
            lines: list[str] = []
            for row in _rows(view, examples, options.format, sources):
                if options.dedupe:
                    if row.key in seen:
                        report.duplicates_dropped += 1
                        continue
                    seen.add(row.key)
                lines.append(row.line)
                written += 1
                report.by_source[row.source] = report.by_source.get(row.source, 0) + 1
                report.by_label[row.label] = report.by_label.get(row.label, 0) + 1
                report.reviewers[row.step.reviewer] = report.reviewers.get(row.step.reviewer, 0) + 1
                for step in (row.step, row.related):
                    if step is not None and step.decided_at is not None:
                        if report.first_decision is None or step.decided_at < report.first_decision:
                            report.first_decision = step.decided_at
                        if report.last_decision is None or step.decided_at > report.last_decision:
                            report.last_decision = step.decided_at
            if lines:
                lines.append("")
                handle.write("\n".join(lines))
            if written:
                report.models[data.facts.model] = report.models.get(data.facts.model, 0) + written
            report.rows[split] += written
            done += len(data.steps)
            report.decisions = done
            now = time.perf_counter()
            if progress is not None and now - last_progress > 0.05:
                last_progress = now
                progress(ExportProgress(done, total, report.total_rows))
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("The export was cancelled; no file was written.")
        for handle in handles.values():
            # On disk before the rename, so a power loss leaves the old file or the whole new one, never a torn one.
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        report.redactions = dict(redactor.counts) if redactor else {}
        report.seconds = time.perf_counter() - started
        card_temp = card_path.with_name(f".{card_path.name}.{os.getpid()}.partial")
        temps["card"] = card_temp
        with open(card_temp, "w", encoding="utf-8") as card:
            card.write(dataset_card(report, options))
            card.flush()
            os.fsync(card.fileno())
        for name, path in files.items():
            os.replace(temps[name], path)
        os.replace(card_temp, card_path)
        _fsync_folder(card_path.parent)
        temps.clear()
        if progress is not None:
            progress(ExportProgress(done, total, report.total_rows))
        return report
    except OSError as err:
        raise ExportError(f"Writing the export failed: {err.strerror or err}.") from None
    finally:
        for handle in handles.values():
            handle.close()
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        if temps and created_folder:
            try:
                folder.rmdir()
            except OSError:
                pass


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_partials(paths: list[Path]) -> None:
    """Delete ``.<name>.<pid>.partial`` files an earlier export left when it was killed (its process is gone): the
    output files themselves are only ever renamed into place whole, so these are all a crash leaves behind."""
    for path in paths:
        for partial in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
            pid_text = partial.name[len(path.name) + 2 : -len(".partial")]
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            try:
                os.kill(int(pid_text), 0)
            except ProcessLookupError:
                partial.unlink(missing_ok=True)
            except OSError:
                pass


# -- the card ------------------------------------------------------------------------------------------------------------

_EDIT_NOTE = (
    "A reviewer's edit of a file change is written as the same tool call the model made, with input that yields "
    "exactly the applied bytes: a `str_replace` with the model's own `old_str` and the reviewer's `new_str` when the "
    "edit stays inside the replaced region, otherwise a `create` of the path with the whole applied file as "
    "`file_text`. An edited command is `run_command` with the reviewer's command (and the original `cwd`)."
)


def _table(counts: dict[str, int], header: tuple[str, str]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | ---: |"]
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| {name or '(none)'} | {count} |")
    if not counts:
        lines.append("| (none) | 0 |")
    return lines


def dataset_card(report: ExportReport, options: ExportOptions) -> str:
    """README.md for the export: front matter naming the files, then what is in them and how they were made."""
    splits = "\n".join(f"      - split: {name}\n        path: {path.name}" for name, path in report.files.items())
    lines = [
        "---",
        "configs:",
        "  - config_name: default",
        "    data_files:",
        splits,
        "tags:",
        "  - signoff",
        "  - human-feedback",
        f"  - {options.format}",
        "---",
        "",
        f"# Signoff preference export ({options.format})",
        "",
        FORMAT_DESCRIPTIONS[options.format],
        "",
        "Every prompt is the exact conversation the model saw before the proposal: the session's system prompt, "
        "the messages before the assistant turn that made it (earlier tool calls and their results included), and "
        "the tool schemas it was given. The completion is that assistant turn's text before the tool call, then the call.",
        "",
        "## Made by",
        "",
        "```sh",
        report.command,
        "```",
        "",
        f"Written in {report.seconds:.2f} s from {report.decisions} decisions in {report.sessions} sessions.",
        "",
        "## Files",
        "",
    ]
    for name, path in report.files.items():
        lines.append(f"- `{path.name}` ({name}): {report.rows.get(name, 0)} rows")
    if options.split is not None:
        lines += ["", f"Split by session with seed {options.seed}: about {options.split:.0%} of sessions in test; "
                      "no session has rows in both files."]
    label_total = sum(report.by_label.values())
    lines += ["", "## Rows by source", ""] + _table(report.by_source, ("source", "rows"))
    lines += ["", "## Rows by label", ""] + _table(report.by_label, ("label", "rows"))
    desirable, undesirable = report.by_label.get("desirable", 0), report.by_label.get("undesirable", 0)
    if desirable or undesirable:
        lines += ["", f"Balance: {desirable / (desirable + undesirable):.1%} desirable, "
                      f"{undesirable / (desirable + undesirable):.1%} undesirable."]
    elif label_total:
        lines += ["", f"Balance: every row is a pair ({label_total} pairs)."]
    lines += ["", "## Reviewers", ""] + _table(report.reviewers, ("reviewer", "rows"))
    if report.multi_reviewed:
        lines += ["", f"Agreement between reviewers: {report.agreed} of {report.multi_reviewed} proposals judged by "
                      f"more than one reviewer got the same verdict from all ({report.agreed / report.multi_reviewed:.1%})."]
    else:
        lines += ["", "Agreement between reviewers: not known (no proposal in the export was judged twice)."]
    lines += ["", "## Models", ""] + _table(report.models, ("model", "rows"))
    first = report.first_decision.isoformat() if report.first_decision else "-"
    last = report.last_decision.isoformat() if report.last_decision else "-"
    lines += ["", "## Date range", "", f"Decisions from {first} to {last}."]
    lines += ["", "## Redaction", ""]
    if options.redact:
        lines.append(f"{report.redacted} secrets replaced with `[REDACTED:<kind>]`.")
        lines += [""] + _table(report.redactions, ("kind", "replaced"))
    else:
        lines.append("Off (--no-redact): secrets in prompts and completions were kept.")
    lines += ["", "## Deduplication", "", f"{report.duplicates_dropped} rows identical to an earlier row (same prompt, "
              "completions and label) were dropped." if options.dedupe else "Off."]
    if report.skipped:
        lines += ["", "## Decisions that made no pair or no row", ""] + _table(report.skipped, ("why", "decisions"))
    lines += [
        "",
        "## How rows are made",
        "",
        "- approve: a desirable completion. reject: an undesirable one; the reviewer's reason is in `reason`.",
        "- edit: a pair, chosen = the edited tool call, rejected = the original (and both as labelled completions).",
        "  Edits that change only whitespace make no pair.",
        "- revision: a rejection followed by an approved proposal for the same file (or the next command) in the "
        "same session: a pair on the original prompt; both sides are the tool calls alone, since the revision's "
        "words answer a rejection the original prompt does not contain.",
        "- hunks: per-hunk verdicts whose applied result differs from the proposal: chosen = what was applied, "
        "rejected = the full proposal.",
        "- compare: the reviewer asked for alternatives to a proposal (the same prompt sampled again) and picked one: "
        "a pair of the picked answer over each other one, same prompt (`id` ends `-a<picked>-a<other>`, position 0 "
        "being the original); each answer not picked is also an undesirable completion, and rejecting all makes only "
        "those. An answer that proposed no change is its text (and a view call, if it made one). Each alternative's "
        "sampling (temperature, ...) is in the raw export's `decision.compare`.",
        f"- {_EDIT_NOTE}",
        "- trl-reward `margin` = (strength - 1) / 4 from the reviewer's 1-5 rating; 0 without one.",
        "- The text editor tool has no schema in the request (it is an Anthropic-defined tool); `tools` gives its "
        "documented input shape.",
        "- Every row's `id` names its decision (`signoff-d<decision id>-<source>...`); metadata columns give session, "
        "step index, model, sampling, sha256 of system prompt and tools, reviewer, time on screen, reason, strength "
        "and per-hunk verdicts.",
        "",
    ]
    return "\n".join(lines)


# -- the command line ----------------------------------------------------------------------------------------------------


def parse_when(text: str | None, *, end_of_day: bool = False) -> dt.datetime | None:
    """An ISO date or date-time; a bare date means the whole day; no offset means UTC."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"{text!r} is not a date; write it as 2026-05-01 or 2026-05-01T14:30.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def options_from_args(args: Any, command: str | None = None) -> ExportOptions:
    filters = ExportFilters(
        since=parse_when(args.since),
        until=parse_when(args.until, end_of_day=True),
        workspace=str(Path(args.workspace).expanduser().resolve()) if args.workspace else None,
        reviewer=args.reviewer or None,
        model=args.model or None,
        verdicts=tuple(args.verdict or ()),
        sources=tuple(args.source or ()),
        min_seconds=args.min_seconds,
    )
    options = ExportOptions(
        format=args.format,
        out=Path(args.out),
        filters=filters,
        split=args.split,
        seed=args.seed,
        redact=not args.no_redact,
        dedupe=not args.no_dedupe,
        command=command,
    )
    validate(options)
    return options


def run_export(args: Any, database: Any, db_url: str | None = None) -> int:
    """`signoff export`: write the files, print what was written. Raises ExportError for anything it cannot do."""
    options = options_from_args(args)
    options = dataclasses.replace(options, command=command_line(options, db_url))
    try:
        report = export_dataset(database, options)
    finally:
        database.close()
    for name, path in report.files.items():
        print(f"{path}: {report.rows[name]} rows ({name})")
    print(f"{report.card}: dataset card")
    print(
        f"{report.decisions} decisions in {report.sessions} sessions -> {report.total_rows} rows in {report.seconds:.2f} s; "
        f"{report.duplicates_dropped} duplicates dropped; "
        + (f"{report.redacted} secrets redacted." if options.redact else "redaction off.")
    )
    return 0
