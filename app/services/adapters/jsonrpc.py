"""Newline-delimited JSON-RPC over a pair of byte streams (a child's stdin/stdout, or pipes), as Codex app-server
and ACP agents speak it: requests from the peer are answered on worker threads, so a request waiting for a person
never holds up the next message. No Qt here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import IO, Any

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Any]


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class JsonRpcPeer:
    """One connection. ``with_version`` adds ``"jsonrpc": "2.0"`` (ACP); Codex app-server leaves it out."""

    def __init__(
        self, reader: IO[bytes], writer: IO[bytes], *, with_version: bool = True, id_prefix: str | None = None
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._with_version = with_version
        # Between a client and an agent (app.services.adapters.relay), Signoff's own request ids must never be ones
        # the client uses: they become strings with this prefix.
        self._id_prefix = id_prefix
        self._write_lock = threading.Lock()
        self._next_id = 0
        self._waiting: dict[int | str, tuple[threading.Event, list[Any]]] = {}
        self._workers: list[threading.Thread] = []

    def send(self, message: dict[str, Any]) -> None:
        if self._with_version:
            message = {"jsonrpc": "2.0", **message}
        data = (json.dumps(message) + "\n").encode("utf-8")
        with self._write_lock:
            self._writer.write(data)
            self._writer.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any], *, timeout_s: float = 60.0) -> Any:
        """Send a request and wait for its result (``serve`` must be running on another thread)."""
        with self._write_lock:
            self._next_id += 1
            request_id: int | str = self._next_id if self._id_prefix is None else f"{self._id_prefix}{self._next_id}"
        done = threading.Event()
        slot: list[Any] = []
        self._waiting[request_id] = (done, slot)
        self.send({"id": request_id, "method": method, "params": params})
        if not done.wait(timeout_s):
            self._waiting.pop(request_id, None)
            raise TimeoutError(f"no answer to {method} in {timeout_s:g} s")
        reply = slot[0]
        if "error" in reply:
            raise RpcError(int(reply["error"].get("code", -32000)), str(reply["error"].get("message", "")))
        return reply.get("result")

    def serve(self, on_request: Handler, on_notification: Handler) -> None:
        """Read until the peer closes; each request is answered on its own thread."""
        for raw in iter(self._reader.readline, b""):
            try:
                message = json.loads(raw)
            except ValueError:
                log.warning("ignored a line that is not JSON: %r", raw[:200])
                continue
            if not isinstance(message, dict):
                continue
            if "method" in message and "id" in message:
                self.answer_async(on_request, message)
            elif "method" in message:
                on_notification(message["method"], message.get("params") or {})
            else:
                self.take_reply(message)

    def answer_async(self, on_request: Handler, message: dict[str, Any]) -> None:
        """Answer one request from the peer on a thread of its own."""
        worker = threading.Thread(target=self._answer, args=(on_request, message), daemon=True)
        self._workers.append(worker)
        worker.start()

    def take_reply(self, message: dict[str, Any]) -> bool:
        """Hand a reply to the ``request`` waiting for it; False when it answers no request of ours."""
        request_id = message.get("id")
        if not isinstance(request_id, int | str) or request_id not in self._waiting:
            return False
        done, slot = self._waiting.pop(request_id)
        slot.append(message)
        done.set()
        return True

    def send_raw(self, line: bytes) -> None:
        """Pass one line through unchanged (a relayed message), between this peer's own messages."""
        with self._write_lock:
            self._writer.write(line if line.endswith(b"\n") else line + b"\n")
            self._writer.flush()

    @property
    def reader(self) -> IO[bytes]:
        return self._reader

    def close_writer(self) -> None:
        """No more messages to the peer (it sees the end of its input)."""
        with self._write_lock:
            try:
                self._writer.close()
            except OSError:
                pass

    def join(self, timeout_s: float = 30.0) -> None:
        for worker in self._workers:
            worker.join(timeout_s)

    def close(self) -> None:
        """After ``serve`` returned and ``join``: close both streams."""
        for stream in (self._reader, self._writer):
            try:
                stream.close()
            except OSError:
                pass

    def _answer(self, on_request: Handler, message: dict[str, Any]) -> None:
        try:
            result = on_request(message["method"], message.get("params") or {})
            reply: dict[str, Any] = {"id": message["id"], "result": result}
        except RpcError as err:
            reply = {"id": message["id"], "error": {"code": err.code, "message": str(err)}}
        except Exception as err:  # noqa: BLE001 - the peer gets an error reply, never silence
            log.exception("answering %s failed", message.get("method"))
            reply = {"id": message["id"], "error": {"code": -32603, "message": f"{type(err).__name__}: {err}"}}
        try:
            self.send(reply)
        except (OSError, ValueError):
            log.warning("the peer left before the answer to %s", message.get("method"))
