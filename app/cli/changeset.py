"""``signoff changeset SESSION [--propose]`` and the changeset part of ``signoff show``: a changeset-mode session's
worktree and its unreviewed changes, a changeset's files and numbered hunks (the numbers `signoff decide` takes)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli import common
from app.cli.errors import CliError


def add_commands(commands) -> None:
    sub = commands.add_parser(
        "changeset", help="a changeset-mode session's worktree and unreviewed changes; --propose asks for a review now"
    )
    sub.add_argument("session_id", type=_record_id, metavar="SESSION")
    sub.add_argument("--propose", action="store_true", help="the agent proposes its changeset at its next step")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--db", metavar="URL", dest="sub_db")


def _record_id(text: str) -> int:
    from app.cli.parser import record_id

    return record_id(text)


def changeset(args: argparse.Namespace, db_url: str | None) -> int:
    from app.store.errors import UnknownItemError

    repository = common.repository(db_url)
    try:
        session = repository.sessions.get(args.session_id)
    except UnknownItemError as err:
        raise CliError(str(err)) from None
    record = repository.changesets.worktree(session.id)
    if record is None:
        raise CliError(
            f"Session {session.id} does not work in changeset mode (start one with `signoff run --changeset`)."
        )
    if args.propose:
        if session.is_over:
            raise CliError(f"Session {session.id} has {session.status}; it proposes nothing any more.")
        if not repository.changesets.request_propose(session.id):
            raise CliError(f"Session {session.id}'s worktree is {record.state}: {record.note or 'gone'}.")
        print(f"Session {session.id} proposes its changeset at its next step.")
        common.say_who_applies(repository, session.id)
        return 0
    pending = _unreviewed(session, record)
    proposals = repository.changesets.proposals_of(session.id)
    if args.json:
        row = {
            "session": session.id,
            "state": record.state,
            "kind": record.kind,
            "path": record.path,
            "branch": record.branch,
            "base_commit": record.base_commit,
            "note": record.note,
            "changesets": proposals,
            "unreviewed": pending,
        }
        print(json.dumps(row, indent=2))
        return 0
    print(
        f"Session {session.id} · changeset mode · worktree {record.state}" + (f": {record.note}" if record.note else "")
    )
    if record.path:
        print(f"Worktree: {record.path}" + (f" (branch {record.branch})" if record.branch else " (private copy)"))
    print(f"Changesets proposed: {', '.join(f'#{pid}' for pid in proposals) if proposals else 'none yet'}")
    if pending is None:
        return 0
    if not pending:
        print("Unreviewed changes: none.")
    for entry in pending:
        print(f"  {entry['status']:<9} {entry['path']}")
    return 0


def _unreviewed(session: Any, record: Any) -> list[dict[str, str]] | None:
    """What the agent changed in its worktree since the last merge (None when the worktree is not on disk)."""
    if record.state != "open":
        return None
    from app.services import changesets
    from app.services.changeset_session import worktree_of
    from app.services.worktrees import WorktreeError

    try:
        change = changesets.changeset_of(worktree_of(record, session.workspace_root))
    except WorktreeError as err:
        print(f"The worktree cannot be read: {err}", file=sys.stderr)
        return None
    listed = [{"path": f.path, "status": f.status} for f in change.diff.files]
    return listed + [{"path": r.path, "status": "refused"} for r in change.refused]


def print_changeset(repository: Any, proposal: Any) -> None:
    """A changeset's files, then each hunk numbered across the changeset: "── Hunk 3 of 5 · src/a.py · @@ … ──"."""
    from app.domain.changeset import build

    diff = build(repository.changesets.files(proposal.id))
    print(f"{len(diff.files)} file(s), {diff.hunk_count} hunk(s):")
    for changed, file_diff in zip(diff.files, diff.diffs, strict=True):
        print(f"  {changed.status:<9} {changed.path} (+{file_diff.lines_added} -{file_diff.lines_removed})")
    for refused in (proposal.tool_input or {}).get("refused") or []:
        print(f"  refused   {refused}")
    as_one = diff.as_file_diff()
    for index, hunk in enumerate(as_one.hunks):
        print(f"── Hunk {index + 1} of {diff.hunk_count} · {hunk.header} ──")
        unit = diff.units[index]
        if unit.local is None and (diff.diffs[unit.file].is_binary or not diff.diffs[unit.file].hunks):
            continue
        sys.stdout.write("".join(line.origin + line.text + "\n" for line in hunk.lines))
    print(
        f"Decide it whole (`signoff approve|reject {proposal.id}`) or hunk by hunk: "
        f"`signoff decide {proposal.id} --hunk 1=approve --hunk 2=reject:REASON …`."
    )


def changeset_json(proposal: Any) -> dict[str, Any]:
    """The "files" and "hunks" keys `signoff show ID --json` adds for a changeset (hunk numbers from 1)."""
    from app.domain.changeset import build

    diff = build(proposal.changeset_files)
    files = [
        {"path": changed.path, "status": changed.status, "added": d.lines_added, "removed": d.lines_removed}
        for changed, d in zip(diff.files, diff.diffs, strict=True)
    ]
    hunks = [{"number": index + 1, "title": diff.unit_title(index)} for index in range(diff.hunk_count)]
    return {"files": files, "hunks": hunks, "refused": (proposal.tool_input or {}).get("refused") or []}
