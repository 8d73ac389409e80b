"""The Stats page's charts, drawn with QtCharts: verdict split, decisions per day, time on screen, and the split per
kind and per workspace. Shows a DecisionStats (app.domain.decision_stats); computes nothing itself."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QHorizontalStackedBarSeries,
    QPieSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QEvent, QMargins, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QWidget

from app.domain.decision_stats import VERDICTS, DecisionStats, VerdictSplit
from app.ui.theme import current_colours

VERDICT_WORDS = {"approve": "Approved", "reject": "Rejected", "edit": "Edited"}
# The theme colour role each verdict is drawn in.
VERDICT_ROLES = {"approve": "approve", "reject": "reject_fill", "edit": "warning"}
# Kinds and workspaces beyond this many are summed into "other".
MOST_GROUPS = 8


def _top(groups: tuple[tuple[str, VerdictSplit], ...]) -> list[tuple[str, VerdictSplit]]:
    shown = list(groups[:MOST_GROUPS])
    rest = groups[MOST_GROUPS:]
    if rest:
        shown.append(
            (
                f"{len(rest)} other",
                VerdictSplit(*(sum(split.count(verdict) for _, split in rest) for verdict in VERDICTS)),
            )
        )
    return shown


class StatsCharts(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statsCharts")
        self.stats: DecisionStats | None = None
        self.views: dict[str, QChartView] = {}
        titles = {
            "verdicts": "Verdicts",
            "days": "Decisions per day",
            "screen": "Time on screen before deciding",
            "kinds": "Per kind",
            "workspaces": "Per workspace",
        }
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        places = {"verdicts": (0, 0, 1, 1), "days": (0, 1, 1, 2), "screen": (1, 0, 1, 1)}
        places |= {"kinds": (1, 1, 1, 1), "workspaces": (1, 2, 1, 1)}
        for name, title in titles.items():
            chart = QChart()
            chart.setTitle(title)
            chart.setMargins(QMargins(4, 4, 4, 4))
            chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
            view = QChartView(chart)
            view.setObjectName(f"{name}Chart")
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumSize(260, 220)
            self.views[name] = view
            layout.addWidget(view, *places[name])
        for column in range(3):
            layout.setColumnStretch(column, 1)

    def chart(self, name: str) -> QChart:
        return self.views[name].chart()

    def series(self, name: str):
        """The one series of a chart (tests read its values)."""
        found = self.chart(name).series()
        return found[0] if found else None

    # -- showing -------------------------------------------------------------------------------------------------------

    def show_stats(self, stats: DecisionStats) -> None:
        self.stats = stats
        for name in self.views:
            chart = self.chart(name)
            chart.removeAllSeries()
            for axis in chart.axes():
                chart.removeAxis(axis)
            self._style(chart)
        self._verdicts(stats)
        self._days(stats)
        self._screen(stats)
        self._groups("kinds", stats.by_kind, str)
        self._groups("workspaces", stats.by_workspace, lambda root: Path(root).name or root)

    def _verdicts(self, stats: DecisionStats) -> None:
        series = QPieSeries()
        series.setHoleSize(0.35)
        for verdict in VERDICTS:
            count = stats.verdicts.count(verdict)
            piece = series.append(f"{VERDICT_WORDS[verdict]} {count}", count)
            piece.setBrush(self._colour(verdict))
            piece.setBorderColor(self.palette().color(QPalette.ColorRole.Window))
            piece.setLabelVisible(False)
        self.chart("verdicts").addSeries(series)

    def _verdict_sets(self, groups: list[tuple[str, VerdictSplit]]) -> list[QBarSet]:
        sets = []
        for verdict in VERDICTS:
            bar_set = QBarSet(VERDICT_WORDS[verdict])
            bar_set.append([float(split.count(verdict)) for _, split in groups])
            bar_set.setBrush(self._colour(verdict))
            bar_set.setPen(QPen(Qt.PenStyle.NoPen))
            sets.append(bar_set)
        return sets

    def _days(self, stats: DecisionStats) -> None:
        series = QStackedBarSeries()
        series.append(self._verdict_sets([(day.isoformat(), split) for day, split in stats.by_day]))
        # Day numbers fit under thirty narrow bars; the title says which days they are.
        labels = [str(day.day) for day, _ in stats.by_day]
        highest = max((split.total for _, split in stats.by_day), default=0)
        self._bars("days", series, labels, highest, horizontal=False)
        # Upright, thirty day numbers would be cut to "…" in narrow columns.
        self.chart("days").axes(Qt.Orientation.Horizontal)[0].setLabelsAngle(-90)
        if stats.by_day:
            first, last = stats.by_day[0][0], stats.by_day[-1][0]
            self.chart("days").setTitle(f"Decisions per day, {first:%d %b} – {last:%d %b}")

    def _screen(self, stats: DecisionStats) -> None:
        # Horizontal, quickest on top: the bucket names stay whole at any width.
        buckets = list(reversed(stats.time_on_screen))
        series = QHorizontalBarSeries()
        bar_set = QBarSet("Decisions")
        bar_set.append([float(count) for _, count in buckets])
        bar_set.setBrush(QColor(current_colours()["selected"]))
        bar_set.setPen(QPen(Qt.PenStyle.NoPen))
        series.append(bar_set)
        highest = max((count for _, count in stats.time_on_screen), default=0)
        self._bars("screen", series, [label for label, _ in buckets], highest, horizontal=True)
        self.chart("screen").legend().hide()

    def _groups(self, name: str, groups: tuple[tuple[str, VerdictSplit], ...], label) -> None:
        shown = list(reversed(_top(groups)))  # horizontal bars draw the first category at the bottom
        series = QHorizontalStackedBarSeries()
        series.append(self._verdict_sets(shown))
        highest = max((split.total for _, split in shown), default=0)
        self._bars(name, series, [label(group) for group, _ in shown], highest, horizontal=True)

    def _bars(self, name: str, series, categories: list[str], highest: int, *, horizontal: bool) -> None:
        chart = self.chart(name)
        chart.addSeries(series)
        category_axis = QBarCategoryAxis()
        category_axis.append(categories or [" "])
        value_axis = QValueAxis()
        value_axis.setRange(0, max(1, highest))
        value_axis.setLabelFormat("%d")
        value_axis.setTickCount(min(6, max(2, highest + 1)))
        value_axis.applyNiceNumbers()
        for axis in (category_axis, value_axis):
            self._style_axis(axis)
        # Many narrow categories (thirty days, six time buckets): a smaller font keeps their labels whole.
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        category_axis.setLabelsFont(small)
        chart.addAxis(category_axis, Qt.AlignmentFlag.AlignLeft if horizontal else Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(value_axis, Qt.AlignmentFlag.AlignBottom if horizontal else Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(category_axis)
        series.attachAxis(value_axis)

    # -- colours from the palette ------------------------------------------------------------------------------------

    def _colour(self, verdict: str) -> QColor:
        return QColor(current_colours()[VERDICT_ROLES[verdict]])

    def _style(self, chart: QChart) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        chart.setBackgroundBrush(QBrush(palette.color(QPalette.ColorRole.Window)))
        chart.setBackgroundPen(QPen(Qt.PenStyle.NoPen))
        chart.setTitleBrush(QBrush(text))
        chart.legend().setLabelColor(text)

    def _style_axis(self, axis) -> None:
        palette = self.palette()
        axis.setLabelsColor(palette.color(QPalette.ColorRole.WindowText))
        axis.setLinePenColor(palette.color(QPalette.ColorRole.Mid))
        axis.setGridLineColor(palette.color(QPalette.ColorRole.Midlight))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and self.stats:
            self.show_stats(self.stats)
