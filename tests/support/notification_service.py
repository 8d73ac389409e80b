"""A freedesktop notification service for the tests, run as a real process on a real D-Bus session bus
(dbus-daemon): it owns org.freedesktop.Notifications, answers Notify with an id and writes each call as a JSON line
to the file given, so a test reads exactly what reached the desktop.

    python -m tests.support.notification_service BUS_ADDRESS RECORD_FILE
"""

from __future__ import annotations

import json
import sys

from jeepney import HeaderFields, MessageType, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

SERVICE = "org.freedesktop.Notifications"


def serve(address: str, record: str) -> None:
    connection = open_dbus_connection(bus=address)
    reply = connection.send_and_get_reply(message_bus.RequestName(SERVICE, 4))  # DO_NOT_QUEUE
    if reply.body[0] != 1:  # PRIMARY_OWNER
        raise SystemExit(f"could not own {SERVICE}: {reply.body}")
    print("ready", flush=True)
    next_id = 0
    while True:
        message = connection.receive()
        header = message.header
        if header.message_type is not MessageType.method_call:
            continue
        member = header.fields.get(HeaderFields.member)
        if member == "Notify":
            app_name, replaces, icon, summary, body, _actions, hints, expire = message.body
            next_id = replaces or next_id + 1
            call = {
                "app": app_name,
                "replaces": replaces,
                "icon": icon,
                "summary": summary,
                "body": body,
                "urgency": hints.get("urgency", (None, None))[1],
                "expire": expire,
                "id": next_id,
            }
            with open(record, "a", encoding="utf-8") as out:
                out.write(json.dumps(call) + "\n")
            connection.send(new_method_return(message, "u", (next_id,)))
        elif member == "GetServerInformation":
            connection.send(new_method_return(message, "ssss", ("signoff-tests", "signoff", "1", "1.2")))


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
