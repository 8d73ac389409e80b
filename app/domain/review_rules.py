"""Which proposals of a workspace need two independent reviews (by kind or path glob), and who may adjudicate.

Pure values and matching only: the rules are stored per workspace in the database (``review_rules``), never in the
workspace itself, because the agent under review can edit any file there. No I/O, no Qt, no store imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.lifecycle import ProposalStatus
from app.domain.path_glob import path_glob_regex

KINDS = ("edit", "create", "command", "effects")

# A proposal's place in team review, in words (the command line and the queue say these).
STATUS_WORDS = {
    ProposalStatus.PENDING: "waiting",
    ProposalStatus.AWAITING_SECOND_REVIEW: "awaiting second review",
    ProposalStatus.DISPUTED: "disputed: waits for adjudication",
}


class ReviewRulesError(ValueError):
    """Rules that cannot be stored as given; the message says why in one line."""


@dataclass(frozen=True)
class ReviewRules:
    # Proposal kinds that always need two reviews, e.g. ("command",).
    kinds: tuple[str, ...] = ()
    # Workspace-relative globs: '*' stays within one folder, '**' spans folders, a pattern without '/' matches the
    # file name at any depth (as in .gitignore), e.g. "migrations/**", "*.sql".
    path_globs: tuple[str, ...] = ()
    # Who may settle a disagreement; empty means anyone except the two reviewers who disagreed.
    adjudicators: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.kinds and not self.path_globs

    def needs_two_reviews(self, kind: str, path: str | None) -> bool:
        if kind in self.kinds:
            return True
        return path is not None and any(glob_matches(pattern, path) for pattern in self.path_globs)

    def may_adjudicate(self, person: str, reviewers: tuple[str, ...]) -> bool:
        if self.adjudicators:
            return person in self.adjudicators
        return person not in reviewers


NO_RULES = ReviewRules()


def checked(
    kinds: list[str] | tuple[str, ...],
    path_globs: list[str] | tuple[str, ...],
    adjudicators: list[str] | tuple[str, ...] = (),
) -> ReviewRules:
    """Rules from user input, cleaned; raises ReviewRulesError naming the first bad entry."""
    clean_kinds = tuple(dict.fromkeys(kind.strip().lower() for kind in kinds if kind.strip()))
    for kind in clean_kinds:
        if kind not in KINDS:
            raise ReviewRulesError(f"Unknown proposal kind {kind!r}; use {', '.join(KINDS)}.")
    clean_globs = tuple(dict.fromkeys(pattern.strip() for pattern in path_globs if pattern.strip()))
    for pattern in clean_globs:
        if pattern.startswith("/") or "\\" in pattern:
            raise ReviewRulesError(
                f"The path glob {pattern!r} must be relative to the workspace and use '/' (e.g. 'src/**/*.py')."
            )
        if any(part == ".." for part in pattern.split("/")):
            raise ReviewRulesError(f"The path glob {pattern!r} must stay inside the workspace (no '..').")
    clean_people = tuple(dict.fromkeys(name.strip() for name in adjudicators if name.strip()))
    return ReviewRules(clean_kinds, clean_globs, clean_people)


def glob_matches(pattern: str, path: str) -> bool:
    """Whether the workspace-relative '/'-separated ``path`` matches ``pattern`` (see ReviewRules.path_globs)."""
    return path_glob_regex(pattern).match(path[2:] if path.startswith("./") else path) is not None
