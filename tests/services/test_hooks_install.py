"""`signoff hooks install / uninstall` on a Claude Code settings file: merged, never clobbered, backed up, idempotent,
and taken out exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.services.adapters import hooks_install
from tests.support.claude_code_driver import REPO_ROOT

THEIRS = {
    "permissions": {"allow": ["Bash(npm test:*)"]},
    "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh"}]}]},
}


def _signoff(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *words],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def test_install_merges_beside_the_users_own_hooks_keeps_a_backup_and_a_second_install_changes_nothing(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(THEIRS), encoding="utf-8")

    first = _signoff("hooks", "install", "--project", str(tmp_path))
    after_first = settings.read_text(encoding="utf-8")
    second = _signoff("hooks", "install", "--project", str(tmp_path))

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    merged = json.loads(after_first)
    assert merged["permissions"] == THEIRS["permissions"]
    pre_tool = merged["hooks"]["PreToolUse"]
    assert pre_tool[0] == THEIRS["hooks"]["PreToolUse"][0]
    assert pre_tool[1]["matcher"] == "Edit|Write|MultiEdit|Bash"
    assert "hook claude-code" in pre_tool[1]["hooks"][0]["command"]
    assert "hook claude-code" in merged["hooks"]["SessionEnd"][0]["hooks"][0]["command"]
    backups = list(settings.parent.glob("settings.json.signoff-backup-*"))
    assert len(backups) == 1 and json.loads(backups[0].read_text(encoding="utf-8")) == THEIRS
    assert settings.read_text(encoding="utf-8") == after_first
    assert "nothing changed" in second.stdout


def test_uninstall_removes_exactly_signoffs_entries(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(THEIRS), encoding="utf-8")
    hooks_install.install(settings, "signoff hook claude-code --timeout 600")

    change = hooks_install.uninstall(settings)

    assert change.changed and json.loads(settings.read_text(encoding="utf-8")) == THEIRS


def test_a_malformed_settings_file_is_refused_and_left_as_it_was(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json", encoding="utf-8")

    result = _signoff("hooks", "install", "--project", str(tmp_path))

    assert result.returncode == 1
    assert "is not valid JSON" in result.stderr and "Traceback" not in result.stderr
    assert settings.read_text(encoding="utf-8") == "{ not json"


def test_the_installed_command_is_one_the_shell_runs(tmp_path):
    command = hooks_install.hook_command(db_url=str(tmp_path / "x.db"), timeout_s=30)

    result = subprocess.run(
        command.replace(" hook claude-code", " hook --help", 1).split(" --timeout")[0],
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )

    assert result.returncode == 0 and "claude-code" in result.stdout
    assert Path(command.split()[0]).exists()
