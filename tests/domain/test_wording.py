"""Numbers and states in words people read (issue #12: "Wrote 1 rows", "1 sessions", "Finished (end_turn)")."""

from __future__ import annotations

from app.domain.wording import count, finished_because


def test_one_of_a_thing_is_singular_and_more_are_plural_with_thousands_separated() -> None:
    assert count(1, "row") == "1 row"
    assert count(0, "row") == "0 rows"
    assert count(4, "decision") == "4 decisions"
    assert count(12345, "session") == "12,345 sessions"
    assert count(2, "worker process", "worker processes") == "2 worker processes"
    assert count(1, "worker process", "worker processes") == "1 worker process"


def test_a_finished_session_says_why_in_words_not_the_api_code() -> None:
    assert finished_because("end_turn") == "Finished: the agent ended its turn."
    assert finished_because("max_tokens") == "Finished: the answer reached its token limit."
    assert finished_because("something_new") == "Finished: something new."


def test_a_reopened_sessions_end_is_said_in_words_never_as_an_api_code():
    from app.domain.wording import session_ended

    assert session_ended("finished", "end_turn", None) == "Finished: the agent ended its turn."
    assert session_ended("finished", "external_end", None) == "Finished: the agent outside Signoff ended its session."
    assert session_ended("finished", None, None) == "Finished."
    assert session_ended("failed", "end_turn", "The API refused the key.") == "Failed: The API refused the key."
    assert session_ended("stopped", "stopped", None) == "Stopped."
    assert "Resume" in session_ended("interrupted", None, None)
    for status in ("finished", "stopped", "failed", "interrupted"):
        assert "_" not in session_ended(status, "max_tokens", None)
