"""`signoff` with no display: one line says so, then the terminal UI opens on the offline demo (in a real
pseudo-terminal, as over SSH); without a terminal either it says what to run instead and stops."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from app.main import has_display
from app.store.db import open_database
from app.store.repository import Repository

REPO_ROOT = Path(__file__).resolve().parents[2]


def headless_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env.update(PYTHONPATH=str(REPO_ROOT), SIGNOFF_DB=str(tmp_path / "signoff.db"), TERM="xterm-256color")
    return env


def test_a_display_is_an_x_or_wayland_server_or_a_qt_platform_that_needs_none():
    assert not has_display({})
    assert not has_display({"QT_QPA_PLATFORM": "xcb"})
    assert has_display({"DISPLAY": ":0"})
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"})
    assert has_display({"QT_QPA_PLATFORM": "offscreen"})


def test_without_display_or_terminal_signoff_says_what_to_run_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env=headless_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "signoff tui" in lines[0]


def test_without_display_signoff_opens_the_terminal_ui_on_the_offline_demo(tmp_path):
    env = headless_env(tmp_path)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdin=follower, stdout=follower, stderr=follower, close_fds=True
    )
    os.close(follower)
    received = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read, name="pty-reader")
    reader.start()
    try:
        deadline = time.monotonic() + 60
        database = None
        while True:
            assert process.poll() is None, f"signoff ended early:\n{received.decode(errors='replace')}"
            assert time.monotonic() < deadline, f"no demo proposal waited:\n{received.decode(errors='replace')}"
            if database is None and (tmp_path / "signoff.db").exists() and b"Offline demo" in received:
                database = open_database(str(tmp_path / "signoff.db"))
            if database is not None and Repository(database).queue.page(limit=1):
                break
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        first_line = received.decode(errors="replace").splitlines()[0]
        assert first_line.startswith("No display (DISPLAY and WAYLAND_DISPLAY are unset): opening the terminal")
        os.write(leader, b"q")
        assert process.wait(timeout=30) == 0
        database.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
        reader.join(timeout=10)
