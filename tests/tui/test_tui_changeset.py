"""The terminal UI shows a changeset like the window: every file as one diff, its hunks numbered across files and
judged one by one (stored through the real store)."""

from __future__ import annotations

from app.domain.records import ChangedFile
from app.store.db import open_database
from app.store.repository import Repository
from app.tui.diff_rows import ProposalView
from tests.services.test_changeset_judges import changeset_proposal


def test_a_changeset_is_shown_in_the_terminal_as_one_diff_with_hunks_across_its_files(tmp_path):
    database = open_database(str(tmp_path / "tui.db"))
    try:
        repository = Repository(database)
        files = [ChangedFile("a.txt", b"one\ntwo\n", b"one\n2\n"), ChangedFile("b/new.md", None, b"# new\n")]
        stored = changeset_proposal(repository, tmp_path, files)
        view = ProposalView(repository.proposals.get(stored.id))
        rows = view.rows(current_hunk=1)
    finally:
        database.close()
    assert view.judged_by_hunk and len(view.hunks) == 2
    text = "\n".join(str(row.text) for row in rows)
    assert "changeset of 2 files" in text
    assert "Hunk 1/2 a.txt · @@" in text and "▶ Hunk 2/2 b/new.md · @@" in text and "+ # new" in text
