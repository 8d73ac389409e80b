"""What the window remembers between runs (its geometry and last page, in window.ini beside settings.json) and the
single-instance rule: a second start raises the running window through a QLocalServer and exits.

Qt-only glue; no database, no decisions.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.paths import config_dir

log = logging.getLogger(__name__)

# Milliseconds a second start waits for the running one to answer before starting a window of its own.
_CONNECT_TIMEOUT_MS = 500


def _settings() -> QSettings:
    # A file in Signoff's config folder, not Qt's default location: SIGNOFF_CONFIG_DIR keeps tests and users apart.
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


def restore_geometry(window) -> None:
    """The saved size and position; nothing changes when none were saved."""
    geometry = _settings().value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)


def restore_page(window) -> None:
    """The page (0 queue, 1 sessions) shown when the window was last closed; nothing changes when none was saved."""
    page = _settings().value("window/page")
    try:
        index = int(page) if page is not None else -1
    except (TypeError, ValueError):
        index = -1
    if 0 <= index < window.pages.count():
        window.pages.setCurrentIndex(index)


def save_window(window) -> None:
    settings = _settings()
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/page", window.pages.currentIndex())
    settings.sync()


def instance_name() -> str:
    """One name per user and config folder, so separate profiles (and parallel tests) never see each other."""
    digest = hashlib.sha256(str(config_dir()).encode("utf-8")).hexdigest()[:16]
    return f"signoff-{digest}"


def raise_running_instance() -> bool:
    """Ask a running Signoff to show its window; True when one answered (this start should then end)."""
    socket = QLocalSocket()
    socket.connectToServer(instance_name())
    if not socket.waitForConnected(_CONNECT_TIMEOUT_MS):
        return False
    socket.write(b"raise\n")
    socket.flush()
    socket.waitForBytesWritten(_CONNECT_TIMEOUT_MS)
    socket.disconnectFromServer()
    return True


def listen_for_second_starts(on_raise: Callable[[], None]) -> QLocalServer | None:
    """Serve later starts' requests to raise the window; None when the name cannot be taken (they open their own)."""
    server = QLocalServer()
    name = instance_name()
    if not server.listen(name):
        # A server file left by a crashed run: nobody answered on it, so it is stale.
        QLocalServer.removeServer(name)
        if not server.listen(name):
            log.info("single instance unavailable: %s", server.errorString())
            return None

    def accept() -> None:
        while server.hasPendingConnections():
            connection = server.nextPendingConnection()
            connection.readyRead.connect(lambda c=connection: _read(c))
            connection.disconnected.connect(connection.deleteLater)

    def _read(connection) -> None:
        if bytes(connection.readAll()).strip() == b"raise":
            on_raise()

    server.newConnection.connect(accept)
    return server
