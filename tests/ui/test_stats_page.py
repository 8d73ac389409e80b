"""The Stats page: one person's or the team's verdicts in QtCharts charts, read from real decisions in SQLite."""

from __future__ import annotations

import datetime as dt
import hashlib

from app.domain.decision_stats import DecisionFact
from app.services.settings import Settings
from app.store.db import open_database
from app.store.repository import Repository
from app.ui.stats_view import StatsView
from tests.support.window_harness import WindowDriver

TODAY = dt.date(2026, 12, 5)
NOON = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def fact(reviewer="ada", verdict="approve", *, days_ago=0, ms=3000, kind="edit", root="/w/site"):
    return DecisionFact(reviewer, verdict, NOON - dt.timedelta(days=days_ago), ms, kind, root)


def slice_values(view: StatsView) -> list[float]:
    return [piece.value() for piece in view.charts.series("verdicts").slices()]


def set_values(view: StatsView, chart: str) -> dict[str, list[float]]:
    bar_sets = view.charts.series(chart).barSets()
    return {bar_set.label(): [bar_set.at(i) for i in range(bar_set.count())] for bar_set in bar_sets}


def categories(view: StatsView, chart: str) -> list[str]:
    [axis] = [a for a in view.charts.chart(chart).axes() if hasattr(a, "categories")]
    return axis.categories()


def test_one_reviewers_page_is_titled_stats_and_charts_the_verdict_split_days_and_time_on_screen(qtbot):
    view = StatsView()
    qtbot.addWidget(view)
    facts = [fact(), fact(days_ago=1), fact(verdict="reject", ms=90_000), fact(verdict="edit", days_ago=3, ms=500)]

    view.show_decisions(facts, today=TODAY)

    assert view.windowTitle() == "Stats"
    assert view.reviewer_combo.isHidden() and not view.charts.isHidden()
    assert slice_values(view) == [2.0, 1.0, 1.0]
    days = set_values(view, "days")
    assert list(days) == ["Approved", "Rejected", "Edited"] and all(len(v) == 30 for v in days.values())
    assert days["Approved"][-1] == 1.0 and days["Approved"][-2] == 1.0 and days["Rejected"][-1] == 1.0
    assert days["Edited"][-4] == 1.0 and sum(sum(v) for v in days.values()) == 4.0
    # Quickest bucket on top of the horizontal chart, so reversed in category order.
    screen = set_values(view, "screen")["Decisions"]
    assert dict(zip(categories(view, "screen"), screen, strict=True)) == {
        "5 min +": 0.0,
        "1–5 min": 1.0,
        "15–60 s": 0.0,
        "5–15 s": 0.0,
        "2–5 s": 2.0,
        "0–2 s": 1.0,
    }
    assert "4 decisions" in view.summary_label.text() and "approved 2 (50%)" in view.summary_label.text()


def test_per_kind_and_per_workspace_charts_stack_each_verdict_per_group(qtbot):
    view = StatsView()
    qtbot.addWidget(view)
    facts = [
        fact(kind="command", root="/w/infra"),
        fact(kind="command", root="/w/infra", verdict="reject"),
        fact(kind="create", root="/w/site", verdict="edit"),
    ]

    view.show_decisions(facts, today=TODAY)

    # Busiest group at the top of a horizontal chart: last in category order.
    assert categories(view, "kinds") == ["create", "command"]
    assert set_values(view, "kinds") == {"Approved": [0.0, 1.0], "Rejected": [0.0, 1.0], "Edited": [1.0, 0.0]}
    assert categories(view, "workspaces") == ["site", "infra"]


def test_with_several_reviewers_the_page_is_team_stats_and_shows_one_persons_figures_when_chosen(qtbot):
    view = StatsView()
    qtbot.addWidget(view)
    facts = [fact("ada"), fact("ada"), fact("bo", "reject"), fact("bo", "edit")]

    view.show_decisions(facts, today=TODAY)
    everyone = slice_values(view)
    view.reviewer_combo.setCurrentIndex(view.reviewer_combo.findData("bo"))

    assert view.windowTitle() == "Team stats" and view.reviewer_combo.isVisibleTo(view)
    assert everyone == [2.0, 1.0, 1.0]
    assert slice_values(view) == [0.0, 1.0, 1.0]


def test_no_decisions_show_a_sentence_instead_of_empty_charts(qtbot):
    view = StatsView()
    qtbot.addWidget(view)

    view.show_decisions([], today=TODAY)

    assert view.summary_label.text() == "No decisions yet." and view.charts.isHidden()


def _decided_proposals(db_path, plan) -> None:
    """Proposals of one session, each decided (reviewer, verdict, kind, ms) through the store."""
    database = open_database(str(db_path))
    try:
        repository = Repository(database)
        session = repository.sessions.create(
            workspace_root="/w/site", task="t", endpoint="demo", model="m", system_prompt="s", tools=[],
            sampling={}, max_turns=5,
        )  # fmt: skip
        for number, (reviewer, verdict, kind, ms) in enumerate(plan):
            shown = f"$ make {number}" if kind == "command" else f"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b{number}\n"
            fields = dict(
                session_id=session.id, message_seq=1, tool_use_id=f"toolu_{number}", tool_name="t", tool_input={},
                kind=kind, shown_text=shown, shown_hash=hashlib.sha256(shown.encode()).hexdigest(), lines_added=1,
                lines_removed=1,
            )  # fmt: skip
            if kind == "command":
                fields.update(command=f"make {number}", cwd=".")
            else:
                fields.update(path="f", old_content=b"a\n", new_content=f"b{number}\n".encode())
            proposal = repository.proposals.create(**fields)
            edited = b"c\n" if verdict == "edit" else None
            reason = "no" if verdict == "reject" else None
            repository.proposals.record_decision(
                proposal.id, verdict=verdict, reviewer=reviewer, reason=reason, edited_content=edited,
                time_on_screen_ms=ms,
            )  # fmt: skip
        # A decision taken back is not counted.
        undone = repository.proposals.create(**{**fields, "tool_use_id": "toolu_undone"})
        repository.proposals.record_decision(undone.id, verdict="reject", reviewer="ada", reason="x")
        repository.proposals.undo(undone.id, "ada", window_s=3600)
    finally:
        database.close()


def test_the_window_opens_stats_for_its_one_reviewer_from_the_decisions_in_the_database(qtbot, qasync_loop, tmp_path):
    db_path = tmp_path / "signoff.db"
    _decided_proposals(
        db_path,
        [("ada", "approve", "edit", 1000), ("ada", "approve", "command", 4000), ("ada", "reject", "command", 20_000)],
    )
    driver = WindowDriver(qtbot, db_path, settings=Settings(reviewer="ada", undo_seconds=0.0))

    async def scenario():
        window = await driver.open()
        try:
            window.stats_action.trigger()
            view = await driver.until(
                lambda: window.team_mode.stats_view if window.team_mode.stats_view.decisions else None,
                what="the stats page",
            )
            return view.windowTitle(), slice_values(view), categories(view, "kinds"), set_values(view, "kinds")
        finally:
            await driver.close()

    title, verdicts, kinds, per_kind = qasync_loop.run_until_complete(scenario())
    assert title == "Stats"
    assert verdicts == [2.0, 1.0, 0.0]
    assert kinds == ["edit", "command"]
    assert per_kind["Approved"] == [1.0, 1.0] and per_kind["Rejected"] == [0.0, 1.0]
