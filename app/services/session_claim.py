"""Who drives a session: claim it (or take it over from a process that died on this host), keep a heartbeat while
running, release it at the end. No Qt here."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from types import TracebackType

from app.store.async_repository import AsyncRepository

log = logging.getLogger("app.services.agent")

HEARTBEAT_INTERVAL_S = 5.0


class SessionBusyError(Exception):
    """Another live process drives this session."""


def runner_process_is_gone(runner_id: str) -> bool:
    """True when ``runner_id`` (``host:pid:token``, see sessions.new_runner_id) names a process on this host that no
    longer exists. Anything unknown (another host, a pid we may not signal, a foreign id) counts as alive."""
    host, _, rest = runner_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class SessionClaim:
    """``async with SessionClaim(...)``: the session is this runner's inside the block (SessionBusyError when another
    live process holds it), its heartbeat beating; released on the way out, whatever ended the block."""

    def __init__(self, repository: AsyncRepository, session_id: int, runner_id: str) -> None:
        self._repository = repository
        self._session_id = session_id
        self._runner_id = runner_id
        self._heartbeat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SessionClaim:
        session_id, runner_id = self._session_id, self._runner_id
        claimed = await self._repository.write(lambda store: store.sessions.claim(session_id, runner_id))
        if not claimed:
            holder = (await self._repository.read(lambda store: store.sessions.get(session_id))).runner_id
            if holder is not None and runner_process_is_gone(holder):
                # Its process died on this host (a crash, kill -9): no need to wait for its heartbeat to go stale.
                claimed = await self._repository.write(
                    lambda store: store.sessions.take_over(session_id, runner_id, holder)
                )
        if not claimed:
            raise SessionBusyError(f"Session {session_id} is being run by another Signoff process.")
        self._heartbeat = asyncio.create_task(self._beat())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._heartbeat is not None
        self._heartbeat.cancel()
        try:
            await self._heartbeat
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("session %s: heartbeat failed", self._session_id)
        try:
            await asyncio.shield(
                self._repository.write(lambda store: store.sessions.release(self._session_id, self._runner_id))
            )
        except Exception:
            # Unreleased, the session is taken over once this process is gone (or its heartbeat is stale).
            log.exception("session %s: could not release it", self._session_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL_S)
            await self._repository.write(lambda store: store.sessions.heartbeat(self._session_id, self._runner_id))
