"""Percent agreement and Cohen's kappa per reviewer pair, checked against values computed by hand."""

from __future__ import annotations

import pytest

from app.domain.agreement import PairAgreement, cohens_kappa, pairwise_agreement


def test_kappa_matches_the_textbook_two_by_two_example() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # po = 35/50 = 0.7; pA(yes) = 0.5, pB(yes) = 0.6; pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohens_kappa(pairs) == pytest.approx(0.4)


def test_kappa_over_three_verdicts_matches_the_hand_computation() -> None:
    # po = 5/9; A: approve 4, reject 3, edit 2; B: approve 3, reject 4, edit 2 (n = 9).
    # pe = (4*3 + 3*4 + 2*2) / 81 = 28/81; kappa = (45/81 - 28/81) / (1 - 28/81) = (45 - 28) / (81 - 28) = 17/53.
    pairs = [
        ("approve", "approve"),
        ("approve", "approve"),
        ("approve", "reject"),
        ("approve", "edit"),
        ("reject", "reject"),
        ("reject", "reject"),
        ("reject", "approve"),
        ("edit", "edit"),
        ("edit", "reject"),
    ]
    assert sum(a == b for a, b in pairs) == 5
    assert cohens_kappa(pairs) == pytest.approx(17 / 53)


def test_perfect_agreement_with_varied_verdicts_is_kappa_one() -> None:
    assert cohens_kappa([("approve", "approve"), ("reject", "reject"), ("edit", "edit")]) == pytest.approx(1.0)


def test_systematic_disagreement_gives_negative_kappa() -> None:
    # po = 0; pe = 0.5*0.5 + 0.5*0.5 = 0.5; kappa = -0.5/0.5 = -1.
    assert cohens_kappa([("approve", "reject"), ("reject", "approve")]) == pytest.approx(-1.0)


def test_kappa_is_undefined_when_both_always_gave_the_same_single_verdict() -> None:
    # pe = 1: chance alone explains the agreement, and (1 - 1) / (1 - 1) has no value.
    assert cohens_kappa([("approve", "approve")] * 5) is None


def test_kappa_is_zero_when_one_reviewer_never_varies_and_they_disagree_half_the_time() -> None:
    # A always approves; B approves half: po = 0.5, pe = 1*0.5 + 0*0.5 = 0.5, kappa = 0.
    assert cohens_kappa([("approve", "approve"), ("approve", "reject")]) == pytest.approx(0.0)


def test_no_items_in_common_gives_no_kappa_and_no_pair() -> None:
    assert cohens_kappa([]) is None
    assert pairwise_agreement([(1, "alice", "approve"), (2, "bob", "approve")]) == []


def test_pairs_are_counted_on_shared_items_only_and_sorted_by_name() -> None:
    reviews = [
        (1, "bob", "approve"),
        (1, "alice", "approve"),
        (2, "alice", "reject"),
        (2, "bob", "approve"),
        (3, "alice", "approve"),
        (3, "carol", "approve"),
        (4, "carol", "reject"),  # carol alone: counts for nobody
        (5, "alice", "edit"),
        (5, "bob", "edit"),
        (5, "carol", "reject"),
    ]

    pairs = pairwise_agreement(reviews)

    # alice-bob on items 1, 2, 5: agree 2/3. alice: approve, reject, edit; bob: approve, approve, edit.
    # pe = (1*2 + 1*0 + 1*1) / 9 = 3/9; kappa = (2/3 - 1/3) / (2/3) = 0.5.
    # alice-carol on 3, 5: agree 1/2; alice approve, edit; carol approve, reject: pe = 1*1/4 = 0.25; kappa = 1/3.
    # bob-carol on 5 only: disagree; bob edit, carol reject; pe = 0; kappa = 0.
    assert pairs == [
        PairAgreement("alice", "bob", 3, pytest.approx(2 / 3), pytest.approx(0.5)),
        PairAgreement("alice", "carol", 2, 0.5, pytest.approx(1 / 3)),
        PairAgreement("bob", "carol", 1, 0.0, 0.0),
    ]


def test_a_reviewer_judging_an_item_twice_counts_with_their_last_verdict() -> None:
    [pair] = pairwise_agreement([(1, "alice", "reject"), (1, "bob", "approve"), (1, "alice", "approve")])
    assert (pair.items, pair.percent_agreement) == (1, 1.0)
    assert pair.kappa is None


def test_json_form_gives_percent_and_rounded_kappa() -> None:
    assert PairAgreement("a", "b", 3, 2 / 3, 0.123456).as_json() == {
        "reviewer_a": "a",
        "reviewer_b": "b",
        "items": 3,
        "percent_agreement": 66.67,
        "kappa": 0.1235,
    }
