"""The answers to one assistant message's tool calls: views run at once, plan and delegate calls go to the tree tools,
changeset mode acts in its worktree, and every other change becomes a proposal resolved by a decision. No Qt here."""

from __future__ import annotations

from typing import Any

from app.domain import changeset_words, tool_results
from app.domain.records import MessageRecord, ProposalRecord
from app.domain.tools import (
    COMMAND_TOOL_NAME,
    DELEGATE_TOOL_NAME,
    EDITOR_TOOL_NAME,
    PLAN_TOOL_NAME,
    changes_the_world,
)
from app.services import editor_tool
from app.services.agent_tree import TREE_TOOLS, Spawner, TreeTools
from app.services.command_tool import capped_for_model
from app.services.events import ToolResultSent
from app.services.proposal_drafts import draft_fields
from app.services.proposal_resolve import ProposalResolver
from app.services.run_context import RunContext
from app.services.workspace import ToolInputError


class ToolCalls:
    """Answers the tool calls of one session's messages, in order, as tool_result blocks."""

    def __init__(self, context: RunContext, spawner: Spawner | None) -> None:
        self._context = context
        self.session_id = context.session_id
        self._repository = context.repository
        self._emit = context.emit
        self._resolver = ProposalResolver(context)
        # Plan mode and delegation (services/agent_tree.py): propose_plan, delegate and the plan-mode gate.
        self._tree = TreeTools(context, spawner)
        self._tree_tools = {tool.get("name") for tool in context.session.tools} & set(TREE_TOOLS)

    async def answer(self, message: MessageRecord, tool_uses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        if DELEGATE_TOOL_NAME in self._tree_tools:
            # Every sub-agent of this message starts before any is waited for: they work in parallel.
            for block in tool_uses:
                if block["name"] == DELEGATE_TOOL_NAME:
                    await self._tree.launch(block["id"], block.get("input"))
        # Changeset mode: reviews proposed on demand before a call, and why the calls after a rejection are held.
        notes: list[str] = []
        held: str | None = None
        for block in tool_uses:
            tool_use_id, name, tool_input = block["id"], block["name"], block.get("input")
            proposal_id: int | None = None
            status: str | None = None
            if self._context.changeset is not None and held is None:
                review = await self._context.changeset.propose_if_requested(message.seq, tool_use_id)
                if review is not None:
                    notes.append(review.text)
                    if not review.merged_all and review.proposal_id is not None:
                        held = f"Read the review of changeset {review.proposal_id} below first."
            if held is not None:
                text = changeset_words.held(held)
                results.append(tool_results.result_block(tool_use_id, text, is_error=True))
                self._emit(ToolResultSent(self.session_id, tool_use_id, name, text, True, None, None))
                continue
            try:
                if name in self._tree_tools:
                    answer = self._tree.propose_plan if name == PLAN_TOOL_NAME else self._tree.delegate
                    text, is_error, proposal_id = await answer(message.seq, tool_use_id, tool_input)
                    results.append(tool_results.result_block(tool_use_id, capped_for_model(text), is_error=is_error))
                    self._emit(ToolResultSent(self.session_id, tool_use_id, name, text, is_error, proposal_id, None))
                    continue
                text, is_error, proposal_id, status = await self._answer_tool_call(
                    message.seq, tool_use_id, name, tool_input
                )
            except ToolInputError as err:
                text, is_error = str(err), True
            # The proposal keeps the full text; the model gets it cut like command output.
            results.append(tool_results.result_block(tool_use_id, capped_for_model(text), is_error=is_error))
            self._emit(ToolResultSent(self.session_id, tool_use_id, name, text, is_error, proposal_id, status))
        if notes:
            results.append({"type": "text", "text": "\n\n".join(notes)})
        return results

    async def _answer_tool_call(
        self, message_seq: int, tool_use_id: str, name: str, tool_input: Any
    ) -> tuple[str, bool, int | None, str | None]:
        """An editor or command call: refused in plan mode, carried out at once in changeset mode, else proposed and
        resolved by a decision (a view just runs). (text, is_error, proposal id, proposal status)."""
        if name not in (EDITOR_TOOL_NAME, COMMAND_TOOL_NAME):
            raise ToolInputError(f"There is no tool named {name!r}; use {EDITOR_TOOL_NAME} or {COMMAND_TOOL_NAME}.")
        if not changes_the_world(name, tool_input):
            return editor_tool.view(self._context.workspace, tool_input), False, None, None
        if self._tree_tools:
            refusal = await self._tree.plan_mode_refusal(name, tool_input)
            if refusal is not None:
                return refusal, True, None, None
        if self._context.changeset is not None:
            acted = await self._context.changeset.act(name, tool_input)
            if acted is not None:
                return acted[0], acted[1], None, None
        proposal = await self._proposal_for(message_seq, tool_use_id, name, tool_input)
        text, is_error = await self._resolver.resolve(proposal)
        status = (await self._repository.read(lambda store, pid: store.proposals.get(pid), proposal.id)).status
        return text, is_error, proposal.id, status

    async def _proposal_for(self, message_seq: int, tool_use_id: str, name: str, tool_input: Any) -> ProposalRecord:
        existing = await self._repository.read(lambda store: store.proposals.for_tool_use(self.session_id, tool_use_id))
        if existing is not None:
            return existing
        fields: dict[str, Any] = {
            "session_id": self.session_id,
            "message_seq": message_seq,
            "tool_use_id": tool_use_id,
            "tool_name": name,
            "tool_input": tool_input,
        }
        fields.update(draft_fields(self._context.workspace, name, tool_input))
        return await self._repository.write(lambda store: store.proposals.create(**fields))
