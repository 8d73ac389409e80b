"""Desktop notifications over a real D-Bus session bus (dbus-daemon) to a real notification service process."""

from __future__ import annotations

import pytest

from app.services.desktop_notify import DesktopNotifier, Notification, NotificationUnavailableError, waiting_text
from tests.support.session_bus import session_bus


def test_a_notification_reaches_the_desktops_notification_service(tmp_path):
    with session_bus(tmp_path) as bus:
        notifier = DesktopNotifier(bus.address)
        try:
            first = notifier.notify(Notification("A proposal waits", "#4 edit greet.py", urgency=2))
            second = notifier.notify(Notification("2 proposals wait", "Newest: #5 $ pytest -q"))
        finally:
            notifier.close()
    calls = bus.notifications()
    assert [(c["app"], c["summary"], c["body"], c["urgency"]) for c in calls] == [
        ("Signoff", "A proposal waits", "#4 edit greet.py", 2),
        ("Signoff", "2 proposals wait", "Newest: #5 $ pytest -q", 1),
    ]
    # The second replaces the first on screen instead of stacking one bubble per proposal.
    assert calls[1]["replaces"] == first == second


def test_without_a_service_on_the_bus_the_reason_is_one_sentence(tmp_path):
    with session_bus(tmp_path, with_service=False) as bus:
        notifier = DesktopNotifier(bus.address)
        with pytest.raises(NotificationUnavailableError, match="refused: org.freedesktop.DBus.Error.ServiceUnknown"):
            notifier.notify(Notification("nobody listens"))
        notifier.close()


def test_without_a_session_bus_the_reason_says_so(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with pytest.raises(NotificationUnavailableError, match="no D-Bus session bus"):
        DesktopNotifier().notify(Notification("x"))


def test_a_bus_that_is_gone_is_reported_not_raised_as_a_traceback(tmp_path):
    with pytest.raises(NotificationUnavailableError, match="Cannot reach the D-Bus session bus"):
        DesktopNotifier(f"unix:path={tmp_path / 'no-such.sock'}").notify(Notification("x"))


def test_the_words_count_what_waits():
    assert waiting_text(1, "#3 edit a.py").summary == "A proposal waits for your decision"
    many = waiting_text(3, "#9 $ make")
    assert (many.summary, many.body) == ("3 proposals wait for your decision", "Newest: #9 $ make")
