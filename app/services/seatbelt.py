"""The macOS side of the command sandbox: a ``sandbox-exec`` (Seatbelt) profile in SBPL for one command run.

Denies everything by default (network included), reads the system, writes only the command's view of the workspace
(never its .git unless granted, never its .signoff) and a private home and temp folder. Text only: running it is
sandbox.py's job on darwin. No Qt here.
"""

from __future__ import annotations

from pathlib import Path

from app.services.sandbox import Grant

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
# What any program needs to read to start on macOS; everything else (other users' files, ~) stays unreadable.
_SYSTEM_READ = (
    "/usr",
    "/bin",
    "/sbin",
    "/System",
    "/Library",
    "/Applications/Xcode.app",
    "/opt/homebrew",
    "/usr/local",
    "/private/etc",
    "/private/var/db/timezone",
    "/dev",
)
_DEVICES_WRITE = ("/dev/null", "/dev/zero", "/dev/tty", "/dev/dtracehelper")


def _quoted(path: str | Path) -> str:
    """An SBPL string literal: backslashes and double quotes escaped, so no path can close it and add a rule."""
    text = str(path)
    if any(ord(c) < 0x20 for c in text):
        raise ValueError(f"{text!r} has control characters; it cannot be put in a sandbox profile")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def profile(view: Path, home: Path, tmp: Path, grant: Grant, *, python_prefixes: tuple[str, ...] = ()) -> str:
    """The SBPL profile for one command: ``view`` is the folder it runs in (a copy of the workspace), ``home`` and
    ``tmp`` empty private folders."""
    view_q = _quoted(view)
    guarded = [f"(subpath {_quoted(view / '.signoff')})"]
    if not grant.git_writes:
        guarded.insert(0, f"(subpath {_quoted(view / '.git')})")
    reads = " ".join(f"(subpath {_quoted(p)})" for p in (*_SYSTEM_READ, *python_prefixes))
    lines = [
        "(version 1)",
        "(deny default)",
        "(allow process-exec process-fork)",
        "(allow signal (target same-sandbox))",
        "(allow sysctl-read)",
        '(allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))',
        f'(allow file-read* (literal "/") {reads})',
        f"(allow file-read* (subpath {view_q}) (subpath {_quoted(home)}) (subpath {_quoted(tmp)}))",
        # The workspace view is writable except its guarded folders; require-not keeps the order of rules irrelevant.
        f"(allow file-write* (require-all (subpath {view_q}) (require-not (require-any {' '.join(guarded)}))))",
        f"(allow file-write* (subpath {_quoted(home)}) (subpath {_quoted(tmp)}))",
        "(allow file-write* " + " ".join(f"(literal {_quoted(d)})" for d in _DEVICES_WRITE) + ")",
    ]
    if grant.network:
        lines.append("(allow network*)")
        lines.append('(allow mach-lookup (global-name "com.apple.dnssd.service"))')
    return "\n".join(lines) + "\n"


def argv(view: Path, home: Path, tmp: Path, grant: Grant, command: str, **options: tuple[str, ...]) -> list[str]:
    """The command line that runs ``/bin/sh -c command`` under the profile (HOME and TMPDIR are set by the caller)."""
    return [SANDBOX_EXEC, "-p", profile(view, home, tmp, grant, **options), "/bin/sh", "-c", command]
