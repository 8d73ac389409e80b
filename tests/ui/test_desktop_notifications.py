"""The window's notifier: new proposals while the window is not in front reach the desktop's notification service
(a real one on a real session bus); none when the window is in front or the setting is off; no service is said once."""

from __future__ import annotations

from app.services.desktop_notify import DesktopNotifier
from app.ui.desktop_notifications import QueueNotifier
from tests.support.session_bus import session_bus


def test_new_proposals_while_looking_elsewhere_reach_the_notification_service(qtbot, tmp_path):
    with session_bus(tmp_path) as bus:
        notifier = QueueNotifier(desktop=DesktopNotifier(bus.address))
        with qtbot.waitSignal(notifier.delivered, timeout=5000):
            notifier.update(3, 2, focused=False)
        notifier.update(3, 0, focused=False)  # nothing new: nothing shown
        notifier.update(4, 1, focused=True)  # the person is looking: nothing shown
        with qtbot.waitSignal(notifier.delivered, timeout=5000):
            notifier.update(5, 1, focused=False)
        notifier.close()
    shown = bus.notifications()
    assert [(n["summary"], n["body"]) for n in shown] == [
        ("2 new proposals to review", "3 waiting in Signoff."),
        ("1 new proposal to review", "5 waiting in Signoff."),
    ]
    assert shown[1]["replaces"] == shown[0]["id"], "one bubble that updates, not a stack"


def test_with_notifications_off_nothing_reaches_the_desktop(qtbot, tmp_path):
    with session_bus(tmp_path) as bus:
        notifier = QueueNotifier(desktop=DesktopNotifier(bus.address))
        notifier.enabled = False
        notifier.update(1, 1, focused=False)
        assert notifier.last_message == "1 new proposal to review (1 waiting)."
        # A delivery that was started would finish well within this: the service answers in milliseconds.
        with qtbot.waitSignal(notifier.delivered, timeout=500, raising=False) as blocker:
            pass
        assert not blocker.signal_triggered
        notifier.close()
    assert bus.notifications() == []


def test_a_desktop_without_a_notification_service_is_noted_once_and_the_tray_takes_over(qtbot, tmp_path):
    with session_bus(tmp_path, with_service=False) as bus:
        notifier = QueueNotifier(desktop=DesktopNotifier(bus.address))
        with qtbot.waitSignal(notifier.unavailable, timeout=5000):
            notifier.update(1, 1, focused=False)
        qtbot.waitUntil(lambda: notifier.desktop_reason is not None)
        assert "ServiceUnknown" in notifier.desktop_reason
        # From now on the tray's message is used; the bus is not asked again.
        with qtbot.waitSignal(notifier.unavailable, timeout=300, raising=False) as again:
            notifier.update(2, 1, focused=False)
        assert not again.signal_triggered
        notifier.close()
