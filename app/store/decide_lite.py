"""A plain decision recorded straight into a SQLite file with the standard library's sqlite3, so that `signoff approve`,
`reject` and `edit` start without SQLAlchemy (most of their start-up): the same conditional update, the same decision
row and the same link in the audit chain as ``store.proposals.Proposals.record_decision``.

Plain means: a waiting proposal that is not a changeset, in a workspace with no team review rules, decided whole
(no hunks, no compare, no adjudication) by someone no live claim shuts out. Anything else raises ``NeedsRepository``
before a byte is written, and the caller records it through the repository, which also words every refusal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from app.domain.audit_chain import GENESIS, canonical_content, chain_hash_of
from app.domain.lifecycle import STALE_RUNNER_AFTER, ProposalStatus
from app.domain.records import DecisionRecord, ProposalRecord, WatcherRecord
from app.store.errors import UnknownItemError
from app.store.lite_sqlite import connect_at_head, json_text, json_value, stored, utc

_PROPOSAL_COLUMNS = (
    "p.id, p.session_id, w.root_path, s.task, p.message_seq, p.tool_use_id, p.tool_name, p.tool_input, p.kind, "
    "p.path, p.command, p.cwd, p.base_hash, p.old_content, p.new_content, p.shown_text, p.shown_hash, "
    "p.lines_added, p.lines_removed, p.status, p.result, p.created_at, p.decided_at, p.protocol_note, "
    "p.withdrawn_reason"
)


class NeedsRepository(Exception):
    """Not a plain decision (or not one this file can take for sure): record it through the repository."""


def open_lite_decisions(path: Path, head_revision: str) -> LiteDecisionStore | None:
    """The plain-decision store over the SQLite file at ``path``, or None when the repository must open it (no such
    file, another schema revision, a file SQLite cannot read)."""
    connection = connect_at_head(path, head_revision)
    return None if connection is None else LiteDecisionStore(connection)


class LiteDecisionStore:
    """What ``services.decisions.decide`` and the command line's report read and write: ``.proposals``,
    ``.sessions`` and ``.watchers``, as the repository's aggregates of the same names."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.proposals = LiteProposals(connection)
        self.sessions = LiteSessions(connection)
        self.watchers = LiteWatchers(connection)

    def close(self) -> None:
        self.connection.close()


class LiteProposals:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def get(self, proposal_id: int) -> ProposalRecord:
        """The proposal as ``Proposals.get`` reads it; a changeset (whose files only the repository reads) raises
        NeedsRepository."""
        row = self._connection.execute(
            f"SELECT {_PROPOSAL_COLUMNS} FROM proposals p JOIN sessions s ON p.session_id = s.id "
            "JOIN workspaces w ON s.workspace_id = w.id WHERE p.id = ?",
            (proposal_id,),
        ).fetchone()
        if row is None:
            raise UnknownItemError(f"There is no proposal {proposal_id}.")
        if row[8] == "changeset":
            raise NeedsRepository("a changeset's files are read by the repository")
        created = utc(row[21])
        assert created is not None
        return ProposalRecord(
            id=row[0],
            session_id=row[1],
            workspace_root=row[2],
            task=row[3],
            message_seq=row[4],
            tool_use_id=row[5],
            tool_name=row[6],
            tool_input=json_value(row[7]),
            kind=row[8],
            path=row[9],
            command=row[10],
            cwd=row[11],
            base_hash=row[12],
            old_content=row[13],
            new_content=row[14],
            shown_text=row[15],
            shown_hash=row[16],
            lines_added=row[17],
            lines_removed=row[18],
            status=ProposalStatus(row[19]),
            result=json_value(row[20]),
            created_at=created,
            decided_at=utc(row[22]),
            protocol_note=row[23],
            withdrawn_reason=row[24],
        )

    def record_decision(
        self,
        proposal_id: int,
        *,
        verdict: str,
        reviewer: str,
        reason: str | None = None,
        edited_content: bytes | None = None,
        time_on_screen_ms: int | None = None,
        shown_at: dt.datetime | None = None,
        channel: str = "window",
        hunk_verdicts: list[dict[str, Any]] | None = None,
        strength: int | None = None,
        adjudication: bool = False,
        compare: dict[str, Any] | None = None,
        grants: dict[str, Any] | None = None,
    ) -> DecisionRecord:
        """Record a plain decision in one IMMEDIATE transaction (the write lock first, so no other append can
        interleave with the chain link), or raise NeedsRepository having written nothing."""
        if verdict not in {"approve", "reject", "edit"}:
            raise ValueError(f"unknown verdict {verdict!r}")
        if hunk_verdicts or compare or adjudication:
            raise NeedsRepository("hunks, compare and adjudication are recorded by the repository")
        now = dt.datetime.now(dt.UTC)
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            decision = self._record(
                proposal_id,
                now,
                verdict=verdict,
                reviewer=reviewer,
                reason=reason,
                edited_content=edited_content,
                time_on_screen_ms=time_on_screen_ms,
                shown_at=shown_at,
                channel=channel,
                strength=strength,
                grants=grants or None,
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return decision

    def _record(self, proposal_id: int, now: dt.datetime, **values: Any) -> DecisionRecord:
        connection = self._connection
        found = connection.execute(
            "SELECT p.status, p.kind, p.shown_hash, s.workspace_id FROM proposals p "
            "JOIN sessions s ON p.session_id = s.id WHERE p.id = ?",
            (proposal_id,),
        ).fetchone()
        if found is None or found[0] != ProposalStatus.PENDING or found[1] == "changeset":
            raise NeedsRepository("only a waiting proposal of one file or command is decided here")
        rules = connection.execute("SELECT 1 FROM review_rules WHERE workspace_id = ?", (found[3],)).fetchone()
        if rules is not None:
            raise NeedsRepository("the workspace has team review rules")
        at = stored(now)
        moved = connection.execute(
            "UPDATE proposals SET status = ?, decided_at = ?, claimed_by = NULL, claim_expires_at = NULL "
            "WHERE id = ? AND status = ? AND (claimed_by IS NULL OR claimed_by = ? OR claim_expires_at <= ?)",
            (ProposalStatus.DECIDED.value, at, proposal_id, ProposalStatus.PENDING.value, values["reviewer"], at),
        )
        if moved.rowcount != 1:
            raise NeedsRepository("someone else holds a claim on it")
        shown_hash = found[2]
        cursor = connection.execute(
            "INSERT INTO decisions (proposal_id, verdict, reason, edited_content, reviewer, time_on_screen_ms, "
            "shown_at, decided_at, channel, hunk_verdicts, strength, review_stage, revokes_id, compare, grants, "
            "shown_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, NULL, ?, ?)",
            (
                proposal_id,
                values["verdict"],
                values["reason"],
                values["edited_content"],
                values["reviewer"],
                values["time_on_screen_ms"],
                None if values["shown_at"] is None else stored(values["shown_at"]),
                at,
                values["channel"],
                values["strength"],
                json_text(values["grants"]),
                shown_hash,
            ),
        )
        decision_id = cursor.lastrowid
        assert decision_id is not None
        previous = connection.execute(
            "SELECT chain_hash FROM decisions WHERE id < ? ORDER BY id DESC LIMIT 1", (decision_id,)
        ).fetchone()
        # The time as it reads back (microseconds, UTC), which is what `signoff audit verify` hashes again.
        decided_at = utc(at)
        assert decided_at is not None
        prev_hash = (previous[0] if previous is not None else None) or GENESIS
        content_hash = hashlib.sha256(
            canonical_content(
                decision_id=decision_id,
                proposal_id=proposal_id,
                shown_hash=shown_hash,
                verdict=values["verdict"],
                reason=values["reason"],
                edited_content=values["edited_content"],
                reviewer=values["reviewer"],
                decided_at=decided_at,
                channel=values["channel"],
                hunk_verdicts=None,
                strength=values["strength"],
                grants=values["grants"],
            )
        ).hexdigest()
        connection.execute(
            "UPDATE decisions SET prev_hash = ?, content_hash = ?, chain_hash = ? WHERE id = ?",
            (prev_hash, content_hash, chain_hash_of(prev_hash, content_hash), decision_id),
        )
        return DecisionRecord(
            id=decision_id,
            proposal_id=proposal_id,
            verdict=values["verdict"],
            reason=values["reason"],
            edited_content=values["edited_content"],
            reviewer=values["reviewer"],
            time_on_screen_ms=values["time_on_screen_ms"],
            decided_at=decided_at,
            channel=values["channel"],
            strength=values["strength"],
            shown_hash=shown_hash,
            grants=values["grants"],
        )


class LiteSessions:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def live_runner(self, session_id: int) -> str | None:
        """As ``Sessions.live_runner``: the id of the process running the session now, or None."""
        row = self._connection.execute(
            "SELECT runner_id, heartbeat_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise UnknownItemError(f"There is no session {session_id}.")
        heartbeat = utc(row[1])
        if row[0] is None or heartbeat is None:
            return None
        return row[0] if heartbeat >= dt.datetime.now(dt.UTC) - STALE_RUNNER_AFTER else None


class LiteWatchers:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def live(self, kind: str = "window") -> list[WatcherRecord]:
        """As ``Watchers.live``: watchers of ``kind`` alive within STALE_RUNNER_AFTER, newest first."""
        since = stored(dt.datetime.now(dt.UTC) - STALE_RUNNER_AFTER)
        rows = self._connection.execute(
            "SELECT runner_id, kind, host, pid FROM watchers WHERE kind = ? AND heartbeat_at >= ? "
            "ORDER BY heartbeat_at DESC",
            (kind, since),
        ).fetchall()
        return [WatcherRecord(*row) for row in rows]
