"""The run_command tool: validating a command proposal and running an approved one in the workspace.

Runs /bin/sh -c under the sandbox (sandbox.py) in its own process group with a time limit, an output cap and secrets
removed from the environment; its changes are captured from its private view and only the granted ones applied
(effects.py). No Qt here.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.domain.policy import REVIEW_EFFECTS, PolicyError
from app.services import effects as fx
from app.services.sandbox import NONE, OVERLAY, READ_ONLY, Grant, PreparedRun, SandboxInfo, prepare, sandbox_info
from app.services.workspace import ToolInputError, Workspace

DEFAULT_TIMEOUT_S = 120.0
# Output kept for the model: the head and the tail, the middle is cut (errors are usually at the end).
OUTPUT_HEAD_BYTES = 20_000
OUTPUT_TAIL_BYTES = 20_000
_SECRET_NAME = re.compile(r"(_TOKEN|_KEY|_SECRET|PASSWORD|PASSWD)$|^ANTHROPIC_API_KEY$", re.IGNORECASE)
REVIEW_CHOICES = REVIEW_EFFECTS


@dataclass(frozen=True)
class CommandDraft:
    command: str
    # Workspace-relative working directory ('.' for the root).
    cwd: str


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int | None
    output: str
    total_bytes: int
    timed_out: bool
    # Which sandbox ran it (sandbox.PreparedRun.describe) and what it changed.
    sandbox: str = "none"
    landed: tuple[fx.Effect, ...] = ()
    held: tuple[tuple[fx.Effect, str], ...] = ()
    # False when it ran unsandboxed: its changes went straight to the workspace and could not be captured.
    captured: bool = True
    notes: tuple[str, ...] = field(default=())
    # The held changes a person reviews (paths, in capture order), and the captured bytes of those that are files
    # small enough to show (read before the private view is removed).
    for_review: tuple[str, ...] = ()
    held_bytes: dict[str, bytes] = field(default_factory=dict)

    def as_tool_result_text(self, command: str) -> str:
        if self.timed_out:
            status = "Timed out and was stopped"
        else:
            status = f"Exit code: {self.exit_code}"
        output = self.output if self.output.strip() else "(no output)"
        if self.captured:
            changes = fx.summary(list(self.landed), list(self.held))
        else:
            changes = "Changes to the workspace: not captured (no sandbox); whatever it wrote is in the workspace."
        notes = "".join(f"{note}\n" for note in self.notes)
        return f"Ran: {command}\nSandbox: {self.sandbox}\n{notes}{status}\n{changes}\nOutput:\n{output}"

    def effects_record(self) -> dict[str, Any]:
        """What is stored with the command's result: the sandbox and every captured change, applied or not."""
        return {
            "sandbox": self.sandbox,
            "captured": self.captured,
            "applied": [effect.as_json() for effect in self.landed],
            "not_applied": [dict(effect.as_json(), why=why) for effect, why in self.held],
        }


def capped_for_model(text: str) -> str:
    """``text`` as the model may get it: the first and last OUTPUT_*_BYTES, the middle cut with a note."""
    data = text.encode("utf-8")
    if len(data) <= OUTPUT_HEAD_BYTES + OUTPUT_TAIL_BYTES:
        return text
    head = data[:OUTPUT_HEAD_BYTES].decode("utf-8", errors="ignore")
    tail = data[-OUTPUT_TAIL_BYTES:].decode("utf-8", errors="ignore")
    skipped = len(data) - OUTPUT_HEAD_BYTES - OUTPUT_TAIL_BYTES
    return f"{head}\n[... {skipped:,} bytes cut; the reviewer sees the whole text in Signoff ...]\n{tail}"


def draft_command(workspace: Workspace, tool_input: Any) -> CommandDraft:
    if not isinstance(tool_input, dict):
        raise ToolInputError("run_command input must be a JSON object with a `command` string.")
    command = tool_input.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolInputError("run_command needs a non-empty `command` string.")
    if "\x00" in command:
        raise ToolInputError("The command contains a NUL character.")
    cwd = tool_input.get("cwd", ".")
    if cwd in (None, ""):
        cwd = "."
    if not isinstance(cwd, str):
        raise ToolInputError("`cwd` must be a string path relative to the workspace root.")
    resolved = workspace.resolve(cwd)
    if not resolved.absolute.is_dir():
        raise ToolInputError(f"`cwd` {cwd!r} is not a folder in the workspace.")
    return CommandDraft(command, resolved.relative)


def scrubbed_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    source = dict(os.environ if environ is None else environ)
    return {name: value for name, value in source.items() if not _SECRET_NAME.search(name)}


def review_setting(root: Path) -> tuple[str, str | None]:
    """The workspace's choice of which command effects a person reviews (``review_effects`` in its policy file), and a
    warning when the file is unusable (then every effect is held)."""
    from app.services.policy_file import load_policy

    try:
        return load_policy(root).review_effects, None
    except PolicyError as err:
        return "always", f"{err} Every command effect is held for review until it is fixed."


async def run_command(
    workspace: Workspace,
    draft: CommandDraft,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    grant: Grant | None = None,
    info: SandboxInfo | None = None,
    review: str | None = None,
) -> CommandOutcome:
    """Run the command under the sandbox; apply its changes that fall in the granted scope, hold the rest.

    ``review`` overrides the workspace's review_effects setting ("always" holds every change for a person)."""
    root = Path(workspace.root).resolve()
    cwd = workspace.resolve(draft.cwd).absolute
    info = info or await asyncio.to_thread(sandbox_info)
    prepared = await asyncio.to_thread(_prepare, root, cwd, draft.command, grant or Grant(), info)
    try:
        exit_code, text, total, timed_out = await _run_captured(prepared, timeout_s)
        if prepared.mode == READ_ONLY:
            # It could write nothing in the workspace: there are no changes to capture.
            return CommandOutcome(exit_code, text, total, timed_out, prepared.describe(), notes=tuple(prepared.notes))
        if prepared.mode == NONE or prepared.changes is None:
            return CommandOutcome(
                exit_code, text, total, timed_out, prepared.describe(), captured=False, notes=tuple(prepared.notes)
            )
        settled = await asyncio.to_thread(_settle_effects, root, prepared, review)
        return CommandOutcome(
            exit_code,
            text,
            total,
            timed_out,
            prepared.describe(),
            tuple(settled.landed),
            tuple(settled.held),
            True,
            tuple(settled.notes),
            tuple(effect.path for effect in settled.for_review),
            settled.held_bytes,
        )
    finally:
        await asyncio.to_thread(prepared.cleanup)


@dataclass
class _Settled:
    landed: list[fx.Effect]
    held: list[tuple[fx.Effect, str]]
    notes: list[str]
    for_review: list[fx.Effect]
    held_bytes: dict[str, bytes]


HELD_FOR_REVIEW = "held for review"


def _settle_effects(root: Path, prepared: PreparedRun, review: str | None = None) -> _Settled:
    assert prepared.changes is not None
    if prepared.mode == OVERLAY:
        captured = fx.capture_overlay(prepared.changes, root)
    else:
        captured = fx.capture_copy(prepared.changes, root)
    choice, warning = (review, None) if review in REVIEW_CHOICES else review_setting(root)
    notes = [warning] if warning else []
    if choice == "never":
        notes.append(
            "WARNING: this workspace applies command effects without review (review_effects = never); "
            "changes to .git (without a grant) and .signoff are dropped, never applied."
        )
    to_apply: list[fx.Effect] = []
    held: list[tuple[fx.Effect, str]] = []
    for_review: list[fx.Effect] = []
    for effect in captured:
        outside = not fx.in_scope(effect, git_writes=prepared.grant.git_writes)
        if effect.kind == "special" and effect.change != fx.DELETED:
            held.append((effect, "a device, pipe or socket is never applied"))
        elif outside and choice == "never":
            # What no grant covers (.git without the grant, .signoff) steers git and Signoff: never applied unseen.
            held.append((effect, "outside what the command was granted; dropped (this workspace reviews no effects)"))
        elif choice == "always" or outside:
            why = "outside what the command was granted" if outside else "this workspace reviews every command effect"
            held.append((effect, f"{HELD_FOR_REVIEW} ({why})"))
            for_review.append(effect)
        else:
            to_apply.append(effect)
    landed, failed = fx.apply_effects(root, prepared.changes, to_apply)
    return _Settled(landed, held + failed, notes, for_review, _held_bytes(prepared.changes, for_review))


def _held_bytes(changes: Path, for_review: list[fx.Effect]) -> dict[str, bytes]:
    """The captured bytes of each held file a person can read as a diff (too large ones are held without them)."""
    from app.services.settings import load_settings

    limit = load_settings().max_edit_bytes
    found: dict[str, bytes] = {}
    for effect in for_review:
        if effect.kind != "file" or effect.change not in (fx.CREATED, fx.MODIFIED):
            continue
        if effect.size is not None and effect.size > limit:
            continue
        try:
            found[effect.path] = fx.read_captured(changes, effect.path, limit)
        except (OSError, fx.ApplyRefusedError):
            continue
    return found


def _prepare(root: Path, cwd: Path, command: str, grant: Grant, info: SandboxInfo) -> PreparedRun:
    from app.domain.command_catalogue import cannot_write
    from app.domain.policy import parse_command

    read_only = info.available and not grant.git_writes and cannot_write(parse_command(command))
    return prepare(root, cwd, command, grant, info, read_only=read_only)


async def _run_captured(prepared: PreparedRun, timeout_s: float) -> tuple[int | None, str, int, bool]:
    return await run_capped(prepared.argv, prepared.cwd, timeout_s)


async def run_capped(argv: Sequence[str], cwd: Path | str, timeout_s: float) -> tuple[int | None, str, int, bool]:
    """Run ``argv`` in its own process group with the secrets scrubbed from its environment, keep the output's head
    and tail (OUTPUT_HEAD_BYTES / OUTPUT_TAIL_BYTES), and kill the whole group at the time limit or on cancel.
    Returns (exit code or None when timed out, the kept text, total bytes, timed out). The verifier runs its tests
    through this too."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=scrubbed_environment(),
        start_new_session=True,
    )
    head = bytearray()
    tail = bytearray()
    total = 0

    async def collect() -> None:
        nonlocal total
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            total += len(chunk)
            room = OUTPUT_HEAD_BYTES - len(head)
            if room > 0:
                head.extend(chunk[:room])
                chunk = chunk[room:]
            if chunk:
                tail.extend(chunk)
                if len(tail) > OUTPUT_TAIL_BYTES:
                    del tail[: len(tail) - OUTPUT_TAIL_BYTES]
        await process.wait()

    timed_out = False
    try:
        # asyncio.timeout, not wait_for, which on Python 3.11 can lose a cancellation that arrives as it finishes.
        async with asyncio.timeout(timeout_s):
            await collect()
    except TimeoutError:
        timed_out = True
        _kill_group(process)
        await process.wait()
    except asyncio.CancelledError:
        _kill_group(process)
        await process.wait()
        raise
    text = head.decode("utf-8", errors="replace")
    if tail:
        skipped = total - len(head) - len(tail)
        if skipped > 0:
            text += f"\n[... {skipped:,} bytes of output cut ...]\n"
        text += tail.decode("utf-8", errors="replace")
    return (None if timed_out else process.returncode), text, total, timed_out


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
