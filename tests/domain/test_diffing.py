"""Explicit cases for compute_diff (git-exact patches, checked with the real `git apply`), binary summaries,
intraline spans and line pairing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.diff_types import DiffLine, Hunk
from app.domain.diffing import (
    INTRALINE_MAX_CHARS,
    binary_summary,
    compute_diff,
    describe_binary,
    diff_stats,
    format_size,
    intraline_spans,
    pair_changed_lines,
)
from tests.support.git_apply import GitApplier

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
INDEX_LINE = rb"index [0-9a-f]{7}\.\.[0-9a-f]{7}"


@pytest.fixture(scope="module")
def applier(tmp_path_factory) -> GitApplier:
    return GitApplier(tmp_path_factory.mktemp("git-apply"))


def lines_of(diff) -> list[DiffLine]:
    return [line for hunk in diff.hunks for line in hunk.lines]


# ------------------------------------------------------------------------------------------ modified files


def test_modified_file_gets_an_exact_git_style_patch():
    diff = compute_diff(b"one\ntwo\nthree\n", b"one\n2\nthree\n", "src/numbers.txt")

    assert diff.status == "modified"
    assert not diff.is_binary
    assert re.fullmatch(
        rb"diff --git a/src/numbers.txt b/src/numbers.txt\n" + INDEX_LINE + rb" 100644\n"
        rb"--- a/src/numbers.txt\n"
        rb"\+\+\+ b/src/numbers.txt\n"
        rb"@@ -1,3 \+1,3 @@\n"
        rb" one\n"
        rb"-two\n"
        rb"\+2\n"
        rb" three\n",
        diff.patch,
    )
    assert (diff.lines_added, diff.lines_removed) == (1, 1)
    assert (diff.old_size, diff.new_size) == (14, 12)
    assert diff.binary_summary == ""


def test_hunks_carry_line_numbers_on_both_sides_and_a_header_without_newline():
    old = b"".join(b"line %d\n" % number for number in range(1, 21))
    new = old.replace(b"line 10\n", b"line ten\nline ten and a half\n")

    diff = compute_diff(old, new, "f.txt")

    (hunk,) = diff.hunks
    assert (hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines) == (7, 7, 7, 8)
    assert hunk.header == "@@ -7,7 +7,8 @@ line 6"
    assert [(line.origin, line.old_lineno, line.new_lineno, line.text) for line in hunk.lines] == [
        (" ", 7, 7, "line 7"),
        (" ", 8, 8, "line 8"),
        (" ", 9, 9, "line 9"),
        ("-", 10, None, "line 10"),
        ("+", None, 10, "line ten"),
        ("+", None, 11, "line ten and a half"),
        (" ", 11, 12, "line 11"),
        (" ", 12, 13, "line 12"),
        (" ", 13, 14, "line 13"),
    ]


def test_context_lines_controls_how_much_surrounds_each_change():
    old_lines = [b"%d\n" % number for number in range(30)]
    new_lines = list(old_lines)
    new_lines[5] = b"five\n"
    new_lines[25] = b"twenty-five\n"
    old, new = b"".join(old_lines), b"".join(new_lines)

    assert len(compute_diff(old, new, "f", context_lines=3).hunks) == 2
    wide = compute_diff(old, new, "f", context_lines=10)
    assert len(wide.hunks) == 1
    narrow = compute_diff(old, new, "f", context_lines=0)
    assert [len(hunk.lines) for hunk in narrow.hunks] == [2, 2]


def test_moved_function_reads_as_one_block_added_and_one_removed():
    # The classic case where a plain Myers diff interleaves braces of two unrelated functions.
    old = _frobnitz_source(helper="fact")
    new = _frobnitz_source(helper="fib")

    diff = compute_diff(old, new, "frob.c")

    removed = [line.text for line in lines_of(diff) if line.origin == "-"]
    added = [line.text for line in lines_of(diff) if line.origin == "+"]
    assert removed[:8] == [
        '        printf("Your answer is: ");',
        "int fact(int n)",
        "{",
        "    if(n > 1)",
        "    {",
        "        return fact(n-1) * n;",
        "    }",
        "    return 1;",
    ]
    assert added[:3] == ["int fib(int n)", "{", "    if(n > 2)"]
    assert "// Frobs foo heartily" not in added + removed


def test_every_explicit_case_round_trips_through_git_apply(applier):
    cases = [
        (b"a\nb\nc\n", b"a\nB\nc\n"),
        (b"", b"first line\n"),
        (b"only line\n", b""),
        (b"no newline", b"no newline\n"),
        (b"newline\n", b"newline"),
        (b"x\r\ny\r\n", b"x\r\nY\r\n"),
        (b"x\r\ny\r\n", b"x\ny\n"),
        (b"mixed\r\nends\nlone\rcr\n", b"mixed\nends\r\nlone\rCR"),
        (b"trailing  \n\tindent\n", b"trailing\n    indent\n"),
        (b"\n\n\n", b"\n\n"),
        ("naïve café ☕ 数据 😀\n".encode(), "naïve cafe ☕ 数据 😀\n".encode()),
        (b"latin-1 caf\xe9\n\xff\xfe\n", b"latin-1 caf\xc3\xa9\n"),
    ]
    for path in ("plain.txt", "dir/with space/ünïcode\tname.py"):
        for old, new in cases:
            diff = compute_diff(old, new, path)
            assert applier.apply(old, diff.patch, path) == new, (path, old, new)


# ----------------------------------------------------------------------------------- added and deleted files


def test_new_file_patch_has_new_file_mode_and_dev_null(applier):
    diff = compute_diff(None, b"hello\nworld\n", "docs/new.md")

    assert diff.status == "added"
    assert re.fullmatch(
        rb"diff --git a/docs/new.md b/docs/new.md\n"
        rb"new file mode 100644\n"
        rb"index 0000000\.\.[0-9a-f]{7}\n"
        rb"--- /dev/null\n"
        rb"\+\+\+ b/docs/new.md\n"
        rb"@@ -0,0 \+1,2 @@\n"
        rb"\+hello\n"
        rb"\+world\n",
        diff.patch,
    )
    assert (diff.lines_added, diff.lines_removed, diff.old_size, diff.new_size) == (2, 0, 0, 12)
    assert [(line.old_lineno, line.new_lineno) for line in lines_of(diff)] == [(None, 1), (None, 2)]
    assert applier.apply(None, diff.patch, "docs/new.md") == b"hello\nworld\n"


def test_deleted_file_patch_has_deleted_file_mode_and_dev_null(applier):
    diff = compute_diff(b"bye\n", None, "old.txt")

    assert diff.status == "deleted"
    assert diff.patch.startswith(b"diff --git a/old.txt b/old.txt\ndeleted file mode 100644\n")
    assert b"--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n" in diff.patch
    assert (diff.lines_added, diff.lines_removed) == (0, 1)
    assert applier.apply(b"bye\n", diff.patch, "old.txt") is None


def test_empty_files_can_be_created_deleted_filled_and_emptied(applier):
    created = compute_diff(None, b"", "empty")
    assert created.status == "added"
    assert b"new file mode 100644" in created.patch
    assert created.hunks == ()
    assert applier.apply(None, created.patch, "empty") == b""

    deleted = compute_diff(b"", None, "empty")
    assert deleted.status == "deleted"
    assert b"deleted file mode 100644" in deleted.patch
    assert applier.apply(b"", deleted.patch, "empty") is None

    filled = compute_diff(b"", b"content\n", "f")
    assert filled.status == "modified"
    assert b"new file mode" not in filled.patch
    assert applier.apply(b"", filled.patch, "f") == b"content\n"

    emptied = compute_diff(b"content\n", b"", "f")
    assert emptied.status == "modified"
    assert b"deleted file mode" not in emptied.patch
    assert applier.apply(b"content\n", emptied.patch, "f") == b""


def test_identical_content_is_unchanged_with_an_empty_patch():
    diff = compute_diff(b"same\n", b"same\n", "same.txt")
    assert (diff.status, diff.patch, diff.hunks, diff.lines_added, diff.lines_removed) == (
        "unchanged",
        b"",
        (),
        0,
        0,
    )


# ----------------------------------------------------------------------------- line endings and encodings


def test_missing_final_newline_is_marked_in_the_patch_and_on_the_line():
    diff = compute_diff(b"a\nb", b"a\nc", "f")

    assert diff.patch.endswith(b"-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")
    last_removed, last_added = [line for line in lines_of(diff) if line.origin != " "]
    assert last_removed.raw == b"b" and last_removed.no_newline_at_end
    assert last_added.raw == b"c" and last_added.no_newline_at_end
    assert not lines_of(diff)[0].no_newline_at_end


def test_adding_a_final_newline_shows_the_last_line_as_changed():
    diff = compute_diff(b"a\nb", b"a\nb\n", "f")

    assert [(line.origin, line.raw, line.no_newline_at_end) for line in lines_of(diff)] == [
        (" ", b"a\n", False),
        ("-", b"b", True),
        ("+", b"b\n", False),
    ]
    assert diff.patch.endswith(b"-b\n\\ No newline at end of file\n+b\n")


def test_crlf_lines_keep_their_bytes_in_raw_and_lose_the_ending_in_text():
    diff = compute_diff(b"one\r\ntwo\r\n", b"one\r\nTWO\r\n", "win.txt")

    assert b"-two\r\n+TWO\r\n" in diff.patch
    assert [(line.raw, line.text) for line in lines_of(diff)] == [
        (b"one\r\n", "one"),
        (b"two\r\n", "two"),
        (b"TWO\r\n", "TWO"),
    ]


def test_line_ending_only_change_is_a_real_change():
    diff = compute_diff(b"a\r\nb\n", b"a\nb\n", "f")
    assert (diff.lines_added, diff.lines_removed) == (1, 1)
    assert [line.raw for line in lines_of(diff) if line.origin != " "] == [b"a\r\n", b"a\n"]


def test_whitespace_only_change_is_a_real_change():
    diff = compute_diff(b"x = 1\n", b"x  = 1 \n", "f.py")
    assert b"-x = 1\n+x  = 1 \n" in diff.patch


def test_invalid_utf8_shows_replacement_marks_but_keeps_the_raw_bytes():
    diff = compute_diff(b"ok\n", b"ok\ncaf\xe9 \xff\n", "latin1.txt")

    (added,) = [line for line in lines_of(diff) if line.origin == "+"]
    assert added.raw == b"caf\xe9 \xff\n"
    assert added.text == "caf\ufffd \ufffd"
    assert b"+caf\xe9 \xff\n" in diff.patch
    assert "caf\ufffd \ufffd" in diff.text


def test_utf8_text_is_decoded_for_display():
    diff = compute_diff(None, "Grüße, 世界 🌍\n".encode(), "hello.txt")
    assert lines_of(diff)[0].text == "Grüße, 世界 🌍"


# --------------------------------------------------------------------------------------------------- binary


def test_nul_byte_in_the_first_8000_bytes_makes_the_file_binary():
    old = PNG_HEADER + bytes(range(256)) * 4
    new = PNG_HEADER + bytes(range(256)) * 13

    diff = compute_diff(old, new, "img/logo.png")

    assert diff.is_binary
    assert diff.status == "modified"
    assert diff.hunks == ()
    assert (diff.lines_added, diff.lines_removed) == (0, 0)
    assert re.fullmatch(
        rb"diff --git a/img/logo.png b/img/logo.png\n"
        + INDEX_LINE
        + rb" 100644\nBinary files a/img/logo.png and b/img/logo.png differ\n",
        diff.patch,
    )
    assert diff.binary_summary == "binary file, 1.0 KB → 3.3 KB, PNG image"


def test_new_and_deleted_binary_files_get_dev_null_binary_patches():
    added = compute_diff(None, b"\xff\xd8\xff\xe0\x00\x10JFIF", "photo.jpg")
    assert added.patch.endswith(b"Binary files /dev/null and b/photo.jpg differ\n")
    assert b"new file mode 100644" in added.patch
    assert added.binary_summary == "binary file, new, 10 bytes, JPEG image"

    deleted = compute_diff(b"PK\x03\x04\x00\x00", None, "bundle.zip")
    assert deleted.patch.endswith(b"Binary files a/bundle.zip and /dev/null differ\n")
    assert deleted.binary_summary == "binary file, deleted, 6 bytes, ZIP archive"


def test_text_becoming_binary_is_a_binary_change_without_garbage_in_the_patch():
    diff = compute_diff(b"plain text\n", b"\x00\x01\x02\x03 garbage \xff\n", "data.bin")

    assert diff.is_binary
    assert b"garbage" not in diff.patch
    assert diff.binary_summary == "binary file, 11 bytes → 15 bytes"


def test_nul_byte_after_the_first_8000_bytes_stays_text_like_git():
    old = b"a\n" * 5000
    new = old + b"tail\x00\n"
    diff = compute_diff(old, new, "log.txt")
    assert not diff.is_binary
    assert diff.lines_added == 1


def test_binary_summary_names_type_changes_and_sizes():
    assert binary_summary(PNG_HEADER, b"GIF89a\x00") == "binary file, 16 bytes → 7 bytes, PNG image → GIF image"
    assert binary_summary(b"\x00", b"\x00\x01") == "binary file, 1 byte → 2 bytes"
    assert describe_binary(b"%PDF-1.7\n") == "PDF document"
    assert describe_binary(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WebP image"
    assert describe_binary(b"\x7fELF\x02\x01") == "ELF executable"
    assert describe_binary(b"SQLite format 3\x00") == "SQLite database"
    assert describe_binary(b"\x00\x01\x02") == ""
    assert format_size(1229) == "1.2 KB"
    assert format_size(3 * 1024 * 1024 + 512 * 1024) == "3.5 MB"
    assert format_size(0) == "0 bytes"


# -------------------------------------------------------------------------------------------------- bad input


def test_both_sides_missing_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="both None"):
        compute_diff(None, None, "ghost.txt")


def test_text_instead_of_bytes_is_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="new content must be bytes or None, got str"):
        compute_diff(b"a", "b", "f.txt")  # type: ignore[arg-type]


def test_empty_path_is_refused():
    with pytest.raises(ValueError, match="path must be a non-empty string"):
        compute_diff(b"a", b"b", "")


def test_bytearray_and_memoryview_are_accepted():
    diff = compute_diff(bytearray(b"a\n"), memoryview(b"b\n"), "f")
    assert (diff.lines_added, diff.lines_removed) == (1, 1)


# ---------------------------------------------------------------------------------------------------- stats


def test_diff_stats_counts_added_and_removed_lines_cheaply():
    assert diff_stats(b"a\nb\nc\n", b"a\nB\nc\nd\n") == (2, 1)
    assert diff_stats(None, b"x\ny\n") == (2, 0)
    assert diff_stats(b"x\n", None) == (0, 1)
    assert diff_stats(b"same", b"same") == (0, 0)
    assert diff_stats(b"\x00bin", b"\x00bin2") == (0, 0)


# ------------------------------------------------------------------------------------------------ intraline


def test_intraline_spans_mark_only_the_changed_words():
    old_spans, new_spans = intraline_spans("total = compute(a, b)", "total = calculate(a, c)")
    assert old_spans == [(8, 15), (19, 20)]
    assert new_spans == [(8, 17), (21, 22)]


def test_intraline_spans_join_changes_split_only_by_whitespace():
    assert intraline_spans("old words here", "new terms here") == ([(0, 9)], [(0, 9)])


def test_intraline_spans_catch_whitespace_changes():
    assert intraline_spans("return value", "return  value") == ([(6, 7)], [(6, 8)])


def test_intraline_spans_for_identical_empty_and_inserted_text():
    assert intraline_spans("same", "same") == ([], [])
    assert intraline_spans("", "new") == ([], [(0, 3)])
    assert intraline_spans("f(a)", "f(a, b)") == ([], [(3, 6)])


def test_intraline_spans_handle_unicode_by_character():
    assert intraline_spans("naïve café", "naïve cafés") == ([(6, 10)], [(6, 11)])


def test_very_long_lines_come_back_as_whole_line_spans():
    old = "x" * (INTRALINE_MAX_CHARS + 1)
    assert intraline_spans(old, "y") == ([(0, len(old))], [(0, 1)])


def test_many_tokens_fall_back_to_marking_the_changed_middle():
    old = " ".join(f"a{number}" for number in range(400))
    new = " ".join(f"b{number}" for number in range(400))
    old_spans, new_spans = intraline_spans(old, new)
    assert old_spans == [(0, len(old))]
    assert new_spans == [(0, len(new))]


_SHORT_TEXT = st.text(alphabet=st.sampled_from(list("ab xy_(),.\té数😀")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(old=_SHORT_TEXT, new=_SHORT_TEXT)
def test_intraline_spans_are_ordered_disjoint_in_bounds_and_present_exactly_when_lines_differ(old, new):
    old_spans, new_spans = intraline_spans(old, new)
    for spans, text in ((old_spans, old), (new_spans, new)):
        previous_end = -1
        for start, end in spans:
            assert previous_end < start < end <= len(text)
            previous_end = end
    assert bool(old_spans or new_spans) == (old != new)


# ------------------------------------------------------------------------------------------------- pairing


def _line(origin: str, text: str) -> DiffLine:
    return DiffLine(origin=origin, old_lineno=None, new_lineno=None, raw=text.encode() + b"\n", text=text)


def test_pair_changed_lines_pairs_each_removal_run_with_the_following_addition_run():
    hunk = Hunk(
        old_start=1,
        old_lines=0,
        new_start=1,
        new_lines=0,
        header="@@",
        lines=(
            _line(" ", "ctx"),
            _line("-", "old 1"),
            _line("-", "old 2"),
            _line("-", "old 3"),
            _line("+", "new 1"),
            _line("+", "new 2"),
            _line(" ", "ctx"),
            _line("+", "lonely addition"),
            _line(" ", "ctx"),
            _line("-", "lonely removal"),
            _line(" ", "ctx"),
            _line("-", "a"),
            _line("+", "b"),
            _line("-", "c"),
            _line("+", "d"),
        ),
    )
    assert [(old.text, new.text) for old, new in pair_changed_lines(hunk)] == [
        ("old 1", "new 1"),
        ("old 2", "new 2"),
        ("a", "b"),
        ("c", "d"),
    ]


def test_pair_changed_lines_on_a_real_diff():
    diff = compute_diff(b"keep\nx = 1\ny = 2\nkeep\n", b"keep\nx = 10\ny = 20\nkeep\n", "f.py")
    pairs = pair_changed_lines(diff.hunks[0])
    assert [(old.text, new.text) for old, new in pairs] == [("x = 1", "x = 10"), ("y = 2", "y = 20")]


def _frobnitz_source(helper: str) -> bytes:
    frobnitz = (
        "// Frobs foo heartily\n"
        "int frobnitz(int foo)\n"
        "{\n"
        "    int i;\n"
        "    for(i = 0; i < 10; i++)\n"
        "    {\n"
        '{printf_answer}        printf("%d\\n", foo);\n'
        "    }\n"
        "}\n"
    )
    if helper == "fact":
        function = "int fact(int n)\n{\n    if(n > 1)\n    {\n        return fact(n-1) * n;\n    }\n    return 1;\n}\n"
        body = frobnitz.replace("{printf_answer}", '        printf("Your answer is: ");\n') + "\n" + function
    else:
        function = (
            "int fib(int n)\n{\n    if(n > 2)\n    {\n        return fib(n-1) + fib(n-2);\n    }\n    return 1;\n}\n"
        )
        body = function + "\n" + frobnitz.replace("{printf_answer}", "")
    main = f"\nint main(int argc, char **argv)\n{{\n    frobnitz({helper}(10));\n}}\n"
    return ("#include <stdio.h>\n\n" + body + main).encode()
