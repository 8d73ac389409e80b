"""Compare mode: sample N alternatives for a waiting proposal's step, draft each like a proposal, and pick one.

An alternative answers exactly the prompt the original answered (the conversation before the step, the same system
prompt, tools and sampling settings, recorded with each answer). Its first world-changing tool call is drafted against
the workspace as it is now; one that proposes no change (only text, a view, a call that cannot be drafted) is kept too,
as a completion the reviewer ranked. Sampling only reads, so any process with an API client may do it (the window,
``signoff compare``); a pick goes through the database like any decision, and the session's runner carries it out.
No Qt here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.lifecycle import ProposalStatus
from app.domain.policy import PolicyError
from app.domain.records import AlternativeRecord, CompareRecord, DecisionRecord, MessageRecord, ProposalRecord
from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME, changes_the_world, system_blocks, tools_for_request
from app.services import review
from app.services.compare_limits import DEFAULT_ALTERNATIVES, MAX_ALTERNATIVES, MIN_ALTERNATIVES
from app.services.policy_file import load_policy
from app.services.review import ReviewError
from app.services.workspace import ToolInputError, Workspace
from app.store.audit import alternative_content_sha256
from app.store.compare import REPLACED

NO_CHANGE = "none"


class CompareError(Exception):
    """A compare or pick that cannot be done as asked; the message says why in one line."""


@dataclass(frozen=True)
class PickRequest:
    """The reviewer's choice among a compare's alternatives: ``position`` (0 = the original), or None to reject all."""

    proposal_id: int
    compare_id: int
    position: int | None
    reviewer: str
    reason: str | None = None
    time_on_screen_ms: int | None = None
    shown_at: dt.datetime | None = None
    channel: str = "window"
    strength: int | None = None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The audit chain recomputes it when verifying (app.store.audit.compare_problem).
content_sha256 = alternative_content_sha256


# -- what may be compared ----------------------------------------------------------------------------------------------


def check_comparable(proposal: ProposalRecord, messages: list[MessageRecord], count: int) -> MessageRecord:
    """The step's assistant message, if the proposal can get alternatives; else CompareError saying why."""
    if not MIN_ALTERNATIVES <= count <= MAX_ALTERNATIVES:
        raise CompareError(f"Ask for {MIN_ALTERNATIVES} to {MAX_ALTERNATIVES} alternatives, not {count}.")
    if proposal.status != ProposalStatus.PENDING:
        raise CompareError(f"Proposal {proposal.id} no longer waits ({proposal.status}); there is nothing to compare.")
    if proposal.message_seq >= len(messages) or messages[proposal.message_seq].role != "assistant":
        raise CompareError(f"Proposal {proposal.id}'s step is missing from its session's transcript.")
    if proposal.message_seq != len(messages) - 1:
        raise CompareError(f"The conversation went on after proposal {proposal.id}'s step; it cannot be resampled.")
    message = messages[proposal.message_seq]
    others = [
        block
        for block in message.content
        if block.get("type") == "tool_use"
        and block.get("id") != proposal.tool_use_id
        and changes_the_world(block.get("name", ""), block.get("input"))
    ]
    if others:
        raise CompareError(
            f"Proposal {proposal.id}'s step makes {len(others) + 1} changes at once; compare works on a step with one."
        )
    return message


def prompt_messages(messages: list[MessageRecord], seq: int) -> list[dict[str, Any]]:
    """The conversation before the step, exactly as the runner sent it (cache breakpoint on its last block)."""
    prompt = [{"role": m.role, "content": [dict(block) for block in m.content]} for m in messages[:seq]]
    if prompt:
        prompt[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return prompt


# -- drafting an alternative -------------------------------------------------------------------------------------------


def chosen_tool_use(content: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The tool call an alternative is judged by: its first world-changing one, else its first one, else None."""
    tool_uses = [block for block in content if block.get("type") == "tool_use"]
    for block in tool_uses:
        if changes_the_world(block.get("name", ""), block.get("input")):
            return block
    return tool_uses[0] if tool_uses else None


def history_content(content: list[dict[str, Any]], tool_use_id: str) -> list[dict[str, Any]]:
    """What enters the transcript when an alternative is picked: its blocks up to its chosen tool call, without other
    tool calls (the step is that one call, and every tool call in history needs its own result)."""
    kept: list[dict[str, Any]] = []
    for block in content:
        if block.get("type") == "tool_use":
            if block.get("id") == tool_use_id:
                kept.append(block)
                return kept
            continue
        kept.append(block)
    return kept


def _text_of(content: list[dict[str, Any]]) -> str:
    return "".join(block.get("text", "") for block in content if block.get("type") == "text").strip()


def _no_change(note: str) -> dict[str, Any]:
    return dict(kind=NO_CHANGE, note=note, shown_text=note, shown_hash=_sha256(note), lines_added=0, lines_removed=0)


def draft_alternative(
    workspace: Workspace,
    position: int,
    content: list[dict[str, Any]] | None,
    *,
    sampling: dict[str, Any],
    usage: dict[str, Any] | None = None,
    api_message_id: str | None = None,
    stop_reason: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The stored fields of one alternative (see app.store.models.Alternative)."""
    fields: dict[str, Any] = dict(
        position=position,
        content=content,
        sampling=sampling,
        usage=usage,
        api_message_id=api_message_id,
        stop_reason=stop_reason,
    )
    if content is None:
        fields.update(_no_change(f"The request failed: {error or 'no answer'}"))
        return fields
    block = chosen_tool_use(content)
    if block is None:
        said = _text_of(content)
        fields.update(
            _no_change("No change proposed: it only answered in words." + (f" “{said[:200]}”" if said else ""))
        )
        return fields
    name, tool_input = block.get("name", ""), block.get("input")
    fields.update(
        tool_use_id=block.get("id"), tool_name=name, tool_input=tool_input if isinstance(tool_input, dict) else {}
    )
    if name not in (EDITOR_TOOL_NAME, COMMAND_TOOL_NAME):
        fields.update(_no_change(f"No change proposed: it calls an unknown tool {name!r}."))
    elif not changes_the_world(name, tool_input):
        path = tool_input.get("path", "?") if isinstance(tool_input, dict) else "?"
        fields.update(_no_change(f"No change proposed: it only views {path}."))
    else:
        try:
            from app.services.proposal_drafts import draft_fields

            fields.update(draft_fields(workspace, name, tool_input))
        except ToolInputError as err:
            fields.update(_no_change(f"No change proposed: its tool call cannot be carried out ({err})."))
    return fields


def original_alternative(proposal: ProposalRecord, message: MessageRecord, sampling: dict[str, Any]) -> dict[str, Any]:
    """Position 0: the proposal as the reviewer first saw it, with the message it came from."""
    return dict(
        position=0,
        content=message.content,
        sampling=sampling,
        usage=message.usage,
        api_message_id=None,
        stop_reason=message.stop_reason,
        tool_use_id=proposal.tool_use_id,
        tool_name=proposal.tool_name,
        tool_input=proposal.tool_input,
        kind=proposal.kind,
        path=proposal.path,
        command=proposal.command,
        cwd=proposal.cwd,
        base_hash=proposal.base_hash,
        old_content=proposal.old_content,
        new_content=proposal.new_content,
        shown_text=proposal.shown_text,
        shown_hash=proposal.shown_hash,
        lines_added=proposal.lines_added,
        lines_removed=proposal.lines_removed,
        note=None,
    )


# -- sampling ----------------------------------------------------------------------------------------------------------


async def sample(
    repository: Any,
    client: Any,
    proposal_id: int,
    count: int = DEFAULT_ALTERNATIVES,
    *,
    requested_by: str,
    channel: str = "window",
) -> CompareRecord:
    """Ask the API ``count`` times in parallel for the proposal's step; store and return the compare.

    ``repository`` is an AsyncRepository; ``client`` an anthropic.AsyncAnthropic (not closed here). Each request
    carries the session's own sampling settings (the Messages API version in use takes no temperature: the answers
    differ by the model's own sampling), recorded with every alternative as sent.
    """
    proposal = await repository.read(lambda store: store.proposals.get(proposal_id))
    session = await repository.read(lambda store: store.sessions.get(proposal.session_id))
    messages = await repository.read(lambda store: store.sessions.messages(proposal.session_id))
    message = check_comparable(proposal, messages, count)
    prompt = prompt_messages(messages, proposal.message_seq)
    sampling = dict(session.sampling)

    async def one() -> Any:
        async with client.messages.stream(
            model=session.model,
            system=system_blocks(session.system_prompt),
            tools=tools_for_request(session.tools),
            messages=prompt,
            **sampling,
        ) as stream:
            return await stream.get_final_message()

    answers = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    if all(isinstance(answer, BaseException) for answer in answers):
        first = answers[0]
        if isinstance(first, asyncio.CancelledError):
            raise first
        raise CompareError(f"No alternative could be sampled: {type(first).__name__}: {first}")
    workspace = Workspace(session.workspace_root)
    alternatives = [original_alternative(proposal, message, sampling)]
    seen_ids = {block.get("id") for m in messages for block in m.content if block.get("type") == "tool_use"}
    for position, answer in enumerate(answers, start=1):
        if isinstance(answer, asyncio.CancelledError):
            raise answer
        if isinstance(answer, BaseException):
            alternatives.append(
                draft_alternative(
                    workspace, position, None, sampling=sampling, error=f"{type(answer).__name__}: {answer}"
                )
            )
            continue
        from app.services.model_turn import assistant_content_for_history

        content = assistant_content_for_history(answer.content)
        for block in content:
            # Every tool call in a session has its own id (proposals are keyed by it); a clash would be a stand-in
            # script reusing one, never the API, but must not make a pick collide with another proposal.
            if block.get("type") == "tool_use":
                if block.get("id") in seen_ids:
                    block["id"] = f"{block.get('id')}_alt{position}"
                seen_ids.add(block.get("id"))
        usage = answer.usage.model_dump(mode="json", exclude_none=True) if answer.usage else {}
        alternatives.append(
            await asyncio.to_thread(
                draft_alternative,
                workspace,
                position,
                content,
                sampling=sampling,
                usage=usage,
                api_message_id=answer.id,
                stop_reason=answer.stop_reason,
            )
        )
        await repository.write(lambda store, used: store.sessions.add_usage(session.id, used), usage)
    return await repository.write(
        lambda store: store.compares.create(
            proposal.id, requested_by=requested_by, channel=channel, count=count, alternatives=alternatives
        )
    )


# -- picking -----------------------------------------------------------------------------------------------------------


def summary(compare: CompareRecord, picked: int | None) -> dict[str, Any]:
    """What the decision records (and the audit chain covers): every alternative shown, by hash, and the pick."""
    return {
        "compare_id": compare.id,
        "picked": picked,
        "alternatives": [
            {"position": a.position, "shown_hash": a.shown_hash, "content_sha256": content_sha256(a.content)}
            for a in compare.alternatives
        ],
    }


def pick(repository: Any, request: PickRequest) -> DecisionRecord:
    """Record the reviewer's pick (or rejection of all) durably; the runner carries it out. Runs on the database
    thread with the synchronous Repository. Raises CompareError, ReviewError and the store's errors."""
    if not request.reviewer.strip():
        raise ReviewError("A decision needs a reviewer name (set it in Settings).")
    proposal = repository.proposals.get(request.proposal_id)
    if proposal.status == REPLACED:
        said = (proposal.result or {}).get("content", "")
        raise CompareError(f"Proposal {proposal.id} was already decided in compare mode: {said}")
    compare = repository.compares.get(request.compare_id)
    if compare.proposal_id != request.proposal_id:
        raise CompareError(f"Compare {request.compare_id} is not about proposal {request.proposal_id}.")
    record = summary(compare, request.position)
    context = dict(
        time_on_screen_ms=request.time_on_screen_ms,
        shown_at=request.shown_at,
        channel=request.channel,
        strength=request.strength,
        compare=record,
    )
    if request.position is None:
        if not (request.reason or "").strip():
            raise ReviewError("Rejecting every alternative needs a reason: the agent revises from it.")
        return review.decide(
            repository, review.reject(request.proposal_id, request.reviewer, request.reason, **context)
        )
    positions = {a.position: a for a in compare.alternatives}
    alternative = positions.get(request.position)
    if alternative is None:
        raise CompareError(
            f"Compare {compare.id} has no alternative {request.position} (it has 0 to {len(positions) - 1})."
        )
    if request.position == 0:
        return review.decide(repository, review.approve(request.proposal_id, request.reviewer, **context))
    if not alternative.proposes_change:
        raise CompareError(f"{alternative.label} proposes no change ({alternative.note}); pick another or reject all.")
    if request.strength is not None and not (isinstance(request.strength, int) and 1 <= request.strength <= 5):
        raise ReviewError("A strength rating is a whole number from 1 to 5.")
    _refuse_if_denied(alternative, proposal.workspace_root)
    decision, _picked_id = repository.compares.pick(
        request.proposal_id,
        alternative.id,
        history_content=history_content(alternative.content or [], alternative.tool_use_id or ""),
        reviewer=request.reviewer,
        compare=record,
        channel=request.channel,
        time_on_screen_ms=request.time_on_screen_ms,
        shown_at=request.shown_at,
        strength=request.strength,
    )
    return decision


def _refuse_if_denied(alternative: AlternativeRecord, root: str) -> None:
    """A sampled alternative never went through the workspace's policy as the original did: what it denies is not
    picked (an unreadable policy denies nothing here; the window shows why it is not used)."""
    try:
        verdict = load_policy(root).check(alternative, root)
    except PolicyError:
        return
    if verdict.action == "deny":
        raise CompareError(f"{alternative.label} is denied by this workspace's policy: {verdict.reason}")


# -- words -------------------------------------------------------------------------------------------------------------


def sampling_text(sampling: dict[str, Any]) -> str:
    parts = []
    if "temperature" in sampling:
        parts.append(f"temperature {sampling['temperature']:g}")
    for key in ("top_p", "top_k"):
        if key in sampling:
            parts.append(f"{key} {sampling[key]}")
    if "max_tokens" in sampling:
        parts.append(f"max_tokens {sampling['max_tokens']}")
    return ", ".join(parts) or "API defaults"


def target_text(alternative: AlternativeRecord) -> str:
    if alternative.kind == "command":
        return f"command: {alternative.command}"
    if alternative.kind == NO_CHANGE:
        return "no change proposed"
    sign = f"+{alternative.lines_added} −{alternative.lines_removed}"
    return f"{alternative.kind} {alternative.path} ({sign})"


def header_text(alternative: AlternativeRecord) -> str:
    """One line naming an alternative: which, what it changes, with what sampling."""
    return f"{alternative.label} · {target_text(alternative)} · {sampling_text(alternative.sampling)}"


def identical_to(alternatives: Sequence[AlternativeRecord]) -> dict[int, int]:
    """For each alternative whose effect equals an earlier one's (same kind, file or command, same shown change), the
    position of the first such earlier one."""
    first_with: dict[tuple, int] = {}
    same: dict[int, int] = {}
    for alternative in alternatives:
        effect = (alternative.kind, alternative.path, alternative.command, alternative.cwd, alternative.shown_hash)
        if effect in first_with:
            same[alternative.position] = first_with[effect]
        else:
            first_with[effect] = alternative.position
    return same
