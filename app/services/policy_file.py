"""The workspace's policy file (``.signoff/policy.toml``): reading it, and changing it by a merge under a lock with a
backup, so concurrent writers (the CLI, the window's "Always allow") keep every rule and every comment. No Qt here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from app.domain.policy import (
    Policy,
    PolicyError,
    Rule,
    describe,
    loads,
    policy_path,
    text_with_review_effects,
    text_with_rules,
    text_with_rules_added,
    text_without_rule,
)
from app.services.safe_files import read_bytes_or_none, update_file

_Result = TypeVar("_Result")

__all__ = [
    "PolicyError",
    "add_rules",
    "load_policy",
    "policy_listing",
    "remove_rule",
    "save_policy",
    "set_review_effects",
]


def _text(raw: bytes | None, path: Path) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyError(
            f"{path} is not UTF-8 text ({err.reason} at byte {err.start}); Signoff changes nothing."
        ) from None


def load_policy(root: str | os.PathLike[str]) -> Policy:
    """The workspace's policy; no file means no rules (the defaults). Raises PolicyError for a broken file."""
    path = policy_path(root)
    try:
        raw = read_bytes_or_none(path)
    except OSError as err:
        raise PolicyError(f"Cannot read {path}: {err}.") from None
    text = _text(raw, path)
    return Policy() if text is None else loads(text, source=str(path))


def _update(root: str | os.PathLike[str], edit: Callable[[str | None, str], tuple[str, _Result]]) -> _Result:
    path = policy_path(root)

    def change(raw: bytes | None) -> tuple[bytes, _Result]:
        new_text, result = edit(_text(raw, path), str(path))
        return new_text.encode("utf-8"), result

    try:
        return update_file(path, change)
    except OSError as err:
        raise PolicyError(f"Cannot write {path}: {err.strerror or err}.") from None


def add_rules(root: str | os.PathLike[str], rules: Iterable[Rule]) -> Policy:
    """Append ``rules`` (those not there yet) to the file as it is now; refuses a file it cannot read."""
    wanted = list(rules)
    return _update(root, lambda text, source: text_with_rules_added(text, wanted, source=source))


def remove_rule(root: str | os.PathLike[str], number: int) -> Rule:
    """Remove rule ``number`` (1-based, as listed) from the file as it is now; returns it."""
    return _update(root, lambda text, source: text_without_rule(text, number, source=source))


def save_policy(root: str | os.PathLike[str], policy: Policy, *, loaded: Policy | None = None) -> Path:
    """Make the file hold ``policy``'s rules, keeping its comments and the tables of rules it keeps; with ``loaded``
    (what an editor started from), rules others added since are kept too."""
    before = None if loaded is None else loaded.rules
    _update(root, lambda text, source: text_with_rules(text, policy.rules, source=source, loaded=before))
    return policy_path(root)


def set_review_effects(root: str | os.PathLike[str], choice: str) -> Policy:
    """Set which command effects a person reviews in this workspace (always / outside / never)."""
    return _update(root, lambda text, source: text_with_review_effects(text, choice, source=source))


def policy_listing(root: str | os.PathLike[str]) -> str:
    """The policy as the command line shows it."""
    policy = load_policy(root)
    path = policy_path(root)
    if not policy.rules:
        return (
            f"No rules in {path}: reads run, edits and commands ask, paths outside the workspace are refused.\n"
            'Add one with: signoff policy add allow command "pytest -q"'
        )
    effects = f"\nCommand effects reviewed: {policy.review_effects}." + (
        " WARNING: a command's changes land without anyone seeing them." if policy.review_effects == "never" else ""
    )
    return f"Rules in {path} (the first that matches decides):\n" + "\n".join(describe(policy)) + effects
