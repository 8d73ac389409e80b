"""``signoff hook claude-code``: Claude Code's PreToolUse / PermissionRequest hook (and SessionEnd) as an adapter.

Reads the hook input JSON, answers on stdout in the event's own shape, always with exit code 0. A policy decides
without the database (the decision is spooled); a person decides through the queue. When Signoff cannot put the call
to anyone (no database, bad input, a crash) the answer is ``ask``, so Claude Code prompts as usual: never ``allow``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any

from app.services.adapters.base import (
    ALLOW,
    ASK,
    DENY,
    Answer,
    Change,
    ClaudeTools,
    RefusedError,
    ToolRequest,
    policy_answer,
)

SOURCE = "claude-code"
DEFAULT_TIMEOUT_S = 600.0
# Withdraw this long before Claude Code's own timeout kills the hook, so the withdrawal is recorded.
_TIMEOUT_MARGIN_S = 3.0
_EVENTS = ("PreToolUse", "PermissionRequest")


def render(event: str, answer: Answer | None) -> str:
    """The hook's stdout for an answer; empty for 'no opinion' (Claude Code goes on as if there were no hook)."""
    if answer is None:
        return ""
    if event == "PermissionRequest":
        if answer.behavior == ASK:
            # No decision: Claude Code shows its own permission dialog.
            return ""
        decision: dict[str, Any] = {"behavior": answer.behavior}
        if answer.behavior == ALLOW and answer.updated_input is not None:
            decision["updatedInput"] = answer.updated_input
        if answer.behavior == DENY:
            decision["message"] = answer.message
        return json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}})
    output: dict[str, Any] = {
        "hookEventName": "PreToolUse",
        "permissionDecision": answer.behavior,
        "permissionDecisionReason": answer.message,
    }
    if answer.behavior == ALLOW and answer.updated_input is not None:
        output["updatedInput"] = answer.updated_input
    return json.dumps({"hookSpecificOutput": output})


def parse(payload: Any) -> ToolRequest:
    if not isinstance(payload, dict):
        raise RefusedError(ASK, "Signoff's hook got input that is not a JSON object.")
    missing = [key for key in ("session_id", "cwd", "tool_name") if not isinstance(payload.get(key), str)]
    if missing:
        raise RefusedError(ASK, f"Signoff's hook input lacks {', '.join(missing)}.")
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        raise RefusedError(ASK, "Signoff's hook input has no tool_input object.")
    tool_use_id = payload.get("tool_use_id")
    if not isinstance(tool_use_id, str) or not tool_use_id:
        # Older Claude Code versions send none; the call's content names it well enough for one session.
        digest = hashlib.sha256(json.dumps(tool_input, sort_keys=True).encode()).hexdigest()[:32]
        tool_use_id = f"input:{digest}"
    transcript = payload.get("transcript_path")
    return ToolRequest(
        source=SOURCE,
        session_key=payload["session_id"],
        cwd=payload["cwd"],
        tool_name=payload["tool_name"],
        tool_input=tool_input,
        tool_use_id=tool_use_id,
        transcript_path=transcript if isinstance(transcript, str) else None,
        task=first_prompt(transcript) if isinstance(transcript, str) else None,
    )


def first_prompt(transcript_path: str, *, max_lines: int = 200) -> str | None:
    """The first thing the person typed in the session (the JSONL transcript), as the Signoff session's task."""
    try:
        with open(transcript_path, encoding="utf-8") as transcript:
            for number, line in enumerate(transcript):
                if number >= max_lines:
                    break
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                message = entry.get("message") if isinstance(entry, dict) else None
                if entry.get("type") != "user" or not isinstance(message, dict):
                    continue
                content = message.get("content")
                if isinstance(content, str) and content.strip():
                    return content.strip()[:2000]
                for block in content if isinstance(content, list) else []:
                    if isinstance(block, dict) and block.get("type") == "text" and block.get("text", "").strip():
                        return block["text"].strip()[:2000]
    except OSError:
        return None
    return None


def _log(message: str) -> None:
    # stderr is shown in Claude Code's verbose mode (Ctrl+O): one line, never a traceback.
    print(f"signoff hook: {message}", file=sys.stderr)


def answer_request(
    request: ToolRequest, *, db_url: str | None, timeout_s: float, fast_record: bool = True
) -> Answer | None:
    """Signoff's answer to one tool call (None: a read-only call, passed through)."""
    adapter = ClaudeTools(SOURCE)
    try:
        change = adapter.draft(request)
    except RefusedError as refused:
        return Answer(refused.action, refused.message)
    if change is None:
        return None
    decided = policy_answer(change, request.cwd)
    if decided is not None:
        answer, reviewer = decided
        if fast_record:
            _spool(db_url or os.environ.get("SIGNOFF_DB"), request, change, answer, reviewer)
        return answer
    return _ask_a_person(adapter, request, change, db_url=db_url, timeout_s=timeout_s)


def _spool(db_url: str | None, request: ToolRequest, change: Change, answer: Answer, reviewer: str) -> None:
    from app.services.adapters import spool

    try:
        spool.write_record(db_url, request, change, answer, reviewer)
        spool.start_ingester()
    except OSError as err:
        _log(f"the policy decision could not be kept for the record ({err})")


def _ask_a_person(
    adapter: ClaudeTools, request: ToolRequest, change: Change, *, db_url: str | None, timeout_s: float
) -> Answer:
    from app.services.adapters.broker import Broker, StoreError, WithdrawnError
    from app.services.settings import load_settings
    from app.store.db import open_database

    stop_reason: list[str] = []

    def on_signal(number: int, _frame: object) -> None:
        # Only noted: the wait loop looks at it between polls and withdraws the proposal before exiting.
        stop_reason.append(f"Claude Code stopped the hook ({signal.Signals(number).name}) before a decision")

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, on_signal)
    settings = load_settings()
    url = db_url or os.environ.get("SIGNOFF_DB") or settings.database or None
    try:
        broker = Broker(open_database(url), undo_window_s=settings.undo_seconds)
        broker.sweep()
        proposal = broker.submit(request, change)
    except StoreError as err:
        return Answer(ASK, f"Signoff's database cannot be reached ({err}); Claude Code asks instead.")
    deadline = time.monotonic() + max(timeout_s - _TIMEOUT_MARGIN_S, 1.0)
    try:
        decision = broker.wait(proposal.id, deadline=deadline, stopped=lambda: stop_reason[0] if stop_reason else None)
        return broker.answer_for(adapter, request, change, decision)
    except WithdrawnError as err:
        return Answer(ASK, f"{err}. Claude Code asks instead.")
    except StoreError as err:
        return Answer(ASK, f"Signoff's database failed while waiting ({err}); Claude Code asks instead.")


def session_end(payload: Mapping[str, Any], *, db_url: str | None) -> None:
    from app.services.adapters.broker import StoreError
    from app.services.settings import load_settings
    from app.store.db import open_database
    from app.store.external import ExternalStore

    session = payload.get("session_id")
    if not isinstance(session, str):
        return
    reason = payload.get("reason") or "other"
    try:
        database = open_database(db_url or os.environ.get("SIGNOFF_DB") or load_settings().database or None)
        ExternalStore(database).end_session(SOURCE, session, f"the Claude Code session ended ({reason})")
    except StoreError as err:
        _log(f"could not withdraw the ended session's proposals ({err})")


def run(stdin_text: str, *, db_url: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[str, int]:
    """(stdout, exit code) for one hook call. Nothing escapes: a failure is an ``ask`` and one line on stderr."""
    event = "PreToolUse"
    try:
        try:
            payload = json.loads(stdin_text)
        except ValueError as err:
            raise RefusedError(ASK, f"Signoff's hook could not read its input as JSON ({err}).") from None
        if isinstance(payload, dict) and isinstance(payload.get("hook_event_name"), str):
            event = payload["hook_event_name"]
        if event == "SessionEnd":
            session_end(payload, db_url=db_url)
            return "", 0
        if event not in _EVENTS:
            return "", 0
        answer = answer_request(parse(payload), db_url=db_url, timeout_s=timeout_s)
    except RefusedError as refused:
        answer = Answer(refused.action, refused.message)
    except Exception as err:  # noqa: BLE001 - the agent must get an answer, never a traceback
        answer = Answer(ASK, f"Signoff's hook failed ({type(err).__name__}: {err}); Claude Code asks instead.")
    if answer is not None and answer.decided_by == "signoff":
        _log(answer.message)
    return render(event, answer), 0


def main(db_url: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    stdout, code = run(sys.stdin.read(), db_url=db_url, timeout_s=timeout_s)
    if stdout:
        sys.stdout.write(stdout + "\n")
        sys.stdout.flush()
    return code


def parse_options(words: list[str]) -> tuple[str | None, float] | None:
    """(db url, timeout) from ``[--timeout S] [--db URL]`` without argparse; None for anything else (the full command
    line then parses it and says what is wrong)."""
    options: dict[str, str | None] = {"--timeout": None, "--db": None}
    rest = list(words)
    while rest:
        name, *value = rest[0].split("=", 1)
        if name not in options:
            return None
        if value:
            options[name], rest = value[0], rest[1:]
        elif len(rest) > 1:
            options[name], rest = rest[1], rest[2:]
        else:
            return None
    try:
        timeout_s = float(options["--timeout"]) if options["--timeout"] else DEFAULT_TIMEOUT_S
    except ValueError:
        return None
    return options["--db"], timeout_s
