"""Turns one session's stored decisions into labelled completions and preference pairs, and renders conversations in
the trainers' message shapes (TRL, OpenAI, hh-rlhf). Pure: no database, no files, no Qt.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.lifecycle import ProposalStatus
from app.domain.tools import EDITOR_TOOL_NAME, EFFECTS_KIND

# Where a row came from; users filter on these.
SOURCE_APPROVE = "approve"
SOURCE_REJECT = "reject"
SOURCE_EDIT = "edit"
SOURCE_REVISION = "revision"
SOURCE_HUNKS = "hunks"
SOURCE_COMPARE = "compare"
SOURCES = (SOURCE_APPROVE, SOURCE_REJECT, SOURCE_EDIT, SOURCE_REVISION, SOURCE_HUNKS, SOURCE_COMPARE)

# Anthropic's text editor tool is sent as a bare type ("text_editor_20250728"), so the schema the model was trained on
# is not in the stored session; trainers need a JSON schema, so this is the tool's documented input shape.
EDITOR_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {
            "type": "string",
            "enum": ["view", "create", "str_replace", "insert"],
            "description": "The operation to run.",
        },
        "path": {"type": "string", "description": "Path of the file or folder, relative to the workspace root."},
        "file_text": {"type": "string", "description": "For `create`: the whole content of the new file."},
        "old_str": {"type": "string", "description": "For `str_replace`: the exact text to replace (must be unique)."},
        "new_str": {"type": "string", "description": "For `str_replace`: the replacement text."},
        "insert_line": {"type": "integer", "description": "For `insert`: the line after which to insert (0 = top)."},
        "insert_text": {"type": "string", "description": "For `insert`: the text to insert."},
        "view_range": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "For `view`: [start, end] line numbers; end -1 means the last line.",
        },
    },
    "required": ["command", "path"],
}
EDITOR_TOOL_DESCRIPTION = (
    "View, create and edit text files in the workspace (Anthropic text editor tool). Changes wait for a reviewer."
)


@dataclass(frozen=True)
class SessionFacts:
    """What every row of one session shares: the model, what it was told and the tools it was given."""

    session_id: int
    workspace: str
    model: str
    system_prompt: str
    tools: list[dict[str, Any]]
    sampling: dict[str, Any]
    # Its place in a tree of agents (issue 15): the session that delegated to it, its role, its depth (root 0).
    parent_id: int | None = None
    role: str | None = None
    depth: int = 0


@dataclass(slots=True, eq=False)
class DecidedStep:
    """One proposal and the decision on it, as stored (not frozen: an export builds one per decision, and a frozen
    dataclass pays a Python-level setattr per field)."""

    proposal_id: int
    message_seq: int
    tool_use_id: str
    tool_name: str
    tool_input: dict[str, Any]
    kind: str
    path: str | None
    command: str | None
    cwd: str | None
    old_content: bytes | None
    new_content: bytes | None
    decision_id: int
    verdict: str
    reason: str | None
    edited_content: bytes | None
    reviewer: str
    time_on_screen_ms: int | None
    decided_at: dt.datetime | None
    channel: str
    hunk_verdicts: list[dict[str, Any]] | None
    strength: int | None
    status: str = ProposalStatus.APPLIED
    # Team mode: 'first' / 'second' of two independent reviews, or 'adjudication'; None for a single review.
    review_stage: str | None = None
    # Compare mode: the alternatives shown and the pick, as stored on the decision (app.services.compare.summary).
    compare: dict[str, Any] | None = None
    # What the agent was told when it was carried out ({"content", "is_error", and for commands "effects": the
    # sandbox, the changes applied, held and reviewed}); what the decision granted a command (.git writes, network).
    result: dict[str, Any] | None = None
    grants: dict[str, Any] | None = None

    @property
    def target(self) -> tuple[str, str]:
        """What a revision must be about to count as one: the same file, or (any) command."""
        if self.kind in ("plan", "delegate"):
            # A revised plan answers a rejected plan, whatever its title (a delegation, a rejected delegation).
            return (self.kind, "")
        return ("command", "") if self.kind == "command" else ("file", self.path or "")


# The records an export makes per decision are slotted and not frozen: a frozen dataclass pays a Python-level setattr
# per field, and an export makes several of these for each of its rows. Treat them as values all the same.
@dataclass(slots=True)
class Completion:
    """One assistant turn: the text said before the tool call, then the call."""

    text: str
    tool_use_id: str
    tool_name: str
    tool_input: dict[str, Any]


@dataclass(slots=True)
class LabelledCompletion:
    """A completion judged desirable (label True) or not, on the prompt messages[:prompt_seq]."""

    prompt_seq: int
    completion: Completion
    label: bool
    source: str
    step: DecidedStep
    # The second decision a row rests on (the approval of a revision), if any.
    related: DecidedStep | None = None
    role: str = ""  # for rows of a pair: 'chosen' or 'rejected'


@dataclass(slots=True)
class PreferencePair:
    """chosen is preferred over rejected, both answering the prompt messages[:prompt_seq]."""

    prompt_seq: int
    chosen: Completion
    rejected: Completion
    source: str
    step: DecidedStep
    related: DecidedStep | None = None
    # Tells apart several pairs from one decision (compare mode: 'a<chosen>-a<rejected>').
    variant: str = ""

    @property
    def strength(self) -> int | None:
        if self.related is not None and self.related.strength is not None:
            return self.related.strength
        return self.step.strength


@dataclass(frozen=True)
class ComparedAlternative:
    """One answer in a compare (position 0 the original): the completion it makes, None when its request failed."""

    position: int
    completion: Completion | None
    sampling: dict[str, Any]
    kind: str = "none"


@dataclass
class SessionExamples:
    completions: list[LabelledCompletion]
    pairs: list[PreferencePair]
    # Decisions that yield nothing, by why (e.g. 'whitespace_only_edit', 'binary_content', 'missing_message').
    skipped: dict[str, int]


# -- completions -------------------------------------------------------------------------------------------------------


def proposed_completion(messages: Sequence[dict[str, Any]], step: DecidedStep) -> Completion | None:
    """The text blocks before the proposal's tool_use in its assistant message, and that tool_use."""
    if step.message_seq >= len(messages) or messages[step.message_seq].get("role") != "assistant":
        return None
    texts: list[str] = []
    for block in messages[step.message_seq].get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use" and block.get("id") == step.tool_use_id:
            return Completion(
                "".join(texts), step.tool_use_id, block.get("name", step.tool_name), dict(block.get("input") or {})
            )
    return Completion("".join(texts), step.tool_use_id, step.tool_name, dict(step.tool_input))


def alternative_completion(content: Sequence[dict[str, Any]] | None, tool_use_id: str | None) -> Completion | None:
    """An alternative's completion: its text before the tool call it is judged by, then that call; only its text
    when it made no call."""
    if content is None:
        return None
    texts: list[str] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use" and tool_use_id and block.get("id") == tool_use_id:
            return Completion("".join(texts), tool_use_id, block.get("name", ""), dict(block.get("input") or {}))
    return Completion("".join(texts), "", "", {})


def compare_examples(
    step: DecidedStep, alternatives: Sequence[ComparedAlternative]
) -> tuple[list[PreferencePair], list[LabelledCompletion]]:
    """Ranked pairs from a pick: the picked alternative over each other one (identical answers make no pair); and
    each alternative not picked as an undesirable completion. Rejecting all yields only the latter (for positions
    1..N: the original's rejection is a row of its own)."""
    pairs: list[PreferencePair] = []
    completions: list[LabelledCompletion] = []
    if not step.compare:
        return pairs, completions
    picked = step.compare.get("picked")
    seq = step.message_seq
    by_position = {a.position: a for a in alternatives}
    chosen = by_position.get(picked) if picked is not None else None
    if picked is not None and (chosen is None or chosen.completion is None):
        return pairs, completions
    for alternative in sorted(alternatives, key=lambda a: a.position):
        if alternative.position == picked or alternative.completion is None:
            continue
        if picked is None and alternative.position == 0:
            continue
        role = f"rejected-a{alternative.position}"
        completions.append(LabelledCompletion(seq, alternative.completion, False, SOURCE_COMPARE, step, None, role))
        if (
            chosen is not None
            and chosen.completion is not None
            and _completion_key(alternative.completion) != _completion_key(chosen.completion)
        ):
            pairs.append(
                PreferencePair(
                    seq,
                    chosen.completion,
                    alternative.completion,
                    SOURCE_COMPARE,
                    step,
                    None,
                    f"a{picked}-a{alternative.position}",
                )
            )
    return pairs, completions


def _completion_key(completion: Completion) -> str:
    return json.dumps([completion.text, completion.tool_name, completion.tool_input], sort_keys=True)


def applied_bytes(step: DecidedStep) -> bytes | None:
    """What the reviewer's decision put in place of the proposal (file bytes or the command), or None if unchanged."""
    if step.verdict == "edit" and step.edited_content is not None:
        return step.edited_content
    if step.hunk_verdicts and step.edited_content is not None:
        return step.edited_content
    return None


def edited_tool_input(step: DecidedStep, applied: bytes) -> dict[str, Any] | None:
    """The same tool call the model made, with input that yields exactly ``applied``; None if not text.

    A str_replace keeps its old_str when the reviewer's bytes differ from the file only between the same prefix and
    suffix (so the pair differs only where the reviewer changed something); otherwise it becomes a `create` with the
    whole applied file. Commands become run_command with the edited command (and the original cwd).
    """
    try:
        applied_text = applied.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if step.kind == "plan":
        # The reviewer's plan in propose_plan's own input shape (stored canonical JSON: title, steps, open_questions).
        try:
            edited_plan = json.loads(applied_text)
        except json.JSONDecodeError:
            return None
        return edited_plan if isinstance(edited_plan, dict) else None
    if step.kind == "command":
        tool_input: dict[str, Any] = {"command": applied_text}
        if "cwd" in step.tool_input:
            tool_input["cwd"] = step.tool_input["cwd"]
        return tool_input
    original = step.tool_input
    if original.get("command") == "str_replace" and step.old_content is not None:
        try:
            old_text = step.old_content.decode("utf-8")
        except UnicodeDecodeError:
            old_text = None
        old_str = original.get("old_str")
        if old_text is not None and isinstance(old_str, str) and old_str and old_text.count(old_str) == 1:
            at = old_text.index(old_str)
            prefix, suffix = old_text[:at], old_text[at + len(old_str) :]
            if (
                len(applied_text) >= len(prefix) + len(suffix)
                and applied_text.startswith(prefix)
                and applied_text.endswith(suffix)
            ):
                new_str = applied_text[len(prefix) : len(applied_text) - len(suffix)]
                return {
                    "command": "str_replace",
                    "path": original.get("path", step.path),
                    "old_str": old_str,
                    "new_str": new_str,
                }
    return {"command": "create", "path": original.get("path", step.path), "file_text": applied_text}


def _whitespace_only(a: bytes, b: bytes) -> bool:
    return b"".join(a.split()) == b"".join(b.split())


def _proposed_bytes(step: DecidedStep) -> bytes:
    if step.kind == "command":
        return (step.command or "").encode("utf-8")
    return step.new_content or b""


# -- sources -----------------------------------------------------------------------------------------------------------


_by_proposal_then_decision = operator.attrgetter("proposal_id", "decision_id")


def settled_steps(steps: Iterable[DecidedStep]) -> tuple[list[DecidedStep], int]:
    """One decision per proposal: an adjudication when there is one, else the latest of reviews that agree.

    Returns the kept steps and how many proposals were dropped because their reviewers disagreed, unsettled.
    """
    steps = list(steps)
    if len({step.proposal_id for step in steps}) == len(steps):  # one review each (the common case)
        return sorted(steps, key=_by_proposal_then_decision), 0
    by_proposal: dict[int, list[DecidedStep]] = {}
    for step in steps:
        by_proposal.setdefault(step.proposal_id, []).append(step)
    kept: list[DecidedStep] = []
    disagreements = 0
    for group in by_proposal.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        group.sort(key=lambda s: s.decision_id)
        adjudications = [s for s in group if s.review_stage == "adjudication"]
        if adjudications:
            kept.append(adjudications[-1])
        elif len({(s.verdict, s.edited_content) for s in group}) == 1:
            kept.append(group[-1])
        else:
            disagreements += 1
    kept.sort(key=_by_proposal_then_decision)
    return kept, disagreements


def session_examples(
    messages: Sequence[dict[str, Any]],
    steps: Iterable[DecidedStep],
    alternatives: dict[int, Sequence[ComparedAlternative]] | None = None,
) -> SessionExamples:
    """Every labelled completion and pair the decisions of one session yield (steps in proposal order).

    ``messages`` is the session's transcript in the Anthropic request shape, indexed by seq; ``alternatives`` the
    compared answers by compare id, for decisions made in compare mode.
    """
    completions: list[LabelledCompletion] = []
    pairs: list[PreferencePair] = []
    skipped: dict[str, int] = {}
    # Rejected proposals still waiting for an approved revision of the same target.
    waiting_revision: dict[tuple[str, str], list[tuple[DecidedStep, Completion]]] = {}

    def skip(why: str) -> None:
        skipped[why] = skipped.get(why, 0) + 1

    for step in sorted(steps, key=_by_proposal_then_decision):
        if step.kind == EFFECTS_KIND:
            # A change a command made, judged by a person: no model output to learn from (raw and trajectory keep it).
            skip("command_effects")
            continue
        if step.compare and alternatives is not None:
            compared_pairs, compared = compare_examples(step, alternatives.get(step.compare.get("compare_id", -1), ()))
            pairs.extend(compared_pairs)
            completions.extend(compared)
        proposed = proposed_completion(messages, step)
        if proposed is None:
            skip("missing_message")
            continue
        seq = step.message_seq
        if step.verdict == "reject":
            completions.append(LabelledCompletion(seq, proposed, False, SOURCE_REJECT, step))
            waiting_revision.setdefault(step.target, []).append((step, proposed))
            continue

        earlier_rejections = waiting_revision.pop(step.target, [])
        if step.verdict == "approve":
            completions.append(LabelledCompletion(seq, proposed, True, SOURCE_APPROVE, step))
            for rejected_step, rejected in earlier_rejections:
                # Only the tool calls: the revision's own words answer the rejection, which the earlier prompt lacks.
                chosen = Completion("", proposed.tool_use_id, proposed.tool_name, proposed.tool_input)
                plain_rejected = Completion("", rejected.tool_use_id, rejected.tool_name, rejected.tool_input)
                pairs.append(
                    PreferencePair(
                        rejected_step.message_seq, chosen, plain_rejected, SOURCE_REVISION, rejected_step, step
                    )
                )
                completions.append(
                    LabelledCompletion(
                        rejected_step.message_seq, chosen, True, SOURCE_REVISION, rejected_step, step, "chosen"
                    )
                )
            continue

        source = SOURCE_HUNKS if step.hunk_verdicts else SOURCE_EDIT
        applied = applied_bytes(step)
        if applied is None or applied == _proposed_bytes(step):
            # Split into hunks but everything approved: an approval.
            completions.append(LabelledCompletion(seq, proposed, True, SOURCE_APPROVE, step))
            continue
        tool_input = edited_tool_input(step, applied)
        if tool_input is None:
            skip("binary_content")
            continue
        chosen = Completion(proposed.text, proposed.tool_use_id, proposed.tool_name, tool_input)
        if _whitespace_only(applied, _proposed_bytes(step)):
            skip("whitespace_only_edit")
            completions.append(LabelledCompletion(seq, chosen, True, source, step, None, "chosen"))
            continue
        pairs.append(PreferencePair(seq, chosen, proposed, source, step))
        completions.append(LabelledCompletion(seq, chosen, True, source, step, None, "chosen"))
        completions.append(LabelledCompletion(seq, proposed, False, source, step, None, "rejected"))
    return SessionExamples(completions, pairs, skipped)


# -- rendering conversations -------------------------------------------------------------------------------------------


def _tool_result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for item in content or []:
        if item.get("type") == "text":
            parts.append(item.get("text", ""))
        else:
            parts.append(f"[{item.get('type', 'block')}]")
    return "\n".join(parts)


def tool_names_by_id(messages: Sequence[dict[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for message in messages:
        if message.get("role") == "assistant":
            for block in message.get("content") or []:
                if block.get("type") == "tool_use":
                    names[block.get("id", "")] = block.get("name", "")
    return names


def chat_messages(message: dict[str, Any], style: str, tool_names: dict[str, str]) -> list[dict[str, Any]]:
    """One stored message as chat messages: ``style`` 'trl' (arguments as objects, tool results named) or 'openai'
    (arguments as JSON strings, tool results by tool_call_id). Thinking blocks are left out."""
    role = message.get("role")
    blocks = message.get("content") or []
    if isinstance(blocks, str):
        return [{"role": role, "content": blocks}]
    if role == "assistant":
        texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
        calls = [
            tool_call(b.get("id", ""), b.get("name", ""), b.get("input") or {}, style)
            for b in blocks
            if b.get("type") == "tool_use"
        ]
        out: dict[str, Any] = {"role": "assistant"}
        text = "".join(texts)
        if text or not calls:
            out["content"] = text
        if calls:
            out["tool_calls"] = calls
        return [out]
    rendered: list[dict[str, Any]] = []
    texts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            tool_use_id = block.get("tool_use_id", "")
            if style == "openai":
                rendered.append({"role": "tool", "tool_call_id": tool_use_id, "content": _tool_result_text(block)})
            else:
                rendered.append(
                    {"role": "tool", "name": tool_names.get(tool_use_id, ""), "content": _tool_result_text(block)}
                )
        elif kind == "text":
            texts.append(block.get("text", ""))
        else:
            texts.append(f"[{kind}]")
    if texts:
        rendered.append({"role": "user", "content": "\n".join(texts)})
    return rendered


def tool_call(tool_use_id: str, name: str, arguments: dict[str, Any], style: str) -> dict[str, Any]:
    if style == "openai":
        return {
            "id": tool_use_id,
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
        }
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def completion_message(completion: Completion, style: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if completion.text or not completion.tool_name:
        message["content"] = completion.text
    if completion.tool_name:
        message["tool_calls"] = [tool_call(completion.tool_use_id, completion.tool_name, completion.tool_input, style)]
    return message


def system_message(system_prompt: str) -> dict[str, Any]:
    return {"role": "system", "content": system_prompt}


def function_tools(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The session's tools as JSON-schema function definitions ({"type": "function", "function": {...}})."""
    rendered: list[dict[str, Any]] = []
    for tool in tools:
        name = tool.get("name", "")
        if "input_schema" in tool:
            schema, description = tool["input_schema"], tool.get("description", "")
        elif name == EDITOR_TOOL_NAME or str(tool.get("type", "")).startswith("text_editor"):
            schema, description = EDITOR_TOOL_SCHEMA, EDITOR_TOOL_DESCRIPTION
        else:
            schema, description = (
                {"type": "object", "properties": {}},
                tool.get("description", str(tool.get("type", ""))),
            )
        rendered.append(
            {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}
        )
    return rendered


def hh_turn(message: dict[str, Any], tool_names: dict[str, str]) -> str:
    """One stored message as an hh-rlhf turn ("\\n\\nHuman: …" or "\\n\\nAssistant: …"); tool calls and results as
    tagged JSON text inside the turn."""
    blocks = message.get("content") or []
    if isinstance(blocks, str):
        blocks = [{"type": "text", "text": blocks}]
    parts: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append(block.get("text", ""))
        elif kind == "tool_use":
            parts.append(hh_tool_call(block.get("name", ""), block.get("input") or {}))
        elif kind == "tool_result":
            name = tool_names.get(block.get("tool_use_id", ""), "")
            parts.append(f'<tool_result name="{name}">\n{_tool_result_text(block)}\n</tool_result>')
    speaker = "Assistant" if message.get("role") == "assistant" else "Human"
    return f"\n\n{speaker}: " + "\n".join(p for p in parts if p)


def hh_tool_call(name: str, arguments: dict[str, Any]) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + "</tool_call>"


def hh_completion(completion: Completion) -> str:
    parts = [completion.text] if completion.text else []
    if completion.tool_name:
        parts.append(hh_tool_call(completion.tool_name, completion.tool_input))
    return "\n\nAssistant: " + "\n".join(parts)
