"""The window's menu bar (File, Edit, View, Review, Help) and toolbar, built from window_commands, review_keys and the
diff view's VIEW_KEYS. Review and diff entries run on the review pane of the page on screen; their single keys are
shown beside them (the pane owns those shortcuts, so the menu only names them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from app.ui.diff_search import VIEW_KEYS
from app.ui.review_keys import QUEUE_KEYS, REVIEW_KEYS
from app.ui.shortcut_sheet import key_text
from app.ui.theme import THEME_WORDS, THEMES, icon
from app.ui.window_commands import MENUS, WINDOW_COMMANDS


def _resolve(window: Any, path: str) -> Callable[..., Any]:
    target = window
    for part in path.split("."):
        target = getattr(target, part)
    return target


def _shown_only(label: str, keys: tuple[str, ...]) -> str:
    """A menu text that shows keys in the shortcut column without taking them (Qt reads the part after a tab)."""
    return f"{label}\t{', '.join(key_text(k) for k in keys)}" if keys else label


def _with_shifted(keys: tuple[str, ...]) -> list[str]:
    """A punctuation key like "?" arrives with Shift held on most layouts (Shift+/): take both."""
    taken = list(keys)
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            taken.append(f"Shift+{key}")
    return taken


class WindowMenus:
    """Owns the window's QActions: ``window.<name>_action`` for every WindowCommand."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.menus: dict[str, QMenu] = {}
        self.actions: dict[str, QAction] = {}
        self.theme_actions: dict[str, QAction] = {}
        # Review menu entries with an icon: (icon name, action).
        self.review_icons: list[tuple[str, QAction]] = []
        bar = window.menuBar()
        for title in MENUS:
            self.menus[title] = bar.addMenu(f"&{title}")
        self._window_actions()
        self._view_menu()
        self._review_menu()
        self.toolbar = self._toolbar()
        self.refresh_icons()

    def _window_actions(self) -> None:
        groups: dict[str, int] = {}
        for entry in WINDOW_COMMANDS:
            if entry.keys_owned_by_page:
                action = QAction(_shown_only(entry.label, entry.keys), self.window)
            else:
                action = QAction(entry.label, self.window)
                action.setShortcuts([QKeySequence(key) for key in _with_shifted(entry.keys)])
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setObjectName(f"{entry.name}Action")
            keys = ", ".join(key_text(key) for key in entry.keys)
            action.setToolTip(f"{entry.tip}  ({keys})" if keys else entry.tip)
            action.setStatusTip(entry.tip)
            action.triggered.connect(lambda _checked=False, path=entry.slot: _resolve(self.window, path)())
            menu = self.menus[entry.menu]
            if entry.menu in groups and groups[entry.menu] != entry.group:
                menu.addSeparator()
            groups[entry.menu] = entry.group
            menu.addAction(action)
            self.window.addAction(action)
            self.actions[entry.name] = action
            setattr(self.window, f"{entry.name}_action", action)

    def _view_menu(self) -> None:
        menu = self.menus["View"]
        menu.addSeparator()
        diff = menu.addMenu("Diff")
        seen: dict[str, list[str]] = {}
        for key in VIEW_KEYS:
            seen.setdefault(key.method, []).append(key.sequence)
        for key in VIEW_KEYS:
            if key.method not in seen:
                continue
            action = diff.addAction(_shown_only(key.help, tuple(seen.pop(key.method))))
            action.triggered.connect(lambda _checked=False, method=key.method: self._on_diff(method))
        themes = menu.addMenu("Theme")
        group = QActionGroup(themes)
        for theme in THEMES:
            action = themes.addAction(THEME_WORDS[theme])
            action.setCheckable(True)
            action.setChecked(theme == self.window.settings.theme)
            group.addAction(action)
            action.triggered.connect(lambda _checked=False, theme=theme: self.window.set_theme(theme))
            self.theme_actions[theme] = action

    def _review_menu(self) -> None:
        menu = self.menus["Review"]
        first = menu.actions()[0] if menu.actions() else None
        for binding in REVIEW_KEYS:
            action = QAction(_shown_only(binding.label, binding.keys), menu)
            action.triggered.connect(
                lambda _checked=False, binding=binding: self._on_panel(binding.action, binding.argument)
            )
            menu.insertAction(first, action)
            if binding.icon:
                self.review_icons.append((binding.icon, action))
        menu.insertSeparator(first)
        queue = QMenu("In the queue list", menu)
        for binding in QUEUE_KEYS:
            if binding.action in ("extend", "search", "approve", "reject", "edit", "compare"):
                continue  # the same as the pane's entries above, or a selection key
            action = queue.addAction(_shown_only(binding.label, binding.keys))
            action.triggered.connect(lambda _checked=False, name=binding.action: self._on_queue(name))
        menu.insertMenu(first, queue)
        menu.insertSeparator(first)

    def _toolbar(self) -> QToolBar:
        toolbar = QToolBar("Main", self.window)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for entry in WINDOW_COMMANDS:
            if entry.toolbar:
                toolbar.addAction(self.actions[entry.name])
        self.window.addToolBar(toolbar)
        return toolbar

    def refresh_icons(self) -> None:
        """Icons in the palette's text colour; called again when the theme changes."""
        palette = self.window.palette()
        for entry in WINDOW_COMMANDS:
            if entry.icon:
                self.actions[entry.name].setIcon(icon(entry.icon, palette))
        for name, action in self.review_icons:
            action.setIcon(icon(name, palette))

    def show_theme(self, theme: str) -> None:
        self.theme_actions[theme].setChecked(True)

    # -- what review and diff entries act on -------------------------------------------------------------------------

    def _on_panel(self, method: str, argument: int | None) -> None:
        panel = self.window.active_review_panel()
        action = getattr(panel, method)
        action() if argument is None else action(argument)

    def _on_diff(self, method: str) -> None:
        getattr(self.window.active_review_panel().diff_view, method)()

    def _on_queue(self, name: str) -> None:
        self.window.show_queue()
        self.window.queue_view.table.command.emit(name)
