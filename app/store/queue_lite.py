"""The reads of ``signoff queue --json`` straight from a SQLite file with the standard library's sqlite3, so that
command starts without SQLAlchemy (which is most of its start-up): the waiting page, the texts flags are computed
from, and the judges' latest results and settings, as the same records the repository returns.

Used only where it gives exactly what the repository gives: a SQLite file at the schema's head revision with nothing in
a team review stage. ``open_lite_queue`` returns None otherwise, and the caller uses the repository. Reads only.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.domain.judgments import CRITIC_REVIEWER, CriticResult, JudgeConfig, VerifierResult
from app.domain.lifecycle import ProposalStatus
from app.domain.records import QueueItemRecord, QueueTextRecord
from app.store.lite_sqlite import chunks, connect_at_head, json_value, stored, utc

_IN_REVIEW = ("awaiting_second_review", "disputed")


def open_lite_queue(path: Path, head_revision: str) -> LiteQueueStore | None:
    """The lite reads over the SQLite file at ``path``, or None when only the repository can answer for sure (no
    such file, another schema revision, a file SQLite cannot read, or proposals in a team review stage)."""
    connection = connect_at_head(path, head_revision)
    if connection is None:
        return None
    try:
        placeholders = ",".join("?" * len(_IN_REVIEW))
        in_review = connection.execute(
            f"SELECT id FROM proposals WHERE status IN ({placeholders}) LIMIT 1", _IN_REVIEW
        ).fetchone()
    except sqlite3.Error:
        connection.close()
        return None
    if in_review is not None:
        connection.close()
        return None
    return LiteQueueStore(connection)


class LiteQueueStore:
    """What ``services.queue.fetch_page`` and ``services.judges.judged`` read: ``.queue`` and ``.judgments``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.queue = LiteQueue(connection)
        self.judgments = LiteJudgments(connection)

    def close(self) -> None:
        self.connection.close()


class LiteQueue:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def page(
        self,
        *,
        sort: str = "age",
        descending: bool = False,
        after: tuple[Any, int] | None = None,
        limit: int = 200,
        reviewer: str | None = None,
        **filters: Any,
    ) -> list[QueueItemRecord]:
        """Waiting proposals oldest first after the keyset position ``after``, as ``store.queue.Queue.page`` gives
        them with no filter (nothing is in a review stage, so a reviewer sees the plain pending page)."""
        if sort != "age" or descending or any(value is not None for value in filters.values()):
            raise ValueError("the lite queue reads only the unfiltered page in age order")
        query = (
            "SELECT p.id, p.session_id, w.root_path, s.task, p.kind, p.path, p.command, p.lines_added, "
            "p.lines_removed, p.status, p.created_at, p.claimed_by, p.claim_expires_at "
            "FROM proposals p JOIN sessions s ON p.session_id = s.id JOIN workspaces w ON s.workspace_id = w.id "
            "WHERE p.status = ?"
        )
        parameters: list[Any] = [ProposalStatus.PENDING.value]
        if after is not None:
            query += " AND (p.created_at, p.id) > (?, ?)"
            parameters += [stored(after[0]), after[1]]
        query += " ORDER BY p.created_at, p.id LIMIT ?"
        parameters.append(limit)
        now = dt.datetime.now(dt.UTC)
        items = []
        for row in self._connection.execute(query, parameters).fetchall():
            expires = utc(row[12])
            # An expired lease is as good as no claim.
            holder = row[11] if row[11] is not None and (expires or now) >= now else None
            created = utc(row[10])
            assert created is not None
            items.append(
                QueueItemRecord(
                    id=row[0],
                    session_id=row[1],
                    workspace_root=row[2],
                    task=row[3],
                    kind=row[4],
                    path=row[5],
                    command=row[6],
                    lines_added=row[7],
                    lines_removed=row[8],
                    status=ProposalStatus(row[9]),
                    created_at=created,
                    sort_key=created,
                    claimed_by=holder,
                )
            )
        return items

    def texts(self, proposal_ids: Iterable[int]) -> dict[int, QueueTextRecord]:
        found: dict[int, QueueTextRecord] = {}
        for ids in chunks(proposal_ids):
            rows = self._connection.execute(
                "SELECT p.id, p.kind, p.shown_text, p.path, p.base_hash, w.root_path, p.cwd FROM proposals p "
                "JOIN sessions s ON p.session_id = s.id JOIN workspaces w ON s.workspace_id = w.id "
                f"WHERE p.id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
            for row in rows:
                found[row[0]] = QueueTextRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6])
        return found


class LiteJudgments:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def _latest(self, table: str, columns: str, proposal_ids: Iterable[int]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for ids in chunks(proposal_ids):
            marks = ",".join("?" * len(ids))
            rows += self._connection.execute(
                f"SELECT {columns} FROM {table} WHERE id IN "
                f"(SELECT max(id) FROM {table} WHERE proposal_id IN ({marks}) GROUP BY proposal_id)",
                ids,
            ).fetchall()
        return rows

    def verifier_results(self, proposal_ids: Iterable[int]) -> dict[int, VerifierResult]:
        """The latest verifier run of each proposal that has one (as ``store.judgments`` reads it)."""
        columns = (
            "proposal_id, status, command, started_at, seconds, exit_code, passed, failed, skipped, newly_failing, "
            "newly_passing, still_failing, reward, output_hash, excerpt, network_isolated, baseline_reused, note"
        )
        return {
            row[0]: VerifierResult(
                proposal_id=row[0],
                status=row[1],
                command=row[2],
                started_at=utc(row[3]),
                seconds=row[4],
                exit_code=row[5],
                passed=row[6] or 0,
                failed=row[7] or 0,
                skipped=row[8] or 0,
                newly_failing=list(json_value(row[9]) or []),
                newly_passing=list(json_value(row[10]) or []),
                still_failing=list(json_value(row[11]) or []),
                reward=row[12],
                output_hash=row[13],
                excerpt=row[14],
                network_isolated=bool(row[15]),
                baseline_reused=bool(row[16]),
                note=row[17],
            )
            for row in self._latest("verifier_runs", columns, proposal_ids)
        }

    def critic_results(self, proposal_ids: Iterable[int]) -> dict[int, CriticResult]:
        columns = "proposal_id, status, model, verdict, score, principles, rationale, usage, error"
        return {
            row[0]: CriticResult(
                proposal_id=row[0],
                status=row[1],
                model=row[2],
                verdict=row[3],
                score=row[4],
                principles=list(json_value(row[5]) or []),
                rationale=row[6],
                usage=json_value(row[7]),
                error=row[8],
            )
            for row in self._latest("critic_verdicts", columns, proposal_ids)
        }

    def config(self, workspace_root: str) -> JudgeConfig:
        row = self._connection.execute(
            "SELECT j.verify_command, j.verify_timeout_s, j.verify_on, j.critic_rubric, j.critic_blind, "
            "j.sensitive_globs, j.updated_by FROM judge_settings j JOIN workspaces w ON j.workspace_id = w.id "
            "WHERE w.root_path = ?",
            (workspace_root,),
        ).fetchone()
        if row is None:
            return JudgeConfig()
        globs = json_value(row[5])
        return JudgeConfig(
            verify_command=row[0],
            verify_timeout_s=row[1],
            verify_on=row[2],
            critic_rubric=row[3],
            critic_blind=None if row[4] is None else bool(row[4]),
            sensitive_globs=None if globs is None else tuple(globs),
            updated_by=row[6],
        )

    def critic_decisions(self, since: dt.datetime) -> list[tuple[int, dt.datetime, str | None]]:
        """The critic's standing decisions (auto-approvals) since ``since``, newest first, as
        ``store.judgments.critic_decisions`` gives them."""
        rows = self._connection.execute(
            "SELECT d.proposal_id, d.decided_at, d.reason FROM decisions d WHERE d.reviewer = ? AND d.decided_at >= ? "
            "AND d.revokes_id IS NULL AND d.id NOT IN (SELECT revokes_id FROM decisions WHERE revokes_id IS NOT NULL) "
            "ORDER BY d.id DESC",
            (CRITIC_REVIEWER, stored(since)),
        ).fetchall()
        found = []
        for pid, at, reason in rows:
            when = utc(at)
            if when is not None:  # decided_at is NOT NULL; this only tells the type checker
                found.append((int(pid), when, reason))
        return found
