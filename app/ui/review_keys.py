"""The review pane's keys as one data table: which key runs which action of ReviewPanel, with the words for it.

Read by ReviewPanel to install its shortcuts, and meant for a menu bar and a shortcut sheet later. No widgets here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyBinding:
    keys: tuple[str, ...]
    # The ReviewPanel method the keys run; ``argument`` is passed to it when set.
    action: str
    label: str
    argument: int | None = None


REVIEW_KEYS: tuple[KeyBinding, ...] = (
    KeyBinding(("A",), "approve", "Approve"),
    KeyBinding(("R",), "start_reject", "Reject with a reason"),
    KeyBinding(("E",), "start_edit", "Edit, then approve your version"),
    KeyBinding(("C",), "start_compare", "Compare alternatives"),
    KeyBinding(("Ctrl+Shift+A",), "always_allow", "Approve and always allow here"),
    *(
        KeyBinding((str(value),), "set_strength", f"Confidence {value} of 5 (again: clear)", value)
        for value in range(1, 6)
    ),
    KeyBinding(("Shift+A",), "approve_hunk", "Approve the current hunk"),
    KeyBinding(("Shift+R",), "start_reject_hunk", "Reject the current hunk with a reason"),
    KeyBinding(("Shift+E",), "start_edit_hunk", "Rewrite the current hunk"),
    KeyBinding(("Ctrl+Return", "Ctrl+Enter"), "_ctrl_enter", "Submit every hunk's verdict, or pick"),
)
