"""The terminal UI's main screens at 80x24, as text read from Textual's screenshot, against the files in snapshots/.

Set SIGNOFF_UPDATE_SNAPSHOTS=1 to write them anew after a deliberate change (and read the diff before committing)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from app.services.settings import Settings
from app.store.db import open_database
from app.store.repository import Repository
from app.tui.app import SignoffTui
from tests.support.agent_harness import run
from tests.support.tui_queue import seed_queue
from tests.support.tui_screen import screen_lines

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

# Keys from the queue to each screen.
SCREENS = {
    "queue": (),
    "file_diff": ("enter",),
    "file_diff_hunks_judged": ("enter", "A", "R", *"not this one", "enter"),
    "command": ("G", "enter"),
    "reject_reason": ("j", "r", *"too broad"),
}


@pytest.fixture
def repository(tmp_path: Path):
    database = open_database(str(tmp_path / "queue.db"))
    repository = Repository(database)
    seed_queue(repository, tmp_path / "ws")
    yield repository
    database.close()


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_each_main_screen_fits_80_by_24_as_recorded(repository, name):
    async def scenario() -> list[str]:
        app = SignoffTui(repository, Settings(reviewer="ada", undo_seconds=5.0), host_sessions=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*SCREENS[name])
            await pilot.pause()
            return screen_lines(app.export_screenshot())

    lines = run(scenario())
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    expected_path = SNAPSHOTS / f"{name}.txt"
    actual = "\n".join(lines) + "\n"
    if os.environ.get("SIGNOFF_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        expected_path.write_text(actual, encoding="utf-8")
    expected = expected_path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "recorded", "now"))
        pytest.fail(f"the {name} screen changed:\n{diff}", pytrace=False)
