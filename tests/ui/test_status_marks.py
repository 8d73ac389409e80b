"""The marks the sidebar and the agents table put before a state are drawn, not shown as empty boxes: each is in a
font this machine has (a fresh Debian 12 has the DejaVu fonts, which lack U+23F8 '⏸', seen as a box under Xvfb)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics

from app.ui.session_tree import STATE_MARKS
from app.ui.sessions_page import STATUS_MARKS


def drawn_by(mark: str) -> list[str]:
    return [
        family
        for family in QFontDatabase.families()
        if all(QFontMetrics(QFont(family)).inFontUcs4(ord(character)) for character in mark)
    ]


def test_every_status_mark_of_the_sidebar_and_the_agents_table_is_in_an_installed_font(qapp):
    missing = {
        state: mark for marks in (STATUS_MARKS, STATE_MARKS) for state, mark in marks.items() if not drawn_by(mark)
    }
    assert not missing, f"drawn as empty boxes: {missing}"
