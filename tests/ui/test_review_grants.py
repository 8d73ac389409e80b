"""Granting a command .git writes or network from the review pane: G and Shift+N toggle, shown for commands only, and
the approval carries what was granted; a held change of a command is titled by the command that made it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.records import ProposalRecord
from app.ui.review_panel import ReviewPanel


def proposal(pid: int, kind: str, **fields) -> ProposalRecord:
    now = dt.datetime.now(dt.UTC)
    base = ProposalRecord(
        id=pid,
        session_id=1,
        workspace_root="/ws",
        task="t",
        message_seq=1,
        tool_use_id=f"t{pid}",
        tool_name="x",
        tool_input={},
        kind=kind,
        path=None,
        command=None,
        cwd=".",
        base_hash=None,
        old_content=None,
        new_content=None,
        shown_text="",
        shown_hash="",
        lines_added=0,
        lines_removed=0,
        status="pending",
        result=None,
        created_at=now,
        decided_at=None,
    )
    return dataclasses.replace(base, **fields)


def test_g_and_shift_n_grant_a_command_git_writes_and_network_when_approving(qtbot, tmp_path):
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_proposal(proposal(7, "command", command="git commit -m done"))
    qtbot.waitExposed(panel)
    panel.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(panel.isActiveWindow)
    assert panel.grant_git_button.isVisible() and panel.grant_network_button.isVisible()
    QTest.keyClick(panel, Qt.Key.Key_G)
    QTest.keyClick(panel, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert panel.grant_git_button.isChecked() and panel.grant_network_button.isChecked()
    panel.grab().save(str(tmp_path / "grants.png"))
    with qtbot.waitSignal(panel.decision_requested) as sent:
        QTest.keyClick(panel, Qt.Key.Key_A)
    assert sent.args[0].grants == {"git_writes": True, "network": True}


def test_grants_are_off_for_each_new_command_and_absent_for_file_changes(qtbot):
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_proposal(proposal(7, "command", command="git commit"))
    panel.grant_git_button.setChecked(True)
    panel.show_proposal(proposal(8, "command", command="ls"))
    assert not panel.grant_git_button.isChecked()
    held = proposal(
        9,
        "effects",
        path=".git/config",
        old_content=None,
        new_content=b"[core]\n",
        tool_input={"command_proposal": 8, "effect": {"change": "created"}},
    )
    panel.show_proposal(held)
    assert not panel.grant_git_button.isVisible()
    assert panel.title.text() == "#9 · Held change of command #8: .git/config created"
    with qtbot.waitSignal(panel.decision_requested) as sent:
        panel.approve()
    assert sent.args[0].grants is None


def test_a_command_needs_no_wider_a_review_pane_than_a_file_edit_so_the_sidebar_stays_put(qtbot, tmp_path):
    # Under Xvfb at the default size the grant buttons in the verdict row made it wider than the pane: the splitter
    # took the width from the sidebar for every command and gave it back after, and the transcript rewrapped.
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.compare_enabled = True
    panel.compare_button.show()
    panel.resize(1000, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_proposal(proposal(8, "edit", path="greet.py", old_content=b"a\n", new_content=b"b\n"))
    panel.layout().activate()
    edit_width = panel.minimumSizeHint().width()
    panel.show_proposal(proposal(9, "command", command="python3 -m unittest -v"))
    panel.layout().activate()
    assert panel.grant_git_button.isVisible() and panel.grant_network_button.isVisible()
    panel.grab().save(str(tmp_path / "command-row.png"))
    assert panel.minimumSizeHint().width() <= edit_width
