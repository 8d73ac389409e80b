"""The sandbox every command Signoff runs goes through: bubblewrap on a private view of the workspace.

Builds the command line (bwrap, and an overlayfs mount in a private mount namespace, or a copy of the workspace) and
detects at run time which sandbox this machine can give. Running the process and capturing its effects are
command_tool.py's and effects.py's jobs. No Qt here.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "bwrap"
UNSHARE = "unshare"
# SIGNOFF_SANDBOX=overlay|copy|none forces a mode (tests and machines where probing misleads); unset means probe.
FORCE_ENV = "SIGNOFF_SANDBOX"
OVERLAY = "bubblewrap+overlay"
COPY = "bubblewrap+copy"
# A command that only reads (command_catalogue.cannot_write): the workspace itself, read-only; nothing to capture.
READ_ONLY = "bubblewrap+read-only"
# macOS: sandbox-exec (Seatbelt, seatbelt.py) with the command run in a copy of the workspace.
SEATBELT = "seatbelt+copy"
NONE = "none"
GUARDED = (".git", ".signoff")
# The system the command may read (never write); everything else on the machine is absent inside the sandbox.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
# Readable by root under /etc, and secrets: replaced by an empty file.
_MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers", "/etc/ssh")
# Characters overlayfs option parsing treats specially; such paths get the copy view instead.
_OVERLAY_UNSAFE = set(",:\\=\n\t ")
_MOUNT_SCRIPT = (
    'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3$4" "$5" || exit 125; shift 5; exec "$@"'
)
_OVERLAY_OPTIONS = ",redirect_dir=off,metacopy=off,index=off"
_PROBE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Grant:
    """What a rule or an approval lets a command do beyond writing the workspace's own files."""

    git_writes: bool = False
    network: bool = False


@dataclass(frozen=True)
class SandboxInfo:
    mode: str  # OVERLAY | COPY | NONE
    # One plain sentence: what the sandbox is, or why there is none.
    detail: str

    @property
    def available(self) -> bool:
        return self.mode != NONE


@dataclass
class PreparedRun:
    """A command ready to start: its argv, where it runs, and where its changes land (None: straight in the
    workspace, unsandboxed)."""

    argv: list[str]
    cwd: Path
    mode: str
    grant: Grant
    # The folder whose tree holds the command's changes when it exits: the overlay upper dir, or the copy.
    changes: Path | None = None
    scratch: Path | None = None
    notes: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def describe(self) -> str:
        if self.mode == NONE:
            return "none: it ran unsandboxed, with full access to this machine"
        network = "network allowed" if self.grant.network else "no network"
        if self.mode == SEATBELT:
            git = ".git writable" if self.grant.git_writes else ".git and .signoff read-only"
            return (
                f"sandbox-exec (Seatbelt) on a copy of the workspace (system read-only, {git}, empty home, {network})"
            )
        if self.mode == READ_ONLY:
            return (
                "bubblewrap on a read-only view of the workspace "
                f"(it only reads; system read-only, empty home, {network})"
            )
        view = "an overlay view" if self.mode == OVERLAY else "a copy"
        git = ".git writable" if self.grant.git_writes else ".git and .signoff read-only"
        return f"bubblewrap on {view} of the workspace (system read-only, {git}, empty home, {network})"


_probe_lock = threading.Lock()
_probed: SandboxInfo | None = None


def sandbox_info(*, refresh: bool = False) -> SandboxInfo:
    """Which sandbox commands get here, found by trying it once per process (cheap after the first call)."""
    global _probed
    forced = os.environ.get(FORCE_ENV, "").strip().lower()
    if forced == "none":
        return SandboxInfo(NONE, f"No sandbox: {FORCE_ENV}=none turns it off.")
    with _probe_lock:
        if _probed is None or refresh:
            _probed = _probe()
        info = _probed
    if forced == "copy" and info.available:
        return SandboxInfo(COPY, "bubblewrap with a copy of the workspace (forced by " + FORCE_ENV + "=copy).")
    return info


def _probe() -> SandboxInfo:
    if sys.platform == "darwin":
        from app.services.seatbelt import SANDBOX_EXEC

        if os.access(SANDBOX_EXEC, os.X_OK):
            return SandboxInfo(SEATBELT, "sandbox-exec (Seatbelt) with a copy of the workspace.")
        return SandboxInfo(NONE, f"No sandbox: {SANDBOX_EXEC} is missing on this Mac.")
    if not sys.platform.startswith("linux"):
        return SandboxInfo(
            NONE, f"No sandbox: Signoff sandboxes commands with bubblewrap on Linux only ({sys.platform})."
        )
    if shutil.which(BWRAP) is None:
        return SandboxInfo(NONE, "No sandbox: bubblewrap (`bwrap`) is not installed; install the bubblewrap package.")
    scratch = Path(tempfile.mkdtemp(prefix="signoff-probe-"))
    try:
        lower = scratch / "lower"
        lower.mkdir()
        (lower / "probe").write_text("probe\n")
        try:
            bwrap = _bwrap_argv(lower, lower, lower, Grant(), home=scratch / "home")
            plain = subprocess.run(
                bwrap + ["/bin/sh", "-c", "cat probe"], capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.SubprocessError) as err:
            return SandboxInfo(NONE, f"No sandbox: bubblewrap cannot start here ({err}).")
        if plain.returncode != 0 or plain.stdout != b"probe\n":
            why = plain.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return SandboxInfo(NONE, f"No sandbox: bubblewrap does not work here ({why[0]}).")
        if shutil.which(UNSHARE) is not None and not (_OVERLAY_UNSAFE & set(str(scratch))):
            upper, work = scratch / "upper", scratch / "work"
            upper.mkdir()
            work.mkdir()
            try:
                overlay = subprocess.run(
                    _overlay_prefix(lower, upper, work, lower)
                    + bwrap
                    + ["/bin/sh", "-c", "cat probe && echo written > new"],
                    capture_output=True,
                    timeout=_PROBE_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError):
                overlay = None
            if (
                overlay is not None
                and overlay.returncode == 0
                and (upper / "new").is_file()
                and not (lower / "new").exists()
            ):
                return SandboxInfo(OVERLAY, "bubblewrap with an overlay view of the workspace.")
        return SandboxInfo(COPY, "bubblewrap with a copy of the workspace (overlayfs is not available here).")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prepare(
    root: Path,
    cwd: Path,
    command: str,
    grant: Grant | None = None,
    info: SandboxInfo | None = None,
    *,
    read_only: bool = False,
) -> PreparedRun:
    """The argv that runs ``/bin/sh -c command`` in ``cwd`` (inside ``root``) under the best sandbox available; with
    ``read_only`` (a command that only reads), on the workspace itself mounted read-only: no view to make or capture."""
    info = info or sandbox_info()
    grant = grant or Grant()
    shell = ["/bin/sh", "-c", command]
    if not info.available:
        return PreparedRun(shell, cwd, NONE, grant, notes=[info.detail])
    root = root.resolve()
    home = Path(os.environ.get("HOME") or "/root")
    if info.mode == SEATBELT:
        return _prepare_seatbelt(root, cwd, command, grant)
    if read_only and not grant.git_writes:
        argv = _bwrap_argv(root, root, cwd, grant, home=home, workspace_read_only=True) + shell
        return PreparedRun(argv, root, READ_ONLY, grant)
    scratch = Path(tempfile.mkdtemp(prefix="signoff-run-"))
    try:
        mode = info.mode
        if mode == OVERLAY and (_OVERLAY_UNSAFE & set(str(root)) or _OVERLAY_UNSAFE & set(str(scratch))):
            mode = COPY
        if mode == OVERLAY:
            upper, work = scratch / "upper", scratch / "work"
            upper.mkdir()
            work.mkdir()
            argv = _overlay_prefix(root, upper, work, root) + _bwrap_argv(root, root, cwd, grant, home=home) + shell
            return PreparedRun(argv, root, OVERLAY, grant, changes=upper, scratch=scratch)
        view = scratch / "view"
        _copy_tree(root, view)
        argv = _bwrap_argv(view, root, cwd, grant, home=home) + shell
        return PreparedRun(argv, root, COPY, grant, changes=view, scratch=scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _prepare_seatbelt(root: Path, cwd: Path, command: str, grant: Grant) -> PreparedRun:
    """macOS: the command runs in a copy of the workspace under a sandbox-exec profile, with a private HOME and TMPDIR;
    the copy is compared with the workspace afterwards, like the bubblewrap copy view."""
    from app.services import seatbelt

    scratch = Path(tempfile.mkdtemp(prefix="signoff-run-"))
    try:
        view, home, tmp = scratch / "view", scratch / "home", scratch / "tmp"
        _copy_tree(root, view)
        home.mkdir()
        tmp.mkdir()
        prefixes = tuple(_python_prefixes())
        inner = seatbelt.argv(view, home, tmp, grant, command, python_prefixes=prefixes)
        argv = ["/usr/bin/env", f"HOME={home}", f"TMPDIR={tmp}", *inner]
        return PreparedRun(argv, view / cwd.relative_to(root), SEATBELT, grant, changes=view, scratch=scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _overlay_prefix(lower: Path, upper: Path, work: Path, target: Path) -> list[str]:
    # A private mount namespace holds the overlay; it disappears with the command, the upper dir stays for capture.
    return [UNSHARE, "--mount", "--propagation", "private", "/bin/sh", "-c", _MOUNT_SCRIPT, "sh"] + [
        str(lower),
        str(upper),
        str(work),
        _OVERLAY_OPTIONS,
        str(target),
    ]


def _bwrap_argv(
    source: Path, root: Path, cwd: Path, grant: Grant, *, home: Path, workspace_read_only: bool = False
) -> list[str]:
    """bubblewrap's options: ``source`` (the workspace view) appears writable at ``root``; the command starts in
    ``cwd``; nothing else of this machine but the system (read-only) and the Python running Signoff."""
    args = [BWRAP, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    if not grant.network:
        args.append("--unshare-net")
    for directory in _SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), directory]
        elif path.is_dir():
            args += ["--ro-bind", directory, directory]
    for masked in _MASKED_FILES:
        if os.path.isfile(masked):
            args += ["--ro-bind", "/dev/null", masked]
        elif os.path.isdir(masked):
            args += ["--tmpfs", masked]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", "/var/tmp"]
    if _private_home_ok(home, root):
        args += ["--tmpfs", str(home)]
    for prefix in _python_prefixes():
        args += ["--ro-bind", prefix, prefix]
    args += ["--ro-bind" if workspace_read_only else "--bind", str(source), str(root)]
    for name in GUARDED:
        if (name == ".git" and grant.git_writes) or workspace_read_only:
            continue
        if os.path.lexists(source / name) and not os.path.islink(source / name):
            args += ["--ro-bind", str(source / name), str(root / name)]
    for gitdir in _linked_git_dirs(source):
        # A worktree's .git is a file naming its real git folder outside: git needs it, read-only unless granted.
        args += ["--bind" if grant.git_writes else "--ro-bind", gitdir, gitdir]
    args += ["--chdir", str(cwd)]
    return args


def _private_home_ok(home: Path, root: Path) -> bool:
    """Whether an empty folder can be put over $HOME: never over /, a system folder, or the workspace (or its parents);
    outside those, $HOME is simply absent from the sandbox like the rest of the machine."""
    text = str(home)
    if not home.is_absolute() or text == "/" or any(text == d or text.startswith(d + "/") for d in _SYSTEM_DIRS):
        return False
    return home != root and home not in root.parents and root not in home.parents


def _linked_git_dirs(source: Path) -> list[str]:
    """The git folders a `.git` file (a worktree or submodule) points at, and their shared common folder."""
    marker = source / ".git"
    if not marker.is_file() or marker.is_symlink():
        return []
    try:
        line = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return []
    if not line.startswith("gitdir:"):
        return []
    gitdir = Path(os.path.realpath(source / line.removeprefix("gitdir:").strip()))
    found = [str(gitdir)] if gitdir.is_dir() else []
    try:
        common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return found
    common_dir = os.path.realpath(gitdir / common)
    if os.path.isdir(common_dir) and common_dir not in found:
        found.insert(0, common_dir)
    return found


def _python_prefixes() -> list[str]:
    """The interpreter (and virtualenv) that runs Signoff, so `python -m pytest` works inside; read-only."""
    found: list[str] = []
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        real = os.path.realpath(prefix)
        if any(real == d or real.startswith(d + "/") for d in _SYSTEM_DIRS) or not os.path.isdir(real):
            continue
        for candidate in (real, prefix):
            if candidate not in found:
                found.append(candidate)
    return found


def _copy_tree(source: Path, target: Path) -> None:
    # Symlinks are copied as links (never followed: a link may lead out of the workspace); times kept for capture.
    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copy2, ignore=_special_files)


def _special_files(folder: str, names: list[str]) -> set[str]:
    # Pipes, sockets and devices are not copied (reading a pipe would block); the command does not see them.
    skipped = set()
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped
