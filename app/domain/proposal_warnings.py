"""Hidden and deceptive characters in what a proposal adds (its '+' lines, or its command), located by line and
summed up in one sentence for a banner. Pure computation; no Qt, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.deceptive_text import Finding, find_deceptive_characters
from app.domain.diff_types import FileDiff

# Above this many bytes of proposed text a scan belongs off the UI thread.
LARGE_SCAN_BYTES = 200 * 1024
# How many findings the one-line summary names before "and N more".
_NAMED_IN_SUMMARY = 3


@dataclass(frozen=True, slots=True)
class LocatedFinding:
    # 1-based line in the proposed file (or in the command).
    line: int
    finding: Finding


def added_line_findings(diff: FileDiff) -> list[LocatedFinding]:
    """Findings on the lines a diff adds, at their line numbers in the new file; none for binary diffs."""
    if diff.is_binary:
        return []
    added = [line for hunk in diff.hunks for line in hunk.lines if line.origin == "+"]
    # One scan of all added lines: a quick ASCII check skips the common case, and lines map back by index.
    text = "\n".join(line.text for line in added)
    return [
        LocatedFinding(added[finding.line - 1].new_lineno or finding.line, finding)
        for finding in find_deceptive_characters(text)
    ]


def command_findings(command: str) -> list[LocatedFinding]:
    return [LocatedFinding(finding.line, finding) for finding in find_deceptive_characters(command)]


def summary(findings: list[LocatedFinding], *, command: bool = False) -> str:
    """ "2 hidden or deceptive characters: U+202E RIGHT-TO-LEFT OVERRIDE at line 14, U+200B ZERO WIDTH SPACE at
    line 20" (first few named, then "and N more"); "" when there are none."""
    if not findings:
        return ""
    count = len(findings)
    where = "of the command" if command else ""
    named = [
        f"{f.finding.codepoint} {f.finding.name} at line {f.line}{f' {where}' if where else ''}"
        for f in findings[:_NAMED_IN_SUMMARY]
    ]
    more = f", and {count - _NAMED_IN_SUMMARY} more" if count > _NAMED_IN_SUMMARY else ""
    noun = "character" if count == 1 else "characters"
    return f"{count} hidden or deceptive {noun}: {', '.join(named)}{more}."
