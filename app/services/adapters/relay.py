"""``signoff codex -- CMD`` and ``signoff acp -- CMD``: Signoff between the person's client (an editor speaking to this
process's stdin and stdout) and the agent process it starts. Every message passes through unchanged, except the
agent's approval requests, which wait in Signoff's queue and are answered here, and Signoff's own requests to the
agent (the next turn that carries a reviewer's reason), whose answers stay here. No Qt here.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from collections.abc import Sequence
from typing import IO, Any

from app.services.adapters.jsonrpc import JsonRpcPeer
from app.services.adapters.mcp_server import PromptService

log = logging.getLogger(__name__)

CODEX_COMMAND = ("codex", "app-server")
# Signoff's own request ids towards the agent: strings a client never uses, so their answers are never passed on.
ID_PREFIX = "signoff-"


class AgentStartError(Exception):
    """The agent command could not be started; the message says which and why."""


class Relay:
    """One client, one agent: ``run`` relays until the agent's output ends; ``intercepted`` names the agent's requests
    Signoff answers itself (the others reach the client)."""

    def __init__(
        self,
        client_in: IO[bytes],
        client_out: IO[bytes],
        agent_in: IO[bytes],
        agent_out: IO[bytes],
        *,
        protocol: str,
        service: PromptService,
    ) -> None:
        self.protocol = protocol
        self.client_in = client_in
        self.client_out = client_out
        self._client_lock = threading.Lock()
        self.agent = JsonRpcPeer(agent_out, agent_in, with_version=protocol == "acp", id_prefix=ID_PREFIX)
        self.service = service
        # The client's ACP prompt requests by id: when the agent answers one, its turn has ended and a reviewer's
        # reason can go as the next prompt.
        self._client_prompts: dict[Any, str] = {}
        if protocol == "codex":
            from app.services.adapters.codex import COMMAND_APPROVAL, FILE_APPROVAL, CodexApprovals

            self.handler: Any = CodexApprovals(self.agent, service)
            self.intercepted = frozenset({COMMAND_APPROVAL, FILE_APPROVAL})
        elif protocol == "acp":
            from app.services.adapters.acp import REQUEST_PERMISSION, AcpPermissions

            self.handler = AcpPermissions(self.agent, service)
            self.intercepted = frozenset({REQUEST_PERMISSION})
        else:
            raise ValueError(f"unknown protocol {protocol!r}")

    def run(self) -> None:
        """Relay both ways until the agent's output ends (it exited, or closed it)."""
        from_client = threading.Thread(target=self._client_to_agent, name="signoff-relay-client", daemon=True)
        from_client.start()
        self._agent_to_client()
        self.agent.join(5.0)

    # -- client -> agent -----------------------------------------------------------------------------------------------

    def _client_to_agent(self) -> None:
        for line in iter(self.client_in.readline, b""):
            message = _parsed(line)
            if message is not None and message.get("method") == "session/prompt" and "id" in message:
                session_id = (message.get("params") or {}).get("sessionId")
                if isinstance(session_id, str):
                    self._client_prompts[message["id"]] = session_id
            try:
                self.agent.send_raw(line)
            except (OSError, ValueError):
                break
        # The client left: closing the agent's input lets it end, which ends the other direction too.
        self.agent.close_writer()

    # -- agent -> client -----------------------------------------------------------------------------------------------

    def _agent_to_client(self) -> None:
        for line in iter(self.agent.reader.readline, b""):
            message = _parsed(line)
            if message is None:
                self._to_client(line)
                continue
            method = message.get("method")
            if method in self.intercepted and "id" in message:
                self.agent.answer_async(self.handler.on_request, message)
                continue
            if method is None and self.agent.take_reply(message):
                continue
            if method is not None and "id" not in message and self.protocol == "codex":
                self.handler.on_notification(method, message.get("params") or {})
            self._to_client(line)
            if method is None and message.get("id") in self._client_prompts:
                session_id = self._client_prompts.pop(message["id"])
                threading.Thread(target=self._next_prompt, args=(session_id,), daemon=True).start()

    def _next_prompt(self, session_id: str) -> None:
        try:
            self.handler.send_next_prompts(session_id)
        except Exception as err:  # noqa: BLE001 - a lost message is logged; the session goes on
            log.warning("could not send the reviewer's words to the ACP agent: %s", err)

    def _to_client(self, line: bytes) -> None:
        with self._client_lock:
            self.client_out.write(line if line.endswith(b"\n") else line + b"\n")
            self.client_out.flush()


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def run_agent(
    protocol: str,
    command: Sequence[str],
    *,
    db_url: str | None,
    timeout_s: float,
    client_in: IO[bytes],
    client_out: IO[bytes],
    cwd: str | None = None,
) -> int:
    """Start ``command`` and relay between it and the client; the agent's exit code."""
    try:
        agent = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=cwd, bufsize=0)
    except OSError as err:
        raise AgentStartError(f"cannot start {' '.join(command)}: {err.strerror or err}") from None
    assert agent.stdin is not None and agent.stdout is not None
    service = PromptService(db_url=db_url, timeout_s=timeout_s, cwd=cwd, source=protocol)
    try:
        Relay(client_in, client_out, agent.stdin, agent.stdout, protocol=protocol, service=service).run()
    finally:
        if agent.stdin and not agent.stdin.closed:
            agent.stdin.close()
        code = agent.wait()
        # The agent is gone: nothing of its session waits any more.
        service.close()
    return code
