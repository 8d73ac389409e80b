"""``signoff show | approve | reject | edit | decide | undo | claim | release``: one reviewer's actions on one proposal,
each through the same service function the window calls (app.services.review, undo; the store's claims)."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from app.cli import common
from app.cli.errors import CliError


def show(args: argparse.Namespace, db_url: str | None) -> int:
    repository = common.repository(db_url)
    proposal = common.proposal(repository, args.proposal_id)
    if getattr(args, "json", False):
        from app.cli.judges import show_json

        return show_json(repository, proposal)
    print(f"Proposal {proposal.id} · session {proposal.session_id} · {proposal.status} · {common.summary(proposal)}")
    print(f"Workspace: {proposal.workspace_root}")
    if proposal.kind == "command":
        print(f"Working directory: {proposal.cwd or '.'}")
        print(f"$ {proposal.command}")
    elif proposal.kind in ("plan", "delegate"):
        # The numbered steps exactly as proposed (`signoff edit ID --file PLAN.md` takes the same shape back).
        sys.stdout.write("\n" + proposal.shown_text)
    elif proposal.kind == "changeset":
        from app.cli.changeset import print_changeset

        print_changeset(repository, proposal)
    else:
        _print_effect_origin(proposal)
        sys.stdout.write(numbered_hunks(proposal.shown_text))
    from app.cli.judges import print_judges

    print_judges(repository, proposal)
    # A first of two reviews stays hidden until the proposal is decided (reviews are independent).
    decision = repository.proposals.visible_decision(proposal.id)
    if proposal.status in ("awaiting_second_review", "disputed"):
        from app.domain.review_rules import STATUS_WORDS

        print(f"Review: {STATUS_WORDS[proposal.status]}.")
        if proposal.status == "disputed":
            _print_reviews_for_adjudicator(repository, proposal.id, common.reviewer(args))
    if decision is not None:
        reason = f": {decision.reason}" if decision.reason else ""
        print(f"Decision: {decision.verdict} by {decision.reviewer}{reason}")
        if decision.grants:
            print(f"Granted to the command: {grant_words(decision.grants)}.")
        for entry in decision.hunk_verdicts or []:
            detail = f": {entry['reason']}" if entry.get("reason") else ""
            print(f"  Hunk {entry['hunk'] + 1}: {entry['verdict']}{detail}")
    if proposal.kind == "command" and proposal.result:
        _print_command_effects(proposal.result.get("effects"))
    if proposal.kind == "plan" and decision is not None and decision.verdict == "edit" and decision.edited_content:
        from app.domain import plans

        print("The plan as the reviewer edited it:")
        sys.stdout.write(plans.render_markdown(plans.plan_from_bytes(decision.edited_content)))
    return 0


def _print_command_effects(effects: dict | None) -> None:
    """Under which sandbox the command ran and what it changed (applied, and held back with why)."""
    if not effects:
        print("Sandbox: not recorded (run before commands were sandboxed).")
        return
    print(f"Sandbox: {effects.get('sandbox', 'unknown')}")
    if not effects.get("captured", True):
        print("Changes: not captured; it ran unsandboxed.")
        return
    applied, held = effects.get("applied", []), effects.get("not_applied", [])
    if not applied and not held:
        print("Changes: none.")
    for entry in applied:
        print(f"  applied: {entry.get('path')} {entry.get('change')}")
    for entry in held:
        print(f"  NOT applied: {entry.get('path')} {entry.get('change')} ({entry.get('why', '')})")
        if entry.get("diff"):
            sys.stdout.write("".join("    " + line for line in entry["diff"].splitlines(keepends=True)))
    for entry in effects.get("reviewed", []):
        print(f"  reviewed as proposal {entry.get('proposal_id')}: {entry.get('path')} ({entry.get('status')})")


def grant_words(grants: dict) -> str:
    return " and ".join(
        word for key, word in (("git_writes", ".git writes"), ("network", "network")) if grants.get(key)
    )


def _print_effect_origin(proposal: Any) -> None:
    """For a held change of a command: which command made it, and how it can be judged."""
    from app.domain.tools import EFFECTS_KIND

    if proposal.kind != EFFECTS_KIND:
        return
    origin = proposal.tool_input or {}
    effect = origin.get("effect") or {}
    print(
        f"Held change of command proposal {origin.get('command_proposal')} (`{origin.get('command')}`): "
        f"{effect.get('path')} {effect.get('change')}; it lands only if approved."
    )
    if origin.get("meta"):
        print("A link, folder or mode change: approve or reject it as a whole.")


def _print_reviews_for_adjudicator(repository: Any, proposal_id: int, reviewer: str) -> None:
    from app.store.team_review import DecisionRefusedError

    try:
        verdicts = repository.reviews.earlier_verdicts(proposal_id, reviewer)
    except DecisionRefusedError:
        print("You may not adjudicate it, so its two reviews stay hidden from you.")
        return
    for verdict in verdicts:
        reason = f": {verdict.reason}" if verdict.reason else ""
        print(f"  {verdict.stage} review by {verdict.reviewer}: {verdict.verdict}{reason}")
    print(f"Settle it with `signoff approve|reject|edit {proposal_id} --adjudication`.")


def numbered_hunks(shown_text: str) -> str:
    """The shown diff with "Hunk 1 of 3" above each hunk, the numbers `signoff decide --hunk N=...` takes."""
    lines = shown_text.splitlines(keepends=True)
    # Inside a hunk every line starts with ' ', '+', '-' or '\\': only headers start with "@@".
    total = sum(1 for line in lines if line.startswith("@@ "))
    numbered, number = [], 0
    for line in lines:
        if line.startswith("@@ ") and total:
            number += 1
            numbered.append(f"── Hunk {number} of {total} ──\n")
        numbered.append(line)
    text = "".join(numbered)
    return text if text.endswith("\n") else text + "\n"


def parse_hunk_verdicts(specs: list[str]) -> list[Any]:
    """``N=approve``, ``N=reject:REASON``, ``N=edit:PATH`` (N counts from 1) -> HunkVerdicts (0-based)."""
    from app.domain.hunks import HunkVerdict

    verdicts = []
    for spec in specs:
        number, equals, rest = spec.partition("=")
        if not equals or not number.strip().isdigit() or int(number) < 1:
            raise CliError(
                f"--hunk {spec!r}: write N=approve, N=reject:REASON or N=edit:PATH, with N from `signoff show`."
            )
        index = int(number) - 1
        verdict, _colon, detail = rest.partition(":")
        verdict = verdict.strip().lower()
        if verdict == "approve":
            verdicts.append(HunkVerdict(index, "approve"))
        elif verdict == "reject":
            if not detail.strip():
                raise CliError(f"--hunk {spec!r}: a rejected hunk needs a reason: {number}=reject:REASON.")
            verdicts.append(HunkVerdict(index, "reject", reason=detail.strip()))
        elif verdict == "edit":
            if not detail:
                raise CliError(
                    f"--hunk {spec!r}: an edited hunk needs the file with its new lines: {number}=edit:PATH."
                )
            verdicts.append(HunkVerdict(index, "edit", edited=common.read_edit_file(detail)))
        else:
            raise CliError(f"--hunk {spec!r}: unknown verdict {verdict!r}; use approve, reject:REASON or edit:PATH.")
    return verdicts


def decide_hunks(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services import decisions, review
    from app.store.errors import StoreError

    repository = common.repository(db_url)
    proposal = common.proposal(repository, args.proposal_id)
    # Every hunk's file is read (and refused) before anything is recorded.
    verdicts = parse_hunk_verdicts(args.hunk)
    try:
        request = review.by_hunk(proposal.id, "", verdicts)
        decision = decisions.decide(repository, request, decisions.Actor.cli(common.reviewer(args))).decision
    except (review.ReviewError, StoreError) as err:
        raise CliError(str(err)) from None
    words = {"approve": "applied", "reject": "NOT applied", "edit": "applied with your edit"}
    judged = ", ".join(
        f"hunk {entry['hunk'] + 1} {words[entry['verdict']]}" + (f" ({entry['reason']})" if entry["reason"] else "")
        for entry in decision.hunk_verdicts or []
    )
    print(f"Decided hunk by hunk: proposal {proposal.id} ({common.summary(proposal)}): {judged}.")
    common.say_who_applies(repository, proposal.session_id)
    return 0


def approve(args: argparse.Namespace, db_url: str | None) -> int:
    return _decide(args, db_url, "approve")


def reject(args: argparse.Namespace, db_url: str | None) -> int:
    return _decide(args, db_url, "reject")


def edit(args: argparse.Namespace, db_url: str | None) -> int:
    return _decide(args, db_url, "edit")


def _decide(args: argparse.Namespace, db_url: str | None, verdict: str) -> int:
    """Record the decision through the one decision path; on a SQLite file at the schema's head a plain decision is
    written with sqlite3 (app.store.decide_lite), so the command starts without SQLAlchemy. Whatever is not plain,
    and any database trouble on that way, goes to the repository, which words it."""
    import sqlite3

    from app.store.decide_lite import NeedsRepository, open_lite_decisions

    # Read at most once, whichever store records it: the file may be a pipe (`--file /dev/stdin`) that a second read
    # finds empty. Bounded: at most MAX_EDIT_FILE_BYTES of UTF-8 text, refused before anything is recorded.
    edited = functools.cache(lambda: common.read_edit_file(args.file) if verdict == "edit" else None)
    found = common.sqlite_file_and_head(db_url)
    lite = open_lite_decisions(*found) if found is not None else None
    if lite is not None:
        try:
            try:
                proposal, decision = _record(lite, args, verdict, edited)
            except (NeedsRepository, sqlite3.Error):
                pass  # nothing was written: the repository records it
            else:
                try:
                    return _report(lite, proposal, decision)
                except sqlite3.Error:
                    return _report(common.repository(db_url), proposal, decision)
        finally:
            lite.close()
    repository = common.repository(db_url)
    proposal, decision = _record(repository, args, verdict, edited)
    return _report(repository, proposal, decision)


def _record(store: Any, args: argparse.Namespace, verdict: str, edited: Callable[[], bytes | None]) -> tuple[Any, Any]:
    from app.services import decisions, review

    proposal = common.proposal(store, args.proposal_id)
    granted = review.grants(
        git_writes=bool(getattr(args, "grant_git", False)), network=bool(getattr(args, "grant_network", False))
    )
    request = review.DecisionRequest(
        proposal.id, verdict, "", reason=getattr(args, "reason", None), edited_content=edited(), grants=granted
    )
    actor = decisions.Actor.cli(common.reviewer(args), adjudication=bool(getattr(args, "adjudication", False)))
    try:
        return proposal, decisions.decide(store, request, actor).decision
    except Exception as err:
        failure = decisions.failure(err, proposal.id)
        if failure is None:
            raise
        raise CliError(failure.message) from None


def _report(store: Any, proposal: Any, decision: Any) -> int:
    from app.domain.review_rules import STATUS_WORDS
    from app.services.settings import load_settings

    status_now = store.proposals.get(proposal.id).status
    if status_now in STATUS_WORDS and status_now != "pending":
        print(
            f"Recorded your review of proposal {proposal.id} ({common.summary(proposal)}); "
            f"it is now {STATUS_WORDS[status_now]}."
        )
        return 0
    words = {"approve": "Approved", "reject": "Rejected", "edit": "Approved with your edit"}[decision.verdict]
    print(f"{words}: proposal {proposal.id} ({common.summary(proposal)}).")
    if decision.grants:
        print(f"Granted to the command: {grant_words(decision.grants)}.")
    window_s = load_settings().undo_seconds
    if window_s > 0:
        print(f"It takes effect in {window_s:g} s; until then `signoff undo {proposal.id}` takes it back.")
    common.say_who_applies(store, proposal.session_id)
    return 0


def undo(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services import decisions
    from app.services.settings import load_settings
    from app.store.errors import UndoRefusedError, UnknownItemError

    repository = common.repository(db_url)
    window_s = load_settings().undo_seconds
    try:
        proposal = decisions.undo(
            repository, args.proposal_id, decisions.Actor.cli(common.reviewer(args)), window_s=window_s
        )
    except (UndoRefusedError, UnknownItemError) as err:
        raise CliError(str(err)) from None
    print(f"Undone: proposal {proposal.id} ({common.summary(proposal)}) waits for a decision again.")
    return 0


def claim(args: argparse.Namespace, db_url: str | None) -> int:
    return _claim(args, db_url, release=False)


def release(args: argparse.Namespace, db_url: str | None) -> int:
    return _claim(args, db_url, release=True)


def _claim(args: argparse.Namespace, db_url: str | None, *, release: bool) -> int:
    import datetime as dt

    from app.store.errors import UnknownItemError, clock
    from app.store.team_review import DecisionRefusedError

    reviewer = common.reviewer(args)
    repository = common.repository(db_url)
    try:
        if release:
            if not repository.claims.release(args.proposal_id, reviewer):
                raise CliError(f"{reviewer} holds no claim on proposal {args.proposal_id}.")
            print(f"Released proposal {args.proposal_id}.")
            return 0
        # The parser refuses nan, inf and leases out of range (app.cli.parser.lease_seconds).
        claim = repository.claims.claim(args.proposal_id, reviewer, lease=dt.timedelta(seconds=args.lease))
    except (DecisionRefusedError, UnknownItemError) as err:
        raise CliError(str(err)) from None
    print(f"Claimed proposal {claim.proposal_id} until {clock(claim.expires_at)} for {reviewer}.")
    return 0
