"""The preview shown before "always allow this here" (Ctrl+Shift+A) adds a permanent rule: the exact rule text, the
past proposals of the workspace it would have matched, and Add / Cancel.

Behind a seam: ``ask()`` opens the dialog window-modal with ``open()`` and returns an awaitable answer (never a blocking
``exec()`` under the async loop); PolicyController.confirm_rule is the one place that asks, so tests drive the dialog
it keeps in ``preview_dialog``.
"""

from __future__ import annotations

import asyncio
import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.policy import POLICY_FILE
from app.domain.policy_preview import AllowPreview
from app.domain.wording import count

VERDICT_WORDS = {"approve": "approved", "reject": "REJECTED", "edit": "approved with an edit"}


class AllowPreviewDialog(QDialog):
    def __init__(self, preview: AllowPreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview = preview
        self.setObjectName("allowPreviewDialog")
        count = len(preview.rules)
        self.setWindowTitle("Always allow here?")
        layout = QVBoxLayout(self)
        heading = QLabel(
            f"<b>Add {'this rule' if count == 1 else f'these {count} rules'} to "
            f"{html.escape(POLICY_FILE)}</b> in {html.escape(preview.workspace_root)}, then approve "
            f"#{preview.proposal_id}? From then on, matching proposals here run without asking you."
        )
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.rule_text = QPlainTextEdit(preview.text)
        self.rule_text.setObjectName("allowRuleText")
        self.rule_text.setReadOnly(True)
        self.rule_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.rule_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.rule_text.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.rule_text.setMaximumHeight(self.rule_text.fontMetrics().lineSpacing() * (5 * count + 2) + 12)
        layout.addWidget(self.rule_text)
        self.summary = QLabel(self._summary())
        self.summary.setObjectName("allowMatchSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.matches = QListWidget()
        self.matches.setObjectName("allowMatches")
        self.matches.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for match in preview.matches:
            verdict = VERDICT_WORDS.get(match.verdict, match.verdict)
            mark = "⚠ " if match.verdict == "reject" else ""
            self.matches.addItem(f"{mark}#{match.proposal_id} · {match.target} · {verdict} by {match.reviewer}")
        self.matches.setVisible(bool(preview.matches))
        layout.addWidget(self.matches, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add_button.setText(f"Add {'rule' if count == 1 else f'{count} rules'} and approve  [Enter]")
        self.add_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Cancel  [Esc]")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(720, 420 if preview.matches else 300)
        self.add_button.setFocus()

    def _summary(self) -> str:
        preview = self.preview
        if not preview.history_count:
            return "No earlier decided proposals in this workspace to compare with."
        earlier = count(preview.history_count, "earlier decided proposal")
        if not preview.matched_count:
            return f"It would have matched none of {earlier} here."
        text = f"It would have matched {preview.matched_count:,} of {earlier} here"
        rejected = preview.rejected_matches
        if rejected:
            text += f", {rejected:,} of which {'was' if rejected == 1 else 'were'} rejected (⚠)"
        if preview.matched_count > len(preview.matches):
            text += f"; the newest {len(preview.matches)} are listed"
        return text + ":"

    def ask(self) -> asyncio.Future[bool]:
        """Open window-modal; the future is True when the person adds the rule, False on cancel (or a close)."""
        answer: asyncio.Future[bool] = asyncio.get_event_loop().create_future()

        def finished(result: int) -> None:
            if not answer.done():
                answer.set_result(result == QDialog.DialogCode.Accepted)

        self.finished.connect(finished)
        self.open()
        return answer
