"""A decided changeset as preference data: one step per file, exactly like a single file proposal decided whole or hunk
by hunk, so its hunk verdicts give the same pairs (the file as merged ≻ the file as the agent wrote it). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from app.domain import hunks
from app.domain.changeset import CHANGESET_KIND, build
from app.domain.preference import DecidedStep
from app.domain.records import ChangedFile
from app.domain.tools import EDITOR_TOOL_NAME


def expand(steps: Iterable[DecidedStep], files: Mapping[int, Sequence[ChangedFile]]) -> list[DecidedStep]:
    """``steps`` with every changeset decision replaced by one step per text file it changed (deletions and binary
    files carry no text to learn from and are left out); other steps pass through unchanged."""
    expanded: list[DecidedStep] = []
    for step in steps:
        if step.kind != CHANGESET_KIND:
            expanded.append(step)
            continue
        expanded.extend(file_steps(step, files.get(step.proposal_id, ())))
    return expanded


def file_steps(step: DecidedStep, files: Sequence[ChangedFile]) -> list[DecidedStep]:
    if not files:
        return []
    diff = build(files)
    try:
        verdicts = _unit_verdicts(step, diff.hunk_count)
        merges = {merge.path: merge for merge in diff.merges(verdicts)}
    except hunks.HunkError:
        return []
    steps: list[DecidedStep] = []
    for index, changed in enumerate(diff.files):
        text = _text(changed.new)
        if text is None or diff.diffs[index].is_binary:
            continue
        numbers = [n for n, unit in enumerate(diff.units) if unit.file == index]
        local = [replace(verdicts[n], hunk=diff.units[n].local or 0) for n in numbers]
        kinds = {v.verdict for v in local}
        merged = merges.get(changed.path)
        if kinds == {hunks.APPROVE}:
            verdict, edited = hunks.APPROVE, None
        elif kinds == {hunks.REJECT}:
            verdict, edited = hunks.REJECT, None
        else:
            verdict, edited = hunks.EDIT, merged.content if merged is not None else changed.old
        reasons = "; ".join(v.reason for v in local if v.verdict == hunks.REJECT and v.reason)
        steps.append(
            replace(
                step,
                tool_use_id=f"{step.tool_use_id}/{changed.path}",
                tool_name=EDITOR_TOOL_NAME,
                tool_input={"command": "create", "path": changed.path, "file_text": text},
                kind="create" if changed.old is None else "edit",
                path=changed.path,
                command=None,
                cwd=None,
                old_content=changed.old,
                new_content=changed.new,
                verdict=verdict,
                reason=(reasons or step.reason) if verdict != hunks.APPROVE else None,
                edited_content=edited,
                hunk_verdicts=hunks.to_json(local) if step.hunk_verdicts else None,
            )
        )
    return steps


def _unit_verdicts(step: DecidedStep, count: int) -> list[hunks.HunkVerdict]:
    if step.hunk_verdicts:
        return sorted(hunks.from_json(step.hunk_verdicts), key=lambda v: v.hunk)
    if step.verdict == hunks.REJECT:
        return [hunks.HunkVerdict(i, hunks.REJECT, reason=step.reason or "rejected") for i in range(count)]
    return [hunks.HunkVerdict(i, hunks.APPROVE) for i in range(count)]


def _text(content: bytes | None) -> str | None:
    if content is None:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None
