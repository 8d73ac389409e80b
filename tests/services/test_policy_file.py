"""The policy file as people and concurrent writers change it: every rule and comment kept, typos refused with the
line and a suggestion (CLI, runner), a backup of the previous version, nothing rewritten that could not be read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.domain.policy import Rule, policy_path
from app.domain.tools import COMMAND_TOOL_NAME
from app.services import events
from app.services.policy_file import add_rules, load_policy, remove_rule
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from tests.support.agent_harness import run

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITTEN_BY_HAND = """\
# Our team's rules: ask Ada before widening them.
version = 1

# The test runner is harmless.
[[rule]]
action = "allow"  # checked with security in May
kind = "command"
pattern = "pytest -q"
match = "prefix"
"""
TYPO = """\
version = 1

[[rules]]
action = "deny"
kind = "command"
pattern = "rm"
"""


def write_policy(root: Path, text: str) -> Path:
    path = policy_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_twenty_signoff_policy_add_processes_at_once_keep_all_twenty_rules_and_the_comments(tmp_path: Path) -> None:
    path = write_policy(tmp_path, WRITTEN_BY_HAND)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), SIGNOFF_CONFIG_DIR=str(tmp_path / "config"))
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "policy",
                "add",
                "allow",
                "command",
                f"make target{n}",
                "--workspace",
                str(tmp_path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(20)
    ]
    # Each process imports the whole CLI; on a loaded two-core machine twenty of them take a while.
    outcomes = [(process.wait(timeout=600), process.stderr.read()) for process in processes]
    for process in processes:
        process.stdout.close()
        process.stderr.close()
    assert [code for code, _ in outcomes] == [0] * 20, [err for _, err in outcomes if err]
    patterns = {rule.pattern for rule in load_policy(tmp_path).rules}
    assert patterns == {"pytest -q"} | {f"make target{n}" for n in range(20)}
    text = path.read_text(encoding="utf-8")
    assert text.startswith(WRITTEN_BY_HAND)
    assert path.with_name("policy.toml.bak").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["policy.toml", "policy.toml.bak"]


def test_adding_and_removing_rules_keeps_every_comment_and_backs_up_the_previous_version(tmp_path: Path) -> None:
    path = write_policy(tmp_path, WRITTEN_BY_HAND)
    add_rules(tmp_path, [Rule("deny", "edit", "*.lock")])
    assert path.read_text(encoding="utf-8").startswith(WRITTEN_BY_HAND)
    assert path.with_name("policy.toml.bak").read_text(encoding="utf-8") == WRITTEN_BY_HAND
    assert remove_rule(tmp_path, 2) == Rule("deny", "edit", "*.lock")
    text = path.read_text(encoding="utf-8")
    assert "# checked with security in May" in text and "# Our team's rules" in text
    assert load_policy(tmp_path).rules == (Rule.for_command("allow", "pytest -q"),)


@pytest.mark.parametrize("action", ["show", "add", "check"])
def test_a_misspelt_table_is_refused_by_the_cli_with_its_line_and_the_right_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    path = write_policy(tmp_path, TYPO)
    argv = {
        "show": ["policy", "show", "--workspace", str(tmp_path)],
        "add": ["policy", "add", "allow", "command", "ls", "--workspace", str(tmp_path)],
        "check": ["policy", "check", "--command", "rm -rf x", "--workspace", str(tmp_path)],
    }[action]
    assert cli_main(argv) == 1
    message = capsys.readouterr().err
    assert "line 3" in message and "[[rules]]" in message and "did you mean [[rule]]" in message, message
    assert path.read_text(encoding="utf-8") == TYPO, "nothing the person wrote is dropped"
    assert not path.with_name("policy.toml.bak").exists()


def test_an_unknown_key_in_a_rule_names_its_line_and_the_key_meant(tmp_path: Path) -> None:
    write_policy(tmp_path, WRITTEN_BY_HAND + 'patern = "x"\n')
    with pytest.raises(Exception, match=r"line 10: rule 1 has unknown keys \['patern'\]; did you mean 'pattern'\?"):
        load_policy(tmp_path)


def test_a_policy_file_that_is_not_utf8_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = policy_path(tmp_path)
    path.parent.mkdir()
    path.write_bytes(b"# caf\xe9\nversion = 1\n")
    with pytest.raises(Exception, match="not UTF-8"):
        add_rules(tmp_path, [Rule("allow", "file", "docs/**")])
    assert path.read_bytes() == b"# caf\xe9\nversion = 1\n"


def test_a_misspelt_table_makes_the_runner_ask_and_say_what_is_wrong(stack_factory) -> None:
    stack = stack_factory([tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": "rm x"})), text_turn("Done.")])
    write_policy(stack.workspace, TYPO.replace('"deny"', '"allow"'))

    async def scenario():
        session = await stack.start()
        waiting = await stack.waiting_proposal()
        stack.manager.stop(session.id)
        await stack.manager.wait(session.id)
        await stack.close()
        return waiting

    waiting = run(scenario())
    assert waiting.status == "pending"
    details = [e.detail for e in stack.seen if isinstance(e, events.StatusChanged)]
    assert any("did you mean [[rule]]" in d and "line 3" in d for d in details), details
