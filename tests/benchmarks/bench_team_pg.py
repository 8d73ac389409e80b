"""Benchmark of team mode on a real PostgreSQL server: reviewer PROCESSES loop claim-next -> decide until the queue
is empty; against a naive "SELECT the first pending row, then UPDATE it" claimer in the same run.

Starts its own server with tests/support/postgres.py's helper (initdb + pg_ctl in a temp dir) and removes it after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select

from tests.benchmarks.figures import Figure
from tests.support.store_queries import claim_next

FULL_ITEMS, FULL_PROCESSES = 10_000, 8
QUICK_ITEMS, QUICK_PROCESSES = 1_000, 4
# The shared 2-core machine runs 8 reviewer processes and the server: claims queue for CPU, not for each other.
CLAIM_P99_TARGET_MS = 100.0
WORKSPACE = "/srv/bench"


@dataclass(frozen=True)
class RoundResult:
    strategy: str
    decided: int
    decided_twice: int
    lost: int
    conflicts: int
    errors: int
    claim_p50_ms: float
    claim_p99_ms: float
    seconds: float

    @property
    def throughput(self) -> float:
        return self.decided / self.seconds if self.seconds > 0 else 0.0


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _seed(url: str, count: int) -> None:
    from app.store.db import open_database
    from app.store.models import Proposal
    from app.store.repository import Repository

    database = open_database(url)
    try:
        repository = Repository(database)
        session = repository.sessions.create(
            workspace_root=WORKSPACE,
            task="benchmark",
            endpoint="demo",
            model="m",
            system_prompt="s",
            tools=[],
            sampling={},
            max_turns=1,
        )
        rows = []
        for number in range(count):
            shown = f"--- a/f{number}.py\n+++ b/f{number}.py\n@@ -1 +1 @@\n-a\n+b\n"
            rows.append(
                dict(
                    session_id=session.id,
                    message_seq=1,
                    tool_use_id=f"toolu_{number}",
                    tool_name="str_replace_based_edit_tool",
                    tool_input={},
                    kind="edit",
                    path=f"f{number}.py",
                    old_content=b"a\n",
                    new_content=b"b\n",
                    shown_text=shown,
                    shown_hash=hashlib.sha256(shown.encode()).hexdigest(),
                    lines_added=1,
                    lines_removed=1,
                    status="pending",
                )
            )
        with database.session() as orm, orm.begin():
            for start in range(0, count, 2000):
                orm.execute(insert(Proposal), rows[start : start + 2000])
        with database.engine.connect() as connection:
            # What autovacuum would have done a moment later on a real server: planner statistics for the new rows.
            connection.exec_driver_sql("ANALYZE proposals")
            connection.commit()
    finally:
        database.close()


def _naive_claim(database, reviewer: str) -> tuple[int | None, int]:
    """The first pending row nobody holds, then a guarded UPDATE; a lost race is a conflict and a retry."""
    from sqlalchemy import update

    from app.store.models import Proposal, utcnow

    conflicts = 0
    while True:
        with database.session() as orm, orm.begin():
            proposal_id = orm.scalar(
                select(Proposal.id)
                .where(Proposal.status == "pending", Proposal.claimed_by.is_(None))
                .order_by(Proposal.id)
                .limit(1)
            )
            if proposal_id is None:
                return None, conflicts
            taken = orm.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id, Proposal.claimed_by.is_(None))
                .values(claimed_by=reviewer, claim_expires_at=utcnow() + dt.timedelta(seconds=120))
            )
            if taken.rowcount == 1:
                return proposal_id, conflicts
        conflicts += 1


def _reviewer_process(url: str, reviewer: str, strategy: str, result_path: str, go) -> None:
    """One reviewer: claim the next item, decide it, until nothing is left; writes what it saw as JSON."""
    from app.store.db import open_database
    from app.store.errors import StoreError
    from app.store.repository import Repository

    database = open_database(url)
    repository = Repository(database)
    latencies: list[float] = []
    decided = conflicts = errors = 0
    go.wait()
    started = time.monotonic()
    try:
        while True:
            before = time.perf_counter()
            if strategy == "skip_locked":
                claim = claim_next(repository, reviewer)
                proposal_id = None if claim is None else claim.proposal_id
            else:
                proposal_id, lost_races = _naive_claim(database, reviewer)
                conflicts += lost_races
            latencies.append((time.perf_counter() - before) * 1000)
            if proposal_id is None:
                break
            verdict = "approve" if proposal_id % 3 else "reject"
            try:
                repository.proposals.record_decision(
                    proposal_id,
                    verdict=verdict,
                    reason="bench" if verdict == "reject" else None,
                    reviewer=reviewer,
                    channel="cli",
                )
                decided += 1
            except StoreError:
                errors += 1
        finished = time.monotonic()
    finally:
        database.close()
    Path(result_path).write_text(
        json.dumps(
            {
                "latencies": latencies,
                "decided": decided,
                "conflicts": conflicts,
                "errors": errors,
                "started": started,
                "finished": finished,
            }
        )
    )


def _round(server, strategy: str, count: int, processes: int, work_dir: Path) -> RoundResult:
    from app.store.db import open_database
    from app.store.models import Decision, Proposal

    name = server.create_database()
    url = server.url(name)
    try:
        _seed(url, count)
        context = multiprocessing.get_context("spawn")
        go = context.Event()
        result_paths = [work_dir / f"{strategy}-{number}.json" for number in range(processes)]
        workers = [
            context.Process(target=_reviewer_process, args=(url, f"reviewer-{number}", strategy, str(path), go))
            for number, path in enumerate(result_paths)
        ]
        try:
            for worker in workers:
                worker.start()
            go.set()
            for worker in workers:
                worker.join(timeout=1800)
                if worker.exitcode != 0:
                    raise RuntimeError(f"a {strategy} reviewer process failed (exit code {worker.exitcode})")
        finally:
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join()
        reports = [json.loads(path.read_text()) for path in result_paths]
        database = open_database(url)
        try:
            with database.session() as orm:
                decided_twice = orm.scalar(
                    select(func.count()).select_from(
                        select(Decision.proposal_id).group_by(Decision.proposal_id).having(func.count() > 1).subquery()
                    )
                )
                undecided = orm.scalar(select(func.count()).where(Proposal.status != "decided"))
                without_decision = orm.scalar(
                    select(func.count()).where(~select(Decision.id).where(Decision.proposal_id == Proposal.id).exists())
                )
        finally:
            database.close()
        # Every claim but the last empty one per process: that one only learns the queue is empty.
        latencies = [value for report in reports for value in report["latencies"][:-1]]
        seconds = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
        return RoundResult(
            strategy=strategy,
            decided=sum(r["decided"] for r in reports),
            decided_twice=int(decided_twice or 0),
            lost=int(max(undecided or 0, without_decision or 0)),
            conflicts=sum(r["conflicts"] for r in reports),
            errors=sum(r["errors"] for r in reports),
            claim_p50_ms=statistics.median(latencies) if latencies else 0.0,
            claim_p99_ms=_percentile(latencies, 0.99),
            seconds=seconds,
        )
    finally:
        server.drop_database(name)


def run(quick: bool) -> tuple[RoundResult, RoundResult, int, int]:
    from tests.support.postgres import PostgresServer, find_postgres_bindir

    count, processes = (QUICK_ITEMS, QUICK_PROCESSES) if quick else (FULL_ITEMS, FULL_PROCESSES)
    bindir = find_postgres_bindir()
    if bindir is None:
        raise RuntimeError("bench_team_pg needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
    base_dir = Path(tempfile.mkdtemp(prefix="signoff-pgb-", dir="/tmp" if os.path.isdir("/tmp") else None))
    server = PostgresServer(bindir=bindir, base_dir=base_dir)
    work_dir = Path(tempfile.mkdtemp(prefix="signoff-bench-team-"))
    try:
        try:
            server.start()
        except BaseException as err:  # the helper reports through pytest.fail, which is not an Exception
            raise RuntimeError(f"could not start PostgreSQL for the benchmark: {err}") from None
        skip_locked = _round(server, "skip_locked", count, processes, work_dir)
        naive = _round(server, "naive", count, processes, work_dir)
    finally:
        server.stop()
        for leftover in work_dir.glob("*"):
            leftover.unlink()
        work_dir.rmdir()
    return skip_locked, naive, count, processes


def benchmarks(quick: bool) -> Iterator[Figure]:
    skip_locked, naive, count, processes = run(quick)
    prefix = f"team_pg {processes} procs x {count:,} items"
    yield Figure.at_most(
        f"{prefix}: decided twice", skip_locked.decided_twice, "items", 0, baseline=naive.decided_twice
    )
    yield Figure.at_most(f"{prefix}: lost", skip_locked.lost, "items", 0, baseline=naive.lost)
    yield Figure.at_most(f"{prefix}: decision errors", skip_locked.errors, "items", 0, baseline=naive.errors)
    yield Figure.at_most(f"{prefix}: claim p50", skip_locked.claim_p50_ms, "ms", None, baseline=naive.claim_p50_ms)
    yield Figure.at_most(
        f"{prefix}: claim p99", skip_locked.claim_p99_ms, "ms", CLAIM_P99_TARGET_MS, baseline=naive.claim_p99_ms
    )
    yield Figure.at_least(
        f"{prefix}: throughput", skip_locked.throughput, "decisions/s", None, baseline=naive.throughput
    )
    yield Figure.at_most(
        f"{prefix}: claim conflicts (retries)", skip_locked.conflicts, "retries", None, baseline=naive.conflicts
    )


if __name__ == "__main__":
    import sys

    result = run("--quick" in sys.argv)
    for round_result in result[:2]:
        print(round_result, f"throughput={round_result.throughput:.1f}/s")
