"""An external agent's session as messages for a dataset export: Claude Code's own transcript (its JSONL file) when it
can be read, else the task and each proposed tool call with what the agent was told, so its decisions still become
rows. Each decided step is pointed at the assistant message that holds its tool call. No Qt here.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

from app.store.export_read import SessionData

# A transcript larger than this is not read whole for an export; the session falls back to its tool calls.
MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024
_KEPT_BLOCKS = ("text", "tool_use", "tool_result")


def with_external_messages(data: SessionData) -> SessionData:
    """``data`` with messages for an external session (unchanged for Signoff's own sessions)."""
    if data.source is None or data.messages or not data.steps:
        return data
    messages = claude_code_messages(data.transcript_path) if data.source == "claude-code" else None
    at = tool_use_positions(messages or [])
    if not messages or not any(step.tool_use_id in at for step in data.steps):
        messages = calls_only(data)
        at = tool_use_positions(messages)
    for step in data.steps:
        # Not in the transcript (it was cut, or rewritten): a seq past the end, so the step is skipped as such.
        step.message_seq = at.get(step.tool_use_id, len(messages))
    texts = [json.dumps(message["content"], ensure_ascii=False) for message in messages]
    return replace(data, messages=messages, content_texts=texts)


def claude_code_messages(path: str | None) -> list[dict[str, Any]] | None:
    """The main conversation of a Claude Code transcript in the Messages API's shape (text, tool calls and their
    results; sidechains, thinking and meta entries left out); None when it cannot be read."""
    if not path:
        return None
    try:
        if os.stat(path).st_size > MAX_TRANSCRIPT_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace") as transcript:
            lines = transcript.readlines()
    except OSError:
        return None
    messages: list[dict[str, Any]] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("isSidechain") or entry.get("isMeta"):
            continue
        message = entry.get("message")
        if entry.get("type") not in ("user", "assistant") or not isinstance(message, dict):
            continue
        role = message.get("role")
        blocks = _blocks(message.get("content"))
        if role not in ("user", "assistant") or not blocks:
            continue
        # Claude Code writes one line per content block of a streamed answer: consecutive turns of a role are one.
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return messages or None


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    kept = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict) or block.get("type") not in _KEPT_BLOCKS:
            continue
        kind = block["type"]
        if kind == "text":
            kept.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "tool_use":
            call = {"type": "tool_use", "id": block.get("id"), "name": block.get("name")}
            kept.append({**call, "input": block.get("input") or {}})
        else:
            result = {"type": "tool_result", "tool_use_id": block.get("tool_use_id"), "content": block.get("content")}
            if block.get("is_error"):
                result["is_error"] = True
            kept.append(result)
    return kept


def tool_use_positions(messages: list[dict[str, Any]]) -> dict[str, int]:
    """Index of the assistant message holding each tool call, by tool use id."""
    found: dict[str, int] = {}
    for seq, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        for block in message["content"]:
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                found.setdefault(block["id"], seq)
    return found


def calls_only(data: SessionData) -> list[dict[str, Any]]:
    """The task, then each proposed tool call and what the agent was told about it, in proposal order."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": data.task}]}]
    seen: set[str] = set()
    for step in sorted(data.steps, key=lambda s: (s.proposal_id, s.decision_id)):
        if step.tool_use_id in seen:
            continue
        seen.add(step.tool_use_id)
        call = {"type": "tool_use", "id": step.tool_use_id, "name": step.tool_name, "input": dict(step.tool_input)}
        told = step.reason if step.verdict == "reject" and step.reason else f"Decided in Signoff: {step.verdict}."
        result = {"type": "tool_result", "tool_use_id": step.tool_use_id, "content": told}
        if step.verdict == "reject":
            result["is_error"] = True
        messages.append({"role": "assistant", "content": [call]})
        messages.append({"role": "user", "content": [result]})
    return messages
