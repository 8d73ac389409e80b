"""kill -9 crash harness: a real `signoff run` / `signoff resume` child process applies many proposals and is SIGKILLed
at random moments, again and again, until every proposal is resolved; then nothing may be lost or done twice.

The parent owns the stand-in Messages API (a scenario that answers from the conversation it is sent, so a turn lost
with a killed child is simply asked for again), a real SQLite file, and a reviewer approving the proposals the
workspace policy leaves to a person (as another process would, through the repository). Each edit replaces the
file's ``END`` marker with a unique line plus the marker, so a lost, half or double apply shows in the final bytes;
each command appends a unique line to ``commands.log``.

Used by tests/test_crash_recovery.py and tests/benchmarks/bench_crash_harness.py; also runnable:
``python -m tests.support.crash_harness --proposals 200 --kills 30``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.standin.scenario import Turn, text_turn, tool_use_block
from app.standin.server import StandinServer
from app.store.audit import verify_chain
from app.store.db import open_database
from app.store.errors import StoreError
from app.store.repository import Repository
from tests.support.store_queries import list_proposals, pending_proposals

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "claude-sonnet-5-5"
REVIEWER = "crash-reviewer"
AUTO_FILES = 4
REVIEW_FILES = 2
MARKER = "END\n"


def action_of(number: int) -> tuple[str, str]:
    """What proposal ``number`` does: ('command', text), ('review', path) or ('auto', path)."""
    if number % 10 == 9:
        # Through tee, not `>>`: a redirection into a file is never allowed by a rule (command_catalogue.py).
        return "command", f"echo cmd-{number} | tee -a commands.log"
    if number % 10 == 4:
        return "review", f"review/r{number % REVIEW_FILES}.txt"
    return "auto", f"auto/f{number % AUTO_FILES}.txt"


def tool_use_for(number: int) -> dict[str, Any]:
    kind, target = action_of(number)
    if kind == "command":
        return tool_use_block(COMMAND_TOOL_NAME, {"command": target})
    return tool_use_block(
        EDITOR_TOOL_NAME,
        {"command": "str_replace", "path": target, "old_str": MARKER, "new_str": f"line {number}\n{MARKER}"},
    )


class CrashScenario:
    """The model's turn as a function of the conversation: the next ``per_turn`` proposals after those answered."""

    def __init__(self, proposals: int, per_turn: int = 3) -> None:
        self.proposals = proposals
        self.per_turn = per_turn

    def __call__(self, request: dict[str, Any]) -> Turn:
        answered = sum(
            1
            for message in request["messages"]
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        )
        if answered >= self.proposals:
            return text_turn("All edits are done.")
        numbers = range(answered, min(self.proposals, answered + self.per_turn))
        return Turn([tool_use_for(number) for number in numbers], "tool_use")


@dataclass
class CrashReport:
    proposals: int
    kills: int = 0
    restarts: int = 0
    lost: int = 0
    double_applied: int = 0
    integrity_ok: bool = False
    audit_ok: bool = False
    acknowledged: int = 0
    interrupted_commands: int = 0
    # Where the kills landed: a proposal was being applied (intent recorded or not yet), or a decision was made
    # but not yet claimed for applying.
    kills_mid_apply: int = 0
    kills_after_decision: int = 0
    finished: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.finished and not self.problems and self.integrity_ok and self.audit_ok


def _child_env(root: Path, db_path: Path, base_url: str) -> dict[str, str]:
    config = root / "config"
    config.mkdir(exist_ok=True)
    # Decisions take effect at once: the harness is about crashes, not the undo window.
    (config / "settings.json").write_text(json.dumps({"undo_seconds": 0}), encoding="utf-8")
    env = dict(os.environ)
    for name in ("ANTHROPIC_AUTH_TOKEN",):
        env.pop(name, None)
    env.update(
        SIGNOFF_DB=str(db_path),
        SIGNOFF_CONFIG_DIR=str(config),
        SIGNOFF_DATA_DIR=str(root / "data"),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="sk-ant-crash-harness",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def _prepare_workspace(workspace: Path) -> None:
    (workspace / "auto").mkdir(parents=True)
    (workspace / "review").mkdir()
    for index in range(AUTO_FILES):
        (workspace / "auto" / f"f{index}.txt").write_text(MARKER)
    for index in range(REVIEW_FILES):
        (workspace / "review" / f"r{index}.txt").write_text(MARKER)
    (workspace / ".signoff").mkdir()
    (workspace / ".signoff" / "policy.toml").write_text(
        "version = 1\n\n"
        '[[rule]]\naction = "allow"\nkind = "command"\npattern = "echo"\nmatch = "prefix"\n\n'
        '[[rule]]\naction = "allow"\nkind = "command"\npattern = "tee -a commands.log"\nmatch = "exact"\n\n'
        '[[rule]]\naction = "allow"\nkind = "file"\npattern = "auto/*"\n',
        encoding="utf-8",
    )


class _Reviewer:
    """Approves waiting proposals under review/ from the parent process; remembers what it was told was stored."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.acknowledged: dict[int, int] = {}

    def review_waiting(self) -> None:
        try:
            waiting = pending_proposals(self.repository)
        except StoreError:
            return
        for proposal in waiting:
            if not (proposal.path or "").startswith("review/") or proposal.id in self.acknowledged:
                continue
            try:
                decision = self.repository.proposals.record_decision(
                    proposal.id, verdict="approve", reviewer=REVIEWER, channel="cli"
                )
            except StoreError:
                continue
            self.acknowledged[proposal.id] = decision.id


def _note_kill_state(report: CrashReport, repository: Repository) -> None:
    with repository.database.session() as orm:
        states = dict(
            orm.execute(
                text("SELECT status, count(*) FROM proposals WHERE status IN ('applying', 'decided') GROUP BY status")
            ).all()
        )
    report.kills_mid_apply += bool(states.get("applying"))
    report.kills_after_decision += bool(states.get("decided"))


def _applying_now(repository: Repository) -> bool:
    with repository.database.session() as orm:
        return bool(
            orm.execute(text("SELECT 1 FROM proposals WHERE status IN ('applying', 'decided') LIMIT 1")).first()
        )


def _resolved_count(repository: Repository) -> int:
    with repository.database.session() as orm:
        return int(orm.execute(text("SELECT count(*) FROM proposals WHERE result IS NOT NULL")).scalar() or 0)


def run_crash_harness(
    root: Path,
    *,
    proposals: int,
    kills: int,
    seed: int = 1,
    per_turn: int = 3,
    time_limit_s: float = 170.0,
) -> CrashReport:
    """Drive one session of ``proposals`` proposals to the end through about ``kills`` SIGKILLs of its runner."""
    started = time.monotonic()
    rng = random.Random(seed)
    report = CrashReport(proposals=proposals)
    workspace = root / "workspace"
    _prepare_workspace(workspace)
    db_path = root / "signoff.db"
    # Created and migrated here, before any child may be killed: crashes mid-migration are tested on their own.
    database = open_database(str(db_path))
    repository = Repository(database)
    reviewer = _Reviewer(repository)
    # Kill about every `spacing` resolved proposals, at a random moment after progress was seen.
    # Denser than proposals/kills: restarts speed progress up, and kills are capped at `kills` anyway.
    spacing = max(1.0, proposals / (2.0 * max(1, kills)))
    logs = root / "children.log"
    with StandinServer(CrashScenario(proposals, per_turn)) as server, logs.open("ab") as log_file:
        env = _child_env(root, db_path, server.base_url)
        session_id: int | None = None
        child: subprocess.Popen[bytes] | None = None
        try:
            while True:
                if time.monotonic() - started > time_limit_s:
                    report.problems.append(f"gave up after {time_limit_s:g} s")
                    break
                sessions = repository.sessions.recent()
                session_id = sessions[0].id if sessions else None
                if session_id is not None and repository.sessions.get(session_id).status == "finished":
                    report.finished = True
                    break
                args = (
                    [
                        "run",
                        "--workspace",
                        str(workspace),
                        "--task",
                        "Make every edit.",
                        "--model",
                        MODEL,
                        "--max-turns",
                        str(proposals // per_turn + 10),
                    ]
                    if session_id is None
                    else ["resume", str(session_id)]
                )
                child = subprocess.Popen(
                    [sys.executable, "-m", "app", *args], env=env, stdout=log_file, stderr=subprocess.STDOUT
                )
                report.restarts += 1
                baseline = _resolved_count(repository)
                goal = baseline + rng.randint(1, max(1, round(2 * spacing) - 1))
                armed_at: float | None = None
                delay = 0.0
                # Half the kills land at a random moment; the others as soon as a proposal is seen decided or being
                # applied (the narrow windows where a crash could lose or double an apply), else after a while.
                mid_apply = rng.random() < 0.5
                while child.poll() is None:
                    reviewer.review_waiting()
                    if report.kills < kills:
                        if armed_at is None and _resolved_count(repository) >= goal:
                            armed_at, delay = time.monotonic(), rng.uniform(0.0, 0.15 if not mid_apply else 1.0)
                        fire = armed_at is not None and (
                            time.monotonic() - armed_at >= delay or (mid_apply and _applying_now(repository))
                        )
                        if fire:
                            child.send_signal(signal.SIGKILL)
                            child.wait()
                            report.kills += 1
                            _note_kill_state(report, repository)
                            break
                    if time.monotonic() - started > time_limit_s:
                        break
                    try:
                        child.wait(timeout=0.005)
                    except subprocess.TimeoutExpired:
                        pass
                reviewer.review_waiting()
                if child.poll() is None:
                    child.kill()
                    child.wait()
                elif child.returncode not in (0, -signal.SIGKILL):
                    report.problems.append(f"a runner exited with {child.returncode} (see {logs})")
                    break
        finally:
            if child is not None and child.poll() is None:
                child.kill()
                child.wait()
    _verify(report, repository, database, workspace, session_id, reviewer)
    database.close()
    report.acknowledged = len(reviewer.acknowledged)
    report.seconds = time.monotonic() - started
    return report


def _verify(report: CrashReport, repository: Repository, database, workspace: Path, session_id, reviewer) -> None:
    if session_id is None:
        report.problems.append("no session was ever stored")
        return
    stored, status_of = _verify_proposals(report, repository, session_id)
    _verify_files(report, workspace)
    _verify_commands(report, workspace, status_of)
    _verify_decisions(report, repository, session_id, reviewer, stored)
    _verify_transcript(report, repository, session_id)
    _verify_database(report, database)


def _verify_proposals(report: CrashReport, repository: Repository, session_id) -> tuple[list, dict[int, str]]:
    """Every numbered action proposed exactly once; returns the stored proposals and each number's status."""
    problems = report.problems
    stored = list_proposals(repository, session_id=session_id, limit=report.proposals * 2 + 10)
    numbers: list[int] = []
    status_of: dict[int, str] = {}
    for proposal in stored:
        if proposal.kind == "command":
            number = int((proposal.command or "").split()[1].removeprefix("cmd-"))
        else:
            number = int(proposal.tool_input["new_str"].split()[1])
        numbers.append(number)
        status_of[number] = proposal.status
    counts = Counter(numbers)
    twice = sorted(number for number, count in counts.items() if count > 1)
    if twice:
        problems.append(f"proposals made twice: {twice[:10]}")
    missing = sorted(set(range(report.proposals)) - set(counts))
    report.lost += len(missing)
    if missing:
        problems.append(f"proposals never made: {missing[:10]}")
    return stored, status_of


def _verify_files(report: CrashReport, workspace: Path) -> None:
    """Files: exactly the unique lines of their applied edits, in order, and the marker."""
    problems = report.problems
    expected_lines: dict[str, list[str]] = {}
    for number in range(report.proposals):
        kind, target = action_of(number)
        if kind != "command":
            expected_lines.setdefault(target, []).append(f"line {number}")
    for path, lines in sorted(expected_lines.items()):
        actual = (workspace / path).read_text().splitlines()
        if actual[-1:] != ["END"]:
            problems.append(f"{path} lost its END marker")
        body = [line for line in actual if line != "END"]
        doubled = [line for line, count in Counter(body).items() if count > 1]
        report.double_applied += sum(Counter(body)[line] - 1 for line in doubled)
        report.lost += len(set(lines) - set(body))
        if body != lines:
            problems.append(f"{path} holds {len(body)} lines, expected {len(lines)} in order")
    leftovers = [str(p.relative_to(workspace)) for p in workspace.rglob("*.signoff-tmp")]
    if leftovers:
        problems.append(f"temporary files left behind: {leftovers}")


def _verify_commands(report: CrashReport, workspace: Path, status_of: dict[int, str]) -> None:
    """Commands: never twice; exactly once when reported applied, at most once when interrupted. Edits: applied."""
    problems = report.problems
    log_path = workspace / "commands.log"
    ran = Counter(log_path.read_text().split()) if log_path.exists() else Counter()
    for number in range(report.proposals):
        kind, _ = action_of(number)
        if kind != "command":
            continue
        times = ran[f"cmd-{number}"]
        if times > 1:
            report.double_applied += times - 1
        status = status_of.get(number)
        if status == "applied" and times != 1:
            problems.append(f"command {number} reported applied but ran {times} times")
        elif status == "failed":
            report.interrupted_commands += 1
        elif status not in ("applied", "failed"):
            problems.append(f"command {number} ended {status}")
    for number, status in status_of.items():
        if action_of(number)[0] != "command" and status != "applied":
            problems.append(f"edit {number} ended {status}")
            report.lost += 1


def _verify_decisions(report: CrashReport, repository: Repository, session_id, reviewer, stored: list) -> None:
    """Decisions: one per proposal; everything the reviewer was told was stored is there."""
    problems = report.problems
    decisions = repository.proposals.decisions_for_session(session_id)
    decided = Counter(proposal.id for proposal, _ in decisions)
    if any(count != 1 for count in decided.values()) or len(decided) != len(stored):
        problems.append(f"{len(decisions)} decisions for {len(stored)} proposals")
    by_id = {decision.id: decision for _, decision in decisions}
    for proposal_id, decision_id in reviewer.acknowledged.items():
        stored_decision = by_id.get(decision_id)
        if (
            stored_decision is None
            or stored_decision.proposal_id != proposal_id
            or stored_decision.reviewer != REVIEWER
        ):
            report.lost += 1
            problems.append(f"acknowledged decision {decision_id} on proposal {proposal_id} is missing")


def _verify_transcript(report: CrashReport, repository: Repository, session_id) -> None:
    """The transcript answers every tool call exactly once."""
    answered = Counter(
        block["tool_use_id"]
        for message in repository.sessions.messages(session_id)
        if message.role == "user"
        for block in message.content
        if block.get("type") == "tool_result"
    )
    if any(count != 1 for count in answered.values()) or len(answered) != report.proposals:
        report.problems.append(f"{len(answered)} tool calls answered (some twice?) for {report.proposals} proposals")


def _verify_database(report: CrashReport, database) -> None:
    """The audit chain verifies and SQLite finds the file intact."""
    report.audit_ok = verify_chain(database).intact
    if not report.audit_ok:
        report.problems.append("the audit chain does not verify")
    with database.session() as orm:
        integrity = orm.execute(text("PRAGMA integrity_check")).scalar()
    report.integrity_ok = integrity == "ok"
    if not report.integrity_ok:
        report.problems.append(f"PRAGMA integrity_check: {integrity}")


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=60)
    parser.add_argument("--kills", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="signoff-crash-") as folder:
        report = run_crash_harness(
            Path(folder), proposals=args.proposals, kills=args.kills, seed=args.seed, time_limit_s=3600
        )
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
