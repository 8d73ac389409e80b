"""Desktop notifications through the freedesktop notification service on the D-Bus session bus (jeepney, pure
Python): one call per notification, a short timeout, and a plain reason when there is no service. No Qt here.

Blocking: callers in the window run ``notify`` on a worker thread (app.ui.background.run_in_thread).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
# A notification service answers in a few milliseconds; a hung one must not hold a worker thread for long.
CALL_TIMEOUT_S = 2.0
EXPIRE_MS = 8000


class NotificationUnavailableError(Exception):
    """No notification service can be reached; the message says why in one line."""


@dataclass(frozen=True)
class Notification:
    summary: str
    body: str = ""
    # Replaces the previous notification of this notifier instead of stacking a new one per proposal.
    replace_previous: bool = True
    urgency: int = 1  # 0 low, 1 normal, 2 critical (the freedesktop hint)


class DesktopNotifier:
    """Sends notifications to the session bus at ``address`` (default: $DBUS_SESSION_BUS_ADDRESS).

    Thread-safe: one connection, opened on first use and reopened after a failure."""

    def __init__(self, address: str | None = None, *, app_name: str = "Signoff", icon: str = "signoff") -> None:
        self.address = address
        self.app_name = app_name
        self.icon = icon
        self._connection = None
        self._last_id = 0
        self._lock = threading.Lock()

    def notify(self, notification: Notification) -> int:
        """Show ``notification``; the id the service gave it. Raises NotificationUnavailableError with the reason."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import DBusErrorResponse

        target = DBusAddress(OBJECT_PATH, bus_name=SERVICE, interface=SERVICE)
        hints = {"urgency": ("y", notification.urgency), "desktop-entry": ("s", "signoff")}
        with self._lock:
            replaces = self._last_id if notification.replace_previous else 0
            message = new_method_call(
                target,
                "Notify",
                "susssasa{sv}i",
                (
                    self.app_name,
                    replaces,
                    self.icon,
                    notification.summary[:200],
                    notification.body[:1000],
                    [],
                    hints,
                    EXPIRE_MS,
                ),
            )
            connection = self._connect()
            try:
                reply = connection.send_and_get_reply(message, timeout=CALL_TIMEOUT_S)
            except DBusErrorResponse as err:
                raise NotificationUnavailableError(f"The notification service refused: {err.name}.") from None
            except (OSError, TimeoutError, ConnectionError) as err:
                self._drop_connection()
                raise NotificationUnavailableError(f"The notification service did not answer: {err}.") from None
            if reply.header.message_type.name == "error":
                name = reply.header.fields.get(4, "an error")  # HeaderFields.error_name
                raise NotificationUnavailableError(f"The notification service refused: {name}.")
            (self._last_id,) = reply.body
            return self._last_id

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    def _connect(self):
        if self._connection is not None:
            return self._connection
        from jeepney.io.blocking import open_dbus_connection

        address = self.address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise NotificationUnavailableError("There is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set).")
        try:
            self._connection = open_dbus_connection(bus=address, auth_timeout=CALL_TIMEOUT_S)
        except (OSError, ValueError, TimeoutError) as err:
            raise NotificationUnavailableError(f"Cannot reach the D-Bus session bus: {err}.") from None
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except OSError:
                pass
            self._connection = None


def waiting_text(count: int, newest: str) -> Notification:
    """The words for proposals that wait while the window is not in front."""
    if count <= 1:
        return Notification("A proposal waits for your decision", newest)
    return Notification(f"{count} proposals wait for your decision", f"Newest: {newest}")
