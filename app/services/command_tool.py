"""The run_command tool: validating a command proposal and running an approved one in the workspace.

Runs /bin/sh -c in its own process group with a time limit, an output cap and secrets removed from the environment.
No Qt here.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from dataclasses import dataclass
from typing import Any

from app.services.workspace import ToolInputError, Workspace

DEFAULT_TIMEOUT_S = 120.0
# Output kept for the model: the head and the tail, the middle is cut (errors are usually at the end).
OUTPUT_HEAD_BYTES = 20_000
OUTPUT_TAIL_BYTES = 20_000
_SECRET_NAME = re.compile(r"(_TOKEN|_KEY|_SECRET|PASSWORD|PASSWD)$|^ANTHROPIC_API_KEY$", re.IGNORECASE)


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

    def as_tool_result_text(self, command: str) -> str:
        if self.timed_out:
            status = "Timed out and was stopped"
        else:
            status = f"Exit code: {self.exit_code}"
        output = self.output if self.output.strip() else "(no output)"
        return f"Ran: {command}\n{status}\nOutput:\n{output}"


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


async def run_command(
    workspace: Workspace, draft: CommandDraft, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> CommandOutcome:
    cwd = workspace.resolve(draft.cwd).absolute
    process = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        draft.command,
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
        nonlocal total, tail
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
        await asyncio.wait_for(collect(), timeout_s)
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
    return CommandOutcome(None if timed_out else process.returncode, text, total, timed_out)


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
