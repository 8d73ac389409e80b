"""Compare mode in the review pane: sample alternatives, show them side by side, pick one or reject all. A mixin of
ReviewPanel; it never imports the pane."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt

from app.services import compare
from app.services.endpoints import NoApiKeyError
from app.store.errors import StoreError


class ReviewCompare:
    """Alternatives for the shown proposal."""

    # -- compare mode --------------------------------------------------------------------------------------------------

    def start_compare(self) -> None:
        """C: ask how many alternatives to sample; while they are on screen, sample again."""
        if self.proposal is None or self._busy or self._sampling_for is not None:
            return
        if self.proposal.kind in ("plan", "delegate"):
            self.show_banner("A plan is revised by rejecting it with a reason, or edited (E); it has no alternatives.")
            return
        if self.proposal.kind == "changeset":
            self.show_banner("A changeset is a whole turn's work: it is not resampled; judge its hunks.", kind="info")
            return
        if not self.compare_enabled:
            self.show_banner(
                "Compare works on the Sessions page (Ctrl+2): press C there to sample alternatives.", kind="info"
            )
            return
        if not self.comparing:
            self._close_inputs(refocus=False)
        self.banner.hide()
        self.compare_bar.ask()

    def _sample(self, count: int) -> None:
        if self.proposal is None:
            return
        self._sampling_for = self.proposal.id
        self.compare_bar.sampling(count)
        (self.compare_view if self.comparing else self).setFocus(Qt.FocusReason.OtherFocusReason)
        self.compare_requested.emit(self.proposal.id, count)

    def _show_last(self) -> None:
        if self.proposal is None:
            return
        self._sampling_for = self.proposal.id
        self.last_compare_requested.emit(self.proposal.id)

    def _cancel_compare_bar(self) -> None:
        self.compare_bar.hide()
        if self.comparing:
            self.compare_view.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def shown_id(self) -> int | None:
        """The id of the proposal on screen: what a load's token must name for its answer to be shown."""
        return None if self.proposal is None else self.proposal.id

    def show_compare(self, record) -> None:
        """Show a compare's alternatives side by side (dropped if the pane moved on to another proposal)."""
        if self.proposal is None or record.proposal_id != self.proposal.id:
            return
        self._sampling_for = None
        self.compare_bar.hide()
        self._close_inputs(refocus=False)
        self.diff_view.hide()
        self.hunk_row.hide()
        self.hunk_list.hide()
        self.compare_view.show_compare(record)
        self.compare_view.show()
        self._show_compare_buttons(True)
        self.comparing_changed.emit(True)
        self.compare_view.setFocus(Qt.FocusReason.OtherFocusReason)

    def compare_failed(self, proposal_id: int, message: str) -> None:
        if self._sampling_for != proposal_id:
            return
        self._sampling_for = None
        self.compare_bar.hide()
        self.show_banner(message)

    async def sample_from(
        self, manager, proposal_id: int, count: int, requested_by: str, alive: Callable[[], bool] = lambda: True
    ) -> bool:
        """Sample ``count`` alternatives through the session manager and show them, or say why not (the owner's
        answer to compare_requested). ``alive`` is False once the owner is shutting down: nothing is shown then."""
        token = self.loads.issue("sample", proposal_id)
        try:
            record = await manager.compare(proposal_id, count, requested_by=requested_by)
        except (compare.CompareError, NoApiKeyError, StoreError, ValueError) as err:
            if alive():
                self.compare_failed(proposal_id, f"No alternatives: {err}")
            return False
        if not alive():
            return False
        if not self.loads.is_current(token, self.shown_id()):
            return True  # stored; the pane moved on to another proposal, so a late answer is not shown
        self.show_compare(record)
        return True

    async def show_last_from(self, repository, proposal_id: int, alive: Callable[[], bool] = lambda: True) -> None:
        """Show the alternatives sampled last time for ``proposal_id`` (the answer to last_compare_requested)."""
        token = self.loads.issue("last compare", proposal_id)
        try:
            record = await repository.read(lambda store: store.compares.latest(proposal_id))
        except StoreError as err:
            record, problem = None, str(err)
        else:
            problem = f"No alternatives were sampled for proposal #{proposal_id} yet: press C, then Enter."
        if not alive() or not self.loads.is_current(token, self.shown_id()):
            return
        if record is None:
            self.compare_failed(proposal_id, problem)
        else:
            self.show_compare(record)

    def _show_compare_buttons(self, comparing: bool) -> None:
        for button in (self.approve_button, self.reject_button, self.edit_button, self.always_allow_button):
            button.setVisible(not comparing)
        self.compare_button.setVisible(self.compare_enabled and not comparing)
        for button in self.compare_buttons:
            button.setVisible(comparing)

    def leave_compare(self) -> None:
        """Esc: back to the proposal alone (its alternatives stay stored)."""
        if not self.comparing:
            return
        self._leave_compare_quietly()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _leave_compare_quietly(self) -> None:
        self._sampling_for = None
        self.compare_bar.hide()
        was_comparing = self.comparing
        self.compare_view.hide()
        self.compare_view.record = None
        self.reason_box.hide()
        self.confirm_button.hide()
        self.cancel_button.hide()
        self._rejecting_all = False
        self._show_compare_buttons(False)
        if was_comparing:
            self.diff_view.show()
            self._show_hunk_state()
            self.comparing_changed.emit(False)

    def pick(self, position: int) -> None:
        """Enter: pick the chosen pane (the original, or an alternative that proposes a change)."""
        if not self.comparing or self._busy or self.proposal is None:
            return
        alternative = self.compare_view.record.alternatives[position]
        if position != 0 and not alternative.proposes_change:
            self.show_banner(
                f"{alternative.label} proposes no change, so there is nothing to apply: "
                "pick another, or R to reject all.",
                kind="info",
            )
            return
        self._request_pick(position, None)

    def start_reject_all(self) -> None:
        if not self.comparing or self._busy:
            return
        self.reason_box.clear()
        self.reason_box.setPlaceholderText(
            "Why reject every alternative? The agent revises from this. Enter submits, Esc cancels."
        )
        self.reason_box.show()
        self._input_mode("Reject all with this reason  [Enter]", "reject")
        self._rejecting_all = True
        self.reason_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _request_pick(self, position: int | None, reason: str | None) -> None:
        context = self._context()
        self.notice.hide()
        self.pick_requested.emit(
            compare.PickRequest(
                self.proposal.id,
                self.compare_view.record.id,
                position,
                "",
                reason=reason,
                time_on_screen_ms=context["time_on_screen_ms"],
                shown_at=context["shown_at"],
                strength=context["strength"],
            )
        )
