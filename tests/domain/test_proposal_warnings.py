"""Hidden and deceptive characters in what a proposal adds: found on added lines only, at new-file line numbers."""

from __future__ import annotations

from app.domain import proposal_warnings
from app.domain.diffing import compute_diff


def test_only_added_lines_count_and_each_finding_has_its_new_file_line():
    old = "".join(f"line {i}\n" for i in range(1, 21)).replace("line 3\n", "line\u200b3\n")
    new = old.replace("line 14\n", "if admin \u202e// check\n").replace("line 18\n", "pаypal = 1\n")
    findings = proposal_warnings.added_line_findings(compute_diff(old.encode(), new.encode(), "a.py"))
    assert [(f.line, f.finding.codepoint) for f in findings] == [(14, "U+202E"), (18, "U+0430")]
    text = proposal_warnings.summary(findings)
    assert text.startswith("2 hidden or deceptive characters: U+202E RIGHT-TO-LEFT OVERRIDE at line 14, ")
    assert "U+0430 CYRILLIC SMALL LETTER A at line 18" in text


def test_commands_binary_files_and_plain_text():
    (finding,) = proposal_warnings.command_findings("rm -rf build\u200b/")
    assert proposal_warnings.summary([finding], command=True) == (
        "1 hidden or deceptive character: U+200B ZERO WIDTH SPACE at line 1 of the command."
    )
    assert proposal_warnings.added_line_findings(compute_diff(b"\0a", "\0\u202e".encode(), "b.bin")) == []
    assert proposal_warnings.added_line_findings(compute_diff(b"a\n", b"b\n", "c.txt")) == []
    assert proposal_warnings.summary([]) == ""


def test_a_long_list_names_the_first_three_and_counts_the_rest():
    new = "".join(f"x\u200b{i}\n" for i in range(5))
    findings = proposal_warnings.added_line_findings(compute_diff(None, new.encode(), "n.txt"))
    assert proposal_warnings.summary(findings).endswith("at line 3, and 2 more.")
