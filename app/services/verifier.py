"""The verifier (RLVR): runs a workspace's tests on a file proposal's bytes in an isolated copy, never in the workspace,
and compares with a baseline run of the unchanged tree (cached by the tree's content hash).

Copies: a git workspace is checked out from its own object store into a temporary folder (HEAD through a private
index, so the workspace's .git is only read) with the uncommitted changes laid over it; elsewhere the folder is
copied (reflinked where the file system can). The command runs like an approved command (app.services.command_tool:
scrubbed environment, output cap, its own process group, a time limit) and without network where ``unshare`` allows.
Runs never block the person: they are stored as 'running' first and finished later. No Qt here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from app.domain.judgments import VERIFY_ON_PROPOSAL, JudgeConfig, VerifierResult
from app.domain.records import ChangedFile, ProposalRecord
from app.domain.test_reports import TestReport, compare_reports, detect_command, read_report, reward
from app.services import command_tool
from app.services.settings import Settings
from app.services.workspace import Workspace

log = logging.getLogger(__name__)

# Stored with each run: the head and the tail of the output (failures are usually at the end).
EXCERPT_BYTES = 4000
# Never hashed or copied from a workspace without git: caches and environments, not the code under test.
_SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules", ".venv", "venv"}
_JUNIT_NAME = "signoff-junit.xml"


@dataclass(frozen=True)
class Effective:
    """The settings one verifier run goes by: the workspace's own where set, else Settings."""

    command: str | None
    timeout_s: float
    on: str

    @classmethod
    def of(cls, config: JudgeConfig, settings: Settings, root: Path) -> Effective:
        command = config.verify_command or settings.verify_command.strip() or detect_in(root)
        return cls(
            command, config.verify_timeout_s or settings.verify_timeout_s, config.verify_on or settings.verify_on
        )


def detect_in(root: Path) -> str | None:
    try:
        names = {entry.name for entry in os.scandir(root)}
    except OSError:
        return None
    texts = {}
    for name in ("package.json", "pyproject.toml", "setup.cfg", "tox.ini", "Makefile"):
        if name in names:
            try:
                texts[name] = (root / name).read_text(encoding="utf-8", errors="replace")[:200_000]
            except OSError:
                pass
    return detect_command(names, texts)


# -- network isolation -----------------------------------------------------------------------------------------------

_NETWORK_PREFIX: tuple[list[str], str] | None = None


def network_isolation() -> tuple[list[str], str]:
    """The command prefix that cuts the network (empty when none works here) and a sentence saying which."""
    global _NETWORK_PREFIX
    if _NETWORK_PREFIX is None:
        _NETWORK_PREFIX = _probe_network_isolation()
    return _NETWORK_PREFIX


def _probe_network_isolation() -> tuple[list[str], str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        return [], "Ran with network: `unshare` is not installed here."
    for prefix in ([unshare, "-n"], [unshare, "-rn"]):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix, f"Ran without network ({' '.join(['unshare', *prefix[1:]])})."
    return [], "Ran with network: this machine does not allow `unshare -n` (no user namespaces)."


# -- copy-on-write overlays ------------------------------------------------------------------------------------------

_OVERLAY: tuple[list[str], bool] | None | bool = False


def overlay_support() -> tuple[list[str], bool] | None:
    """The ``unshare`` prefix under which an overlay mount works here and whether it also cuts the network; None
    where overlays cannot be mounted (no user namespaces, no overlayfs, a temp folder overlayfs refuses)."""
    global _OVERLAY
    if _OVERLAY is False:
        _OVERLAY = _probe_overlay()
    return _OVERLAY  # type: ignore[return-value]


def _probe_overlay() -> tuple[list[str], bool] | None:
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    with tempfile.TemporaryDirectory(prefix="signoff-overlay-probe-", ignore_cleanup_errors=True) as folder:
        lower, upper, work, merged = (Path(folder, name) for name in ("lower", "upper", "work", "merged"))
        for path in (lower, upper, work, merged):
            path.mkdir()
        (lower / "probe").write_text("lower")
        script = f"{_mount_command(lower, upper, work, merged)} && test -f {shlex.quote(str(merged / 'probe'))}"
        for flags in ("-mn", "-rmn", "-m", "-rm"):
            try:
                probe = subprocess.run([unshare, flags, "/bin/sh", "-c", script], capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if probe.returncode == 0:
                return [unshare, flags], "n" in flags
    return None


def _mount_command(lower: Path, upper: Path, work: Path, merged: Path) -> str:
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    return f"mount -t overlay overlay -o {shlex.quote(options)} {shlex.quote(str(merged))}"


def _overlay_safe(path: Path) -> bool:
    # Mount options are comma-separated and lowerdir takes ':'-separated layers: such names cannot be given.
    return not any(character in str(path) for character in ",:\\\n")


@dataclass(frozen=True)
class Sandbox:
    """Where one run happens: a copy of the workspace (``tree``), or an overlay of the live workspace mounted at
    ``tree`` only inside the command's own mount namespace (writes land in ``scratch/upper``)."""

    scratch: Path
    tree: Path
    overlay_of: Path | None = None

    @property
    def kind(self) -> str:
        return "overlay" if self.overlay_of is not None else "copy"


def prepare_sandbox(
    state: TreeState,
    scratch: Path,
    proposal: ProposalRecord | None = None,
    *,
    allow_overlay: bool = True,
    files: Sequence[ChangedFile] = (),
) -> Sandbox:
    """An overlay where this machine allows one (instant, copy-on-write: nothing of the workspace is copied), else a
    copy; with the proposal's bytes laid over it (for a changeset, each of its ``files``)."""
    if files:
        deletes = any(changed.new is None for changed in files)
    else:
        deletes = proposal is not None and proposal.new_content is None
    if allow_overlay and not deletes and overlay_support() is not None and _overlay_safe(state.root):
        if _overlay_safe(scratch):
            upper, work, merged = scratch / "upper", scratch / "work", scratch / "tree"
            for path in (upper, work, merged):
                path.mkdir(parents=True)
            if files:
                with_files(upper, files, workspace=state.root)
            elif proposal is not None:
                with_proposal(upper, proposal, workspace=state.root)
            return Sandbox(scratch, merged, state.root)
    tree = isolated_copy(state, scratch / "tree")
    if files:
        with_files(tree, files)
    elif proposal is not None:
        with_proposal(tree, proposal)
    return Sandbox(scratch, tree)


# -- the tree and its copies -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeState:
    """What a workspace holds now: its content hash, and for git, HEAD's tree and the paths that differ from it."""

    root: Path
    tree_hash: str
    git_tree: str | None
    # Workspace-relative paths changed, added (untracked, not ignored) or deleted relative to HEAD.
    changed: tuple[str, ...] = ()


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, env=env, check=False)


def tree_state(root: Path) -> TreeState:
    head = _git(root, "rev-parse", "--verify", "-q", "HEAD^{tree}") if (root / ".git").exists() else None
    if head is None or head.returncode != 0:
        return TreeState(root, _plain_tree_hash(root), None)
    git_tree = head.stdout.decode().strip()
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    changed = sorted({entry[3:].decode("utf-8", "surrogateescape") for entry in status.stdout.split(b"\0") if entry})
    digest = hashlib.sha256(git_tree.encode())
    for relative in changed:
        digest.update(b"\0" + relative.encode("utf-8", "surrogateescape") + b"\0")
        path = root / relative
        digest.update(_file_digest(path) if path.is_file() and not path.is_symlink() else b"-")
    return TreeState(root, digest.hexdigest(), git_tree, tuple(changed))


def _file_digest(path: Path) -> bytes:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def _plain_tree_hash(root: Path) -> str:
    digest = hashlib.sha256(b"plain")
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if name not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder, name)
            digest.update(str(path.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
            digest.update(_file_digest(path) if path.is_file() and not path.is_symlink() else b"-")
    return digest.hexdigest()


def isolated_copy(state: TreeState, destination: Path) -> Path:
    """A copy of the workspace as it is now at ``destination`` (which must not exist); returns it."""
    if state.git_tree is None:
        # cp keeps symlinks as links and reflinks where the file system can; a real copy otherwise (never hard
        # links: a test writing a file in place would write into the workspace through them).
        ignore = shutil.ignore_patterns(*_SKIPPED_DIRS - {"node_modules", ".venv", "venv"})
        shutil.copytree(state.root, destination, symlinks=True, ignore=ignore, copy_function=_reflink_or_copy)
        return destination
    destination.mkdir(parents=True)
    index = destination.parent / (destination.name + ".index")
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    for args in (("read-tree", state.git_tree), ("checkout-index", "-a", "-f", f"--prefix={destination}/")):
        done = _git(state.root, *args, env=env)
        if done.returncode != 0:
            raise OSError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    index.unlink(missing_ok=True)
    for relative in state.changed:
        source, target = state.root / relative, destination / relative
        if source.is_symlink() or source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
        elif not source.exists():
            target.unlink(missing_ok=True)
    return destination


def _reflink_or_copy(source: str, target: str) -> None:
    shutil.copy2(source, target)


def with_proposal(copy_root: Path, proposal: ProposalRecord, *, workspace: Path | None = None) -> None:
    """Lay the proposal's bytes over the copy (a write of None removes the file); with ``workspace``, the path is
    checked against the workspace and written to the same place under ``copy_root`` (an overlay's upper layer)."""
    relative = Workspace(workspace or copy_root).resolve(proposal.path or "", for_write=True).relative
    target = copy_root / relative
    if proposal.new_content is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # never write through a link the copy shares
    target.write_bytes(proposal.new_content)


def with_files(copy_root: Path, files: Sequence[ChangedFile], *, workspace: Path | None = None) -> None:
    """Lay a changeset's files over the copy, each checked like a single proposal's path."""
    for changed in files:
        relative = Workspace(workspace or copy_root).resolve(changed.path, for_write=True).relative
        target = copy_root / relative
        target.unlink(missing_ok=True)
        if changed.new is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(changed.new)


# -- one run ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutput:
    report: TestReport
    output: str
    seconds: float
    timed_out: bool


def network_note(sandbox: Sandbox) -> tuple[bool, str]:
    """Whether a run in this sandbox has no network, and the sentence saying so."""
    if sandbox.overlay_of is not None:
        support = overlay_support()
        if support is not None and support[1]:
            return True, f"Ran in an overlay without network ({' '.join(['unshare', *support[0][1:]])})."
    prefix, note = network_isolation()
    return bool(prefix), note


async def run_tests(sandbox: Sandbox, command: str, timeout_s: float) -> RunOutput:
    """Run ``command`` in the sandbox like an approved command, with a JUnit report asked of pytest."""
    junit = sandbox.scratch / _JUNIT_NAME
    junit.unlink(missing_ok=True)
    addopts = f"-rA -p no:cacheprovider --junitxml={junit} -o junit_family=xunit1"
    shell = f"PYTEST_ADDOPTS={shlex.quote(addopts)}; export PYTEST_ADDOPTS; "
    support = overlay_support() if sandbox.overlay_of is not None else None
    if support is not None:
        upper, work = sandbox.scratch / "upper", sandbox.scratch / "work"
        mount = _mount_command(sandbox.overlay_of, upper, work, sandbox.tree)
        script = f"{mount} && cd {shlex.quote(str(sandbox.tree))} && exec /bin/sh -c {shlex.quote(command)}"
        inner = f"exec {shlex.join(support[0])} /bin/sh -c {shlex.quote(script)}"
        where = sandbox.scratch
    else:
        prefix, _ = network_isolation()
        inner = f"exec {shlex.join(prefix)} /bin/sh -c {shlex.quote(command)}" if prefix else command
        where = sandbox.tree
    started = time.perf_counter()
    outcome = await run_capped(where, shell + inner, timeout_s)
    seconds = time.perf_counter() - started
    xml = junit.read_bytes() if junit.exists() else None
    return RunOutput(read_report(outcome.output, outcome.exit_code, xml), outcome.output, seconds, outcome.timed_out)


@dataclass(frozen=True)
class CappedOutcome:
    exit_code: int | None
    output: str
    timed_out: bool


async def run_capped(cwd: Path, shell: str, timeout_s: float) -> CappedOutcome:
    """/bin/sh -c in its own process group, like an approved command (app.services.command_tool.run_capped: the
    secrets scrubbed from the environment, the output's head and tail kept, killed with its group at the time limit),
    but in the verifier's own isolated tree rather than the command sandbox."""
    exit_code, output, _total, timed_out = await command_tool.run_capped(["/bin/sh", "-c", shell], cwd, timeout_s)
    return CappedOutcome(exit_code, output, timed_out)


def excerpt(output: str, limit: int = EXCERPT_BYTES) -> str:
    if len(output) <= limit:
        return output
    half = limit // 2
    return output[:half] + f"\n[... {len(output) - limit:,} characters cut ...]\n" + output[-half:]


# -- the service -----------------------------------------------------------------------------------------------------


class Verifier:
    """Verifies proposals in the background; ``repository`` is an AsyncRepository (its ``sync.judgments`` used on
    the database thread). ``on_change(proposal_id)`` is told when a run starts and ends."""

    def __init__(
        self,
        repository,
        settings: Callable[[], Settings] = Settings,
        *,
        on_change: Callable[[int], None] | None = None,
        scratch: Path | None = None,
        overlay: bool = True,
    ) -> None:
        self.repository = repository
        self._settings = settings
        self._on_change = on_change
        self._scratch = scratch
        # Overlays where the machine allows them; False forces real copies (tests of both paths, benchmarks).
        self._sandbox_options = {"allow_overlay": overlay}
        self._tasks: dict[int, asyncio.Task[VerifierResult]] = {}
        self._baseline_locks: dict[str, asyncio.Lock] = {}
        # How many baseline runs this verifier made (the cache's figure: a second proposal on one tree adds none).
        self.baseline_runs = 0

    async def _db(self, name: str, *args, **kwargs):
        def call(repository):
            return getattr(repository.judgments, name)(*args, **kwargs)

        # On the writer thread, in order with the runs' own writes.
        return await self.repository.write(call)

    async def effective(self, root: str) -> Effective:
        config = await self._db("config", root)
        return Effective.of(config, self._settings(), Path(root))

    async def on_proposal(self, proposal: ProposalRecord) -> asyncio.Task[VerifierResult] | None:
        """Start a run if the workspace verifies every proposal; the task, or None when it waits for a request."""
        if proposal.kind == "command":
            return None
        if (await self.effective(proposal.workspace_root)).on != VERIFY_ON_PROPOSAL:
            return None
        return self.start(proposal)

    def start(self, proposal: ProposalRecord) -> asyncio.Task[VerifierResult]:
        """Run in the background (one at a time per proposal); the caller never waits for it."""
        running = self._tasks.get(proposal.id)
        if running is not None and not running.done():
            return running
        task = asyncio.create_task(self.verify(proposal), name=f"signoff-verify-{proposal.id}")
        self._tasks[proposal.id] = task
        return task

    async def shutdown(self) -> None:
        tasks = [task for task in self._tasks.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _changed(self, proposal_id: int) -> None:
        if self._on_change is not None:
            try:
                self._on_change(proposal_id)
            except Exception:
                log.exception("verifier listener failed")

    async def verify(self, proposal: ProposalRecord) -> VerifierResult:
        root = Path(proposal.workspace_root)
        effective = await self.effective(proposal.workspace_root)
        if proposal.kind == "command" or (not proposal.path and proposal.kind != "changeset"):
            note = "Commands are not verified; the tests run on file proposals."
            return await self._skip(proposal, effective.command, note)
        if effective.command is None:
            note = "No test suite found here; set a verify command with `signoff judges set --verify-command`."
            return await self._skip(proposal, None, note)
        run_id = await self._db("start_verifier_run", proposal.id, command=effective.command)
        self._changed(proposal.id)
        try:
            values = await self._verified(proposal, root, effective)
        except asyncio.CancelledError:
            await self._db("finish_verifier_run", run_id, status="error", note="Stopped before it finished.")
            raise
        except Exception as err:
            log.exception("verifier run failed")
            values = {"status": "error", "note": f"The verifier could not run: {err}"}
        await self._db("finish_verifier_run", run_id, **values)
        self._changed(proposal.id)
        return (await self._db("verifier_results", [proposal.id]))[proposal.id]

    async def _skip(self, proposal: ProposalRecord, command: str | None, note: str) -> VerifierResult:
        run_id = await self._db("start_verifier_run", proposal.id, command=command, status="skipped")
        await self._db("finish_verifier_run", run_id, status="skipped", note=note)
        self._changed(proposal.id)
        return (await self._db("verifier_results", [proposal.id]))[proposal.id]

    async def _verified(self, proposal: ProposalRecord, root: Path, effective: Effective) -> dict:
        assert effective.command is not None
        state = await asyncio.to_thread(tree_state, root)
        baseline, reused = await self._baseline(proposal.workspace_root, state, effective)
        with tempfile.TemporaryDirectory(
            prefix="signoff-verify-", dir=self._scratch, ignore_cleanup_errors=True
        ) as scratch:
            files = (
                await self.repository.read(lambda store: store.changesets.files(proposal.id))
                if proposal.kind == "changeset"
                else []
            )
            sandbox = await asyncio.to_thread(
                partial(prepare_sandbox, state, Path(scratch), proposal, files=files, **self._sandbox_options)
            )
            run = await run_tests(sandbox, effective.command, effective.timeout_s)
            isolated, net_note = network_note(sandbox)
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        values = {
            "tree_hash": state.tree_hash,
            "seconds": run.seconds,
            "exit_code": run.report.exit_code,
            "passed": run.report.passed,
            "failed": run.report.failed,
            "skipped": run.report.skipped,
            "output_hash": hashlib.sha256(run.output.encode("utf-8", "surrogateescape")).hexdigest(),
            "excerpt": excerpt(run.output),
            "network_isolated": isolated,
            "baseline_reused": reused,
            "reward": reward(run.report),
        }
        if run.timed_out:
            return {**values, "status": "error", "note": f"Timed out after {effective.timeout_s:g} s. {net_note}"}
        if run.report.exit_code == 127 and not run.report.outcomes:
            return {**values, "status": "error", "note": f"The command was not found. {net_note}"}
        if baseline is None:
            return {**values, "status": "error", "note": f"The baseline run timed out. {net_note}"}
        comparison = compare_reports(baseline, run.report)
        return {
            **values,
            "status": comparison.status,
            "newly_failing": comparison.newly_failing,
            "newly_passing": comparison.newly_passing,
            "still_failing": comparison.still_failing,
            "note": net_note,
        }

    async def _baseline(
        self, workspace_root: str, state: TreeState, effective: Effective
    ) -> tuple[TestReport | None, bool]:
        """The unchanged tree's report and whether it came from the cache; None when the baseline timed out."""
        assert effective.command is not None
        key = hashlib.sha256(f"{state.tree_hash}\0{effective.command}".encode()).hexdigest()
        lock = self._baseline_locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = await self._db("baseline", workspace_root, key)
            if cached is not None:
                return cached[0], True
            with tempfile.TemporaryDirectory(
                prefix="signoff-baseline-", dir=self._scratch, ignore_cleanup_errors=True
            ) as scratch:
                sandbox = await asyncio.to_thread(prepare_sandbox, state, Path(scratch), None, **self._sandbox_options)
                run = await run_tests(sandbox, effective.command, effective.timeout_s)
                await asyncio.to_thread(shutil.rmtree, scratch, True)
            self.baseline_runs += 1
            if run.timed_out:
                return None, False
            await self._db(
                "save_baseline",
                workspace_root,
                cache_key=key,
                tree_hash=state.tree_hash,
                command=effective.command,
                report=run.report,
                seconds=run.seconds,
            )
            return run.report, False
