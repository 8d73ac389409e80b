"""The window's commands as one data table: menu, words, keys, tooltip, icon and the window method each runs.

The menu bar, the toolbar and the shortcut sheet are built from this table (with review_keys and the diff view's
VIEW_KEYS), so a key shown in one place is the key that works everywhere. No widgets here.
"""

from __future__ import annotations

from dataclasses import dataclass

MENUS = ("File", "Edit", "View", "Review", "Help")


@dataclass(frozen=True)
class WindowCommand:
    # The window attribute that holds the QAction is ``f"{name}_action"``.
    name: str
    menu: str
    label: str
    keys: tuple[str, ...]
    tip: str
    # The window's method, or a dotted path from the window ("team_mode.open_stats").
    slot: str
    # resources/icons/<icon>.svg
    icon: str | None = None
    toolbar: bool = False
    # Items of a menu are grouped; a new group starts after a separator.
    group: int = 0
    # The keys belong to a widget of the page (the queue's search, the diff's find): the menu names them, the window
    # does not take them (two owners of one key would make Qt ignore both as ambiguous).
    keys_owned_by_page: bool = False


WINDOW_COMMANDS: tuple[WindowCommand, ...] = (
    WindowCommand("new", "File", "New session", ("Ctrl+N",), "Start a new agent session", "show_composer", "new", True),
    WindowCommand(
        "demo",
        "File",
        "Demo",
        ("Ctrl+D",),
        "Run the offline demo on a fresh sample project",
        "start_demo",
        "demo",
        True,
    ),
    WindowCommand(
        "export",
        "File",
        "Export…",
        ("Ctrl+Shift+E",),
        "Write decisions as a training dataset",
        "open_export",
        "export",
        True,
        group=1,
    ),
    WindowCommand("close", "File", "Close window", ("Ctrl+W",), "Close the window", "close", group=2),
    WindowCommand("quit", "File", "Quit", ("Ctrl+Q",), "Quit Signoff", "quit", "quit", group=2),
    WindowCommand(
        "find",
        "Edit",
        "Find…",
        ("Ctrl+F",),
        "Search the queue, or find in the diff on screen",
        "find",
        "find",
        keys_owned_by_page=True,
    ),
    WindowCommand(
        "settings",
        "Edit",
        "Settings…",
        ("Ctrl+,",),
        "API key, model, reviewer, theme, database",
        "open_settings",
        "settings",
        True,
        group=1,
    ),
    WindowCommand(
        "policies",
        "Edit",
        "Policies…",
        ("Ctrl+Shift+P",),
        "What may run unasked in this workspace (allow / ask / deny)",
        "policies.open_dialog",
        "policy",
        group=1,
    ),
    WindowCommand(
        "review_rules",
        "Edit",
        "Review rules…",
        ("Ctrl+Shift+R",),
        "Which proposals of a workspace need two independent reviews, and who adjudicates",
        "review_rules.open_dialog",
        group=1,
    ),
    WindowCommand(
        "judges",
        "Edit",
        "Judges…",
        ("Ctrl+Shift+J",),
        "Verify command, blind mode and the critic's auto-approval of a workspace",
        "judges_settings.open_dialog",
        group=1,
    ),
    WindowCommand("queue", "View", "Queue", ("Ctrl+1",), "Every waiting proposal in one list", "show_queue", "queue"),
    WindowCommand(
        "sessions", "View", "Sessions", ("Ctrl+2",), "Sessions with their transcripts", "show_sessions", "sessions"
    ),
    WindowCommand(
        "next",
        "View",
        "Next waiting proposal",
        ("Ctrl+J",),
        "Show the next proposal waiting for you",
        "focus_review",
        "next",
    ),
    WindowCommand(
        "stats",
        "View",
        "Stats",
        ("Ctrl+Shift+S",),
        "Your verdicts over time, per kind and workspace; agreement between reviewers",
        "team_mode.open_stats",
        "stats",
        True,
        group=1,
    ),
    WindowCommand(
        "plan_demo",
        "File",
        "Plan demo",
        ("Ctrl+Shift+D",),
        "Run the offline plan-mode demo: a plan to approve or edit, then two coders",
        "start_plan_demo",
        "demo",
    ),
    WindowCommand(
        "stop_tree",
        "Review",
        "Stop tree",
        ("Ctrl+Shift+.",),
        "Stop the selected agent and every sub-agent under it",
        "session_tree.stop_tree",
        "stop",
        group=2,
    ),
    WindowCommand(
        "stop",
        "Review",
        "Stop session",
        ("Ctrl+.",),
        "Stop the selected session now",
        "stop_selected",
        "stop",
        True,
        group=2,
    ),
    WindowCommand(
        "resume",
        "Review",
        "Resume session",
        ("Ctrl+R",),
        "Continue an interrupted session",
        "resume_selected",
        "resume",
        True,
        group=2,
    ),
    WindowCommand(
        "propose_changeset",
        "Review",
        "Propose changeset",
        ("Ctrl+Shift+G",),
        "Changeset mode: the selected session proposes what it changed so far at its next step",
        "propose_changeset_selected",
        group=2,
    ),
    WindowCommand(
        "shortcuts", "Help", "Keyboard shortcuts", ("F1", "?"), "Every key, searchable", "show_shortcuts", "keyboard"
    ),
    WindowCommand("about", "Help", "About Signoff", (), "Version and where Signoff keeps its files", "show_about"),
)


def command(name: str) -> WindowCommand:
    return next(entry for entry in WINDOW_COMMANDS if entry.name == name)
