"""The proposal lifecycle as data: every status is a stored string, and the transition table is closed and sane."""

from __future__ import annotations

import json

from app.domain.lifecycle import OUTCOMES, STILL_UNDECIDED, TRANSITIONS, ProposalStatus, is_final, may_move, sources_of


def test_statuses_are_the_stored_strings_in_comparisons_and_json() -> None:
    assert ProposalStatus.PENDING == "pending"
    assert ProposalStatus("awaiting_second_review") is ProposalStatus.AWAITING_SECOND_REVIEW
    assert json.dumps({"status": ProposalStatus.NOT_APPLIED}) == '{"status": "not_applied"}'
    assert f"{ProposalStatus.DECIDED}" == "decided"


def test_every_status_has_a_row_and_every_target_is_a_status() -> None:
    assert set(TRANSITIONS) == set(ProposalStatus)
    assert all(isinstance(target, ProposalStatus) for targets in TRANSITIONS.values() for target in targets)


def test_a_decision_moves_forward_and_an_undo_one_step_back() -> None:
    assert may_move("pending", "decided") and may_move("decided", "applying") and may_move("applying", "applied")
    assert may_move("decided", "pending") and may_move("disputed", "awaiting_second_review")
    assert not may_move("applying", "pending"), "a decision being carried out is final"
    assert not may_move("pending", "applied"), "nothing is applied without a decision"
    assert not may_move("cancelled", "decided") and not may_move("replaced", "pending")
    assert not may_move("pending", "no such status")


def test_waiting_statuses_are_not_final_and_outcomes_are() -> None:
    assert not any(is_final(status) for status in STILL_UNDECIDED)
    assert all(is_final(status) for status in OUTCOMES)
    assert sources_of(ProposalStatus.APPLYING) == (ProposalStatus.DECIDED,)
