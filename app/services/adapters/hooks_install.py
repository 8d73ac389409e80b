"""``signoff hooks install / uninstall``: Signoff's entries in a Claude Code settings file, merged in and taken out
without touching anything else (other hooks, permissions, env), with a backup before every change.

Only the file is read and written here; an unreadable or malformed file is refused with one sentence, never replaced.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.safe_files import locked, write_atomically

# Which Claude Code hook events Signoff answers, and for which tools.
EVENTS = {"PreToolUse": "Edit|Write|MultiEdit|Bash", "SessionEnd": None}
# How Signoff recognises its own entry (and nobody else's) when it updates or removes it.
MARKER = " hook claude-code"
DEFAULT_TIMEOUT_S = 600


class HooksFileError(Exception):
    """The settings file cannot be changed safely; the message names it and why."""


@dataclass(frozen=True)
class HooksChange:
    path: Path
    changed: bool
    backup: Path | None


def settings_file(*, project: str | None = None, user: bool = False) -> Path:
    if user:
        return Path.home() / ".claude" / "settings.json"
    return Path(project or ".").resolve() / ".claude" / "settings.json"


def signoff_executable() -> list[str]:
    """How Claude Code should start this Signoff: the ``signoff`` script that runs now, else this Python."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "signoff" and script.exists():
        return [str(script.resolve())]
    found = shutil.which("signoff")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return [found]
    return [sys.executable, "-m", "app"]


def hook_command(*, db_url: str | None = None, timeout_s: int = DEFAULT_TIMEOUT_S) -> str:
    words = [*signoff_executable(), "hook", "claude-code", "--timeout", str(timeout_s)]
    if db_url:
        words += ["--db", db_url]
    return shlex.join(words)


def _is_ours(hook: Any) -> bool:
    return isinstance(hook, dict) and isinstance(hook.get("command"), str) and MARKER in hook["command"]


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise HooksFileError(f"Cannot read {path}: {err.strerror or err}.") from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except ValueError as err:
        raise HooksFileError(
            f"{path} is not valid JSON ({err}); fix it first, Signoff does not overwrite it."
        ) from None
    if not isinstance(settings, dict):
        raise HooksFileError(f"{path} does not hold a JSON object; Signoff does not overwrite it.")
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict) or any(not isinstance(groups, list) for groups in hooks.values()):
        raise HooksFileError(f"{path} has a `hooks` entry Signoff does not understand; it is left as it is.")
    return settings


def _without_ours(hooks: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for event, groups in hooks.items():
        new_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                remaining = [hook for hook in group["hooks"] if not _is_ours(hook)]
                if not remaining:
                    continue
                group = {**group, "hooks": remaining}
            new_groups.append(group)
        if new_groups:
            kept[event] = new_groups
    return kept


def _write(path: Path, settings: dict[str, Any], before: dict[str, Any]) -> HooksChange:
    if settings == before:
        return HooksChange(path, False, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = path.with_name(f"{path.name}.signoff-backup-{stamp}")
        shutil.copy2(path, backup)
    write_atomically(path, (json.dumps(settings, indent=2) + "\n").encode("utf-8"))
    return HooksChange(path, True, backup)


def install(path: Path, command: str, *, timeout_s: int = DEFAULT_TIMEOUT_S) -> HooksChange:
    """Add (or bring up to date) Signoff's hook entries; running it twice changes nothing the second time. Read and
    written under the settings file's lock, so a concurrent install, uninstall or Signoff write loses nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        return _install(path, command, timeout_s)


def _install(path: Path, command: str, timeout_s: int) -> HooksChange:
    before = _load(path)
    settings = json.loads(json.dumps(before))
    hooks = _without_ours(settings.get("hooks", {}))
    for event, matcher in EVENTS.items():
        group: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": timeout_s}]}
        if matcher is not None:
            group = {"matcher": matcher, **group}
        hooks.setdefault(event, []).append(group)
    settings["hooks"] = hooks
    # The same entries in the same place count as no change (no rewrite, no backup).
    if _same_ours(before, settings):
        return HooksChange(path, False, None)
    return _write(path, settings, before)


def _same_ours(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)


def uninstall(path: Path) -> HooksChange:
    """Remove exactly Signoff's entries (and the groups and events they leave empty), under the file's lock."""
    if not path.parent.is_dir():
        return HooksChange(path, False, None)
    with locked(path):
        return _uninstall(path)


def _uninstall(path: Path) -> HooksChange:
    before = _load(path)
    if not before:
        return HooksChange(path, False, None)
    settings = json.loads(json.dumps(before))
    hooks = _without_ours(settings.get("hooks", {}))
    if hooks:
        settings["hooks"] = hooks
    else:
        settings.pop("hooks", None)
    return _write(path, settings, before)
