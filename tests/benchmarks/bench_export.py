"""Benchmark of the streaming dataset export (app.services.export) on a SQLite file of 100k decisions made with bulk
inserts, against a naive export in the same run (every row loaded through the ORM, built and json.dumps'ed in memory,
then written). Each export runs in a fresh process: rows per second (wall and CPU) and peak RSS."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from app.domain import preference as pref
from app.domain.tools import SYSTEM_PROMPT, tool_definitions
from app.services.export import ExportOptions, export_dataset
from app.services.export_workers import peak_rss_mb
from app.store.db import open_database
from app.store.models import AgentSession, Decision, Message, Proposal, Workspace, utcnow
from tests.benchmarks.figures import Figure

TARGET_ROWS_PER_S = 50_000.0
# Whole process, interpreter and libraries included (they alone take about 60 MB).
TARGET_PEAK_MB = 160.0
DECISIONS_PER_SESSION = 10
_CHUNK = 20_000


def build_database(path: Path, decisions: int, seed: int = 7) -> None:
    """A migrated SQLite file with decisions // 10 sessions of 10 decided proposals each (half approved, a quarter
    rejected, a quarter edited; files and commands), filled with executemany bulk inserts."""
    rng = random.Random(seed)
    database = open_database(str(path))
    sessions = decisions // DECISIONS_PER_SESSION
    tools = tool_definitions()
    now = utcnow()
    messages: list[dict] = []
    proposals: list[dict] = []
    verdicts: list[dict] = []
    with database.engine.begin() as connection:
        connection.execute(insert(Workspace.__table__), [{"id": 1, "root_path": "/work/project", "created_at": now}])
        connection.execute(
            insert(AgentSession.__table__),
            [
                {
                    "id": s + 1,
                    "workspace_id": 1,
                    "task": f"Task {s}: make greet() polite and add tests.",
                    "endpoint": "anthropic",
                    "model": "claude-sonnet-5-5",
                    "system_prompt": SYSTEM_PROMPT,
                    "tools": tools,
                    "sampling": {"max_tokens": 4096},
                    "max_turns": 40,
                    "status": "finished",
                    "created_at": now,
                    "updated_at": now,
                }
                for s in range(sessions)
            ],
        )

        def flush(force: bool = False) -> None:
            for table, rows in (
                (Message.__table__, messages),
                (Proposal.__table__, proposals),
                (Decision.__table__, verdicts),
            ):
                if rows and (force or len(rows) >= _CHUNK):
                    connection.execute(insert(table), rows)
                    rows.clear()

        proposal_id = 0
        for s in range(sessions):
            session_id = s + 1
            messages.append(
                {
                    "session_id": session_id,
                    "seq": 0,
                    "role": "user",
                    "created_at": now,
                    "content": [{"type": "text", "text": f"Task {s}: make greet() polite and add tests."}],
                }
            )
            for d in range(DECISIONS_PER_SESSION):
                proposal_id += 1
                seq = 1 + 2 * d
                tool_use_id = f"toolu_{proposal_id:012d}"
                roll = rng.random()
                verdict = "approve" if roll < 0.5 else "reject" if roll < 0.75 else "edit"
                if rng.random() < 0.7:
                    old = f"def greet_{d}(name):\n    return 'hi ' + name\n" * 3
                    tool_input = {
                        "command": "str_replace",
                        "path": f"src/mod_{d}.py",
                        "old_str": f"def greet_{d}(name):\n    return 'hi ' + name\n" * 3,
                        "new_str": f"def greet_{d}(name):\n    return 'Hello, ' + name\n" * 3,
                    }
                    new = tool_input["new_str"]
                    fields = {
                        "tool_name": "str_replace_based_edit_tool",
                        "kind": "edit",
                        "path": f"src/mod_{d}.py",
                        "command": None,
                        "cwd": None,
                        "old_content": old.encode(),
                        "new_content": new.encode(),
                    }
                    edited = new.replace("Hello, ", "Good day, ").encode() if verdict == "edit" else None
                else:
                    tool_input = {"command": f"pytest -q tests/test_mod_{d}.py"}
                    fields = {
                        "tool_name": "run_command",
                        "kind": "command",
                        "path": None,
                        "command": tool_input["command"],
                        "cwd": ".",
                        "old_content": None,
                        "new_content": None,
                    }
                    edited = f"pytest -q -x tests/test_mod_{d}.py".encode() if verdict == "edit" else None
                messages.append(
                    {
                        "session_id": session_id,
                        "seq": seq,
                        "role": "assistant",
                        "created_at": now,
                        "stop_reason": "tool_use",
                        "content": [
                            {"type": "text", "text": f"Step {d}: next I change module {d}."},
                            {"type": "tool_use", "id": tool_use_id, "name": fields["tool_name"], "input": tool_input},
                        ],
                    }
                )
                result = (
                    "Approved by the reviewer and applied."
                    if verdict != "reject"
                    else "The reviewer rejected this change. Reason: not yet."
                )
                messages.append(
                    {
                        "session_id": session_id,
                        "seq": seq + 1,
                        "role": "user",
                        "created_at": now,
                        "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": result}],
                    }
                )
                proposals.append(
                    {
                        "id": proposal_id,
                        "session_id": session_id,
                        "message_seq": seq,
                        "tool_use_id": tool_use_id,
                        "tool_input": tool_input,
                        "base_hash": None,
                        "shown_text": "",
                        "shown_hash": "",
                        "lines_added": 3,
                        "lines_removed": 3,
                        "status": "applied",
                        "created_at": now,
                        **fields,
                    }
                )
                verdicts.append(
                    {
                        "proposal_id": proposal_id,
                        "verdict": verdict,
                        "reviewer": rng.choice(["ada", "grace", "linus"]),
                        "reason": "not yet" if verdict == "reject" else None,
                        "edited_content": edited,
                        "time_on_screen_ms": rng.randint(300, 30_000),
                        "decided_at": now,
                        "channel": "window",
                        "strength": rng.choice([None, 1, 3, 5]),
                    }
                )
            flush()
        flush(force=True)
    database.close()


def naive_export(db_path: Path, out: Path) -> int:
    """The obvious way: every session with its messages and proposals through the ORM, every row in a list."""
    database = open_database(str(db_path))
    rows: list[str] = []
    with database.session() as orm:
        sessions = orm.scalars(
            select(AgentSession).options(
                selectinload(AgentSession.messages),
                selectinload(AgentSession.proposals).selectinload(Proposal.decisions),
                selectinload(AgentSession.workspace),
            )
        ).all()
        for session in sessions:
            messages = [{"role": m.role, "content": m.content} for m in session.messages]
            names = pref.tool_names_by_id(messages)
            tools = pref.function_tools(session.tools)
            steps = [
                pref.DecidedStep(
                    proposal.id,
                    proposal.message_seq,
                    proposal.tool_use_id,
                    proposal.tool_name,
                    proposal.tool_input,
                    proposal.kind,
                    proposal.path,
                    proposal.command,
                    proposal.cwd,
                    proposal.old_content,
                    proposal.new_content,
                    decision.id,
                    decision.verdict,
                    decision.reason,
                    decision.edited_content,
                    decision.reviewer,
                    decision.time_on_screen_ms,
                    decision.decided_at,
                    decision.channel,
                    decision.hunk_verdicts,
                    decision.strength,
                )
                for proposal in session.proposals
                for decision in proposal.decisions
            ]
            for item in pref.session_examples(messages, steps).completions:
                prompt = [pref.system_message(session.system_prompt)]
                for message in messages[: item.prompt_seq]:
                    prompt.extend(pref.chat_messages(message, "trl", names))
                rows.append(
                    json.dumps(
                        {
                            "id": f"signoff-d{item.step.decision_id}-{item.source}",
                            "prompt": prompt,
                            "completion": [pref.completion_message(item.completion, "trl")],
                            "label": item.label,
                            "tools": tools,
                            "source": item.source,
                        },
                        ensure_ascii=False,
                    )
                )
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    database.close()
    return len(rows)


def streaming_export(db_path: Path, out: Path, fmt: str = "trl-kto"):
    """The export as `signoff export` runs it (worker processes from 20,000 decisions, one per core)."""
    database = open_database(str(db_path))
    try:
        return export_dataset(database, ExportOptions(fmt, out))
    finally:
        database.close()


def _timed(run) -> tuple[float, int]:
    started = time.perf_counter()
    rows = run()
    return time.perf_counter() - started, rows


def child_main(kind: str, db_path: str, out: str) -> None:
    """Run one export in a fresh process and print its rows, wall and CPU seconds and peak RSS as JSON."""
    started, cpu_started = time.perf_counter(), time.process_time()
    worker_peaks: list[float] = []
    if kind == "streaming":
        report = streaming_export(Path(db_path), Path(out))
        rows, worker_peaks = report.total_rows, report.worker_peaks_mb
    else:
        rows = naive_export(Path(db_path), Path(out))
    seconds = time.perf_counter() - started
    # Worker processes' CPU time counts too (they are reaped by then).
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = time.process_time() - cpu_started + children.ru_utime + children.ru_stime
    peak_mb = _peak_rss_mb()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_mb": peak_mb,
                "worker_peaks_mb": worker_peaks,
            }
        )
    )


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss on Linux: Linux carries it over from the parent across fork
    and exec, so a child of a big benchmark process reports the parent's peak (627 MB seen for a 115 MB export)."""
    peak = peak_rss_mb()
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _in_child(kind: str, db_path: Path, out: Path) -> dict:
    """A fresh interpreter per run, so each peak RSS is that export's own (imports included, nothing else)."""
    repo = Path(__file__).resolve().parents[2]
    code = f"from tests.benchmarks.bench_export import child_main; child_main({kind!r}, {str(db_path)!r}, {str(out)!r})"
    env = {**os.environ, "PYTHONPATH": str(repo)}
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def benchmarks(quick: bool) -> Iterator[Figure]:
    decisions = 5_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="signoff-bench-export-") as folder:
        root = Path(folder)
        db_path = root / "decisions.db"
        started = time.perf_counter()
        build_database(db_path, decisions)
        yield Figure.at_most(f"export: bulk insert of {decisions} decisions", time.perf_counter() - started, "s", None)

        streaming = _in_child("streaming", db_path, root / "kto")
        naive = _in_child("naive", db_path, root / "naive.jsonl")
        rows = streaming["rows"]
        assert rows == naive["rows"], (streaming, naive)
        written_mb = (root / "kto" / "trl-kto.jsonl").stat().st_size / 1e6
        # The target is for 100k decisions; a quick run (5k) is below the size that starts worker processes.
        yield Figure.at_least(
            f"export trl-kto rows/s ({rows} rows from {decisions} decisions)",
            rows / streaming["seconds"],
            "rows/s",
            None if quick else TARGET_ROWS_PER_S,
            baseline=rows / naive["seconds"],
        )
        # The machine is shared: CPU time shows what the code costs when other processes hold the cores.
        yield Figure.at_least(
            "export trl-kto rows per CPU second",
            rows / streaming["cpu_seconds"],
            "rows/s",
            None,
            baseline=rows / naive["cpu_seconds"],
        )
        # Every row carries its whole prompt and the tool schemas, so rows/s is bounded by bytes written.
        yield Figure.at_least(
            f"export trl-kto MB/s written ({written_mb / rows * 1000:.1f} KB/row)",
            written_mb / streaming["seconds"],
            "MB/s",
            None,
        )
        yield Figure.at_most(
            f"export trl-kto peak RSS ({decisions} decisions, exporting process)",
            streaming["peak_mb"],
            "MB",
            TARGET_PEAK_MB,
            baseline=naive["peak_mb"],
        )
        if streaming["worker_peaks_mb"]:
            # A forked worker's RSS counts the pages it shares with the exporting process, so this overstates.
            yield Figure.at_most(
                f"export trl-kto peak RSS, largest of {len(streaming['worker_peaks_mb'])} worker processes",
                max(streaming["worker_peaks_mb"]),
                "MB",
                TARGET_PEAK_MB,
            )
        for fmt in ("trl-dpo", "raw"):
            fmt_seconds, fmt_rows = _timed(lambda fmt=fmt: streaming_export(db_path, root / fmt, fmt).total_rows)
            yield Figure.at_least(
                f"export {fmt} decisions/s ({fmt_rows} rows)", decisions / fmt_seconds, "decisions/s", None
            )
        if not quick:
            # Flat memory: a tenth of the decisions should need about the same peak.
            small_path = root / "small.db"
            build_database(small_path, decisions // 10)
            small = _in_child("streaming", small_path, root / "kto-small")
            yield Figure.at_most(
                f"export trl-kto peak RSS growth from {decisions // 10} to {decisions} decisions",
                streaming["peak_mb"] / small["peak_mb"],
                "x",
                1.5,
            )
            if streaming["worker_peaks_mb"]:
                yield Figure.at_most(
                    f"export trl-kto worker peak RSS growth from {decisions // 10} to {decisions} decisions",
                    max(streaming["worker_peaks_mb"]) / max(small["worker_peaks_mb"] or [small["peak_mb"]]),
                    "x",
                    1.5,
                )
