"""The text editor tool's semantics on awkward files: CRLF, no final newline, binary, huge, outside the root."""

from __future__ import annotations

import os

import pytest

from app.services import editor_tool
from app.services.apply import ApplyConflict, apply_file_change
from app.services.workspace import MAX_FILE_BYTES, ToolInputError, Workspace, sha256_hex


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root)


def write(workspace: Workspace, name: str, data: bytes) -> None:
    path = workspace.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_str_replace_in_a_crlf_file_keeps_crlf_line_endings(workspace):
    write(workspace, "a.txt", b"one\r\ntwo\r\nthree\r\n")
    draft = editor_tool.draft_change(
        workspace, {"command": "str_replace", "path": "a.txt", "old_str": "one\ntwo", "new_str": "one\n2\nextra"}
    )
    assert draft.new_content == b"one\r\n2\r\nextra\r\nthree\r\n"


def test_str_replace_keeps_a_missing_final_newline_missing(workspace):
    write(workspace, "a.txt", b"alpha\nbeta")
    draft = editor_tool.draft_change(
        workspace, {"command": "str_replace", "path": "a.txt", "old_str": "beta", "new_str": "gamma"}
    )
    assert draft.new_content == b"alpha\ngamma"


def test_insert_after_a_last_line_without_newline_adds_one_between(workspace):
    write(workspace, "a.txt", b"alpha\nbeta")
    draft = editor_tool.draft_change(
        workspace, {"command": "insert", "path": "a.txt", "insert_line": 2, "insert_text": "gamma"}
    )
    assert draft.new_content == b"alpha\nbeta\ngamma"
    top = editor_tool.draft_change(
        workspace, {"command": "insert", "path": "a.txt", "insert_line": 0, "insert_text": "zero"}
    )
    assert top.new_content == b"zero\nalpha\nbeta"


def test_view_numbers_lines_and_honours_a_view_range(workspace):
    write(workspace, "a.txt", b"a\nb\nc\nd\n")
    assert (
        editor_tool.view(workspace, {"command": "view", "path": "a.txt", "view_range": [2, 3]})
        == "     2\tb\n     3\tc"
    )
    assert editor_tool.view(workspace, {"command": "view", "path": "a.txt", "view_range": [3, -1]}).endswith("4\td")
    with pytest.raises(ToolInputError, match="outside the file"):
        editor_tool.view(workspace, {"command": "view", "path": "a.txt", "view_range": [9, 10]})


def test_a_directory_listing_leaves_out_hidden_and_vendored_folders(workspace):
    write(workspace, "src/app.py", b"")
    write(workspace, ".git/HEAD", b"")
    write(workspace, "node_modules/x/index.js", b"")
    listing = editor_tool.view(workspace, {"command": "view", "path": "."})
    assert "src/" in listing and "src/app.py" in listing
    assert ".git" not in listing and "node_modules" not in listing


def test_binary_and_huge_files_are_refused_with_their_size(workspace):
    write(workspace, "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ToolInputError, match="binary file"):
        editor_tool.view(workspace, {"command": "view", "path": "logo.png"})
    with open(workspace.root / "big.log", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ToolInputError, match="over the"):
        editor_tool.draft_change(
            workspace, {"command": "str_replace", "path": "big.log", "old_str": "a", "new_str": "b"}
        )


def test_symlinks_leading_out_of_the_workspace_are_refused(workspace, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    os.symlink(secret, workspace.root / "link.txt")
    with pytest.raises(ToolInputError, match="outside the workspace"):
        editor_tool.view(workspace, {"command": "view", "path": "link.txt"})
    with pytest.raises(ToolInputError, match="outside the workspace"):
        editor_tool.draft_change(workspace, {"command": "create", "path": "link.txt", "file_text": "x"})


def test_malformed_input_says_what_is_wrong(workspace):
    with pytest.raises(ToolInputError, match="JSON object"):
        editor_tool.view(workspace, ["view", "."])
    with pytest.raises(ToolInputError, match="`path` as a string"):
        editor_tool.view(workspace, {"command": "view", "path": 3})
    with pytest.raises(ToolInputError, match="`file_text` as a string"):
        editor_tool.draft_change(workspace, {"command": "create", "path": "x.txt"})


def test_apply_writes_atomically_and_refuses_a_changed_file(workspace):
    write(workspace, "a.txt", b"old")
    base = sha256_hex(b"old")
    assert apply_file_change(workspace, "a.txt", base, b"new") == sha256_hex(b"new")
    assert (workspace.root / "a.txt").read_bytes() == b"new"
    assert [p.name for p in workspace.root.iterdir()] == ["a.txt"]  # no temporary file left behind
    with pytest.raises(ApplyConflict, match="changed on disk"):
        apply_file_change(workspace, "a.txt", base, b"newer")
    # Applying the same bytes again (a retry after a crash) is not a conflict and changes nothing.
    assert apply_file_change(workspace, "a.txt", base, b"new") == sha256_hex(b"new")


def test_apply_keeps_the_file_mode(workspace):
    write(workspace, "run.sh", b"echo 1\n")
    os.chmod(workspace.root / "run.sh", 0o755)
    apply_file_change(workspace, "run.sh", sha256_hex(b"echo 1\n"), b"echo 2\n")
    assert (workspace.root / "run.sh").stat().st_mode & 0o777 == 0o755
