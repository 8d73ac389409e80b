"""Property tests: the real `git apply` of compute_diff's patch on the old bytes gives the new bytes exactly.
Covers mixed line endings, missing final newlines, empty files, Unicode and invalid UTF-8; no binary content."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.diffing import compute_diff
from tests.support.git_apply import GitApplier

ROUNDTRIP_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Pieces a line is built from: ASCII words and punctuation, whitespace, lone CR, Unicode (accents, CJK,
# emoji, bidi and zero-width characters) and byte sequences that are not UTF-8. No NUL: that makes it binary.
_LINE_PIECES = st.sampled_from(
    [
        b"x",
        b"def f(a):",
        b"    return a",
        b"}",
        b" ",
        b"\t",
        b"  ",
        b"\r",
        b"#",
        "café".encode(),
        "数据".encode(),
        "😀".encode(),
        "\u202e".encode(),
        "\u200b".encode(),
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        b"\x80abc",
    ]
)
_LINE_BODIES = st.lists(_LINE_PIECES, max_size=4).map(b"".join)
_ENDINGS = st.sampled_from([b"\n", b"\n", b"\r\n"])


@st.composite
def line_lists(draw, max_lines: int = 12) -> list[bytes]:
    bodies = draw(st.lists(_LINE_BODIES, max_size=max_lines))
    return [body + draw(_ENDINGS) for body in bodies]


def join_lines(lines: list[bytes], final_newline: bool) -> bytes:
    content = b"".join(lines)
    if not final_newline and content.endswith(b"\r\n"):
        return content[:-2]
    if not final_newline and content.endswith(b"\n"):
        return content[:-1]
    return content


@st.composite
def edited_pairs(draw) -> tuple[bytes, bytes]:
    """An old file and a new file made from it by edits, so hunks have real context around them."""
    old_lines = draw(line_lists())
    new_lines = list(old_lines)
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        action = draw(st.sampled_from(["insert", "delete", "replace", "reending"]))
        index = draw(st.integers(min_value=0, max_value=len(new_lines)))
        if action == "insert":
            new_lines[index:index] = draw(line_lists(max_lines=3))
        elif new_lines and index < len(new_lines):
            if action == "delete":
                del new_lines[index]
            elif action == "replace":
                new_lines[index] = draw(_LINE_BODIES) + draw(_ENDINGS)
            else:
                body = new_lines[index].rstrip(b"\r\n")
                new_lines[index] = body + draw(_ENDINGS)
    old = join_lines(old_lines, draw(st.booleans()))
    new = join_lines(new_lines, draw(st.booleans()))
    return old, new


@pytest.fixture(scope="module")
def applier(tmp_path_factory) -> GitApplier:
    return GitApplier(tmp_path_factory.mktemp("git-apply"))


def assert_git_apply_reproduces(applier: GitApplier, old: bytes | None, new: bytes | None, **kwargs) -> None:
    path = "pkg/module.py"
    diff = compute_diff(old, new, path, **kwargs)
    assert not diff.is_binary
    if old == new:
        assert diff.status == "unchanged"
        assert diff.patch == b""
        return
    assert applier.apply(old, diff.patch, path) == new


@ROUNDTRIP_SETTINGS
@given(pair=edited_pairs(), context_lines=st.integers(min_value=1, max_value=4))
def test_git_apply_of_the_patch_on_the_old_bytes_gives_the_new_bytes(applier, pair, context_lines):
    old, new = pair
    assert_git_apply_reproduces(applier, old, new, context_lines=context_lines)


@ROUNDTRIP_SETTINGS
@given(
    old_lines=line_lists(),
    new_lines=line_lists(),
    old_final_newline=st.booleans(),
    new_final_newline=st.booleans(),
)
def test_git_apply_reproduces_unrelated_contents_too(
    applier, old_lines, new_lines, old_final_newline, new_final_newline
):
    old = join_lines(old_lines, old_final_newline)
    new = join_lines(new_lines, new_final_newline)
    assert_git_apply_reproduces(applier, old, new)


@settings(max_examples=60, deadline=None)
@given(lines=line_lists(), final_newline=st.booleans(), created=st.booleans())
def test_git_apply_creates_and_deletes_whole_files(applier, lines, final_newline, created):
    content = join_lines(lines, final_newline)
    if created:
        assert_git_apply_reproduces(applier, None, content)
    else:
        assert_git_apply_reproduces(applier, content, None)


@ROUNDTRIP_SETTINGS
@given(pair=edited_pairs())
def test_added_and_removed_counts_match_the_lines_in_the_hunks(pair):
    old, new = pair
    diff = compute_diff(old, new, "f.txt")
    lines = [line for hunk in diff.hunks for line in hunk.lines]
    assert diff.lines_added == sum(line.origin == "+" for line in lines)
    assert diff.lines_removed == sum(line.origin == "-" for line in lines)
    # Every line's raw bytes and numbers point at the exact line of its side.
    for hunk in diff.hunks:
        for line in hunk.lines:
            if line.old_lineno is not None:
                assert _nth_line(old, line.old_lineno) == line.raw
            if line.new_lineno is not None:
                assert _nth_line(new, line.new_lineno) == line.raw


def _nth_line(content: bytes, lineno: int) -> bytes:
    """1-based line of ``content`` split like git does: only on LF."""
    lines = content.split(b"\n")
    pieces = [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return pieces[lineno - 1]
