"""A private D-Bus session bus (dbus-daemon) and the test notification service on it, as real processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SessionBus:
    address: str
    record: Path

    def notifications(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line]


@contextmanager
def session_bus(folder: Path, *, with_service: bool = True) -> Iterator[SessionBus]:
    """A dbus-daemon on a socket in ``folder`` and, with ``with_service``, a notification service on it."""
    if shutil.which("dbus-daemon") is None:
        raise RuntimeError("dbus-daemon is not installed (Debian package dbus-daemon; packaging/dev.sh installs it)")
    socket_path = folder / "bus.sock"
    daemon = subprocess.Popen(
        [
            "dbus-daemon",
            "--session",
            "--nofork",
            "--nopidfile",
            f"--address=unix:path={socket_path}",
            "--print-address=1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    service = None
    try:
        address = daemon.stdout.readline().strip()
        assert address, "dbus-daemon printed no address"
        bus = SessionBus(address, folder / "notifications.jsonl")
        if with_service:
            service = subprocess.Popen(
                [sys.executable, "-m", "tests.support.notification_service", address, str(bus.record)],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert service.stdout.readline().strip() == "ready", "the notification service did not start"
        yield bus
    finally:
        for process in (service, daemon):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
                if process.stdout:
                    process.stdout.close()
