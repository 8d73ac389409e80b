"""The machine judges in the window: a badge on the review pane with the verifier's result (while it runs and when
done), the critic's verdict (after the decision in blind mode) and the risk score with its reasons on hover; `v` runs
the verifier on the shown proposal; the critic's auto-approvals said in the status bar and marked in the queue.
Self-contained: ``attach_judges(window)`` places and wires it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.domain.records import ProposalRecord
from app.services.auto_approve import AutoApproved, AutoApprover
from app.services.critic import Critic
from app.services.judges import Judged, JudgeRunner, blind, is_team_database, judged
from app.services.verifier import Verifier

log = logging.getLogger(__name__)


def verifier_text(judgment: Judged | None) -> tuple[str, str]:
    """The verifier label's text and its status (for the colour)."""
    verifier = None if judgment is None else judgment.verifier
    if verifier is None:
        return "Tests: not run (v runs them)", "skipped"
    if verifier.status == "running":
        return "Tests: running…", "running"
    if verifier.status == "skipped":
        return "Tests: skipped", "skipped"
    if verifier.status == "error":
        return "Tests: could not run", "error"
    counts = f"{verifier.passed} passed, {verifier.failed} failed"
    if verifier.status == "failed":
        names = ", ".join(verifier.newly_failing[:2]) + ("…" if len(verifier.newly_failing) > 2 else "")
        return f"Tests: RED · newly failing {names} · {counts}", "failed"
    newly = f" · newly passing {len(verifier.newly_passing)}" if verifier.newly_passing else ""
    return f"Tests: green{newly} · {counts}", "passed"


def critic_text(judgment: Judged | None) -> str:
    if judgment is None or judgment.critic is None:
        return ""
    if judgment.critic_hidden:
        return "Critic: shown after you decide"
    critic = judgment.critic
    if critic.status == "running":
        return "Critic: reading…"
    if critic.status == "error":
        return "Critic: no answer"
    return f"Critic: {critic.verdict} ({critic.score:.2f})"


def reveal_text(proposal_id: int, person: str, critic) -> str:
    """What blind mode shows once the person decided: the critic's verdict and whether they agreed."""
    if critic.status != "done":
        return f"Critic on #{proposal_id}: no answer ({critic.error or 'it failed'})."
    agreed = (person == "approve") == (critic.verdict == "approve")
    said = (
        f"Critic on #{proposal_id}: {critic.verdict} ({critic.score:.2f}) — you {'agreed' if agreed else 'disagreed'}."
    )
    return f"{said} {critic.rationale or ''}".strip()


def _blind_and_judged(repository, proposal_id: int, settings) -> tuple[bool, Judged]:
    proposal = repository.proposals.get(proposal_id)
    config = repository.judgments.config(proposal.workspace_root)
    was_blind = blind(config, settings, team=is_team_database(repository))
    return was_blind, judged(repository, [proposal], None, settings)[proposal_id]


class JudgesBadge(QWidget):
    """One line under the proposal's title: tests, critic, risk. Hover for the details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("judgesBadge")
        self.proposal_id: int | None = None
        self.verifier_label = QLabel("")
        self.verifier_label.setObjectName("verifierBadge")
        self.critic_label = QLabel("")
        self.critic_label.setObjectName("criticBadge")
        self.risk_label = QLabel("")
        self.risk_label.setObjectName("riskBadge")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label in (self.verifier_label, self.critic_label, self.risk_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        layout.addStretch(1)
        self.status = "skipped"
        self.hide()

    def show_judgment(self, proposal_id: int | None, judgment: Judged | None) -> None:
        self.proposal_id = proposal_id
        if proposal_id is None:
            self.hide()
            return
        text, status = verifier_text(judgment)
        self.verifier_label.setText(text)
        if status != self.status or self.verifier_label.property("status") is None:
            # Coloured by the stylesheet (QLabel#verifierBadge[status=...]), so a change of theme recolours it; only
            # re-polished on a change (~10 ms a polish, and results arrive in bursts).
            self.verifier_label.setProperty("status", status)
            self.verifier_label.style().unpolish(self.verifier_label)
            self.verifier_label.style().polish(self.verifier_label)
        self.status = status
        verifier = None if judgment is None else judgment.verifier
        details = []
        if verifier is not None:
            details.append(f"$ {verifier.command or '(no command)'}")
            if verifier.still_failing:
                details.append("Still failing: " + ", ".join(verifier.still_failing[:10]))
            if verifier.note:
                details.append(verifier.note)
        self.verifier_label.setToolTip("\n".join(details))
        self.critic_label.setText(critic_text(judgment))
        critic = None if judgment is None else judgment.critic
        rationale = critic.rationale if critic is not None and not judgment.critic_hidden else None
        self.critic_label.setToolTip(rationale or "")
        if judgment is not None:
            self.risk_label.setText(f"Risk {judgment.risk.score:.2f}")
            self.risk_label.setToolTip("\n".join(judgment.risk.reasons) or "Nothing stands out.")
        else:
            self.risk_label.setText("")
        self.show()


class JudgesController(QObject):
    """Runs the judges on the window's event loop and keeps the badge on the shown proposal up to date."""

    # A proposal whose judges' results changed (a run started or ended).
    changed = Signal(int)
    # The critic approved a proposal on its own (an AutoApproved): said in the status bar and marked in the queue.
    auto_approved = Signal(object)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        repository = window.repository
        settings = lambda: window.settings  # noqa: E731 (the window's settings change when saved)
        self.verifier = Verifier(repository, settings, on_change=self.changed.emit)
        self.critic = Critic(repository, window.context.endpoints, settings, on_change=self.changed.emit)
        self.auto_approver = AutoApprover(repository, window.manager.decide, self.auto_approved.emit)
        self.runner = JudgeRunner(self.verifier, self.critic, self.auto_approver)
        self.badge = JudgesBadge()
        self.judgments: dict[int, Judged] = {}
        self.changed.connect(self._on_changed)
        self.auto_approved.connect(self._on_auto_approved)
        self._loads: set[asyncio.Task[None]] = set()
        # Blind mode: proposals the person decided whose critic verdict is still to be shown (id → their verdict).
        self._awaiting_reveal: dict[int, str] = {}
        # The last such reveal, as the status bar said it.
        self.revealed = ""

    def shown(self, proposal: ProposalRecord | None) -> None:
        """The review pane shows ``proposal`` now (None: nothing)."""
        # A plan or a delegation is not a change the judges can verify or criticise.
        if proposal is None or proposal.kind in ("plan", "delegate"):
            self.badge.show_judgment(None, None)
            return
        self.badge.show_judgment(proposal.id, self.judgments.get(proposal.id))
        self._load(proposal)

    def verify_shown(self) -> None:
        proposal = self.window.review_panel.proposal
        if proposal is not None and proposal.kind not in ("command", "plan", "delegate"):
            self.verifier.start(proposal)

    def _on_auto_approved(self, done: AutoApproved) -> None:
        # Never silently: the status bar says it (long enough to read), the queue marks the row, u takes it back.
        self.window.statusBar().showMessage(done.notice, 30_000)
        queue_view = getattr(self.window, "queue_view", None)
        if queue_view is not None:
            queue_view.mark_auto_approved(done.proposal_id, done.notice, done.decided_at)
        self.changed.emit(done.proposal_id)

    def after_decision(self, proposal_id: int, verdict: str) -> None:
        """The person decided: in blind mode, now is when the critic's verdict is shown (at once, or when it
        arrives), with whether they agreed."""
        self._awaiting_reveal[proposal_id] = verdict
        self._spawn_load(self._reveal(proposal_id))

    async def _reveal(self, proposal_id: int) -> None:
        settings = self.window.settings
        try:
            was_blind, judgment = await self.window.repository.read_beside(_blind_and_judged, proposal_id, settings)
        except Exception:
            log.exception("reading the critic's verdict failed")
            return
        critic = judgment.critic
        if not was_blind or proposal_id not in self._awaiting_reveal:
            self._awaiting_reveal.pop(proposal_id, None)
            return
        if critic is None or critic.status == "running":
            return  # shown when it arrives (changed → _on_changed)
        verdict = self._awaiting_reveal.pop(proposal_id)
        self.revealed = reveal_text(proposal_id, verdict, critic)
        self.window.statusBar().showMessage(self.revealed, 20_000)

    def _on_changed(self, proposal_id: int) -> None:
        if proposal_id in self._awaiting_reveal:
            self._spawn_load(self._reveal(proposal_id))
        proposal = self.window.review_panel.proposal
        if proposal is not None and proposal.id == proposal_id:
            self._load(proposal)

    def _load(self, proposal: ProposalRecord) -> None:
        self._spawn_load(self._read(proposal))

    def _spawn_load(self, coroutine) -> None:
        task = asyncio.get_event_loop().create_task(coroutine)
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _read(self, proposal: ProposalRecord) -> None:
        repository = self.window.repository
        try:
            results = await repository.read_beside(judged, [proposal], None, self.window.settings)
        except Exception:
            log.exception("reading the judges' results failed")
            return
        self.judgments[proposal.id] = results[proposal.id]
        # A late answer for a proposal no longer shown is kept but not drawn (stale results are dropped).
        if self.badge.proposal_id == proposal.id:
            self.badge.show_judgment(proposal.id, results[proposal.id])

    async def shutdown(self) -> None:
        await self.runner.shutdown()
        for task in list(self._loads):
            task.cancel()
        await asyncio.gather(*self._loads, return_exceptions=True)


def attach_judges(window: Any) -> JudgesController:
    """Place the badge under the review pane's subtitle, start the judges on every waiting proposal, bind `v`."""
    controller = JudgesController(window)
    panel = window.review_panel
    layout = panel.layout()
    layout.insertWidget(layout.indexOf(panel.subtitle) + 1, controller.badge)
    window.manager.add_listener(controller.runner)
    queue_view = getattr(window, "queue_view", None)
    if queue_view is not None:
        # The queue's Risk column keeps blind mode as the window's settings have it.
        queue_view.model.settings = lambda: window.settings

        def decided_in_queue(proposal_id: int) -> None:
            state = queue_view.model.local.get(proposal_id)
            controller.after_decision(proposal_id, state.verdict if state is not None and state.verdict else "approve")

        queue_view.decided.connect(decided_in_queue)
    shortcut = QShortcut(QKeySequence("V"), panel)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(controller.verify_shown)
    return controller
