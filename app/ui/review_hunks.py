"""Judging a file proposal hunk by hunk in the review pane: move between hunks, approve, reject or rewrite one,
submit all as one decision. A mixin of ReviewPanel; it never imports the pane."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt

from app.domain import hunks
from app.services import review
from app.ui.review_parts import (
    HUNK_MARKS,
    UNDECIDED_MARK,
    is_text,
)
from app.ui.theme import current_colours


class ReviewHunks:
    """Per-hunk verdicts of the shown proposal."""

    # -- hunk by hunk --------------------------------------------------------------------------------------------------

    @property
    def hunk_count(self) -> int:
        return len(self.diff.hunks) if self.diff is not None else 0

    @property
    def current_hunk(self) -> int:
        """The hunk the keys judge: the diff view's current hunk (n/p move it)."""
        index = self.diff_view.current_hunk
        return index if 0 <= index < self.hunk_count else 0

    def move_hunk(self, step: int) -> None:
        if self.diff is not None:
            self._go_to_hunk(self.current_hunk + step)

    def _go_to_hunk(self, index: int) -> None:
        self.diff_view.set_current_hunk(max(0, min(self.hunk_count - 1, index)))
        self._show_hunk_state()

    def _on_view_hunk_changed(self, _index: int) -> None:
        self._show_hunk_state()

    def _hunk_ready(self) -> bool:
        if not self._ready():
            return False
        if self.diff is None:
            self.show_banner(
                "This proposal can only be judged as a whole: A approves, R rejects, E edits.", kind="info"
            )
            return False
        return True

    def approve_hunk(self) -> None:
        if not self._hunk_ready():
            return
        self._judge_hunk(hunks.HunkVerdict(self.current_hunk, hunks.APPROVE))

    def start_reject_hunk(self) -> None:
        if self.comparing:
            self.start_reject_all()
            return
        if not self._hunk_ready():
            return
        index = self.current_hunk
        self._close_inputs(refocus=False)
        self._input_hunk = index
        earlier = self.hunk_verdicts.get(index)
        self.reason_box.setText((earlier.reason or "") if earlier and earlier.verdict == hunks.REJECT else "")
        self.reason_box.setPlaceholderText(
            f"Why reject hunk {index + 1} of {self.hunk_count}? Enter keeps the reason for this hunk, Esc cancels."
        )
        self.reason_box.show()
        self._input_mode(f"Reject hunk {index + 1}  [Enter]", "reject")
        self.reason_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def start_edit_hunk(self) -> None:
        if not self._hunk_ready():
            return
        index = self.current_hunk
        hunk = self.diff.hunks[index]
        if not all(is_text(line.raw) for line in hunk.lines):
            self.show_banner(
                f"Hunk {index + 1} holds bytes that are not UTF-8 text: approve or reject it instead.", kind="info"
            )
            return
        self._close_inputs(refocus=False)
        self._input_hunk = index
        earlier = self.hunk_verdicts.get(index)
        if earlier is not None and earlier.verdict == hunks.EDIT and earlier.edited is not None:
            text = earlier.edited.decode("utf-8").replace("\r\n", "\n")
            text = text[:-1] if text.endswith("\n") else text
        else:
            text = hunks.edit_text(hunk)
        self.edit_box.setPlainText(text)
        self.diff_view.hide()
        self.edit_box.show()
        self.edit_hint.setText(
            f"Editing {hunks.hunk_title(self.diff, index)}: these lines replace the hunk. "
            "Ctrl+Enter keeps your version for this hunk, Esc cancels."
        )
        self.edit_hint.show()
        self._input_mode(f"Use my version of hunk {index + 1}  [Ctrl+Enter]", "approve")
        self.edit_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _judge_hunk(self, verdict: hunks.HunkVerdict) -> None:
        self.hunk_verdicts[verdict.hunk] = verdict
        self.banner.hide()
        undecided_after = [i for i in range(verdict.hunk + 1, self.hunk_count) if i not in self.hunk_verdicts]
        if undecided_after:
            # Straight on to the next hunk that still needs a verdict, as a reviewer reads down the diff.
            self._go_to_hunk(undecided_after[0])
        else:
            self._show_hunk_state()

    def _ctrl_enter(self) -> None:
        if self.edit_box.isVisible():
            self._submit_edit()
        elif not self.reason_box.isVisible():
            self.submit_hunks()

    def submit_hunks(self) -> None:
        """Send every hunk's verdict as one decision; undecided hunks block it with a message saying which."""
        if not self._hunk_ready():
            return
        undecided = [i + 1 for i in range(self.hunk_count) if i not in self.hunk_verdicts]
        if undecided:
            listed = ", ".join(str(number) for number in undecided)
            plural = len(undecided) > 1
            self.show_banner(
                f"Hunk{'s' if plural else ''} {listed} of {self.hunk_count} "
                f"{'are' if plural else 'is'} still undecided: "
                "judge each hunk (Shift+A approve, Shift+R reject, Shift+E edit) before submitting — "
                "or judge the whole proposal with A / R / E.",
                kind="info",
            )
            self._go_to_hunk(undecided[0] - 1)
            return
        try:
            request = review.by_hunk(self.proposal.id, "", list(self.hunk_verdicts.values()), **self._context())
        except review.ReviewError as err:
            self.show_banner(str(err))
            return
        self._request(request)

    def hunk_marks(self) -> dict[int, str]:
        """Each judged hunk's verdict ("approve" / "reject" / "edit"), for the badges on the diff view's hunk
        headers."""
        return {index: verdict.verdict for index, verdict in self.hunk_verdicts.items()}

    def _show_hunk_state(self) -> None:
        splittable = self.diff is not None
        self.hunk_list.setVisible(splittable)
        self.hunk_row.setVisible(splittable and self.confirm_button.isHidden())
        self.diff_view.set_hunk_marks(self.hunk_marks() if splittable else {})
        if not splittable:
            self.hunk_list.clear()
            return
        current = self.current_hunk
        parts = []
        for index in range(self.hunk_count):
            verdict = self.hunk_verdicts.get(index)
            mark = HUNK_MARKS[verdict.verdict] if verdict else UNDECIDED_MARK
            text = f"Hunk {index + 1} {mark}"
            if verdict is not None and verdict.verdict == hunks.REJECT and verdict.reason:
                reason = verdict.reason if len(verdict.reason) <= 60 else verdict.reason[:59] + "…"
                text += f" ({reason})"
            text = html.escape(text)
            if verdict is not None:
                role = {hunks.APPROVE: "approve_text", hunks.REJECT: "reject", hunks.EDIT: "warning"}[verdict.verdict]
                colour = current_colours()[role]
                text = f'<span style="color:{colour}">{text}</span>'
            if index == current:
                text = f"<b>▸ {text}</b>"
            parts.append(text)
        decided = len(self.hunk_verdicts)
        if decided == self.hunk_count:
            progress = f"all {decided} judged: Ctrl+Enter submits"
        else:
            progress = f"{decided} of {self.hunk_count} judged; n / p move"
        muted = current_colours()["muted"]
        self.hunk_list.setText(" · ".join(parts) + f'<span style="color:{muted}">  —  {progress}</span>')
        self.hunk_position.setText(f"Hunk {current + 1} of {self.hunk_count}")
        self.hunk_list.setToolTip(hunks.hunk_title(self.diff, current))
        self.previous_hunk_button.setEnabled(not self._busy and current > 0)
        self.next_hunk_button.setEnabled(not self._busy and current < self.hunk_count - 1)
