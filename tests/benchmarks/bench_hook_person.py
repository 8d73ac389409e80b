"""The Claude Code hook when a person decides: from the moment the decision is durable (``review.decide`` returned, its
transaction committed) to the moment the answer line leaves the real `signoff hook claude-code` process (p95 over N
decisions, milliseconds). Undo window 0, as the person chose no wait; target 500 ms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.figures import Figure

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET_MS = 500.0


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def benchmarks(quick: bool) -> list[Figure]:
    from app.services import review
    from app.store.db import open_database
    from app.store.repository import Repository
    from tests.support.store_queries import pending_proposals

    runs = 3 if quick else 30
    with tempfile.TemporaryDirectory(prefix="signoff-bench-person-") as folder:
        root = Path(folder)
        project = root / "project"
        project.mkdir()
        (project / "app.py").write_text("x = 1\n", encoding="utf-8")
        (root / "config").mkdir()
        (root / "config" / "settings.json").write_text(json.dumps({"undo_seconds": 0}), encoding="utf-8")
        db_path = root / "signoff.db"
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "SIGNOFF_DATA_DIR": str(root / "data"),
            "SIGNOFF_CONFIG_DIR": str(root / "config"),
            "SIGNOFF_DB": str(db_path),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        repository = Repository(open_database(str(db_path)))
        after_durable: list[float] = []
        for number in range(runs):
            payload = {
                "session_id": "bench-person",
                "cwd": str(project),
                "hook_event_name": "PreToolUse",
                "transcript_path": "",
                "tool_name": "Edit",
                "tool_input": {
                    "file_path": str(project / "app.py"),
                    "old_string": "x = 1",
                    "new_string": f"x = {number + 2}",
                },
                "tool_use_id": f"toolu_person_{number}",
            }
            hook = subprocess.Popen(
                [sys.executable, "-m", "app", "hook", "claude-code"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert hook.stdin and hook.stdout and hook.stderr
            hook.stdin.write(json.dumps(payload))
            hook.stdin.close()
            deadline = time.monotonic() + 60
            while not (waiting := pending_proposals(repository)):
                if time.monotonic() > deadline:
                    hook.kill()
                    raise RuntimeError(
                        f"the hook's proposal never reached the queue: {hook.stdout.read()} {hook.stderr.read()}"
                    )
                time.sleep(0.005)
            review.decide(repository, review.DecisionRequest(waiting[0].id, "approve", "bench", channel="cli"))
            durable = time.perf_counter()
            line = hook.stdout.readline()
            after_durable.append((time.perf_counter() - durable) * 1000.0)
            hook.stdout.close()
            hook.stderr.close()
            hook.wait(timeout=60)
            if '"permissionDecision": "allow"' not in line:
                raise RuntimeError(f"the hook answered {line!r} to an approval")
        repository.database.close()
    return [
        Figure.at_most("hook_person_answer_after_durable_p95", _p95(after_durable), "ms", TARGET_MS),
        Figure.at_most(
            "hook_person_answer_after_durable_median", sorted(after_durable)[len(after_durable) // 2], "ms", None
        ),
    ]


if __name__ == "__main__":
    for figure in benchmarks(quick="--quick" in sys.argv):
        print(figure)
