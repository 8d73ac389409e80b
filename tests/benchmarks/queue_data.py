"""Builds a large Signoff database for the queue benchmarks: decided history and a waiting queue, made with
INSERT ... SELECT over a recursive counter so a million rows take seconds. Writes only the file it is given."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from app.store.db import open_database

SESSIONS = 40
WORKSPACES = 8


def build_queue_database(path: Path, *, decided: int, waiting: int) -> None:
    """``decided`` applied proposals with one decision each (spread over 30 days, some today) and ``waiting`` pending
    ones, across SESSIONS sessions in WORKSPACES workspaces whose runner is alive elsewhere (so deciding starts
    none)."""
    database = open_database(str(path))
    database.close()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    start = now - dt.timedelta(days=30)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.executemany(
            "INSERT INTO workspaces (id, root_path, created_at) VALUES (?, ?, ?)",
            [(w + 1, f"/srv/bench/workspace-{w + 1}", str(start)) for w in range(WORKSPACES)],
        )
        connection.executemany(
            "INSERT INTO sessions (id, workspace_id, task, endpoint, model, system_prompt, tools, sampling, max_turns,"
            " status, turns, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,"
            " runner_id, heartbeat_at, created_at, updated_at)"
            " VALUES (?, ?, ?, 'anthropic', 'claude-sonnet-5-5', 'system', '[]', '{}', 30, 'waiting', 0, 0, 0, 0, 0,"
            " 'bench-runner', '2099-01-01 00:00:00.000000', ?, ?)",
            [
                (
                    s + 1,
                    s % WORKSPACES + 1,
                    f"Benchmark task {s + 1}: refactor module group {s}",
                    str(start),
                    str(start),
                )
                for s in range(SESSIONS)
            ],
        )
        span_s = 30 * 86400
        # The start of each timestamp expression, kept apart so the SQL lines stay within the line length.
        stamp = f"strftime('%Y-%m-%d %H:%M:%f000', '{start:%Y-%m-%d %H:%M:%S}', "
        # Decided history: created over the last 30 days; the newest 2% decided today.
        connection.execute(
            f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {decided})
            INSERT INTO proposals (session_id, message_seq, tool_use_id, tool_name, tool_input, kind, path, command,
                                   shown_text, shown_hash, lines_added, lines_removed, status, created_at, decided_at,
                                   resolved_at)
            SELECT i % {SESSIONS} + 1, 1, 'toolu_d' || i, 'str_replace_based_edit_tool', '{{}}',
                   CASE i % 3 WHEN 0 THEN 'command' WHEN 1 THEN 'edit' ELSE 'create' END,
                   CASE i % 3 WHEN 0 THEN NULL ELSE 'src/pkg' || (i % 97) || '/module_' || (i % 1009) || '.py' END,
                   CASE i % 3 WHEN 0 THEN 'pytest -q tests/test_' || (i % 211) || '.py' ELSE NULL END,
                   '+value = ' || i, 'h', i % 40, i % 9, 'applied',
                   {stamp}'+' || (i * {span_s} / {decided}) || ' seconds'),
                   {stamp}'+' || (i * {span_s} / {decided} + 30) || ' seconds'),
                   {stamp}'+' || (i * {span_s} / {decided} + 31) || ' seconds')
            FROM n
            """
        )
        connection.execute(
            """
            INSERT INTO decisions (proposal_id, verdict, reviewer, time_on_screen_ms, decided_at, channel)
            SELECT id, CASE id % 5 WHEN 0 THEN 'reject' ELSE 'approve' END, 'reviewer-' || (id % 4),
                   1000 + id % 20000, decided_at, 'window'
            FROM proposals WHERE status = 'applied'
            """
        )
        waiting_stamp = f"strftime('%Y-%m-%d %H:%M:%f000', '{now - dt.timedelta(hours=6):%Y-%m-%d %H:%M:%S}', "
        connection.execute(
            f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {waiting})
            INSERT INTO proposals (session_id, message_seq, tool_use_id, tool_name, tool_input, kind, path, command,
                                   old_content, new_content, shown_text, shown_hash, lines_added, lines_removed,
                                   status, created_at)
            SELECT i % {SESSIONS} + 1, 1, 'toolu_w' || i, 'str_replace_based_edit_tool', '{{}}',
                   CASE i % 3 WHEN 0 THEN 'command' WHEN 1 THEN 'edit' ELSE 'create' END,
                   CASE i % 3 WHEN 0 THEN NULL ELSE 'src/pkg' || (i % 97) || '/module_' || (i % 1009) || '.py' END,
                   CASE i % 3 WHEN 0 THEN 'pytest -q tests/test_' || (i % 211) || '.py' ELSE NULL END,
                   CASE i % 3 WHEN 1 THEN CAST('value = 0' || char(10) AS BLOB) ELSE NULL END,
                   CASE i % 3 WHEN 0 THEN NULL ELSE CAST('value = ' || i || char(10) AS BLOB) END,
                   CASE i % 3 WHEN 0 THEN 'pytest -q tests/test_' || (i % 211) || '.py'
                        ELSE '--- a/x.py' || char(10) || '+++ b/x.py' || char(10) || '@@ -1 +1 @@' || char(10)
                             || '-value = 0' || char(10) || '+value = ' || i END,
                   'h', i % 40 + 1, i % 9, 'pending',
                   {waiting_stamp}'+' || (i * 21600 / {waiting}) || ' seconds')
            FROM n
            """
        )
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
