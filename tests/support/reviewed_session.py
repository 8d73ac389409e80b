"""A real agent session with every kind of decision (approve, reject then revise, edits of files and commands, a
whitespace-only edit), recorded through the stand-in API, the real SDK and SQLite: the input of the export tests.
"""

from __future__ import annotations

from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.services import review
from app.standin.scenario import text_block, text_turn, tool_turn, tool_use_block

GREET = "def greet(name):\n    return 'hi ' + name\n"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
TASK = f"Greet politely. The deploy token is {GITHUB_TOKEN} and the AWS key {AWS_KEY}."


def _edit(old: str, new: str) -> dict:
    return tool_use_block(
        EDITOR_TOOL_NAME, {"command": "str_replace", "path": "greet.py", "old_str": old, "new_str": new}
    )


def _command(text: str) -> dict:
    return tool_use_block(COMMAND_TOOL_NAME, {"command": text})


REPLIES = [
    tool_turn(text_block("Making the greeting polite."), _edit("'hi '", "'Hello, '")),  # approve
    tool_turn(text_block("Adding a farewell."), _edit("'Hello, ' + name", "'Hello, ' + name + ', yo'")),  # reject
    tool_turn(text_block("Revised per your note."), _edit("'Hello, ' + name", "'Hello, ' + name + '.'")),  # approve
    tool_turn(text_block("Cleaning up."), _command("rm -rf build")),  # edited command
    tool_turn(
        tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "notes.txt", "file_text": "todo\n"})
    ),  # edited file
    tool_turn(_edit("return 'Hello, ' + name + '.'", "return 'Hello, ' + name + '!'")),  # whitespace-only edit
    tool_turn(text_block("Publishing."), _command("curl -X POST https://example.com/publish")),  # reject
    text_turn("Done."),
]

# What the reviewer does with each proposal, in order: (verdict, detail, strength).
PLAN = [
    ("approve", None, 4),
    ("reject", "Too informal for customers.", 5),
    ("approve", None, None),
    ("edit", b"rm -rf build/cache", 3),
    ("edit", b"todo\n- write tests\n", None),
    ("edit", None, None),  # whitespace-only: filled in from the proposal
    ("reject", "No network calls.", 2),
]


async def record_reviewed_session(stack, reviewer: str = "ada") -> int:
    """Run the scripted session to the end, deciding every proposal per PLAN; returns the session id."""
    session = await stack.start(TASK)
    for verdict, detail, strength in PLAN:
        proposal = await stack.waiting_proposal()
        context = {"time_on_screen_ms": 1500, "strength": strength}
        if verdict == "approve":
            request = review.approve(proposal.id, reviewer, **context)
        elif verdict == "reject":
            request = review.reject(proposal.id, reviewer, detail, **context)
        else:
            edited = detail if detail is not None else proposal.new_content.replace(b"+ '!'", b"+  '!'")
            request = review.edit(proposal.id, reviewer, edited, **context)
        await stack.manager.decide(request)
        await stack.until(lambda proposal=proposal: stack._resolved(proposal.id))
    assert await stack.manager.wait(session.id) == "finished"
    return session.id
