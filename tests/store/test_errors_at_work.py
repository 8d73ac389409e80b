"""Database failures met while working (not at open) reach the loop and the window as one clear sentence."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from app.store.async_repository import AsyncRepository
from app.store.db import open_database
from app.store.errors import DatabaseLockedError, StoreError
from app.store.repository import Repository


def _new_session(repository: AsyncRepository, workspace: Path):
    return repository.write(
        lambda store: store.sessions.create(
            workspace_root=str(workspace),
            task="t",
            endpoint="demo",
            model="m",
            system_prompt="s",
            tools=[],
            sampling={"max_tokens": 10},
            max_turns=3,
        )
    )


def test_a_lock_held_too_long_mid_run_is_a_one_sentence_store_error_and_nothing_is_half_saved(tmp_path: Path) -> None:
    db_path = tmp_path / "signoff.db"
    database = open_database(str(db_path), lock_timeout=0.2)
    repository = AsyncRepository(Repository(database))
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        asyncio.run(_new_session(repository, tmp_path))
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseLockedError) as caught:
            asyncio.run(_new_session(repository, tmp_path))
        message = str(caught.value)
        assert "Another program holds a lock on the database" in message and str(db_path) in message
        assert "OperationalError" not in message and "\n" not in message
        holder.execute("ROLLBACK")
        assert [s.task for s in asyncio.run(repository.read(lambda store: store.sessions.recent()))] == ["t"]
    finally:
        holder.close()
        repository.close()
        database.close()


def test_errors_that_are_not_database_failures_pass_through_unchanged(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "signoff.db"))
    repository = AsyncRepository(Repository(database))
    try:
        with pytest.raises(KeyError):
            asyncio.run(repository.read(lambda store: {}["missing"]))
        with pytest.raises(KeyError):
            asyncio.run(repository.write(lambda store: {}["missing"]))
    finally:
        repository.close()
        database.close()


def test_reads_meet_the_same_one_sentence_translation_as_writes(tmp_path: Path) -> None:
    db_path = tmp_path / "signoff.db"
    database = open_database(str(db_path), lock_timeout=0.2)
    repository = AsyncRepository(Repository(database))
    try:
        db_path.write_bytes(b"this is no longer a database" * 200)
        database.engine.dispose()
        for read in (repository.read, repository.read_beside):
            with pytest.raises(StoreError) as caught:
                asyncio.run(read(lambda store: store.sessions.recent()))
            assert "\n" not in str(caught.value) and "DatabaseError" not in str(caught.value)
    finally:
        repository.close()
        database.close()
