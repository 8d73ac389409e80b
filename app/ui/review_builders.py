"""The review pane's widgets and layout, built once: labels, views, inputs, verdict buttons, the hunk row, and the
keys from review_keys. A mixin of ReviewPanel; it never imports the pane."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.ui.compare_view import CompareBar, CompareView
from app.ui.diff_view import DiffView
from app.ui.edit_view import CodeEditor
from app.ui.policy_dialog import RuleSuggestionBar
from app.ui.review_keys import REVIEW_KEYS, tooltip
from app.ui.review_parts import (
    ElidedLabel,
    ReasonBox,
)


class ReviewPanelBuilders:
    """Builds what ReviewPanel shows."""

    def _build_labels(self) -> None:
        """The title, subtitle, banners, hunk list and notice above the diff."""
        self.title = QLabel("Nothing waiting for a decision.")
        self.title.setObjectName("proposalTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = ElidedLabel("")
        self.subtitle.setObjectName("proposalSubtitle")
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.deceptive_banner = QLabel("")
        self.deceptive_banner.setObjectName("deceptiveBanner")
        self.deceptive_banner.setWordWrap(True)
        self.deceptive_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.deceptive_banner.hide()
        # An external agent's proposal: what its protocol cannot carry, said before the person decides.
        self.protocol_banner = QLabel("")
        self.protocol_banner.setObjectName("protocolBanner")
        self.protocol_banner.setWordWrap(True)
        self.protocol_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.protocol_banner.hide()
        self.hunk_list = QLabel("")
        self.hunk_list.setObjectName("hunkList")
        self.hunk_list.setWordWrap(True)
        self.hunk_list.setTextFormat(Qt.TextFormat.RichText)
        self.hunk_list.hide()
        self.undo_strip = QLabel("")
        self.undo_strip.setObjectName("undoCountdown")
        self.undo_strip.setStyleSheet("padding: 4px 6px; border-radius: 3px; background: palette(alternate-base);")
        self.undo_strip.hide()
        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()

    def _build_views(self) -> None:
        """The diff, the compare bar and the side-by-side compare view."""
        self.diff_view = DiffView(self)
        self.diff_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.diff_view.setFocusProxy(None)
        # A plan (or a delegation) shown as rendered Markdown: its numbered steps, details, files and open questions.
        self.plan_view = QTextBrowser(self)
        self.plan_view.setObjectName("planView")
        self.plan_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.plan_view.setOpenLinks(False)
        self.plan_view.hide()

        self.compare_bar = CompareBar()
        self.compare_bar.hide()
        self.compare_bar.sample_requested.connect(self._sample)
        self.compare_bar.cancelled.connect(self._cancel_compare_bar)
        self.compare_bar.last_requested.connect(self._show_last)
        self.compare_view = CompareView()
        self.compare_view.hide()
        self.compare_view.pick_requested.connect(self.pick)
        self.compare_view.closed.connect(self.leave_compare)
        # The compare on screen, and whether the reason box is for rejecting all of its alternatives.
        self._rejecting_all = False
        # The proposal whose alternatives are being sampled now (a late answer for another one is dropped).
        self._sampling_for: int | None = None
        # Set by an owner that handles compare_requested and pick_requested (the main window); else C only explains.
        self.compare_enabled = False

    def _build_inputs(self) -> None:
        """The reason box and the edit box (shown while a reason or an edit is typed)."""
        self.reason_box = ReasonBox()
        self.reason_box.setPlaceholderText("Why reject? The agent revises from this. Enter submits, Esc cancels.")
        self.reason_box.hide()
        self.reason_box.returnPressed.connect(self._submit_reject)
        self.reason_box.cancelled.connect(self._close_inputs)

        # Line numbers, the diff's colours, and a live diff of the edit against the proposal (app.ui.edit_view).
        self.edit_box = CodeEditor(self._edit_path)
        self.edit_box.hide()
        self.edit_box.submitted.connect(self._submit_edit)
        self.edit_box.cancelled.connect(self._close_inputs)
        self.edit_hint = QLabel("Editing: Ctrl+Enter approves your version, Esc cancels.")
        self.edit_hint.setObjectName("editHint")
        self.edit_hint.hide()

    def _edit_path(self) -> str:
        """The name the editor's lexer goes by: the proposal's file, or a shell script for a command."""
        proposal = self.proposal
        if proposal is None:
            return "text"
        return "command.sh" if proposal.kind == "command" else (proposal.path or "text")

    def _build_verdict_buttons(self) -> None:
        """Approve / Reject / Edit, Always allow, Compare, the compare-mode buttons, Confirm and Cancel."""
        self.approve_button = QPushButton("Approve  [A]")
        self.approve_button.setObjectName("approveButton")
        self.reject_button = QPushButton("Reject…  [R]")
        self.reject_button.setObjectName("rejectButton")
        self.edit_button = QPushButton("Edit…  [E]")
        self.edit_button.setObjectName("editButton")
        self.approve_button.setToolTip(tooltip("approve"))
        self.reject_button.setToolTip(tooltip("start_reject"))
        self.edit_button.setToolTip(tooltip("start_edit"))
        self.approve_button.clicked.connect(self.approve)
        self.reject_button.clicked.connect(self.start_reject)
        self.edit_button.clicked.connect(self.start_edit)
        self.always_allow_button = QPushButton("Always allow…  [Ctrl+⇧A]")
        self.always_allow_button.setObjectName("alwaysAllowButton")
        self.always_allow_button.setToolTip(
            "Preview a rule for this workspace's policy (and the past proposals it would have matched); "
            "add it and approve, so the same action runs unasked from then on  (Ctrl+Shift+A)"
        )
        self.always_allow_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.always_allow_button.clicked.connect(self.always_allow)
        self.compare_button = QPushButton("Compare…  [C]")
        self.compare_button.setObjectName("compareButton")
        self.compare_button.setToolTip("Sample 2-4 alternatives for this step and pick the best side by side  (C)")
        self.compare_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.compare_button.clicked.connect(self.start_compare)
        self.compare_button.hide()
        self.pick_button = QPushButton("Pick  [Enter]")
        self.pick_button.setObjectName("pickButton")
        self.reject_all_button = QPushButton("Reject all…  [R]")
        self.reject_all_button.setObjectName("rejectAllButton")
        self.leave_compare_button = QPushButton("Back  [Esc]")
        self.leave_compare_button.setObjectName("leaveCompareButton")
        self.pick_button.setToolTip("Pick the selected alternative: the agent goes on with it  (Enter)")
        self.reject_all_button.setToolTip("Reject every alternative with one reason  (R)")
        self.leave_compare_button.setToolTip("Back to the proposal  (Esc)")
        self.pick_button.clicked.connect(lambda: self.pick(self.compare_view.selected))
        self.reject_all_button.clicked.connect(self.start_reject_all)
        self.leave_compare_button.clicked.connect(self.leave_compare)
        self.compare_buttons = (self.pick_button, self.reject_all_button, self.leave_compare_button)
        for button in self.compare_buttons:
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.hide()
        self.rule_suggestion = RuleSuggestionBar(self)
        # Commands only: what approving grants the sandboxed command (off unless the reviewer turns it on).
        self.grant_git_button = QPushButton(".git writes  [G]")
        self.grant_git_button.setObjectName("grantGitButton")
        self.grant_git_button.setToolTip(
            "Approving lets the command write .git/ (e.g. git commit); read-only otherwise"
        )
        self.grant_network_button = QPushButton("Network  [⇧N]")
        self.grant_network_button.setObjectName("grantNetworkButton")
        self.grant_network_button.setToolTip("Approving lets the command reach the network; it has none otherwise")
        for button in (self.grant_git_button, self.grant_network_button):
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # A row of their own under the verdicts: in the verdict row they made a command's pane wider than the window
        # gives it at its default size, so the sidebar shrank for every command and the transcript rewrapped.
        self.grant_row = QWidget()
        self.grant_row.setObjectName("grantRow")
        grants = QHBoxLayout(self.grant_row)
        grants.setContentsMargins(0, 0, 0, 0)
        grants.addWidget(QLabel("Approving also lets this command:"))
        grants.addWidget(self.grant_git_button)
        grants.addWidget(self.grant_network_button)
        grants.addStretch(1)
        self.grant_row.hide()

        # Shown instead of the three verdicts while a reason or an edit is being typed.
        self.confirm_button = QPushButton("")
        self.confirm_button.setObjectName("confirmButton")
        self.confirm_button.clicked.connect(self._confirm)
        self.cancel_button = QPushButton("Cancel  [Esc]")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Close the reason or the editor; nothing is decided  (Esc)")
        self.confirm_button.setToolTip(
            "Send the reason or your version  (Enter in the reason box, Ctrl+Enter in the editor)"
        )
        self.cancel_button.clicked.connect(self._close_inputs)
        for button in (
            self.approve_button,
            self.reject_button,
            self.edit_button,
            self.confirm_button,
            self.cancel_button,
        ):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.confirm_button.hide()
        self.cancel_button.hide()

    def _one_height(self, *buttons: QPushButton) -> None:
        """Buttons of one row take the row's height, whatever their text, padding or style."""
        for button in buttons:
            policy = button.sizePolicy()
            policy.setVerticalPolicy(QSizePolicy.Policy.Preferred)
            button.setSizePolicy(policy)

    def _build_hunk_row(self) -> None:
        """The per-hunk row: move between hunks, judge one, submit all."""
        self.previous_hunk_button = QPushButton("◀")
        self.previous_hunk_button.setToolTip("Previous hunk  [P]")
        self.next_hunk_button = QPushButton("▶")
        self.next_hunk_button.setToolTip("Next hunk  [N]")
        self.previous_hunk_button.setObjectName("previousHunkButton")
        self.next_hunk_button.setObjectName("nextHunkButton")
        self.hunk_position = QLabel("")
        self.hunk_position.setObjectName("hunkPosition")
        for arrow in (self.previous_hunk_button, self.next_hunk_button):
            arrow.setFixedWidth(34)
        self.approve_hunk_button = QPushButton("Approve hunk  [⇧A]")
        self.approve_hunk_button.setObjectName("approveHunkButton")
        self.reject_hunk_button = QPushButton("Reject hunk…  [⇧R]")
        self.reject_hunk_button.setObjectName("rejectHunkButton")
        self.edit_hunk_button = QPushButton("Edit hunk…  [⇧E]")
        self.edit_hunk_button.setObjectName("editHunkButton")
        self.submit_hunks_button = QPushButton("Submit hunks  [Ctrl+Enter]")
        self.submit_hunks_button.setObjectName("submitHunksButton")
        self.approve_hunk_button.setToolTip(tooltip("approve_hunk"))
        self.reject_hunk_button.setToolTip(tooltip("start_reject_hunk"))
        self.edit_hunk_button.setToolTip(tooltip("start_edit_hunk"))
        self.submit_hunks_button.setToolTip(tooltip("_ctrl_enter"))
        self.previous_hunk_button.clicked.connect(lambda: self.move_hunk(-1))
        self.next_hunk_button.clicked.connect(lambda: self.move_hunk(1))
        self.approve_hunk_button.clicked.connect(self.approve_hunk)
        self.reject_hunk_button.clicked.connect(self.start_reject_hunk)
        self.edit_hunk_button.clicked.connect(self.start_edit_hunk)
        self.submit_hunks_button.clicked.connect(self.submit_hunks)
        self.hunk_buttons = (
            self.previous_hunk_button,
            self.next_hunk_button,
            self.approve_hunk_button,
            self.reject_hunk_button,
            self.edit_hunk_button,
            self.submit_hunks_button,
        )
        for button in self.hunk_buttons:
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hunk_row = QWidget()
        hunk_layout = QHBoxLayout(self.hunk_row)
        hunk_layout.setContentsMargins(0, 0, 0, 0)
        hunk_layout.addWidget(self.previous_hunk_button)
        hunk_layout.addWidget(self.hunk_position)
        hunk_layout.addWidget(self.next_hunk_button)
        hunk_layout.addSpacing(8)
        for button in self.hunk_buttons[2:]:
            hunk_layout.addWidget(button)
        hunk_layout.addStretch(1)
        self._one_height(*self.hunk_buttons)
        self.hunk_row.hide()

    def _build_layout(self) -> None:
        """The strength label and the layout of everything built above."""
        # The reviewer's optional 1-5 confidence in the next decision (keys 1..5; the same key again clears it).
        self.strength: int | None = None
        self.strength_label = QLabel("")
        self.strength_label.setObjectName("strengthLabel")
        self.strength_label.setToolTip(
            "How sure are you? Press 1 (weak) to 5 (strong) before deciding; again to clear."
        )

        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.always_allow_button)
        buttons.addWidget(self.compare_button)
        for button in self.compare_buttons:
            buttons.addWidget(button)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.strength_label)
        self._one_height(
            self.approve_button,
            self.reject_button,
            self.edit_button,
            self.always_allow_button,
            self.compare_button,
            *self.compare_buttons,
            self.confirm_button,
            self.cancel_button,
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addWidget(self.undo_strip)
        layout.addWidget(self.title)
        layout.addWidget(self.hunk_list)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.notice)
        layout.addWidget(self.banner)
        layout.addWidget(self.deceptive_banner)
        layout.addWidget(self.protocol_banner)
        layout.addWidget(self.diff_view, 1)
        layout.addWidget(self.plan_view, 1)
        layout.addWidget(self.compare_view, 1)
        layout.addWidget(self.compare_bar)
        layout.addWidget(self.edit_hint)
        layout.addWidget(self.edit_box, 3)
        layout.addWidget(self.edit_box.live_diff, 2)
        layout.addWidget(self.reason_box)
        layout.addLayout(buttons)
        layout.addWidget(self.grant_row)
        layout.addWidget(self.rule_suggestion)
        layout.addWidget(self.hunk_row)

    def _install_keys(self) -> None:
        """Single keys from REVIEW_KEYS, live while the pane (or a child) has focus; text boxes swallow printable keys
        first."""
        for binding in REVIEW_KEYS:
            action = getattr(self, binding.action)
            slot = action if binding.argument is None else (lambda action=action, value=binding.argument: action(value))
            for key in binding.keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
