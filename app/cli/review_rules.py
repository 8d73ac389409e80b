"""``signoff review-rules show | set``: which proposals of a workspace need two reviews, and who adjudicates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli import common
from app.cli.errors import CliError


def review_rules(args: argparse.Namespace, db_url: str | None) -> int:
    from app.domain.review_rules import ReviewRulesError

    root = Path(args.workspace).expanduser()
    if not root.is_dir():
        raise CliError(f"The workspace folder {root} does not exist or is not a folder.")
    workspace = str(root.resolve())
    repository = common.repository(db_url)
    if args.rules_command == "set":
        try:
            rules = repository.reviews.set_rules(
                workspace,
                kinds=_comma_list([args.kinds]),
                path_globs=_comma_list(args.paths),
                adjudicators=_comma_list([args.adjudicators]),
                updated_by=common.reviewer(args) or None,
            )
        except ReviewRulesError as err:
            raise CliError(str(err)) from None
        print(f"Saved the review rules of {workspace}.")
    else:
        rules = repository.reviews.rules(workspace)
    print(_rules_text(rules))
    return 0


def _comma_list(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _rules_text(rules: Any) -> str:
    if rules.is_empty:
        return "One review decides every proposal here (no two-review rules)."
    lines = ["Two independent reviews for:"]
    if rules.kinds:
        lines.append("  kinds: " + ", ".join(rules.kinds))
    if rules.path_globs:
        lines.append("  paths: " + ", ".join(rules.path_globs))
    lines.append(
        "Disagreements are settled by: "
        + (", ".join(rules.adjudicators) if rules.adjudicators else "anyone except the two reviewers")
    )
    return "\n".join(lines)
