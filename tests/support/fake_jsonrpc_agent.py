"""A fake agent process speaking JSON-RPC on stdin/stdout as ``codex app-server`` or an ACP agent does: each prompt from
its client becomes one file change it asks permission for; it reports the answer it got, and any prompt Signoff sends
of its own, as notifications its client can see. Run: ``python fake_jsonrpc_agent.py codex|acp``."""

from __future__ import annotations

import json
import os
import sys

OLD = "def greet():\n    return 'hello'\n"
NEW = "def greet():\n    return 'hi'\n"
DIFF = "@@ -1,2 +1,2 @@\n def greet():\n-    return 'hello'\n+    return 'hi'\n"


def send(message: dict, *, acp: bool) -> None:
    if acp:
        message = {"jsonrpc": "2.0", **message}
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def codex() -> None:
    asked: dict = {}
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("method") == "turn/start":
            turn = f"turn_{message['id']}"
            send({"id": message["id"], "result": {"turn": {"id": turn}}}, acp=False)
            text = message["params"]["input"][0]["text"]
            if str(message["id"]).startswith("signoff-"):
                send({"method": "test/reviewerTurn", "params": {"text": text}}, acp=False)
                continue
            item = {
                "type": "fileChange",
                "id": "item_1",
                "changes": [{"path": "greet.py", "kind": {"type": "update"}, "diff": DIFF}],
            }
            send({"method": "item/started", "params": {"threadId": "thr_1", "turnId": turn, "item": item}}, acp=False)
            asked = {"id": 900, "turn": turn}
            params = {"threadId": "thr_1", "turnId": turn, "itemId": "item_1"}
            send({"id": 900, "method": "item/fileChange/requestApproval", "params": params}, acp=False)
        elif asked and message.get("id") == asked["id"]:
            send({"method": "test/decided", "params": message}, acp=False)
            turn = {"id": asked["turn"], "threadId": "thr_1"}
            send({"method": "turn/completed", "params": {"threadId": "thr_1", "turn": turn}}, acp=False)
            asked = {}


def acp() -> None:
    prompt_id = None
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("method") == "session/prompt":
            session = message["params"]["sessionId"]
            if str(message["id"]).startswith("signoff-"):
                text = message["params"]["prompt"][0]["text"]
                update = {"sessionUpdate": "test_reviewer_prompt", "text": text}
                send({"method": "session/update", "params": {"sessionId": session, "update": update}}, acp=True)
                send({"id": message["id"], "result": {"stopReason": "end_turn"}}, acp=True)
                continue
            prompt_id = message["id"]
            path = os.path.join(os.getcwd(), "greet.py")
            tool_call = {
                "toolCallId": "call_1",
                "title": "Edit greet.py",
                "kind": "edit",
                "content": [{"type": "diff", "path": path, "oldText": OLD, "newText": NEW}],
            }
            options = [
                {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                {"optionId": "no", "name": "Reject", "kind": "reject_once"},
            ]
            params = {"sessionId": session, "toolCall": tool_call, "options": options}
            send({"id": 500, "method": "session/request_permission", "params": params}, acp=True)
        elif message.get("id") == 500:
            update = {"sessionUpdate": "test_decided", "outcome": message["result"]["outcome"]}
            send({"method": "session/update", "params": {"sessionId": "sess_1", "update": update}}, acp=True)
            send({"id": prompt_id, "result": {"stopReason": "end_turn"}}, acp=True)


if __name__ == "__main__":
    {"codex": codex, "acp": acp}[sys.argv[1]]()
