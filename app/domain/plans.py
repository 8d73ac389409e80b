"""Plans: the `propose_plan` tool's input checked as hostile, the plan as a numbered Markdown list and back, and the
exact difference between two plans step by step. Pure functions over text; no I/O, no Qt.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.domain.deceptive_text import BIDI_CONTROL, INVISIBLE, find_deceptive_characters

MAX_STEPS = 40
MAX_TITLE_CHARS = 200
MAX_DETAIL_CHARS = 4000
MAX_FILES_PER_STEP = 30
MAX_PATH_CHARS = 500
MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 1000
# A plan's whole Markdown text (an edited plan file is read no further than one byte past this).
MAX_PLAN_BYTES = 256 * 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ITEM = re.compile(r"^\s{0,3}(\d{1,3})[.)](?:\s+(.*))?$")
_FILES_LINE = re.compile(r"^files\s*:\s*(.*)$", re.IGNORECASE)
_QUESTIONS_HEADING = re.compile(r"^#{2,6}\s*open questions\s*:?\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")


class PlanError(Exception):
    """A plan that cannot be used as given; the message says why in one sentence (with a line number for Markdown)."""


@dataclass(frozen=True)
class PlanStep:
    title: str
    detail: str = ""
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    title: str
    steps: tuple[PlanStep, ...]
    open_questions: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "steps": [{"title": s.title, "detail": s.detail, "files": list(s.files)} for s in self.steps],
            "open_questions": list(self.open_questions),
        }

    def to_bytes(self) -> bytes:
        """The canonical stored form (what an approval or an edit of a plan carries)."""
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


# -- checking hostile input -------------------------------------------------------------------------------------------


def _text(value: Any, what: str, *, limit: int, multiline: bool = False, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise PlanError(f"{what} must be a string, not {type(value).__name__}.")
    text = value.strip()
    if required and not text:
        raise PlanError(f"{what} is empty.")
    if len(text) > limit:
        raise PlanError(f"{what} is {len(text)} characters long; the limit is {limit}.")
    if not multiline and ("\n" in text or "\r" in text):
        raise PlanError(f"{what} must be one line.")
    if _CONTROL.search(text.replace("\t", " ")):
        raise PlanError(f"{what} contains control characters.")
    hidden = [f for f in find_deceptive_characters(text) if f.category in (BIDI_CONTROL, INVISIBLE)]
    if hidden:
        raise PlanError(f"{what} contains a hidden character ({hidden[0].codepoint} {hidden[0].name}).")
    return text


def _files(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PlanError(f"{what} must be a list of paths.")
    if len(value) > MAX_FILES_PER_STEP:
        raise PlanError(f"{what} names {len(value)} files; the limit is {MAX_FILES_PER_STEP}.")
    paths = [_text(item, f"{what}: a path", limit=MAX_PATH_CHARS) for item in value]
    return tuple(dict.fromkeys(paths))


def plan_from_input(raw: Any) -> Plan:
    """The `propose_plan` tool's input (anything the model sent) as a Plan; raises PlanError saying what is wrong."""
    if not isinstance(raw, dict):
        raise PlanError("The plan must be an object with title, steps and open_questions.")
    title = _text(raw.get("title"), "The plan's title", limit=MAX_TITLE_CHARS)
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise PlanError("The plan needs a non-empty list of steps.")
    if len(steps_raw) > MAX_STEPS:
        raise PlanError(f"The plan has {len(steps_raw)} steps; the limit is {MAX_STEPS}.")
    steps = []
    for number, item in enumerate(steps_raw, start=1):
        what = f"Step {number}"
        if not isinstance(item, dict):
            raise PlanError(f"{what} must be an object with title, detail and files.")
        steps.append(
            PlanStep(
                title=_text(item.get("title"), f"{what}'s title", limit=MAX_TITLE_CHARS),
                detail=_text(
                    item.get("detail"), f"{what}'s detail", limit=MAX_DETAIL_CHARS, multiline=True, required=False
                ),
                files=_files(item.get("files"), f"{what}'s files"),
            )
        )
    questions_raw = raw.get("open_questions")
    if questions_raw is None:
        questions_raw = []
    if not isinstance(questions_raw, list):
        raise PlanError("open_questions must be a list of strings.")
    if len(questions_raw) > MAX_QUESTIONS:
        raise PlanError(f"The plan has {len(questions_raw)} open questions; the limit is {MAX_QUESTIONS}.")
    questions = tuple(
        _text(q, f"Open question {n}", limit=MAX_QUESTION_CHARS, multiline=True)
        for n, q in enumerate(questions_raw, start=1)
    )
    return Plan(title, tuple(steps), questions)


def plan_from_bytes(stored: bytes) -> Plan:
    """A plan stored by ``Plan.to_bytes`` (checked again: stored text is still only as good as its source)."""
    try:
        return plan_from_input(json.loads(stored.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PlanError(f"The stored plan is not valid JSON ({err}).") from None


# -- Markdown ----------------------------------------------------------------------------------------------------


def render_markdown(plan: Plan) -> str:
    """The plan as the numbered Markdown list shown to people and parsed back by ``parse_markdown``."""
    lines = [f"# {plan.title}", ""]
    for number, step in enumerate(plan.steps, start=1):
        lines.append(f"{number}. {step.title}")
        for detail_line in step.detail.splitlines():
            lines.append(f"   {detail_line}".rstrip())
        if step.files:
            lines.append(f"   Files: {', '.join(step.files)}")
    if plan.open_questions:
        lines += ["", "## Open questions"]
        for question in plan.open_questions:
            first, *rest = question.splitlines() or [""]
            lines.append(f"- {first}")
            lines += [f"  {line}".rstrip() for line in rest]
    return "\n".join(lines) + "\n"


def _question_line(questions: list[list[str]], line: str, number: int) -> None:
    """One line under 'Open questions': a new '- ' bullet, or an indented continuation of the last one."""
    bullet = _BULLET.match(line)
    if bullet:
        questions.append([bullet.group(1)])
    elif questions and line.startswith((" ", "\t")):
        questions[-1].append(line.strip())
    else:
        raise PlanError(f"Line {number}: under 'Open questions' every line is a '- ' bullet: {line.strip()[:60]!r}.")


def parse_markdown(text: str, *, default_title: str = "") -> Plan:
    """A plan written as a numbered Markdown list (``render_markdown``'s shape); the order of the items is the order of
    the steps, whatever their numbers say. Raises PlanError naming the line that cannot be read."""
    if len(text.encode("utf-8")) > MAX_PLAN_BYTES:
        raise PlanError(f"The plan is larger than {MAX_PLAN_BYTES // 1024} KiB.")
    title = ""
    steps: list[dict[str, Any]] = []
    questions: list[list[str]] = []
    in_questions = False
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        stripped = line.strip()
        if _CONTROL.search(line.replace("\t", " ")):
            raise PlanError(f"Line {number} contains control characters.")
        if not stripped:
            continue
        if _QUESTIONS_HEADING.match(stripped):
            in_questions = True
            continue
        if in_questions:
            _question_line(questions, line, number)
            continue
        if stripped.startswith("# ") and not title and not steps:
            title = stripped[2:].strip()
            continue
        item = _ITEM.match(line)
        if item:
            steps.append({"title": (item.group(2) or "").strip(), "detail": [], "files": None, "line": number})
            continue
        if not steps:
            raise PlanError(
                f"Line {number} is neither the '# title' nor a numbered step ('1. ...'): {stripped[:60]!r}."
            )
        files = _FILES_LINE.match(stripped)
        if files:
            steps[-1]["files"] = [p.strip().strip("`") for p in files.group(1).split(",") if p.strip()]
            continue
        steps[-1]["detail"].append(stripped)
    if not steps:
        raise PlanError("The plan has no numbered steps ('1. Do this').")
    raw = {
        "title": title or default_title,
        "steps": [{"title": s["title"], "detail": "\n".join(s["detail"]), "files": s["files"]} for s in steps],
        "open_questions": ["\n".join(q) for q in questions],
    }
    try:
        return plan_from_input(raw)
    except PlanError as err:
        if not title and not default_title:
            raise PlanError("The plan needs a '# title' line first.") from None
        raise err


# -- what changed ------------------------------------------------------------------------------------------------


def _key(step: PlanStep) -> str:
    return " ".join(step.title.casefold().split())


def _similarity(a: PlanStep, b: PlanStep) -> float:
    return difflib.SequenceMatcher(None, f"{a.title}\n{a.detail}", f"{b.title}\n{b.detail}").ratio()


def _matches(old: tuple[PlanStep, ...], new: tuple[PlanStep, ...]) -> dict[int, int]:
    """new index -> old index for the steps that are the same step (same title, or similar enough to be reworded)."""
    pairs: dict[int, int] = {}
    used_old: set[int] = set()
    for j, step in enumerate(new):
        for i, candidate in enumerate(old):
            if i not in used_old and _key(candidate) == _key(step):
                pairs[j] = i
                used_old.add(i)
                break
    scored = sorted(
        (
            (_similarity(old[i], new[j]), j, i)
            for j in range(len(new))
            if j not in pairs
            for i in range(len(old))
            if i not in used_old
        ),
        reverse=True,
    )
    for score, j, i in scored:
        if score >= 0.5 and j not in pairs and i not in used_old:
            pairs[j] = i
            used_old.add(i)
    return pairs


def _kept_in_order(old_positions: list[int]) -> set[int]:
    """The longest run of old positions still in increasing order (those steps did not move)."""
    runs: list[list[int]] = []
    for position in old_positions:
        longest: list[int] = []
        for run in runs:
            if run[-1] < position and len(run) > len(longest):
                longest = run
        runs.append([*longest, position])
    kept: list[int] = []
    for run in runs:
        if len(run) > len(kept):
            kept = run
    return set(kept)


def _step_json(step: PlanStep) -> dict[str, Any]:
    return {"title": step.title, "detail": step.detail, "files": list(step.files)}


def plan_changes(old: Plan, new: Plan) -> dict[str, Any]:
    """The structured difference from ``old`` to ``new``: title, each step added / removed / moved / reworded (numbers
    are 1-based, old numbers in the old plan and new numbers in the new), and the open questions."""
    pairs = _matches(old.steps, new.steps)
    in_new_order = [pairs[j] for j in range(len(new.steps)) if j in pairs]
    unmoved = _kept_in_order(in_new_order)
    steps: list[dict[str, Any]] = []
    matched_old = set(pairs.values())
    for i, step in enumerate(old.steps):
        if i not in matched_old:
            steps.append({"change": "removed", "old_number": i + 1, "title": step.title})
    for j, step in enumerate(new.steps):
        if j not in pairs:
            steps.append({"change": "added", "new_number": j + 1, "step": _step_json(step)})
            continue
        i = pairs[j]
        if i not in unmoved:
            steps.append({"change": "moved", "old_number": i + 1, "new_number": j + 1, "title": step.title})
        if old.steps[i] != step:
            steps.append(
                {
                    "change": "reworded",
                    "old_number": i + 1,
                    "new_number": j + 1,
                    "from": _step_json(old.steps[i]),
                    "to": _step_json(step),
                }
            )
    changes: dict[str, Any] = {"steps": steps}
    if old.title != new.title:
        changes["title"] = {"from": old.title, "to": new.title}
    removed_q = [q for q in old.open_questions if q not in new.open_questions]
    added_q = [q for q in new.open_questions if q not in old.open_questions]
    if removed_q or added_q:
        changes["open_questions"] = {"removed": removed_q, "added": added_q}
    return changes


def describe_changes(changes: dict[str, Any]) -> list[str]:
    """One sentence per change, for the agent and for people."""
    sentences = []
    if "title" in changes:
        sentences.append(f"Title changed from {changes['title']['from']!r} to {changes['title']['to']!r}.")
    for change in changes["steps"]:
        kind = change["change"]
        if kind == "removed":
            sentences.append(f"Removed step {change['old_number']} ({change['title']!r}).")
        elif kind == "added":
            sentences.append(f"Added step {change['new_number']}: {change['step']['title']!r}.")
        elif kind == "moved":
            sentences.append(
                f"Moved step {change['old_number']} ({change['title']!r}) to position {change['new_number']}."
            )
        else:
            parts = [
                what
                for what, key in (("title", "title"), ("detail", "detail"), ("files", "files"))
                if change["from"][key] != change["to"][key]
            ]
            text = f"Reworded step {change['old_number']} (now {change['new_number']}): changed its {', '.join(parts)}"
            if "title" in parts:
                text += f"; title {change['from']['title']!r} -> {change['to']['title']!r}"
            sentences.append(text + ".")
    questions = changes.get("open_questions")
    if questions:
        for question in questions["removed"]:
            sentences.append(f"Removed the open question {question!r}.")
        for question in questions["added"]:
            sentences.append(f"Added the open question {question!r}.")
    return sentences
