"""Plan mode headless across real processes: `signoff run --demo --plan`, the plan in the queue, `show`, `edit --file`
with a numbered Markdown list, two delegated coders, a kill -9 of the runner in the middle of the tree, `resume`, and
`signoff sessions --tree`."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

from app.paths import resources_dir
from tests.cli.test_headless import cli_env, signoff  # noqa: F401 - the fixture is used by name

EDITED_PLAN = """# Fix name capitalisation in greet.py and cover it with tests

1. Add unit tests for tidy_name and greet
   A new test_greet.py.
2. Fix tidy_name in greet.py
   Capitalise every word.
   Files: greet.py
"""


def start_runner(env, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def queue_until(env, runner, predicate):
    for _ in range(300):
        rows = json.loads(signoff("queue", "--json", env=env).stdout)
        if predicate(rows):
            return rows
        if runner.poll() is not None:
            raise AssertionError(f"the runner exited early:\n{runner.stdout.read()}")
        try:
            runner.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError(f"the queue never got there: {rows}")


def test_a_plan_is_edited_from_markdown_then_coders_survive_a_kill_and_the_tree_finishes(tmp_path, cli_env):  # noqa: F811
    workspace = tmp_path / "demo"
    shutil.copytree(resources_dir() / "demo_workspace", workspace)
    runner = start_runner(cli_env, "run", "--demo", "--plan", "--workspace", str(workspace), "--task", "Fix greet.py")
    try:
        (plan_row,) = queue_until(cli_env, runner, lambda rows: len(rows) == 1)
        assert plan_row["kind"] == "plan"
        shown = signoff("show", str(plan_row["id"]), env=cli_env).stdout
        assert "1. Fix tidy_name in greet.py" in shown and "3. Mention the tests in the README" in shown
        assert "## Open questions" in shown

        bad = tmp_path / "bad.md"
        bad.write_text("# Title\nno steps here\n")
        refused = signoff("edit", str(plan_row["id"]), "--file", str(bad), env=cli_env, check=False)
        assert refused.returncode != 0 and "Line 2 is neither" in refused.stderr + refused.stdout
        assert [r["id"] for r in json.loads(signoff("queue", "--json", env=cli_env).stdout)] == [plan_row["id"]]

        good = tmp_path / "plan.md"
        good.write_text(EDITED_PLAN)
        signoff("edit", str(plan_row["id"]), "--file", str(good), env=cli_env)
        coders = queue_until(cli_env, runner, lambda rows: len([r for r in rows if r["kind"] != "plan"]) == 2)
        # Crash in the middle of the tree: both coders wait on a person when the runner is killed.
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        runner.stdout.close()
    root_id = plan_row["session"]
    resumed = start_runner(cli_env, "resume", str(root_id))
    try:
        for row in coders:
            signoff("approve", str(row["id"]), env=cli_env)
        output, _ = resumed.communicate(timeout=90)
    finally:
        if resumed.poll() is None:
            resumed.kill()
            resumed.wait()
    assert resumed.returncode == 0, output
    assert 'return " ".join(raw.split()).title()' in (workspace / "greet.py").read_text()
    assert (workspace / "greet.py").read_text().count(".title()") == 1
    assert (workspace / "test_greet.py").exists()

    tree = json.loads(signoff("sessions", "--tree", "--json", env=cli_env).stdout)
    (root,) = [t for t in tree if t["root"] == root_id]
    assert [(a["depth"], a["role"], a["state"], a["plan_step"]) for a in root["agents"]] == [
        (0, "planner", "done", None),
        (1, "coder", "done", 1),
        (1, "coder", "done", 2),
    ]
    assert [s["title"] for s in root["plan"]["steps"]] == [
        "Add unit tests for tidy_name and greet",
        "Fix tidy_name in greet.py",
    ]
    assert root["steps_done"] == [True, True]
    text = signoff("sessions", "--tree", env=cli_env).stdout
    assert "[x] 1. Add unit tests for tidy_name and greet" in text and "└" in text
    shown_after = signoff("show", str(plan_row["id"]), env=cli_env).stdout
    assert "The plan as the reviewer edited it:" in shown_after
