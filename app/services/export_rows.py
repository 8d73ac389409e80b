"""Renders one session's decisions as dataset rows: each row one finished JSON line (bytes) in the asked format, with
a key for dedupe and the few facts the dataset card counts. No Qt, no database, no files.

A row is joined from pieces serialised once: each message once per message shape, each prompt once, the tool
schemas once per export. orjson writes the pieces as UTF-8 bytes, so nothing is encoded twice on the way to the file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.domain import preference as pref
from app.domain.redaction import Redactor
from app.store.export_read import SessionData

PAIR_FORMATS = frozenset({"trl-dpo", "trl-reward", "openai-dpo", "hh-rlhf"})


def dumps(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes, non-ASCII kept. What orjson refuses (integers past 64 bits, keys that are not
    strings, lone surrogates) goes through json, escaped to ASCII so the line stays valid UTF-8."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_isoformat).encode("ascii")


def _isoformat(value: Any) -> str:
    """json's fallback for the datetimes orjson writes itself (the same text)."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_or_base64(content: bytes | None) -> tuple[str | None, str | None]:
    if content is None:
        return None, None
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(content).decode("ascii")


class ToolsCache:
    """Tool lists and system prompts are the same in almost every session: convert, serialise and redact each
    distinct one once per export (and count its redactions every time it is used)."""

    _LIMIT = 1000

    def __init__(self, redactor: Redactor | None) -> None:
        self._redactor = redactor
        self._by_text: dict[str, tuple[str, bytes, bytes]] = {}
        # By identity first: sessions parsed from the same stored text share one list (app.store.export_read.JsonTexts).
        # The list is kept with its entry so its id cannot be reused by another.
        self._by_id: dict[int, tuple[list[dict[str, Any]], tuple[str, bytes, bytes]]] = {}
        self._texts: dict[str, tuple[str, dict[str, int]]] = {}
        self._shas: dict[str, str] = {}
        self._samplings: dict[int, tuple[dict[str, Any], str]] = {}

    def system_sha(self, text: str) -> str:
        found = self._shas.get(text)
        if found is None:
            found = _sha256(text)
            if len(self._shas) < self._LIMIT:
                self._shas[text] = found
        return found

    def sampling_json(self, sampling: dict[str, Any]) -> str:
        """The sampling settings as sorted JSON text (sessions parsed from the same text share one dict)."""
        found = self._samplings.get(id(sampling))
        if found is not None and found[0] is sampling:
            return found[1]
        text = json.dumps(sampling, sort_keys=True)
        if len(self._samplings) < self._LIMIT:
            self._samplings[id(sampling)] = (sampling, text)
        return text

    def redacted_text(self, text: str) -> str:
        if self._redactor is None:
            return text
        found = self._texts.get(text)
        if found is None:
            probe = Redactor()
            found = (probe.text(text), probe.counts)
            if len(self._texts) < self._LIMIT:
                self._texts[text] = found
        counts = self._redactor.counts
        for kind, count in found[1].items():
            counts[kind] = counts.get(kind, 0) + count
        return found[0]

    def get(self, tools: list[dict[str, Any]]) -> tuple[str, bytes, bytes]:
        """(sha256 of the stored tools, TRL/OpenAI function tools as JSON, the stored tools as JSON)."""
        by_id = self._by_id.get(id(tools))
        if by_id is not None and by_id[0] is tools:
            return by_id[1]
        raw = json.dumps(tools, sort_keys=True, separators=(",", ":"))
        found = self._by_text.get(raw)
        if found is None:
            stored = self._redactor.value(tools) if self._redactor else tools
            found = (_sha256(raw), dumps(pref.function_tools(stored)), dumps(stored))
            if len(self._by_text) < self._LIMIT:
                self._by_text[raw] = found
        if len(self._by_id) < self._LIMIT:
            self._by_id[id(tools)] = (tools, found)
        return found


class SessionView:
    """One session's prompts rendered lazily per message shape, each message converted and serialised once."""

    def __init__(self, data: SessionData, redactor: Redactor | None, tools_cache: ToolsCache) -> None:
        self.data = data
        self.facts = data.facts
        self.redactor = redactor
        self.messages = data.messages
        # Messages whose stored JSON holds nothing secret-shaped are used as they are (most of them; one scan of the
        # whole transcript clears most sessions: the hint is plain literals, so no match spans two messages).
        self._verbatim: list[bool] | None = None
        texts = data.content_texts
        if redactor and texts and redactor.might_hold_secrets("\n".join(texts)):
            self.messages = list(data.messages)
            self._verbatim = [True] * len(data.messages)
            for seq, text in enumerate(texts):
                if redactor.might_hold_secrets(text):
                    self.messages[seq] = redactor.value(data.messages[seq])
                    self._verbatim[seq] = False
        self.system_prompt = tools_cache.redacted_text(self.facts.system_prompt)
        self.tool_names = pref.tool_names_by_id(self.messages)
        self.tools_sha, self.function_tools_json, self.stored_tools_json = tools_cache.get(self.facts.tools)
        self.system_sha = tools_cache.system_sha(self.facts.system_prompt)
        self.sampling_json = tools_cache.sampling_json(self.facts.sampling)
        self._fragments: dict[str, list[Any]] = {}
        self._prompts: dict[tuple[str, int], tuple[Any, int]] = {}
        self._session_meta: bytes | None = None
        self._system_json: bytes | None = None

    def _message_fragments(self, style: str) -> list[Any]:
        """Each message as JSON bytes (chat messages joined by commas; raw: as stored), or hh-rlhf text."""
        fragments = self._fragments.get(style)
        if fragments is None:
            fragments = []
            texts = self.data.content_texts
            names = self.tool_names
            for seq, message in enumerate(self.messages):
                if style == "raw":
                    if (self._verbatim is None or self._verbatim[seq]) and seq < len(texts):
                        fragments.append(
                            b'{"role":' + dumps(message["role"]) + b',"content":' + texts[seq].encode() + b"}"
                        )
                    else:
                        fragments.append(dumps(message))
                elif style == "hh":
                    fragments.append(pref.hh_turn(message, names))
                else:
                    rendered = pref.chat_messages(message, style, names)
                    fragments.append(dumps(rendered[0]) if len(rendered) == 1 else b",".join(map(dumps, rendered)))
            self._fragments[style] = fragments
        return fragments

    def prompt(self, style: str, upto: int) -> tuple[Any, int]:
        """The prompt before message ``upto`` as JSON bytes (hh-rlhf: text) and a digest of it for dedupe."""
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
                        turns[0] = human + self.system_prompt + "\n\n" + turns[0][len(human) :]
                    else:
                        turns.insert(0, human + self.system_prompt)
                text: Any = "".join(turns)
            elif style == "raw":
                text = b"[" + b",".join(fragments) + b"]"
            else:
                if self._system_json is None:
                    self._system_json = dumps(pref.system_message(self.system_prompt)) if self.system_prompt else b""
                parts = [self._system_json] if self._system_json else []
                parts.extend(filter(None, fragments))
                text = b"[" + b",".join(parts) + b"]"
            # bytes and str cache their hash: rows sharing this prompt pay for hashing it once.
            found = (text, hash(text))
            self._prompts[key] = found
        return found

    def judges_columns(self, proposal_id: int) -> dict[str, Any]:
        """The machine judges as flat columns, the same in every row (None where a judge said nothing), so
        `datasets` sees one schema: the verifier's reward in [0, 1] and counts, the critic's verdict, score, why."""
        judges = self.data.judges.get(proposal_id) or {}
        verifier = judges.get("verifier") or {}
        critic = judges.get("critic") or {}
        rationale = critic.get("rationale")
        if rationale and self.redactor:
            rationale = self.redactor.text(rationale)
        return {
            "verifier_status": verifier.get("status"),
            "verifier_reward": verifier.get("reward"),
            "verifier_passed": verifier.get("passed"),
            "verifier_failed": verifier.get("failed"),
            "verifier_newly_failing": json.dumps(verifier["newly_failing"]) if verifier else None,
            "critic_verdict": critic.get("verdict"),
            "critic_score": critic.get("score"),
            "critic_rationale": rationale,
        }

    def metadata_json(
        self, step: pref.DecidedStep, source: str, related: pref.DecidedStep | None, strength: int | None
    ) -> bytes:
        """The metadata columns as JSON object members (no braces), the session's part serialised once."""
        if self._session_meta is None:
            self._session_meta = dumps(
                {
                    "workspace": self.facts.workspace,
                    "model": self.facts.model,
                    "sampling": self.sampling_json,
                    "system_prompt_sha256": self.system_sha,
                    "tools_sha256": self.tools_sha,
                }
            )[1:-1]
        reason = step.reason
        if reason and self.redactor:
            reason = self.redactor.text(reason)
        # One dict, one orjson call (datetimes written by orjson exactly as isoformat() writes them): 3x faster
        # than assembling the members piece by piece.
        return (
            dumps(
                {
                    "source": source,
                    "session_id": self.facts.session_id,
                    "step_index": step.message_seq,
                    "proposal_id": step.proposal_id,
                    "decision_id": step.decision_id,
                    "related_decision_id": related.decision_id if related else None,
                    "verdict": step.verdict,
                    "reviewer": step.reviewer,
                    "time_on_screen_ms": step.time_on_screen_ms,
                    "reason": reason,
                    "strength": strength,
                    "hunk_verdicts": json.dumps(step.hunk_verdicts) if step.hunk_verdicts else None,
                    "decided_at": step.decided_at,
                    "channel": step.channel,
                    **self.judges_columns(step.proposal_id),
                }
            )[1:-1]
            + b","
            + self._session_meta
        )


def row_id(step: pref.DecidedStep, source: str, related: pref.DecidedStep | None = None, role: str = "") -> str:
    parts = [f"signoff-d{step.decision_id}", source]
    if related is not None:
        parts.append(f"d{related.decision_id}")
    if role:
        parts.append(role)
    return "-".join(parts)


class Row:
    """One line of the dataset and what the card counts about it (the decisions it rests on, for their times)."""

    __slots__ = ("key", "line", "source", "label", "step", "related")

    def __init__(
        self, key: int, line: bytes, source: str, label: str, step: pref.DecidedStep, related: pref.DecidedStep | None
    ) -> None:
        # Equal for rows with the same training content (prompt, completions, label); ids and metadata left out.
        self.key = key
        self.line = line
        self.source = source
        self.label = label
        self.step = step
        self.related = related


def _redacted_completion(
    view: SessionView, completion: pref.Completion, cache: dict[int, pref.Completion], rebuilt: bool
) -> pref.Completion:
    """Completions rebuilt from stored bytes (the chosen side of edits) never passed through the message redaction;
    redact those once. The rest come from already redacted messages."""
    if view.redactor is None or not rebuilt:
        return completion
    found = cache.get(id(completion))
    if found is None:
        hint = view.redactor.might_hold_secrets
        if not hint(completion.text) and not any(
            isinstance(v, str) and hint(v) for v in completion.tool_input.values()
        ):
            cache[id(completion)] = completion
            return completion
        found = pref.Completion(
            view.redactor.text(completion.text),
            completion.tool_use_id,
            completion.tool_name,
            view.redactor.value(completion.tool_input),
        )
        cache[id(completion)] = found
    return found


# Sources whose chosen side is rebuilt from the reviewer's bytes rather than taken from a stored message.
_REBUILT_SOURCES = frozenset({pref.SOURCE_EDIT, pref.SOURCE_HUNKS, pref.SOURCE_COMPARE})


def margin(strength: int | None) -> float:
    # Strength 1..5 -> margin 0..1; no rating means no margin (the plain Bradley-Terry loss).
    return 0.0 if strength is None else (strength - 1) / 4


def verifier_margin(view: SessionView, pair: pref.PreferencePair) -> float:
    """The verifier's reward of the chosen proposal minus the rejected one's, floored at 0; 0 unless both sides are
    proposals the verifier ran on (a revision pair: the rejected step and the approved revision)."""
    if pair.source != pref.SOURCE_REVISION or pair.related is None:
        return 0.0
    rejected = view.judges_columns(pair.step.proposal_id)["verifier_reward"]
    chosen = view.judges_columns(pair.related.proposal_id)["verifier_reward"]
    if rejected is None or chosen is None:
        return 0.0
    return round(max(0.0, float(chosen) - float(rejected)), 4)


def _pair_rows(
    view: SessionView, examples: pref.SessionExamples, fmt: str, sources: set[str] | None, margin_from: str = "strength"
) -> list[Row]:
    rows: list[Row] = []
    redo: dict[int, pref.Completion] = {}
    for pair in examples.pairs:
        if sources and pair.source not in sources:
            continue
        chosen = _redacted_completion(view, pair.chosen, redo, pair.source in _REBUILT_SOURCES)
        # Compared alternatives come from their own table, never through the messages' redaction.
        rejected = _redacted_completion(view, pair.rejected, redo, pair.source == pref.SOURCE_COMPARE)
        rid = row_id(pair.step, pair.source, pair.related, pair.variant).encode()
        meta = view.metadata_json(pair.step, pair.source, pair.related, pair.strength)
        if fmt == "trl-dpo":
            prompt, prompt_key = view.prompt("trl", pair.prompt_seq)
            chosen_json = dumps([pref.completion_message(chosen, "trl")])
            rejected_json = dumps([pref.completion_message(rejected, "trl")])
            body = (
                b'"prompt":',
                prompt,
                b',"chosen":',
                chosen_json,
                b',"rejected":',
                rejected_json,
                b',"tools":',
                view.function_tools_json,
            )
            key = hash((prompt_key, chosen_json, rejected_json, view.function_tools_json))
        elif fmt == "trl-reward":
            prompt, prompt_key = view.prompt("trl", pair.prompt_seq)
            chosen_message = dumps(pref.completion_message(chosen, "trl"))
            rejected_message = dumps(pref.completion_message(rejected, "trl"))
            head = prompt[:-1] + (b"," if len(prompt) > 2 else b"")
            pair_margin = verifier_margin(view, pair) if margin_from == "verifier" else margin(pair.strength)
            body = (
                b'"chosen":',
                head,
                chosen_message,
                b'],"rejected":',
                head,
                rejected_message,
                b'],"margin":',
                repr(pair_margin).encode(),
                b',"tools":',
                view.function_tools_json,
            )
            key = hash((prompt_key, chosen_message, rejected_message, pair_margin))
        elif fmt == "openai-dpo":
            prompt, prompt_key = view.prompt("openai", pair.prompt_seq)
            chosen_json = dumps([pref.completion_message(chosen, "openai")])
            rejected_json = dumps([pref.completion_message(rejected, "openai")])
            body = (
                b'"input":{"messages":',
                prompt,
                b',"tools":',
                view.function_tools_json,
                b',"parallel_tool_calls":false},"preferred_output":',
                chosen_json,
                b',"non_preferred_output":',
                rejected_json,
            )
            key = hash((prompt_key, chosen_json, rejected_json))
            # OpenAI's validator knows only its own keys: the id, nothing else, rides along.
            meta = b""
        else:  # hh-rlhf
            prompt, _ = view.prompt("hh", pair.prompt_seq)
            chosen_text = prompt + pref.hh_completion(chosen)
            rejected_text = prompt + pref.hh_completion(rejected)
            body = (b'"chosen":', dumps(chosen_text), b',"rejected":', dumps(rejected_text))
            key = hash((chosen_text, rejected_text))
        line = b"".join((b'{"id":"', rid, b'",', *body, b"," if meta else b"", meta, b"}\n"))
        rows.append(Row(key, line, pair.source, "pair", pair.step, pair.related))
    return rows


def _completion_rows(
    view: SessionView, examples: pref.SessionExamples, fmt: str, sources: set[str] | None
) -> list[Row]:
    rows: list[Row] = []
    append = rows.append
    redo: dict[int, pref.Completion] = {}
    tools = view.function_tools_json
    kto = fmt == "trl-kto"
    redacting = view.redactor is not None
    prompt_of = view.prompt
    metadata = view.metadata_json
    completion_message = pref.completion_message
    for item in examples.completions:
        source = item.source
        if sources and source not in sources:
            continue
        label = item.label
        if not kto and (not label or source == pref.SOURCE_REVISION):
            continue
        completion = item.completion
        if redacting and ((item.role == "chosen" and source in _REBUILT_SOURCES) or source == pref.SOURCE_COMPARE):
            completion = _redacted_completion(view, completion, redo, True)
        step, related = item.step, item.related
        prompt, prompt_key = prompt_of("trl", item.prompt_seq)
        completion_json = b"[" + dumps(completion_message(completion, "trl")) + b"]"
        rid = row_id(step, source, related, item.role).encode()
        meta = metadata(step, source, related, step.strength)
        if kto:
            flag = b"true" if label else b"false"
            line = b"".join(
                (
                    b'{"id":"',
                    rid,
                    b'","prompt":',
                    prompt,
                    b',"completion":',
                    completion_json,
                    b',"label":',
                    flag,
                    b',"tools":',
                    tools,
                    b",",
                    meta,
                    b"}\n",
                )
            )
            key = hash((prompt_key, completion_json, flag))
        else:
            line = b"".join(
                (
                    b'{"id":"',
                    rid,
                    b'","prompt":',
                    prompt,
                    b',"completion":',
                    completion_json,
                    b',"tools":',
                    tools,
                    b",",
                    meta,
                    b"}\n",
                )
            )
            key = hash((prompt_key, completion_json))
        append(Row(key, line, source, "desirable" if label else "undesirable", step, related))
    return rows


def _raw_rows(view: SessionView, examples: pref.SessionExamples, sources: set[str] | None) -> list[Row]:
    """One record per decision, whatever it yields."""
    yielded: dict[int, set[str]] = {}
    for item in examples.completions:
        yielded.setdefault(item.step.decision_id, set()).add(item.source)
    for pair in examples.pairs:
        yielded.setdefault(pair.step.decision_id, set()).add(pair.source)
    rows = []
    for step in view.data.steps:
        step_sources = sorted(yielded.get(step.decision_id, ()))
        if sources and not sources.intersection(step_sources):
            continue
        rows.append(raw_row(view, step, step_sources))
    return rows


def raw_row(view: SessionView, step: pref.DecidedStep, sources: list[str]) -> Row:
    redactor = view.redactor

    def text(content: bytes | None) -> tuple[str | None, str | None]:
        decoded, encoded = _text_or_base64(content)
        if decoded is not None and redactor:
            decoded = redactor.text(decoded)
        return decoded, encoded

    old_text, old_b64 = text(step.old_content)
    new_text, new_b64 = text(step.new_content)
    edited_text, edited_b64 = text(step.edited_content)
    prompt, _ = view.prompt("raw", step.message_seq)
    completion_message = view.messages[step.message_seq] if step.message_seq < len(view.messages) else None
    reason = redactor.text(step.reason) if (redactor and step.reason) else step.reason
    record_tail = {
        "completion": completion_message,
        "sources": sources,
        "judges": view.judges_columns(step.proposal_id),
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
            # What was carried out: a command's output, its sandbox and every change it made (applied, held, reviewed).
            "result": _result_for_export(step.result, redactor),
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
            "grants": step.grants,
            "edited_content": edited_text,
            "edited_content_base64": edited_b64,
        },
    }
    line = b"".join(
        (
            b'{"id":"signoff-d',
            str(step.decision_id).encode(),
            b'","tools":',
            view.stored_tools_json,
            b',"prompt":',
            prompt,
            b",",
            dumps(record_tail)[1:],
            b"\n",
        )
    )
    return Row(hash(("raw", step.decision_id)), line, ",".join(sources) or "none", step.verdict, step, None)


def _result_for_export(result: dict[str, Any] | None, redactor: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    content = result.get("content")
    if redactor and isinstance(content, str):
        content = redactor.text(content)
    shown = {"content": content, "is_error": bool(result.get("is_error"))}
    if "effects" in result:
        shown["effects"] = redactor.value(result["effects"]) if redactor else result["effects"]
    return shown


def _raw_compare(
    step: pref.DecidedStep, alternatives: dict[int, list[pref.ComparedAlternative]]
) -> dict[str, Any] | None:
    """For a compare decision: what was compared (hashes, as sealed), the pick, and each alternative's sampling."""
    if not step.compare:
        return None
    sampled = {a.position: a for a in alternatives.get(step.compare.get("compare_id"), ())}
    return {
        "compare_id": step.compare.get("compare_id"),
        "picked": step.compare.get("picked"),
        "alternatives": [
            {
                **entry,
                "kind": getattr(sampled.get(entry.get("position")), "kind", None),
                "sampling": dumps(getattr(sampled.get(entry.get("position")), "sampling", None)).decode(),
            }
            for entry in step.compare.get("alternatives") or []
        ],
    }


def _trajectory_rows(view: SessionView, sources: set[str] | None) -> list[Row]:
    """One row per session in the shape of SWE-style trajectory datasets: the task, every step with the person's
    decision and the judges' signals, the final diff of the approved changes, and ``resolved`` from the last verifier
    run (None when the verifier never ran)."""
    steps = view.data.steps
    if not steps:
        return []
    if view.data.changeset_files:
        from app.domain import changeset_export

        # A changeset is listed file by file, so the final diff holds exactly what its verdicts merged.
        steps = changeset_export.expand(steps, view.data.changeset_files)
    redactor = view.redactor
    step_rows, finals, resolved = [], {}, None
    for step in steps:
        judges = view.judges_columns(step.proposal_id)
        if judges["verifier_status"] in ("passed", "failed"):
            resolved = judges["verifier_status"] == "passed" and not judges["verifier_failed"]
        reason = redactor.text(step.reason) if (redactor and step.reason) else step.reason
        step_rows.append(
            {
                "step_index": step.message_seq,
                "proposal_id": step.proposal_id,
                "kind": step.kind,
                "path": step.path,
                "command": redactor.text(step.command) if (redactor and step.command) else step.command,
                "verdict": step.verdict,
                "reviewer": step.reviewer,
                "reason": reason,
                **judges,
            }
        )
        if step.kind == "command" and step.result is not None:
            # An approved command's reviewable result: what it printed and what it changed.
            step_rows[-1]["result"] = _result_for_export(step.result, redactor)
            step_rows[-1]["grants"] = step.grants
        if step.path and step.verdict in ("approve", "edit") and step.kind != "command":
            before = finals[step.path][0] if step.path in finals else step.old_content
            after = (
                step.edited_content if step.verdict == "edit" and step.edited_content is not None else step.new_content
            )
            finals[step.path] = (before, after)
    final_diff = "".join(_text_diff(path, before, after) for path, (before, after) in sorted(finals.items()))
    if redactor:
        final_diff = redactor.text(final_diff)
    task = next(
        (b.get("text", "") for b in (view.messages[0]["content"] if view.messages else []) if b.get("type") == "text"),
        "",
    )
    body = {
        "task": redactor.text(task) if redactor else task,
        "model": view.facts.model,
        # The tree of agents: who delegated this session (None for a root), in which role, how deep.
        "parent_session": view.facts.parent_id,
        "role": view.facts.role,
        "depth": view.facts.depth,
        "workspace": view.facts.workspace,
        "messages": view.messages,
        "steps": step_rows,
        "final_diff": final_diff,
        "resolved": resolved,
    }
    content = dumps(body)
    line = b'{"id":"signoff-s' + str(view.facts.session_id).encode() + b'",' + content[1:] + b"\n"
    label = "unknown" if resolved is None else ("resolved" if resolved else "unresolved")
    # Dedupe on the training content: the same trajectory in another session (ids aside) is a duplicate.
    key = hash(dumps({**body, "steps": [{k: v for k, v in row.items() if k != "proposal_id"} for row in step_rows]}))
    return [Row(key, line, "trajectory", label, steps[-1], None)]


def _text_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    import difflib

    def lines(content: bytes | None) -> list[str]:
        return [] if content is None else content.decode("utf-8", "replace").splitlines(keepends=True)

    old_name = f"a/{path}" if before is not None else "/dev/null"
    new_name = f"b/{path}" if after is not None else "/dev/null"
    return "".join(difflib.unified_diff(lines(before), lines(after), old_name, new_name))


@dataclass
class SessionRows:
    """What one session yields: its rows in order, and the counts that do not depend on dedupe."""

    session_id: int
    model: str
    rows: list[Row]
    decisions: int
    skipped: dict[str, int] = field(default_factory=dict)
    # Proposals with more than one decision, and those whose decisions all agree.
    multi_reviewed: int = 0
    agreed: int = 0


def _agreement(steps: list[pref.DecidedStep]) -> tuple[int, int]:
    """Proposals judged by more than one reviewer (team mode), and how many got the same verdict from all of them."""
    verdicts: dict[int, set[str]] = {}
    for step in steps:
        verdicts.setdefault(step.proposal_id, set()).add(step.verdict)
    if len(verdicts) == len(steps):
        return 0, 0
    counts: dict[int, int] = {}
    for step in steps:
        counts[step.proposal_id] = counts.get(step.proposal_id, 0) + 1
    multi = [proposal_id for proposal_id, count in counts.items() if count > 1]
    return len(multi), sum(len(verdicts[proposal_id]) == 1 for proposal_id in multi)


def session_rows(
    data: SessionData,
    fmt: str,
    sources: set[str] | None,
    redactor: Redactor | None,
    tools_cache: ToolsCache,
    *,
    margin: str = "strength",
) -> SessionRows:
    """Every row one session yields in ``fmt`` (only rows from ``sources`` when given)."""
    view = SessionView(data, redactor, tools_cache)
    settled, disagreements = pref.settled_steps(data.steps)
    if data.changeset_files or any(step.kind == "changeset" for step in settled):
        from app.domain import changeset_export

        settled = changeset_export.expand(settled, data.changeset_files)
    examples = pref.session_examples(view.messages, settled, data.alternatives)
    if fmt in PAIR_FORMATS:
        rows = _pair_rows(view, examples, fmt, sources, margin)
    elif fmt == "raw":
        rows = _raw_rows(view, examples, sources)
    elif fmt == "trajectory":
        rows = _trajectory_rows(view, sources)
    else:
        rows = _completion_rows(view, examples, fmt, sources)
    skipped = dict(examples.skipped)
    if disagreements:
        skipped["reviewers_disagree"] = skipped.get("reviewers_disagree", 0) + disagreements
    multi, agreed = _agreement(data.steps)
    return SessionRows(data.facts.session_id, data.facts.model, rows, len(data.steps), skipped, multi, agreed)


def latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None or (b is not None and b > a) else a


def earliest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None or (b is not None and b < a) else a
