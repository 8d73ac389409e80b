"""What "always allow this here" would add, before it is added: the exact rule text and the past proposals of the
workspace each rule would have matched (and how they were judged). Pure: plain records in, plain records out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.policy import Policy, Rule, parse_command, rule_text

# Past proposals listed per preview; the count says how many matched in all.
LISTED_MATCHES = 50


@dataclass(frozen=True)
class PastMatch:
    proposal_id: int
    target: str  # the command, or the kind and path
    verdict: str  # approve | reject | edit | … as decided then
    reviewer: str


@dataclass(frozen=True)
class AllowPreview:
    proposal_id: int
    workspace_root: str
    rules: tuple[Rule, ...]
    # Each rule as written into .signoff/policy.toml, in order.
    text: str
    matches: tuple[PastMatch, ...]
    matched_count: int
    history_count: int

    @property
    def rejected_matches(self) -> int:
        return sum(1 for m in self.matches if m.verdict == "reject")


def rule_matches(rule: Rule, proposal: Any) -> bool:
    """Whether ``rule`` speaks of ``proposal``: a command part with exactly its words, or its path and kind."""
    if proposal.kind == "command":
        if rule.kind != "command":
            return False
        parsed = parse_command(proposal.command or "")
        return any(rule.matches_words(item.words) for item in parsed.commands)
    return rule.matches_path(proposal.kind, proposal.path or "")


def _same(a: Rule, b: Rule) -> bool:
    return (a.action, a.kind, a.pattern, a.match) == (b.action, b.kind, b.pattern, b.match)


def _target(proposal: Any) -> str:
    if proposal.kind == "command":
        return f"$ {(proposal.command or '').splitlines()[0][:160]}" if proposal.command else "$"
    return f"{proposal.kind} {proposal.path}"


def preview_always_allow(
    proposal: Any, rules: list[Rule], current: Policy, history: list[tuple[Any, Any]]
) -> AllowPreview:
    """The rules not yet in ``current``, their text, and which of ``history``'s (proposal, decision) pairs (this
    workspace's past) they would have matched, newest first; ``proposal`` itself is not its own past."""
    new_rules = tuple(r for r in rules if not any(_same(r, old) for old in current.rules))
    past = [(p, d) for p, d in history if p.id != proposal.id]
    matched = [(p, d) for p, d in past if any(rule_matches(rule, p) for rule in new_rules)]
    matched.sort(key=lambda pair: -pair[0].id)
    return AllowPreview(
        proposal_id=proposal.id,
        workspace_root=proposal.workspace_root,
        rules=new_rules,
        text="\n".join(rule_text(rule) for rule in new_rules),
        matches=tuple(PastMatch(p.id, _target(p), d.verdict, d.reviewer) for p, d in matched[:LISTED_MATCHES]),
        matched_count=len(matched),
        history_count=len(past),
    )
