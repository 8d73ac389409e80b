"""The team stats view: what waits (including second reviews and disputes), decisions per reviewer, and percent
agreement and Cohen's kappa for each pair of reviewers. Shows a TeamStats; the window reads it off the UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.store.team_review import TeamStats

PAIR_COLUMNS = ("Reviewer A", "Reviewer B", "Items both reviewed", "Agreement", "Cohen's κ")
KAPPA_HELP = (
    "κ is agreement beyond what each reviewer's own verdict frequencies give by chance: 1 is perfect, 0 is chance, "
    "below 0 is worse than chance; n/a when both gave one and the same verdict every time. Counted on the first and "
    "second of two independent reviews; adjudications are left out."
)


def kappa_text(kappa: float | None) -> str:
    return "n/a" if kappa is None else f"{kappa:.2f}"


class StatsView(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statsView")
        self.setWindowTitle("Team stats")
        self.resize(720, 420)
        self.waiting_label = QLabel("Loading…")
        self.waiting_label.setTextFormat(Qt.TextFormat.RichText)
        self.reviewers_label = QLabel("")
        self.reviewers_label.setWordWrap(True)
        self.pairs = QTableWidget(0, len(PAIR_COLUMNS))
        self.pairs.setObjectName("agreementTable")
        self.pairs.setHorizontalHeaderLabels(PAIR_COLUMNS)
        self.pairs.verticalHeader().hide()
        self.pairs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.pairs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pairs.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel("No item has two independent reviews yet, so there is no agreement to show.")
        self.empty_label.setWordWrap(True)
        help_label = QLabel(KAPPA_HELP)
        help_label.setWordWrap(True)
        help_label.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.waiting_label)
        layout.addWidget(self.reviewers_label)
        layout.addWidget(self.pairs, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(help_label)
        # Human versus the critic model (issue 13): one line per reviewer and workspace.
        self.critic_label = QLabel("")
        self.critic_label.setObjectName("criticAgreement")
        self.critic_label.setWordWrap(True)
        layout.addWidget(self.critic_label)
        layout.addWidget(buttons)
        self.stats: TeamStats | None = None

    def show_error(self, message: str) -> None:
        self.waiting_label.setText(f"The stats could not be read: {message}")

    def show_stats(self, stats: TeamStats) -> None:
        self.stats = stats
        waiting = stats.waiting
        self.waiting_label.setText(
            f"<b>Waiting:</b> {waiting.get('pending', 0)} · <b>awaiting second review:</b> "
            f"{waiting.get('awaiting_second_review', 0)} · <b>disputed:</b> {waiting.get('disputed', 0)}"
        )
        self.reviewers_label.setText(
            "Decisions by reviewer: " + ", ".join(f"{name} {count}" for name, count in sorted(stats.reviewers.items()))
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
        self.pairs.setVisible(bool(stats.pairs))
        self.empty_label.setVisible(not stats.pairs)

    def show_critic_agreement(self, rows: list) -> None:
        """Agreement between people and the critic (app.services.judges.critic_agreement rows)."""
        if not rows:
            self.critic_label.setText("The critic has judged nothing a person decided yet.")
            return
        lines = ["<b>Human vs critic</b>"]
        for row in rows:
            name = "everyone" if row.scope == "all" else f"{row.scope} {row.name}"
            lines.append(
                f"{name}: {row.items} items, {row.percent_agreement * 100:.1f}% agree, κ {kappa_text(row.kappa)}"
            )
        self.critic_label.setText("<br>".join(lines))

    def cell_texts(self) -> list[list[str]]:
        """The agreement table as text, row by row (what a person reads)."""
        return [
            [self.pairs.item(row, column).text() for column in range(self.pairs.columnCount())]
            for row in range(self.pairs.rowCount())
        ]
