"""The offline demo: a scripted agent that fixes the bug in resources/demo_workspace, one reviewed step at a time.

Stateless: each reply is derived only from the request's messages (tool results included). No Qt, no file access.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import resources_dir
from app.standin.plan_demo import is_plan_demo_request, plan_demo_scenario
from app.standin.scenario import Turn, prompt_key, text_block, text_turn, tool_turn, tool_use_block
from app.standin.server import DEFAULT_MODELS, StandinServer

DEMO_MODEL_ID = "signoff-demo"
DEMO_MODELS: tuple[dict[str, str], ...] = (
    {"id": DEMO_MODEL_ID, "display_name": "Signoff demo (offline)", "created_at": "2026-06-01T00:00:00Z"},
    *DEFAULT_MODELS,
)
EDIT_TOOL_NAME = "str_replace_based_edit_tool"
COMMAND_TOOL_NAME = "run_command"
# A change step gets this many proposals; after that many rejections the demo moves on instead of asking again.
MAX_PROPOSALS_PER_STEP = 2
DEMO_PROMPT = "greet.py capitalises names wrongly. Please fix it and add tests."

# How the demo reads a tool_result that was not an error: it was applied as the reviewer edited it when the text says
# so in these words; otherwise it was applied as proposed.
_EDITED_BY_REVIEWER = re.compile(
    r"\bedited by (the )?(reviewer|user|person|human)\b|"
    r"\b(reviewer|user|person|human) edited\b|\bwith (the )?(reviewer'?s? )?edits\b",
    re.IGNORECASE,
)
_REJECTED = re.compile(r"\breject", re.IGNORECASE)
# The reason is what follows "reason:", or else what follows "rejected ...:".
_REASON = re.compile(r"\breason\s*[:=-]\s*(.+)|\breject[^:\n]*:\s*(.+)", re.IGNORECASE)
_UNITTEST_VERDICT = re.compile(r"^(?:OK|FAILED|NO TESTS RAN)\b.*$", re.MULTILINE)
_UNITTEST_RAN = re.compile(r"^Ran \d+ tests? in .*$", re.MULTILINE)

_BUGGY_LINE = "    return raw.strip().capitalize()"

_TESTS_FULL = '''"""Tests for greet.py; run them with: python3 -m unittest -v"""

import unittest

from greet import greet, tidy_name


class TidyNameTest(unittest.TestCase):
    def test_every_word_starts_with_a_capital(self):
        self.assertEqual(tidy_name("  ada lovelace "), "Ada Lovelace")

    def test_a_single_name_is_capitalised(self):
        self.assertEqual(tidy_name("grace"), "Grace")


class GreetTest(unittest.TestCase):
    def test_greets_by_the_tidied_name(self):
        self.assertEqual(greet(" alan turing"), "Hello, Alan Turing!")

    def test_greets_a_stranger_when_no_name_is_given(self):
        self.assertEqual(greet("   "), "Hello, stranger!")


if __name__ == "__main__":
    unittest.main()
'''

_TESTS_SMALL = '''"""Tests for greet.py; run them with: python3 -m unittest -v"""

import unittest

from greet import greet


class GreetTest(unittest.TestCase):
    def test_greets_by_the_tidied_name(self):
        self.assertEqual(greet("  ada lovelace "), "Hello, Ada Lovelace!")

    def test_greets_a_stranger_when_no_name_is_given(self):
        self.assertEqual(greet(""), "Hello, stranger!")


if __name__ == "__main__":
    unittest.main()
'''


_TESTS_INNER_SPACES = _TESTS_FULL.replace(
    """    def test_a_single_name_is_capitalised(self):""",
    """    def test_runs_of_spaces_inside_a_name_become_one(self):
        self.assertEqual(tidy_name("ada   lovelace"), "Ada Lovelace")
        self.assertEqual(tidy_name("ada \\t lovelace"), "Ada Lovelace")

    def test_a_single_name_is_capitalised(self):""",
)


@dataclass(frozen=True)
class _Proposal:
    # The sentence the agent says before the tool call.
    text: str
    tool_name: str
    tool_input: dict[str, Any]


@dataclass(frozen=True)
class _Step:
    # How the summary names this step.
    title: str
    # Views only read, so nobody judges them and a failed one is not retried.
    changes_the_world: bool
    proposals: tuple[_Proposal, ...]
    # What the summary says happened when it went through: "applied" (files) or "ran" (commands).
    done_verb: str = "applied"


_STEPS: tuple[_Step, ...] = (
    _Step(
        "Look at the project",
        False,
        (
            _Proposal(
                "I'll start by looking at what is in the project.", EDIT_TOOL_NAME, {"command": "view", "path": "."}
            ),
        ),
    ),
    _Step(
        "Read greet.py",
        False,
        (
            _Proposal(
                "The greeting logic lives in greet.py; let me read it.",
                EDIT_TOOL_NAME,
                {"command": "view", "path": "greet.py"},
            ),
        ),
    ),
    _Step(
        "Fix tidy_name in greet.py",
        True,
        (
            _Proposal(
                "Found it: tidy_name uses str.capitalize(), which capitalises only the first word and lowercases "
                "the rest, so 'ada lovelace' becomes 'Ada lovelace'. I'll capitalise each word instead.",
                EDIT_TOOL_NAME,
                {
                    "command": "str_replace",
                    "path": "greet.py",
                    "old_str": _BUGGY_LINE,
                    "new_str": '    return " ".join(word.capitalize() for word in raw.split())',
                },
            ),
            _Proposal(
                "Here is a different fix: upper-case only the first letter of each word and keep the rest as "
                "typed, so names like 'McDonald' survive too.",
                EDIT_TOOL_NAME,
                {
                    "command": "str_replace",
                    "path": "greet.py",
                    "old_str": _BUGGY_LINE,
                    "new_str": '    return " ".join(word[:1].upper() + word[1:] for word in raw.split())',
                },
            ),
        ),
    ),
    _Step(
        "Add test_greet.py",
        True,
        (
            _Proposal(
                "Now a small unittest suite that pins down how names should be greeted.",
                EDIT_TOOL_NAME,
                {"command": "create", "path": "test_greet.py", "file_text": _TESTS_FULL},
            ),
            _Proposal(
                "Here is a smaller test file instead, covering only what the README promises.",
                EDIT_TOOL_NAME,
                {"command": "create", "path": "test_greet.py", "file_text": _TESTS_SMALL},
            ),
        ),
    ),
    _Step(
        "Run the tests",
        True,
        (
            _Proposal("Let me run the tests.", COMMAND_TOOL_NAME, {"command": "python3 -m unittest -v"}),
            _Proposal(
                "Let me run just the new test module instead.",
                COMMAND_TOOL_NAME,
                {"command": "python3 -m unittest -v test_greet"},
            ),
        ),
        done_verb="ran",
    ),
)
_FIX_STEP_INDEX = 2

# What the demo answers when the reviewer asks for alternatives (compare mode): for each step that changes the world,
# the other ways it could have gone, one per resample of the same prompt, in turn. One per step proposes no change.
_ALTERNATIVES: dict[int, tuple[_Proposal, ...]] = {
    _FIX_STEP_INDEX: (
        _STEPS[_FIX_STEP_INDEX].proposals[1],
        _Proposal(
            "Before changing anything, let me read greet.py once more to be sure the fix is in the right place.",
            EDIT_TOOL_NAME,
            {"command": "view", "path": "greet.py"},
        ),
        _Proposal(
            "Python's str.title() capitalises every word, so the smallest fix is to use it.",
            EDIT_TOOL_NAME,
            {
                "command": "str_replace",
                "path": "greet.py",
                "old_str": _BUGGY_LINE,
                "new_str": "    return raw.strip().title()",
            },
        ),
    ),
    _FIX_STEP_INDEX + 1: (
        _STEPS[_FIX_STEP_INDEX + 1].proposals[1],
        _Proposal(
            "Let me first run the existing checks, before adding tests.",
            COMMAND_TOOL_NAME,
            {"command": "python3 -m unittest -v"},
        ),
        _STEPS[_FIX_STEP_INDEX + 1].proposals[0],
    ),
    _FIX_STEP_INDEX + 2: (
        _STEPS[_FIX_STEP_INDEX + 2].proposals[1],
        _Proposal("Let me run the tests quietly.", COMMAND_TOOL_NAME, {"command": "python3 -m unittest -q"}),
        _STEPS[_FIX_STEP_INDEX + 2].proposals[0],
    ),
}


@dataclass(frozen=True)
class _Revision:
    """A way the demo agent can take a rejection's reason into account: when the reason matches ``pattern``, it says
    ``answer`` and proposes ``proposal``. The demo is scripted, so it follows only reasons it has a revision for."""

    pattern: re.Pattern[str]
    answer: str
    proposal: _Proposal


def _revision(pattern: str, answer: str, proposal: _Proposal) -> _Revision:
    return _Revision(re.compile(pattern, re.IGNORECASE), answer, proposal)


_REVISIONS: dict[int, tuple[_Revision, ...]] = {
    _FIX_STEP_INDEX: (
        _revision(
            r"\btitle\b|simpl|short|one[- ]?liner|built-?in|standard",
            "str.title() does exactly this in one call, so I use it.",
            _ALTERNATIVES[_FIX_STEP_INDEX][2],
        ),
        _revision(
            r"\bmc|keep|as typed|rest of|preserve|lower-?cas|camel|o'|apostroph|hyphen",
            "I now upper-case only the first letter of each word and keep the rest as typed.",
            _STEPS[_FIX_STEP_INDEX].proposals[1],
        ),
    ),
    _FIX_STEP_INDEX + 1: (
        _revision(
            r"inner|inside|between|middle|double|several|multiple|runs? of|tab|whitespace|spaces",
            "I added a test that runs of spaces and tabs inside a name become one space.",
            _Proposal(
                "Here is the test file again, now also covering spaces inside a name.",
                EDIT_TOOL_NAME,
                {"command": "create", "path": "test_greet.py", "file_text": _TESTS_INNER_SPACES},
            ),
        ),
        _revision(
            r"small|fewer|less|only|minimal|readme|too (many|much|long)",
            "I kept only the tests for what the README promises.",
            _STEPS[_FIX_STEP_INDEX + 1].proposals[1],
        ),
    ),
    _FIX_STEP_INDEX + 2: (
        _revision(
            r"quiet|-q\b|less output|verbose|noisy",
            "I run them quietly.",
            _ALTERNATIVES[_FIX_STEP_INDEX + 2][1],
        ),
        _revision(
            r"only|just|new|test_greet|module|one file",
            "I run only the new test module.",
            _STEPS[_FIX_STEP_INDEX + 2].proposals[1],
        ),
    ),
}


def _revision_for(step_index: int, reason: str) -> _Revision | None:
    return next((r for r in _REVISIONS.get(step_index, ()) if r.pattern.search(reason)), None)


def _follow_ups(step_index: int) -> str:
    """What kinds of reasons the scripted demo can follow at this step, for when it met one it cannot."""
    hints = {
        _FIX_STEP_INDEX: "a simpler fix (str.title), or keeping the rest of each word as typed",
        _FIX_STEP_INDEX + 1: "testing spaces inside a name, or fewer tests",
        _FIX_STEP_INDEX + 2: "quieter output, or running only the new module",
    }
    return hints.get(step_index, "")


@dataclass(frozen=True)
class _Outcome:
    step_index: int
    proposal_index: int
    # applied | edited | rejected | failed
    verdict: str
    # The tool result's text: a rejection reason, an error, or what the tool printed.
    detail: str

    @property
    def went_through(self) -> bool:
        return self.verdict in ("applied", "edited")


def demo_workspace_source() -> Path:
    """The pristine sample project the demo works on; copy it before letting the agent change it."""
    return resources_dir() / "demo_workspace"


def demo_server(*, chunk_delay: float = 0.02, expected_api_key: str | None = None) -> StandinServer:
    """A stand-in server (not started) that answers with the demo and lists DEMO_MODELS."""
    return StandinServer(DemoScenario(), models=DEMO_MODELS, chunk_delay=chunk_delay, expected_api_key=expected_api_key)


class DemoScenario:
    """The demo as a server's scenario: ``demo_scenario`` for the first request of each prompt, and for repeats of the
    same prompt (compare mode sampling the step again) the step's alternatives in turn (``demo_alternative``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}

    def __call__(self, request: Mapping[str, Any]) -> Turn:
        if is_plan_demo_request(request):
            return plan_demo_scenario(request)
        key = prompt_key(request)
        with self._lock:
            repeat = self._seen.get(key, 0)
            self._seen[key] = repeat + 1
        return demo_scenario(request) if repeat == 0 else demo_alternative(request, repeat)


def demo_alternative(request: Mapping[str, Any], number: int) -> Turn:
    """Alternative ``number`` (1, 2, ...; cycling) to the demo's next turn; the turn itself where there is none."""
    messages = request.get("messages") or []
    exchanges, already_summarised = _tool_exchanges(messages)
    if already_summarised:
        return demo_scenario(request)
    _outcomes, step_index, _proposal_index = _replay(exchanges)
    choices = _ALTERNATIVES.get(step_index)
    if not choices:
        return demo_scenario(request)
    proposal = choices[(number - 1) % len(choices)]
    return tool_turn(text_block(proposal.text), tool_use_block(proposal.tool_name, proposal.tool_input))


def demo_scenario(request: Mapping[str, Any]) -> Turn:
    """The demo agent's next assistant turn for ``request``, worked out from the conversation so far."""
    messages = request.get("messages") or []
    exchanges, already_summarised = _tool_exchanges(messages)
    if already_summarised:
        return text_turn(
            "This demo run is finished, and the summary above says what happened. Start a new demo "
            "session to see it again."
        )
    outcomes, step_index, proposal_index = _replay(exchanges)
    if step_index >= len(_STEPS):
        return text_turn(_summary(outcomes))
    proposal = _STEPS[step_index].proposals[proposal_index]
    text = proposal.text
    if proposal_index > 0:
        revision = _revision_for(step_index, outcomes[-1].detail) if outcomes[-1].verdict == "rejected" else None
        if revision is not None:
            proposal = revision.proposal
            text = f"{_retry_preface(outcomes[-1])} {revision.answer} {proposal.text}"
        elif outcomes[-1].verdict == "rejected" and _follow_ups(step_index):
            text = (
                f"{_retry_preface(outcomes[-1])} This scripted demo cannot work out a change from that reason (it "
                f"follows reasons such as {_follow_ups(step_index)}), so here is its other version. {text}"
            )
        else:
            text = f"{_retry_preface(outcomes[-1])} {text}"
    elif step_index == _FIX_STEP_INDEX + 1 and not _fix_went_through(outcomes):
        text = f"No fix went through, so greet.py keeps its bug; tests will still show it. {text}"
    return tool_turn(text_block(text), tool_use_block(proposal.tool_name, proposal.tool_input))


def _tool_exchanges(messages: Sequence[Any]) -> tuple[list[dict[str, Any] | None], bool]:
    """For each assistant turn that called a tool, the tool_result that answered it (None if there was none);
    and whether an assistant turn without a tool call (the summary) already happened."""
    exchanges: list[dict[str, Any] | None] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        tool_uses = [block for block in _blocks(message) if block.get("type") == "tool_use"]
        if not tool_uses:
            return exchanges, True
        following = messages[index + 1] if index + 1 < len(messages) else {}
        results = {
            block.get("tool_use_id"): block for block in _blocks(following) if block.get("type") == "tool_result"
        }
        exchanges.append(results.get(tool_uses[0].get("id")))
    return exchanges, False


def _replay(exchanges: list[dict[str, Any] | None]) -> tuple[list[_Outcome], int, int]:
    """Walk the demo's steps along the results so far; return what happened and which proposal comes next."""
    outcomes: list[_Outcome] = []
    step_index = proposal_index = 0
    for result in exchanges:
        if step_index >= len(_STEPS):
            break
        step = _STEPS[step_index]
        outcome = _judge(step_index, proposal_index, result)
        outcomes.append(outcome)
        allowed = min(MAX_PROPOSALS_PER_STEP, len(step.proposals)) if step.changes_the_world else 1
        if outcome.went_through or proposal_index + 1 >= allowed:
            step_index, proposal_index = step_index + 1, 0
        else:
            proposal_index += 1
    return outcomes, step_index, proposal_index


def _judge(step_index: int, proposal_index: int, result: dict[str, Any] | None) -> _Outcome:
    if result is None:
        return _Outcome(step_index, proposal_index, "failed", "no tool result came back")
    detail = _result_text(result)
    ran_tests = _STEPS[step_index].proposals[0].tool_name == COMMAND_TOOL_NAME and _UNITTEST_RAN.search(detail)
    if result.get("is_error") and not ran_tests:
        # A failing test run may come back as an error, yet the command did run; anything else did not go through.
        verdict = "rejected" if _REJECTED.search(detail) else "failed"
        reason = _REASON.search(detail)
        return _Outcome(
            step_index, proposal_index, verdict, (reason.group(1) or reason.group(2) if reason else detail).strip()
        )
    verdict = "edited" if _EDITED_BY_REVIEWER.search(detail) else "applied"
    return _Outcome(step_index, proposal_index, verdict, detail)


def _fix_went_through(outcomes: list[_Outcome]) -> bool:
    return any(outcome.went_through for outcome in outcomes if outcome.step_index == _FIX_STEP_INDEX)


def _retry_preface(outcome: _Outcome) -> str:
    if outcome.verdict == "rejected":
        return f"The reviewer turned that down: {_quote(outcome.detail)}."
    return f"That did not work: {_quote(outcome.detail)}."


def _summary(outcomes: list[_Outcome]) -> str:
    lines = ["Done. Here is what happened to each change I proposed:"]
    for step_index, step in enumerate(_STEPS):
        if not step.changes_the_world:
            continue
        attempts = [outcome for outcome in outcomes if outcome.step_index == step_index]
        lines.append(f"- {step.title}: {_attempts_phrase(attempts, step.done_verb)}")
        if step.proposals[0].tool_name == COMMAND_TOOL_NAME and attempts and attempts[-1].went_through:
            lines.append(f"  {_test_run_phrase(attempts[-1].detail)}")
    if not _fix_went_through(outcomes):
        lines.append("greet.py still has the capitalisation bug, because no fix went through.")
    lines.append("I also looked at the project listing and read greet.py; those only read files.")
    return "\n".join(lines)


def _attempts_phrase(attempts: list[_Outcome], done_verb: str) -> str:
    if not attempts:
        return "never proposed."
    if len(attempts) == 1:
        return f"{_verdict_phrase(attempts[0], done_verb)}."
    first, last = attempts[0], attempts[-1]
    if not last.went_through and first.verdict == last.verdict == "rejected":
        return f"rejected twice ({_quote(first.detail)}, then {_quote(last.detail)}), so I left it and moved on."
    return (
        f"my first proposal {_verdict_phrase(first, done_verb, with_was=True)}; the second "
        f"{_verdict_phrase(last, done_verb, with_was=True)}."
    )


def _verdict_phrase(outcome: _Outcome, done_verb: str, *, with_was: bool = False) -> str:
    was = "was " if with_was else ""
    if outcome.verdict == "applied":
        return f"{was}{done_verb} as proposed"
    if outcome.verdict == "edited":
        return f"{was}{done_verb} with the reviewer's edits"
    if outcome.verdict == "rejected":
        return f"{was}rejected ({_quote(outcome.detail)})"
    return f"failed ({_quote(outcome.detail)})"


def _test_run_phrase(output: str) -> str:
    ran = _UNITTEST_RAN.findall(output)
    verdicts = _UNITTEST_VERDICT.findall(output)
    if not ran or not verdicts:
        return "I could not find a unittest verdict in the command's output, so I cannot say whether tests passed."
    verdict = verdicts[-1].strip()
    if verdict.startswith("NO TESTS RAN"):
        return f"No tests ran ({ran[-1].strip()})."
    passed_or_failed = "passed" if verdict.startswith("OK") else "failed"
    return f"The tests {passed_or_failed} ({ran[-1].strip()}: {verdict})."


def _quote(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1].rstrip() + "…"
    return f"“{one_line}”" if one_line else "(no reason given)"


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, Mapping) else None
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


def _result_text(result: Mapping[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block.get("text", "") for block in content if isinstance(block, Mapping) and block.get("type") == "text"
        )
    return ""
