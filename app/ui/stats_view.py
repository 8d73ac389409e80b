"""The Stats page: what waits, and one reviewer's or the whole team's decisions in charts (verdict split, per day,
time on screen, per kind and per workspace); with several reviewers also percent agreement and Cohen's kappa per pair.
Shows what the window read off the UI thread; the figures come from app.domain.decision_stats.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.decision_stats import DecisionFact, DecisionStats, decision_stats
from app.domain.wording import count
from app.store.team_review import TeamStats
from app.ui.stats_charts import StatsCharts

PAIR_COLUMNS = ("Reviewer A", "Reviewer B", "Items both reviewed", "Agreement", "Cohen's κ")
KAPPA_HELP = (
    "κ is agreement beyond what each reviewer's own verdict frequencies give by chance: 1 is perfect, 0 is chance, "
    "below 0 is worse than chance; n/a when both gave one and the same verdict every time. Counted on the first and "
    "second of two independent reviews; adjudications are left out."
)
EVERYONE = "Everyone"


def kappa_text(kappa: float | None) -> str:
    return "n/a" if kappa is None else f"{kappa:.2f}"


def summary_text(stats: DecisionStats) -> str:
    if not stats.total:
        return "No decisions yet."
    split = stats.verdicts
    median = "–" if stats.median_time_ms is None else f"{stats.median_time_ms / 1000:.1f} s"
    return (
        f"<b>{count(stats.total, 'decision')}</b> · approved {split.approve} ({split.share('approve'):.0%}) · "
        f"rejected {split.reject} ({split.share('reject'):.0%}) · edited {split.edit} ({split.share('edit'):.0%}) · "
        f"median time on screen {median}"
    )


class StatsView(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statsView")
        self.setWindowTitle("Stats")
        self.resize(1120, 780)
        self.stats: TeamStats | None = None
        self.decisions: DecisionStats | None = None
        self._facts: list[DecisionFact] = []
        self._today = dt.date.today()
        self._tz: dt.tzinfo = dt.UTC

        self.waiting_label = QLabel("Loading…")
        self.waiting_label.setTextFormat(Qt.TextFormat.RichText)
        self.reviewer_combo = QComboBox()
        self.reviewer_combo.setObjectName("statsReviewer")
        self.reviewer_combo.setMinimumContentsLength(16)
        self.reviewer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.reviewer_combo.currentIndexChanged.connect(self._reviewer_changed)
        self.reviewer_caption = QLabel("Whose decisions:")
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("statsSummary")
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        chooser = QHBoxLayout()
        chooser.addWidget(self.reviewer_caption)
        chooser.addWidget(self.reviewer_combo)
        chooser.addWidget(self.summary_label, 1)
        self.charts = StatsCharts()

        self.reviewers_label = QLabel("")
        self.reviewers_label.setWordWrap(True)
        self.pairs = QTableWidget(0, len(PAIR_COLUMNS))
        self.pairs.setObjectName("agreementTable")
        self.pairs.setHorizontalHeaderLabels(PAIR_COLUMNS)
        self.pairs.verticalHeader().hide()
        self.pairs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.pairs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pairs.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.pairs.setMaximumHeight(160)
        self.empty_label = QLabel("No item has two independent reviews yet, so there is no agreement to show.")
        self.empty_label.setWordWrap(True)
        self.help_label = QLabel(KAPPA_HELP)
        self.help_label.setWordWrap(True)
        self.help_label.setObjectName("hint")
        # Human versus the critic model (issue 13): one line per reviewer and workspace.
        self.critic_label = QLabel("")
        self.critic_label.setObjectName("criticAgreement")
        self.critic_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.waiting_label)
        layout.addLayout(chooser)
        layout.addWidget(self.charts, 1)
        layout.addWidget(self.reviewers_label)
        layout.addWidget(self.pairs)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.help_label)
        layout.addWidget(self.critic_label)
        layout.addWidget(buttons)
        self._show_team_parts(False)

    def show_error(self, message: str) -> None:
        self.waiting_label.setText(f"The stats could not be read: {message}")

    # -- one reviewer or everyone ------------------------------------------------------------------------------------

    def show_decisions(
        self, facts: list[DecisionFact], *, today: dt.date, tz: dt.tzinfo = dt.UTC, reviewer: str | None = None
    ) -> None:
        """Every standing decision; the charts count ``reviewer``'s (None: everyone's, or the one person's)."""
        self._facts, self._today, self._tz = facts, today, tz
        reviewers = sorted({fact.reviewer for fact in facts})
        self.reviewer_combo.blockSignals(True)
        self.reviewer_combo.clear()
        self.reviewer_combo.addItem(EVERYONE, None)
        for name in reviewers:
            self.reviewer_combo.addItem(name, name)
        self.reviewer_combo.setCurrentIndex(max(0, self.reviewer_combo.findData(reviewer)))
        self.reviewer_combo.blockSignals(False)
        self._reviewer_changed()

    def _reviewer_changed(self) -> None:
        stats = decision_stats(self._facts, today=self._today, tz=self._tz, reviewer=self.reviewer_combo.currentData())
        self.decisions = stats
        self.setWindowTitle(stats.title)
        self.reviewer_caption.setVisible(stats.is_team)
        self.reviewer_combo.setVisible(stats.is_team)
        self.summary_label.setText(summary_text(stats))
        self.charts.show_stats(stats)
        self.charts.setVisible(bool(stats.total))
        self._show_team_parts(stats.is_team)

    def _show_team_parts(self, team: bool) -> None:
        """Agreement between reviewers means something only with several of them."""
        pairs = bool(self.stats and self.stats.pairs)
        self.reviewers_label.setVisible(team)
        self.pairs.setVisible(team and pairs)
        self.empty_label.setVisible(team and not pairs)
        self.help_label.setVisible(team)

    # -- the team ------------------------------------------------------------------------------------------------------

    def show_stats(self, stats: TeamStats) -> None:
        self.stats = stats
        waiting = stats.waiting
        self.waiting_label.setText(
            f"<b>Waiting:</b> {waiting.get('pending', 0)} · <b>awaiting second review:</b> "
            f"{waiting.get('awaiting_second_review', 0)} · <b>disputed:</b> {waiting.get('disputed', 0)}"
        )
        self.reviewers_label.setText(
            "Decisions by reviewer: "
            + ", ".join(f"{name} {number}" for name, number in sorted(stats.reviewers.items()))
            if stats.reviewers
            else "No decisions yet."
        )
        self.pairs.setRowCount(len(stats.pairs))
        for row, pair in enumerate(stats.pairs):
            cells = (
                pair.reviewer_a,
                pair.reviewer_b,
                str(pair.items),
                f"{pair.percent_agreement * 100:.1f}%",
                kappa_text(pair.kappa),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.pairs.setItem(row, column, item)
        self._show_team_parts(len(stats.reviewers) > 1 or bool(self.decisions and self.decisions.is_team))

    def show_critic_agreement(self, rows: list) -> None:
        """Agreement between people and the critic (app.services.judges.critic_agreement rows)."""
        if not rows:
            self.critic_label.setText("The critic has judged nothing a person decided yet.")
            return
        lines = ["<b>Human vs critic</b>"]
        for row in rows:
            name = "everyone" if row.scope == "all" else f"{row.scope} {row.name}"
            lines.append(
                f"{name}: {count(row.items, 'item')}, {row.percent_agreement * 100:.1f}% agree, "
                f"κ {kappa_text(row.kappa)}"
            )
        self.critic_label.setText("<br>".join(lines))

    def cell_texts(self) -> list[list[str]]:
        """The agreement table as text, row by row (what a person reads)."""
        return [
            [self.pairs.item(row, column).text() for column in range(self.pairs.columnCount())]
            for row in range(self.pairs.rowCount())
        ]
