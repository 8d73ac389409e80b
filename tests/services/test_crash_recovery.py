"""Nothing lost, nothing done twice: runners killed with SIGKILL mid-apply, resumed; applies that hit a full or
read-only disk. Real `signoff` child processes, the stand-in API over HTTP, real SQLite files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import review
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.standin.server import StandinServer
from app.store.db import open_database
from app.store.repository import Repository
from tests.support.agent_harness import run
from tests.support.crash_harness import run_crash_harness
from tests.support.scripted_scenario import ScriptedScenario
from tests.support.store_queries import list_proposals, pending_proposals

REPO_ROOT = Path(__file__).resolve().parents[2]
GREET = "def greet(name):\n    return 'hi ' + name\n"
HELLO = "def greet(name):\n    return 'Hello ' + name\n"


def edit(path: str, old: str, new: str):
    return tool_use_block(EDITOR_TOOL_NAME, {"command": "str_replace", "path": path, "old_str": old, "new_str": new})


def child_env(tmp_path: Path, server: StandinServer) -> dict[str, str]:
    config = tmp_path / "child-config"
    config.mkdir(exist_ok=True)
    (config / "settings.json").write_text(json.dumps({"undo_seconds": 0}))
    # A URL given in SIGNOFF_DB must name an existing database.
    open_database(str(tmp_path / "signoff.db")).close()
    return dict(
        os.environ,
        SIGNOFF_DB=str(tmp_path / "signoff.db"),
        SIGNOFF_CONFIG_DIR=str(config),
        ANTHROPIC_BASE_URL=server.base_url,
        ANTHROPIC_API_KEY="sk-ant-crash-test",
        PYTHONPATH=str(REPO_ROOT),
    )


def allow(workspace: Path, *rules: tuple[str, str]) -> None:
    (workspace / ".signoff").mkdir(parents=True, exist_ok=True)
    text = "version = 1\n" + "".join(
        f'\n[[rule]]\naction = "allow"\nkind = "{kind}"\npattern = "{pattern}"\n' for kind, pattern in rules
    )
    (workspace / ".signoff" / "policy.toml").write_text(text)


# -- 1. the recorded apply state machine -------------------------------------------------------------------------------


def test_a_command_interrupted_by_a_crash_is_never_run_again_and_the_agent_is_told_its_outcome_is_unknown(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    # The approved command kills its own runner (sh's parent) with SIGKILL: a crash exactly while a command runs.
    crash = "echo ran >> ran.log && kill -9 $PPID"
    replies = [tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": crash})), text_turn("Understood.")]
    with StandinServer(ScriptedScenario(replies)) as server:
        env = child_env(tmp_path, server)
        # Sandboxed, a command sees no other process and cannot kill its runner: this crash needs the unsandboxed run.
        env["SIGNOFF_SANDBOX"] = "none"
        # The reviewer's side, in this process: the database exists before the runner starts.
        database = open_database(str(tmp_path / "signoff.db"))
        repository = Repository(database)
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "run",
                "--workspace",
                str(workspace),
                "--task",
                "t",
                "--model",
                "claude-sonnet-5-5",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            proposal = None
            for _ in range(600):
                waiting = pending_proposals(repository)
                if waiting:
                    proposal = waiting[0]
                    break
                try:
                    runner.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
            assert proposal is not None, runner.stdout.read() if runner.poll() is not None else "no proposal"
            repository.proposals.record_decision(proposal.id, verdict="approve", reviewer="ada", channel="cli")
            runner.communicate(timeout=60)
            assert runner.returncode == -signal.SIGKILL
            crashed = repository.proposals.get(proposal.id)
            assert crashed.status == "applying" and crashed.result is None
            assert (workspace / "ran.log").read_text() == "ran\n"

            resumed = subprocess.run(
                [sys.executable, "-m", "app", "resume", str(proposal.session_id)],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            final = repository.proposals.get(proposal.id)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
            database.close()
        bodies = server.message_bodies
    assert (workspace / "ran.log").read_text() == "ran\n"  # not run a second time
    assert final.status == "failed"
    assert final.result["is_error"] and "outcome is UNKNOWN" in final.result["content"]
    told = bodies[-1]["messages"][-1]["content"][0]
    assert told["is_error"] and "It was NOT run again" in told["content"]


@pytest.mark.parametrize(
    ("disk", "status", "told", "file_after"),
    [
        ("target", "applied", "so it was not written again", HELLO),
        ("base", "applied", "Approved by the reviewer and applied: greet.py was edited", HELLO),
        ("other", "conflict", "Signoff was interrupted while applying it", "someone else's\n"),
    ],
    ids=["disk-holds-the-target", "disk-holds-the-base", "disk-holds-something-else"],
)
def test_a_file_edit_found_applying_after_a_crash_is_finished_exactly_once(
    stack_factory, disk, status, told, file_after
):
    stack = stack_factory(
        [tool_turn(edit("greet.py", "'hi '", "'Hello '")), text_turn("ok")], files={"greet.py": GREET}
    )
    target_hash = hashlib.sha256(HELLO.encode()).hexdigest()

    async def until_applying():
        session = await stack.start()
        proposal = await stack.waiting_proposal()
        await stack.close()  # the runner goes away...
        return session, proposal

    session, proposal = run(until_applying())
    # ...in the state a crash right after recording the apply intent leaves: the same calls the runner makes.
    sync = Repository(open_database(str(stack.db_path)))
    review.decide(sync, review.approve(proposal.id, "ada"))
    assert sync.proposals.claim_for_apply(proposal.id, window_s=0)
    assert sync.proposals.record_apply_intent(proposal.id, target_hash)
    assert sync.proposals.apply_intent(proposal.id) == target_hash
    sync.database.close()
    on_disk = {"target": HELLO, "base": GREET, "other": "someone else's\n"}[disk]
    (stack.workspace / "greet.py").write_text(on_disk)

    stack.open()

    async def after_restart():
        await stack.manager.resume(session.id)
        assert await stack.manager.wait(session.id) == "finished"
        stored = await stack.repository.read(lambda store: store.proposals.get(proposal.id))
        await stack.close()
        return stored

    stored = run(after_restart())
    assert stored.status == status
    assert (stack.workspace / "greet.py").read_text() == file_after
    (result,) = stack.last_request_tool_results()
    assert told in result["content"]
    assert bool(result.get("is_error")) == (status != "applied")
    assert len(stack.server.message_bodies) == 2


def test_a_temporary_file_left_by_a_killed_writer_is_removed_by_the_next_apply_and_a_live_ones_is_kept(tmp_path):
    from app.services.apply import apply_file_change
    from app.services.workspace import Workspace

    (tmp_path / "greet.py").write_text(GREET)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan = tmp_path / f".greet.py.{gone.pid}.k3j2h1.signoff-tmp"
    orphan.write_text("half of a write")
    alive = tmp_path / f".greet.py.{os.getppid()}.x9y8z7.signoff-tmp"
    alive.write_text("someone else's write in progress")
    apply_file_change(Workspace(str(tmp_path)), "greet.py", hashlib.sha256(GREET.encode()).hexdigest(), HELLO.encode())
    assert (tmp_path / "greet.py").read_text() == HELLO
    assert not orphan.exists() and alive.exists()


# -- 2. the kill -9 harness --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_runner_killed_at_random_moments_loses_nothing_and_applies_nothing_twice(tmp_path):
    report = run_crash_harness(tmp_path, proposals=60, kills=15, seed=6, time_limit_s=150)
    assert report.problems == []
    assert report.finished and report.kills >= 10
    assert (report.lost, report.double_applied) == (0, 0)
    assert report.integrity_ok and report.audit_ok and report.acknowledged == 6


# -- 3. crashes while exporting and while migrating --------------------------------------------------------------------


def _kill_when(child: subprocess.Popen, ready, what: str) -> None:
    """SIGKILL ``child`` as soon as ``ready()`` is true; fail if it exits first."""
    for _ in range(120_000):
        if ready():
            child.send_signal(signal.SIGKILL)
            child.wait()
            return
        try:
            child.wait(timeout=0.001)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the child exited ({child.returncode}) before {what}")
    raise AssertionError(f"never saw {what}")


def test_an_export_killed_mid_write_leaves_no_partial_output_and_the_next_export_cleans_up(tmp_path):
    from tests.benchmarks.bench_export import build_database

    db_path = tmp_path / "decisions.db"
    build_database(db_path, 5_000)
    out = tmp_path / "dataset"
    out.mkdir()
    target = out / "raw.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "app", "export", "--db", str(db_path), "--format", "raw", "--out", str(target)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def writing() -> bool:
        return any(p.name.endswith(".partial") and p.stat().st_size > 0 for p in out.iterdir())

    _kill_when(child, writing, "the export started writing")
    assert child.returncode == -signal.SIGKILL
    assert not target.exists() and not (out / "raw.card.md").exists()
    left = [p.name for p in out.iterdir()]
    assert left and all(name.endswith(".partial") for name in left)  # it really was killed mid-write

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["raw.card.md", "raw.jsonl"]
    with target.open(encoding="utf-8") as rows:
        assert sum(1 for _ in rows) == 5_000


def test_a_migration_killed_midway_leaves_a_database_that_opens_and_migrates_with_its_data(tmp_path):
    from alembic import command as alembic_command

    from app.store.db import alembic_config, head_revision
    from app.store.models import Decision, Proposal
    from tests.store.test_migrations import migrations_with_next_revision, stored_revision

    path = tmp_path / "old.db"
    # A database written by the first Signoff (revision 0001), in WAL mode as Signoff keeps it, with one decision.
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        alembic_command.upgrade(alembic_config(connection=connection), "0001")
    engine.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    stamp = "2026-01-01 00:00:00.000000"
    connection.executescript(
        f"""
        INSERT INTO workspaces (id, root_path, created_at) VALUES (1, '/work/project', '{stamp}');
        INSERT INTO sessions (id, workspace_id, task, endpoint, model, system_prompt, tools, sampling, max_turns,
            status, turns, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
            created_at, updated_at)
            VALUES (1, 1, 'old task', 'anthropic', 'm', 's', '[]', '{{}}', 5, 'finished', 1, 0, 0, 0, 0,
                    '{stamp}', '{stamp}');
        INSERT INTO messages (id, session_id, seq, role, content, created_at)
            VALUES (1, 1, 0, 'user', '[{{"type": "text", "text": "go"}}]', '{stamp}');
        INSERT INTO proposals (id, session_id, message_seq, tool_use_id, tool_name, tool_input, kind, path,
            new_content, shown_text, shown_hash, lines_added, lines_removed, status, created_at)
            VALUES (1, 1, 1, 'toolu_1', 'str_replace_based_edit_tool', '{{}}', 'create', 'a.txt', X'006E6577FF',
                    '+new', '{"a" * 64}', 1, 0, 'applied', '{stamp}');
        INSERT INTO decisions (id, proposal_id, verdict, reviewer, decided_at, channel)
            VALUES (1, 1, 'approve', 'ana', '{stamp}', 'window');
        """
    )
    connection.commit()
    connection.close()
    old_revision = stored_revision(path)
    # A later Signoff whose last migration step rewrites data and then hangs until it is killed.
    ready = tmp_path / "migrating"
    scripts = migrations_with_next_revision(
        tmp_path,
        f"""
        op.execute("UPDATE proposals SET path = 'rewritten.txt'")
        op.execute("DELETE FROM decisions")
        open({str(ready)!r}, "w").close()
        import sys
        sys.stdin.read()
        """,
    )
    code = f"from app.store.db import open_database; open_database({str(path)!r}, script_location={str(scripts)!r})"
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _kill_when(child, ready.exists, "the migration reached its last step")
    finally:
        child.stdin.close()
    assert child.returncode == -signal.SIGKILL
    assert old_revision == "0001" and stored_revision(path) == "0001"

    with open_database(str(path)) as database, database.session() as session:
        assert database.revision == head_revision()
        (proposal,) = session.query(Proposal).all()
        (decision,) = session.query(Decision).all()
        assert (proposal.path, proposal.new_content, decision.reviewer) == ("a.txt", b"\x00new\xff", "ana")
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    # The later Signoff, started again (its step no longer hangs), migrates the same file to its own head.
    (scripts / "versions" / "9999_next.py").write_text(
        (scripts / "versions" / "9999_next.py").read_text().replace("sys.stdin.read()", "pass")
    )
    with open_database(str(path), script_location=str(scripts)) as database:
        assert database.revision == "9999"


# -- 4. a full or read-only disk under the workspace -------------------------------------------------------------------


def _can_make_mount_namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_make_mount_namespaces(), reason="needs unshare(1) with user and mount namespaces")
@pytest.mark.parametrize(
    ("mount", "reason"),
    [
        # A 8 KiB tmpfs: the first page holds the file, the new content does not fit.
        ("mount -t tmpfs -o size=8k tmpfs notes && printf 'END\\n' > notes/todo.txt", "the disk is full"),
        ("mount --bind notes notes && mount -o remount,bind,ro notes", "read-only file system"),
    ],
    ids=["disk-full", "read-only"],
)
def test_an_apply_on_a_full_or_read_only_disk_fails_clearly_and_writes_nothing(tmp_path, mount, reason):
    workspace = tmp_path / "ws"
    (workspace / "notes").mkdir(parents=True)
    (workspace / "notes" / "todo.txt").write_text("END\n")
    allow(workspace, ("file", "notes/*"))
    big = "x" * 40_000 + "\n"
    replies = [tool_turn(edit("notes/todo.txt", "END\n", big + "END\n")), text_turn("I see.")]
    with StandinServer(ScriptedScenario(replies)) as server:
        env = child_env(tmp_path, server)
        # The runner gets its own mount namespace, where notes/ is a tiny tmpfs or a read-only bind mount.
        script = (
            f"cd {workspace} && {mount} && "
            f"{sys.executable} -m app run --workspace {workspace} --task t --model claude-sonnet-5-5; "
            "echo '--- after'; cat notes/todo.txt; ls -a notes"
        )
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    output = done.stdout + done.stderr
    assert "Session 1 finished." in output, output
    after = output.split("--- after\n", 1)[1].split()
    assert after[:1] == ["END"], output  # the file is exactly as it was
    assert not [name for name in after if name.endswith(".signoff-tmp")], output
    database = open_database(str(tmp_path / "signoff.db"))
    (proposal,) = list_proposals(Repository(database))
    database.close()
    assert proposal.status == "failed"
    assert proposal.result["is_error"]
    assert reason in proposal.result["content"] and "Nothing was changed" in proposal.result["content"]
