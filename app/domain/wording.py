"""Words for numbers and states in messages people read: "1 row", "4 decisions", why a session ended. Pure."""

from __future__ import annotations

_STOP_REASONS = {
    "end_turn": "the agent ended its turn",
    "max_tokens": "the answer reached its token limit",
    "stop_sequence": "the answer reached a stop sequence",
    "refusal": "the model declined to continue",
    "pause_turn": "the model paused its turn",
    "max_turns": "the session reached its turn limit",
    "external_end": "the agent outside Signoff ended its session",
}


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "row")`` is "1 row", ``count(4, "decision")`` is "4 decisions"; thousands are separated."""
    return f"{number:,} {noun if number == 1 else (plural or noun + 's')}"


def finished_because(stop_reason: str) -> str:
    """The status line of a finished session in words, not the API's code."""
    return f"Finished: {_STOP_REASONS.get(stop_reason, stop_reason.replace('_', ' '))}."


def session_ended(status: str, stop_reason: str | None, error: str | None) -> str:
    """The line under a reopened session's transcript: how it ended, in words (never an API code)."""
    if error:
        return f"{status.capitalize()}: {error}"
    if status == "finished":
        return finished_because(stop_reason) if stop_reason else "Finished."
    if status == "interrupted":
        return "Interrupted: the process running it ended first. Resume continues it (Ctrl+R)."
    return f"{status.capitalize()}."


def waiting_for(proposal_id: int, undecided: bool) -> str:
    """What a session waits for: a person's decision, or (found on resuming) a decision's undo window to close."""
    if undecided:
        return f"Waiting for a decision on proposal {proposal_id}."
    return f"Proposal {proposal_id} is decided; it is carried out when its undo window closes."
