"""The Claude Code hook on the agent's critical path: the real `signoff hook claude-code` process spawned 200 times
while a workspace policy decides, against `python -c pass` spawned as often in the same run (p95, milliseconds)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.figures import Figure

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET_OVER_PYTHON_MS = 100.0


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spawn_ms(
    argv: list[str], stdin_text: str, env: dict[str, str], cpu: list[float] | None = None
) -> tuple[float, str]:
    """(wall ms, stdout) of one fresh process; its CPU milliseconds are appended to ``cpu``."""
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, env=env, timeout=60, check=True)
    elapsed = (time.perf_counter() - started) * 1000.0
    if cpu is not None:
        cpu.append((_children_cpu_s() - cpu_before) * 1000.0)
    return elapsed, done.stdout


def _payloads(project: Path) -> list[str]:
    edit = {"file_path": str(project / "app.py"), "old_string": "x = 1", "new_string": "x = 2"}
    common = {"session_id": "bench", "cwd": str(project), "hook_event_name": "PreToolUse", "transcript_path": ""}
    return [
        json.dumps({**common, "tool_name": "Edit", "tool_input": edit, "tool_use_id": "edit"}),
        json.dumps({**common, "tool_name": "Bash", "tool_input": {"command": "git push"}, "tool_use_id": "bash"}),
    ]


def benchmarks(quick: bool) -> list[Figure]:
    runs = 30 if quick else 200
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        project = root / "project"
        (project / ".signoff").mkdir(parents=True)
        (project / "app.py").write_text("x = 1\n", encoding="utf-8")
        (project / ".signoff" / "policy.toml").write_text(
            '[[rule]]\naction = "allow"\nkind = "file"\npattern = "*.py"\n\n'
            '[[rule]]\naction = "deny"\nkind = "command"\npattern = "git push"\n',
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "SIGNOFF_DATA_DIR": str(root / "data"),
            "SIGNOFF_CONFIG_DIR": str(root / "config"),
            "SIGNOFF_DB": str(root / "signoff.db"),
        }
        # Bytecode is written by the warm-up runs, as it is by an install; without it every run compiles each module.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        hook = [sys.executable, "-m", "app", "hook", "claude-code"]
        payloads = _payloads(project)
        hook_ms: dict[str, list[float]] = {"edit": [], "bash": []}
        hook_cpu: dict[str, list[float]] = {"edit": [], "bash": []}
        python_ms: list[float] = []
        python_cpu: list[float] = []
        for payload in payloads:
            _spawn_ms(hook, payload, env)
        for number in range(runs):
            # Interleaved, so both see the same machine load.
            python_ms.append(_spawn_ms([sys.executable, "-c", "pass"], "", env, python_cpu)[0])
            kind = "edit" if number % 2 == 0 else "bash"
            elapsed, stdout = _spawn_ms(hook, payloads[number % 2], env, hook_cpu[kind])
            expected = "allow" if kind == "edit" else "deny"
            if f'"permissionDecision": "{expected}"' not in stdout:
                raise RuntimeError(f"the hook answered {stdout!r} where the policy says {expected}")
            hook_ms[kind].append(elapsed)
    baseline = _p95(python_ms)
    edit, command = _p95(hook_ms["edit"]), _p95(hook_ms["bash"])
    return [
        # The targets: what the hook adds to a bare interpreter start when a policy decides a file edit, a command.
        Figure.at_most("hook_policy_edit_p95_over_python", edit - baseline, "ms", TARGET_OVER_PYTHON_MS),
        Figure.at_most("hook_policy_command_p95_over_python", command - baseline, "ms", TARGET_OVER_PYTHON_MS),
        Figure.at_most("hook_policy_edit_p95", edit, "ms", None, baseline),
        Figure.at_most("hook_policy_command_p95", command, "ms", None, baseline),
        # Without a target: the CPU each process used, which a busy machine inflates far less than the wall time.
        Figure.at_most("hook_policy_edit_cpu_p95", _p95(hook_cpu["edit"]), "ms", None, _p95(python_cpu)),
        Figure.at_most("hook_policy_command_cpu_p95", _p95(hook_cpu["bash"]), "ms", None, _p95(python_cpu)),
        Figure.at_most(
            "hook_policy_edit_median", statistics.median(hook_ms["edit"]), "ms", None, statistics.median(python_ms)
        ),
        Figure.at_most(
            "hook_policy_command_median", statistics.median(hook_ms["bash"]), "ms", None, statistics.median(python_ms)
        ),
    ]
