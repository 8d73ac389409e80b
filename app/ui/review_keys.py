"""The keys of the review pane and the queue list as data tables: which key runs which action, with the words for it.

ReviewPanel installs its shortcuts from REVIEW_KEYS, the queue list its keys from QUEUE_KEYS; the menu bar, the
shortcut sheet, button tooltips and the queue's hint strip read the same tables. No widgets here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyBinding:
    keys: tuple[str, ...]
    # The ReviewPanel method the keys run (for QUEUE_KEYS: the queue command); ``argument`` is passed when set.
    action: str
    label: str
    argument: int | None = None
    # The queue's hint strip: short words, or "" to leave the key out of the strip (it is still on the sheet).
    hint: str = ""
    # resources/icons/<icon>.svg beside the entry in the Review menu.
    icon: str | None = None


REVIEW_KEYS: tuple[KeyBinding, ...] = (
    KeyBinding(("A",), "approve", "Approve", icon="approve"),
    KeyBinding(("R",), "start_reject", "Reject with a reason", icon="reject"),
    KeyBinding(("E",), "start_edit", "Edit, then approve your version", icon="edit"),
    KeyBinding(("C",), "start_compare", "Compare alternatives", icon="compare"),
    KeyBinding(("Ctrl+Shift+A",), "always_allow", "Always allow here: preview the rule, then add it and approve"),
    KeyBinding(("G",), "toggle_grant_git", "Commands: grant .git writes when approving (again: take back)"),
    KeyBinding(("Shift+N",), "toggle_grant_network", "Commands: grant network when approving (again: take back)"),
    *(
        KeyBinding((str(value),), "set_strength", f"Confidence {value} of 5 (again: clear)", value)
        for value in range(1, 6)
    ),
    KeyBinding(("Shift+A",), "approve_hunk", "Approve the current hunk"),
    KeyBinding(("Shift+R",), "start_reject_hunk", "Reject the current hunk with a reason"),
    KeyBinding(("Shift+E",), "start_edit_hunk", "Rewrite the current hunk"),
    KeyBinding(("Ctrl+Return", "Ctrl+Enter"), "_ctrl_enter", "Submit every hunk's verdict, or pick"),
    KeyBinding(("U", "Ctrl+Z"), "request_undo", "Undo your last decision while its undo window is open"),
)

# The queue list's single keys (QueueTable); Shift+J / Shift+K extend the selection.
QUEUE_KEYS: tuple[KeyBinding, ...] = (
    KeyBinding(("J",), "next", "Next item", hint="j/k move"),
    KeyBinding(("K",), "previous", "Previous item"),
    KeyBinding(("Return", "Enter"), "open", "Open the item in the review pane", hint="Enter opens"),
    KeyBinding(("A",), "approve", "Approve (several selected: all of them)", hint="a approve"),
    KeyBinding(("R",), "reject", "Reject with a reason (several selected: all of them)", hint="r reject"),
    KeyBinding(("E",), "edit", "Edit, then approve your version", hint="e edit"),
    KeyBinding(("C",), "compare", "Compare alternatives", hint="c compare"),
    KeyBinding(("Ctrl+Shift+A",), "always-allow", "Always allow here: preview the rule, then add it and approve"),
    KeyBinding(("S",), "skip", "Skip to the next waiting item", hint="s skip"),
    KeyBinding(("U", "Ctrl+Z"), "undo", "Take the last decision back", hint="u / Ctrl+Z undo"),
    KeyBinding(("O",), "order", "Riskiest first (again: oldest first)", hint="o riskiest first"),
    KeyBinding(("W",), "why", "Why the current item is risky", hint="w why risky"),
    KeyBinding(("Shift+J", "Shift+K"), "extend", "Select several", hint="Shift+j/k or Ctrl+A select several"),
    KeyBinding(("Ctrl+F",), "search", "Search the queue", hint="Ctrl+F search"),
)

QUEUE_HINT = " · ".join(binding.hint for binding in QUEUE_KEYS if binding.hint)


def binding_for(action: str, table: tuple[KeyBinding, ...] = REVIEW_KEYS) -> KeyBinding:
    return next(binding for binding in table if binding.action == action)


def tooltip(action: str) -> str:
    """A review button's tooltip: what it does and its key, from REVIEW_KEYS."""
    binding = binding_for(action)
    return f"{binding.label}  ({binding.keys[0]})"
