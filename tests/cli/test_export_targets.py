"""`signoff export` never replaces a file it did not create (issue #12 item 1): a .jsonl export's card goes beside it
as NAME.card.md, not over the folder's README.md, and an existing data file or card is refused unless --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.benchmarks.queue_data import build_queue_database


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store" / "queue.db"
    path.parent.mkdir()
    build_queue_database(path, decided=5, waiting=1)
    return path


def export(db: Path, out: Path, *extra: str) -> int:
    return main(["export", "--db", str(db), "--format", "trl-dpo", "--out", str(out), *extra])


def test_a_jsonl_export_in_a_folder_with_a_readme_leaves_the_readme_alone(db, tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "README.md").write_text("# My project\n", encoding="utf-8")
    assert export(db, folder / "x.jsonl") == 0
    assert (folder / "README.md").read_text(encoding="utf-8") == "# My project\n"
    assert (folder / "x.jsonl").exists()
    card = folder / "x.card.md"
    assert card.read_text(encoding="utf-8").startswith("---") and f"{card}: dataset card" in capsys.readouterr().out
    assert sorted(path.name for path in folder.iterdir()) == ["README.md", "x.card.md", "x.jsonl"]


@pytest.mark.parametrize("existing", ["x.jsonl", "x.card.md"])
def test_an_existing_data_file_or_card_is_refused_without_force(existing, db, tmp_path, capsys):
    target = tmp_path / existing
    target.write_text("mine\n", encoding="utf-8")
    assert export(db, tmp_path / "x.jsonl") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(target) in err and "--force" in err
    assert target.read_text(encoding="utf-8") == "mine\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["store", existing])

    assert export(db, tmp_path / "x.jsonl", "--force") == 0
    assert target.read_text(encoding="utf-8") != "mine\n"
    assert (tmp_path / "x.jsonl").exists() and (tmp_path / "x.card.md").exists()


def test_an_export_folder_with_a_readme_is_refused_without_force(db, tmp_path, capsys):
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "README.md").write_text("# Someone's notes\n", encoding="utf-8")
    assert export(db, folder) == 1
    assert "README.md" in capsys.readouterr().err
    assert (folder / "README.md").read_text(encoding="utf-8") == "# Someone's notes\n"
    assert sorted(path.name for path in folder.iterdir()) == ["README.md"]


def test_split_files_are_refused_too(db, tmp_path, capsys):
    (tmp_path / "x.test.jsonl").write_text("mine\n", encoding="utf-8")
    assert export(db, tmp_path / "x.jsonl", "--split", "0.5") == 1
    assert "x.test.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "x.train.jsonl").exists()


def test_an_export_with_fewer_rows_than_decisions_says_why_in_one_sentence(db, tmp_path, capsys):
    """Issue #12 item 16: "Wrote 1 row from 4 decisions" said nothing of why; the report now says it."""
    assert export(db, tmp_path / "pairs.jsonl") == 0
    out = capsys.readouterr().out
    rows = (tmp_path / "pairs.jsonl").read_text(encoding="utf-8").count("\n")
    assert rows < 5, "approvals and rejections alone make few pairs"
    (said,) = [line for line in out.splitlines() if line.startswith("Fewer rows than decisions:")]
    assert "a pair needs a rejection followed by its approved revision, an edit, or a compare pick" in said

    # Labelled completions need no pair: what is said is only why a decision made no row at all (here the
    # generated decisions have no transcript message behind them).
    assert main(["export", "--db", str(db), "--format", "trl-kto", "--out", str(tmp_path / "kto.jsonl")]) == 0
    (said,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Fewer rows than decisions:")]
    assert "a pair needs" not in said and "no row from 5 decisions whose message is missing" in said
