"""Telling a person who is looking elsewhere that work waits: the desktop's notification service (freedesktop, over
D-Bus, through app.services.desktop_notify) where there is one, else the tray icon's message; the tray's count badge.

Delivery runs on a worker thread and never blocks the window; a machine without a notification service is logged
once and falls back to the tray.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon

from app.services.desktop_notify import DesktopNotifier, Notification, NotificationUnavailableError
from app.ui.background import start_worker

log = logging.getLogger(__name__)


class QueueNotifier(QObject):
    """The tray icon's count and a desktop notification when new proposals arrive while the window is not in front."""

    # From the delivery thread: the notification service could not be used (the reason), delivered to the GUI thread.
    unavailable = Signal(str)
    # From the delivery thread: the id the notification service gave (tests and logs).
    delivered = Signal(int)

    def __init__(self, parent: QObject | None = None, *, desktop: DesktopNotifier | None = None) -> None:
        super().__init__(parent)
        self.waiting = 0
        self.last_message: str | None = None
        self.enabled = True
        self.desktop = desktop or DesktopNotifier()
        self.desktop_reason: str | None = None  # why the notification service is not used, once it failed
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self)
            self.tray.setIcon(self._badge(0))
        self.unavailable.connect(self._desktop_unavailable, Qt.ConnectionType.QueuedConnection)

    @property
    def tooltip(self) -> str:
        return f"Signoff — {self.waiting:,} waiting" if self.waiting else "Signoff — nothing waiting"

    def update(self, waiting: int, new_items: int, *, focused: bool) -> None:
        changed = waiting != self.waiting
        self.waiting = waiting
        if self.tray is not None:
            if changed:
                self.tray.setIcon(self._badge(waiting))
            self.tray.setToolTip(self.tooltip)
            self.tray.setVisible(True)
        if new_items > 0 and not focused:
            self.last_message = (
                f"{new_items} new proposal{'s' if new_items != 1 else ''} to review ({waiting:,} waiting)."
            )
            if self.enabled:
                self._notify(new_items, waiting)

    def _notify(self, new_items: int, waiting: int) -> None:
        summary = f"{new_items} new proposal{'s' if new_items != 1 else ''} to review"
        notification = Notification(summary, f"{waiting:,} waiting in Signoff.")
        if self.desktop_reason is None:
            start_worker(self._deliver, notification, name="signoff-notify")
        else:
            self._tray_message(self.last_message or summary)

    def _tray_message(self, text: str) -> None:
        if self.tray is not None and self.tray.supportsMessages():
            self.tray.showMessage("Signoff", text, QSystemTrayIcon.MessageIcon.Information, 6000)

    def _deliver(self, notification: Notification) -> None:
        """On the delivery thread: one call to the notification service; results go back through signals."""
        try:
            self.delivered.emit(self.desktop.notify(notification))
        except NotificationUnavailableError as err:
            self.unavailable.emit(str(err))
        except Exception as err:  # a broken bus must never take the window: logged, and the tray takes over
            self.unavailable.emit(f"The notification service failed: {err}")

    def _desktop_unavailable(self, reason: str) -> None:
        if self.desktop_reason is None:
            log.info("desktop notifications: %s Using the tray icon's messages instead.", reason)
        self.desktop_reason = reason
        if self.last_message:
            self._tray_message(self.last_message)

    def close(self) -> None:
        self.desktop.close()

    @staticmethod
    def _badge(count: int) -> QIcon:
        pixmap = QPixmap(32, 32)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor("#2e7d32"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(2, 2, 28, 28, 6, 6)
        if count:
            painter.setBrush(QColor("#c62828"))
            painter.drawEllipse(12, 0, 20, 20)
            painter.setPen(QColor("white"))
            font = painter.font()
            font.setPixelSize(11)
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(12, 0, 20, 20, int(Qt.AlignmentFlag.AlignCenter), str(count) if count < 100 else "99+")
        painter.end()
        return QIcon(pixmap)
