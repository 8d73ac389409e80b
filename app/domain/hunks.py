"""Per-hunk decisions: the exact bytes of old content plus only the approved and edited hunks, and what happened
to each hunk. Pure byte computation on a FileDiff's raw lines; no Qt, no I/O, never re-encodes text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.diff_types import FileDiff, Hunk
from app.domain.diffing import compute_diff

APPROVE = "approve"
REJECT = "reject"
EDIT = "edit"
VERDICTS = (APPROVE, REJECT, EDIT)


class HunkError(ValueError):
    """Per-hunk verdicts that cannot be applied as given; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class HunkVerdict:
    # 0-based index into FileDiff.hunks (people see it as "Hunk index+1").
    hunk: int
    verdict: str
    reason: str | None = None
    # For edits: the exact bytes that replace the hunk's region, in place of its proposed new side.
    edited: bytes | None = None


@dataclass(frozen=True, slots=True)
class HunkOutcome:
    hunk: int
    header: str
    verdict: str
    reason: str | None
    # First line of the hunk in the old file and in the proposal (1-based, as in its header).
    old_start: int
    new_start: int

    @property
    def applied(self) -> bool:
        return self.verdict != REJECT

    @property
    def number(self) -> int:
        return self.hunk + 1


@dataclass(frozen=True, slots=True)
class PartialResult:
    # The bytes to write: old content plus exactly the approved and edited hunks.
    content: bytes
    outcomes: tuple[HunkOutcome, ...]

    @property
    def applied(self) -> tuple[HunkOutcome, ...]:
        return tuple(o for o in self.outcomes if o.applied)

    @property
    def not_applied(self) -> tuple[HunkOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.applied)

    @property
    def all_approved(self) -> bool:
        return all(o.verdict == APPROVE for o in self.outcomes)

    @property
    def all_rejected(self) -> bool:
        return all(o.verdict == REJECT for o in self.outcomes)


# ------------------------------------------------------------------------------------------------------- sides


def old_side(hunk: Hunk) -> bytes:
    """The hunk's lines as they are in the old file (context and removed), exact bytes."""
    return b"".join(line.raw for line in hunk.lines if line.origin != "+")


def new_side(hunk: Hunk) -> bytes:
    """The hunk's lines as proposed (context and added), exact bytes."""
    return b"".join(line.raw for line in hunk.lines if line.origin != "-")


def split_lines(content: bytes) -> list[bytes]:
    """Lines with their endings, split at '\\n' only (as git does: a lone '\\r' is part of a line)."""
    parts = content.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _old_start_index(hunk: Hunk) -> int:
    """0-based index of the first old line the hunk covers; for a pure insertion, of the line it goes before."""
    for line in hunk.lines:
        if line.origin != "+" and line.old_lineno is not None:
            return line.old_lineno - 1
    # No old-side lines: git's header names the line the insertion follows (0 = start of file).
    return hunk.old_start


# ------------------------------------------------------------------------------------------------------- apply


def check_diff(diff: FileDiff) -> None:
    """Raise HunkError unless ``diff`` can be judged hunk by hunk."""
    if diff.is_binary:
        raise HunkError(f"{diff.path} is a binary file; it can only be judged as a whole.")
    if diff.status == "deleted":
        raise HunkError(f"Deleting {diff.path} can only be judged as a whole.")
    if not diff.hunks:
        raise HunkError(f"The change to {diff.path} has no hunks to judge.")


def apply_verdicts(old: bytes | None, diff: FileDiff, verdicts: Iterable[HunkVerdict]) -> PartialResult:
    """Old content plus exactly the approved hunks (as proposed) and edited hunks (as the reviewer wrote them).

    ``diff`` must be the diff of ``old`` against the proposal; every hunk needs exactly one verdict
    (see ``check_verdicts``). Raises HunkError when the verdicts or the diff do not fit.
    """
    check_diff(diff)
    by_hunk = check_verdicts(verdicts, len(diff.hunks))
    old_lines = split_lines(old or b"")
    pieces: list[bytes] = []
    outcomes: list[HunkOutcome] = []
    cursor = 0
    for index, hunk in enumerate(diff.hunks):
        start = _old_start_index(hunk)
        removed_region = old_side(hunk)
        region_lines = split_lines(removed_region)
        if start < cursor or b"".join(old_lines[start : start + len(region_lines)]) != removed_region:
            raise HunkError(f"Hunk {index + 1} of the diff does not match the old content of {diff.path}.")
        pieces.extend(old_lines[cursor:start])
        verdict = by_hunk[index]
        if verdict.verdict == APPROVE:
            pieces.append(new_side(hunk))
        elif verdict.verdict == EDIT:
            pieces.append(verdict.edited or b"")
        else:
            pieces.append(removed_region)
        cursor = start + len(region_lines)
        outcomes.append(
            HunkOutcome(index, hunk.header, verdict.verdict, verdict.reason, hunk.old_start, hunk.new_start)
        )
    pieces.extend(old_lines[cursor:])
    return PartialResult(b"".join(pieces), tuple(outcomes))


def check_verdicts(verdicts: Iterable[HunkVerdict], hunk_count: int) -> dict[int, HunkVerdict]:
    """The verdicts by hunk index, after checking each hunk is judged exactly once and every verdict is complete."""
    by_hunk: dict[int, HunkVerdict] = {}
    for verdict in verdicts:
        if not isinstance(verdict.hunk, int) or isinstance(verdict.hunk, bool) or not 0 <= verdict.hunk < hunk_count:
            raise HunkError(f"There is no hunk {_number(verdict.hunk)}; this change has {_hunks(hunk_count)}.")
        if verdict.hunk in by_hunk:
            raise HunkError(f"Hunk {verdict.hunk + 1} is judged twice.")
        if verdict.verdict not in VERDICTS:
            raise HunkError(
                f"Hunk {verdict.hunk + 1}: unknown verdict {verdict.verdict!r}; use approve, reject or edit."
            )
        if verdict.verdict == REJECT and not (verdict.reason or "").strip():
            raise HunkError(f"Hunk {verdict.hunk + 1} is rejected without a reason: the agent revises from it.")
        if verdict.verdict == EDIT and verdict.edited is None:
            raise HunkError(f"Hunk {verdict.hunk + 1} is edited but has no edited content.")
        by_hunk[verdict.hunk] = verdict
    missing = [index + 1 for index in range(hunk_count) if index not in by_hunk]
    if missing:
        listed = ", ".join(str(number) for number in missing)
        raise HunkError(
            f"Every hunk needs a verdict; hunk{'s' if len(missing) > 1 else ''} {listed} of {hunk_count} "
            f"{'are' if len(missing) > 1 else 'is'} undecided."
        )
    return by_hunk


def _number(value: object) -> str:
    return str(value + 1) if isinstance(value, int) and not isinstance(value, bool) else repr(value)


def _hunks(count: int) -> str:
    return f"{count} hunk{'' if count == 1 else 's'}"


# ------------------------------------------------------------------------------------------------------- storage


def to_json(verdicts: Iterable[HunkVerdict]) -> list[dict[str, Any]]:
    """The stored form (Decision.hunk_verdicts): [{"hunk": i, "verdict", "reason", "edited"}], by hunk, 0-based.

    "edited" holds the exact replacement bytes as text; edits must be UTF-8.
    """
    entries = []
    for verdict in sorted(verdicts, key=lambda v: v.hunk):
        if verdict.edited is not None:
            try:
                edited_text: str | None = verdict.edited.decode("utf-8")
            except UnicodeDecodeError:
                raise HunkError(f"Hunk {verdict.hunk + 1}: the edited lines are not valid UTF-8 text.") from None
        else:
            edited_text = None
        reason = verdict.reason.strip() if verdict.reason and verdict.reason.strip() else None
        entries.append({"hunk": verdict.hunk, "verdict": verdict.verdict, "reason": reason, "edited": edited_text})
    return entries


def from_json(entries: object) -> list[HunkVerdict]:
    """Verdicts from the stored form; raises HunkError on anything malformed."""
    if not isinstance(entries, list):
        raise HunkError("Per-hunk verdicts must be a list of {hunk, verdict, reason, edited} entries.")
    verdicts = []
    for entry in entries:
        if not isinstance(entry, dict) or "hunk" not in entry or "verdict" not in entry:
            raise HunkError(f"A per-hunk verdict needs 'hunk' and 'verdict': got {entry!r}.")
        edited = entry.get("edited")
        reason = entry.get("reason")
        if edited is not None and not isinstance(edited, str):
            raise HunkError(f"Hunk {_number(entry['hunk'])}: 'edited' must be text.")
        if reason is not None and not isinstance(reason, str):
            raise HunkError(f"Hunk {_number(entry['hunk'])}: 'reason' must be text.")
        verdicts.append(
            HunkVerdict(
                hunk=entry["hunk"],
                verdict=entry["verdict"],
                reason=reason.strip() if reason and reason.strip() else None,
                edited=edited.encode("utf-8") if edited is not None else None,
            )
        )
    return verdicts


def summary(result: PartialResult) -> tuple[str, str | None]:
    """The whole-proposal verdict a per-hunk decision stands for, and its reason (the rejected hunks' reasons)."""
    reasons = "; ".join(f"Hunk {o.number}: {o.reason}" for o in result.not_applied if o.reason)
    if result.all_approved:
        return APPROVE, None
    if result.all_rejected:
        return REJECT, reasons
    return EDIT, reasons or None


# ------------------------------------------------------------------------------------------------------- editing


def edit_text(hunk: Hunk) -> str:
    """The hunk's proposed lines as editor text: line endings dropped, '\\n' between lines."""
    return "\n".join(line.text for line in hunk.lines if line.origin != "-")


def edited_bytes(hunk: Hunk, text: str) -> bytes:
    """Editor text back to exact bytes for the hunk's region: the hunk's own line ending, and a final line ending
    exactly when the proposed side had one (so an edit never adds or drops the file's last newline by accident)."""
    proposed = [line for line in hunk.lines if line.origin != "-"]
    ending = b"\n"
    for line in hunk.lines:
        if line.raw.endswith(b"\r\n"):
            ending = b"\r\n"
            break
        if line.raw.endswith(b"\n"):
            break
    ends_with_newline = not proposed or proposed[-1].raw.endswith(b"\n")
    text = text.replace("\r\n", "\n")
    if text == "":
        return b""
    if text.endswith("\n"):
        # A trailing newline typed in the editor is the line ending it shows implicitly, not an extra blank line.
        text = text[:-1]
    body = ending.join(part.encode("utf-8") for part in text.split("\n"))
    return body + ending if ends_with_newline else body


def hunk_title(diff: FileDiff, index: int) -> str:
    """ "Hunk 2 of 3 · @@ -10,7 +10,8 @@ def greet" """
    return f"Hunk {index + 1} of {len(diff.hunks)} · {diff.hunks[index].header}"


def decision_result(
    old: bytes | None, new: bytes | None, path: str, entries: object, *, diff: FileDiff | None = None
) -> PartialResult:
    """The outcome of stored per-hunk verdicts on a proposal (old -> new for ``path``)."""
    diff = diff or compute_diff(old, new, path)
    return apply_verdicts(old, diff, from_json(entries))


def verdicts_for(indexes: Sequence[int], hunk_count: int, *, reason: str = "not chosen") -> list[HunkVerdict]:
    """Approve the hunks in ``indexes`` and reject the others with ``reason`` (for scripts and tests)."""
    chosen = set(indexes)
    return [
        HunkVerdict(i, APPROVE) if i in chosen else HunkVerdict(i, REJECT, reason=reason) for i in range(hunk_count)
    ]
