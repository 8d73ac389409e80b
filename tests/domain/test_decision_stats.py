"""The Stats page's figures, computed without Qt: verdict split, per day, time on screen, per kind and workspace."""

from __future__ import annotations

import datetime as dt

from app.domain.decision_stats import TIME_BUCKETS, DecisionFact, VerdictSplit, decision_stats, time_bucket

TODAY = dt.date(2026, 12, 5)


def fact(reviewer="ada", verdict="approve", *, days_ago=0, hour=12, ms=3000, kind="edit", root="/w/site"):
    decided = dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(hour), tzinfo=dt.UTC)
    return DecisionFact(reviewer, verdict, decided, ms, kind, root)


def test_one_reviewers_verdicts_split_into_approve_reject_and_edit_with_shares():
    facts = [fact(), fact(), fact(verdict="reject"), fact(verdict="edit")]

    stats = decision_stats(facts, today=TODAY)

    assert stats.verdicts == VerdictSplit(approve=2, reject=1, edit=1)
    assert stats.total == 4
    assert stats.verdicts.share("approve") == 0.5
    assert stats.title == "Stats" and not stats.is_team


def test_the_title_says_team_stats_only_when_several_people_decided():
    assert decision_stats([fact("ada"), fact("ada")], today=TODAY).title == "Stats"
    team = decision_stats([fact("ada"), fact("bo")], today=TODAY)
    assert team.title == "Team stats" and team.reviewers == ("ada", "bo")
    # One person's figures inside a team are still the team's page, with that person's counts.
    bo = decision_stats([fact("ada"), fact("bo", "reject")], today=TODAY, reviewer="bo")
    assert bo.title == "Team stats" and bo.verdicts == VerdictSplit(reject=1)


def test_decisions_over_time_cover_every_day_of_the_period_including_empty_ones():
    facts = [fact(days_ago=0), fact(days_ago=0, verdict="reject"), fact(days_ago=2, verdict="edit"), fact(days_ago=40)]

    stats = decision_stats(facts, today=TODAY, days=7)

    assert [day for day, _ in stats.by_day] == [TODAY - dt.timedelta(days=n) for n in range(6, -1, -1)]
    per_day = dict(stats.by_day)
    assert per_day[TODAY] == VerdictSplit(approve=1, reject=1)
    assert per_day[TODAY - dt.timedelta(days=2)] == VerdictSplit(edit=1)
    assert per_day[TODAY - dt.timedelta(days=1)] == VerdictSplit()
    # Older decisions still count in the totals, only not in the 7 days shown.
    assert stats.total == 4


def test_days_follow_the_reviewers_clock_not_utc():
    late = fact(days_ago=1, hour=23)  # 23:00 UTC yesterday is already today at UTC+2
    plus_two = dt.timezone(dt.timedelta(hours=2))

    assert dict(decision_stats([late], today=TODAY, tz=plus_two).by_day)[TODAY].total == 1
    assert dict(decision_stats([late], today=TODAY).by_day)[TODAY].total == 0


def test_time_on_screen_falls_into_buckets_and_gives_a_median_leaving_out_unknown_times():
    facts = [fact(ms=500), fact(ms=1999), fact(ms=2000), fact(ms=20_000), fact(ms=600_000), fact(ms=None)]

    stats = decision_stats(facts, today=TODAY)

    assert [label for label, _ in stats.time_on_screen] == [label for _, _, label in TIME_BUCKETS]
    assert dict(stats.time_on_screen) == {"0–2 s": 2, "2–5 s": 1, "5–15 s": 0, "15–60 s": 1, "1–5 min": 0, "5 min +": 1}
    assert stats.median_time_ms == 2000
    assert time_bucket(-5) == 0


def test_per_kind_and_per_workspace_splits_list_the_busiest_first():
    facts = [
        fact(kind="command", root="/w/infra"),
        fact(kind="command", root="/w/infra", verdict="reject"),
        fact(kind="command", root="/w/site"),
        fact(kind="create", root="/w/site", verdict="edit"),
    ]

    stats = decision_stats(facts, today=TODAY)

    assert stats.by_kind == (("command", VerdictSplit(2, 1, 0)), ("create", VerdictSplit(0, 0, 1)))
    assert stats.by_workspace == (("/w/infra", VerdictSplit(1, 1, 0)), ("/w/site", VerdictSplit(1, 0, 1)))


def test_no_decisions_give_zeros_not_errors():
    stats = decision_stats([], today=TODAY)

    assert stats.total == 0 and stats.median_time_ms is None and stats.by_kind == ()
    assert len(stats.by_day) == 30 and all(split.total == 0 for _, split in stats.by_day)
    assert stats.title == "Stats"
