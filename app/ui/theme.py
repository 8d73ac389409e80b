"""Light, dark or the system's colours for the whole window: the Qt palette, the stylesheet's colour variables and the
icons' stroke colour all come from here, so no widget carries a colour of its own.

The stylesheet (resources/themes/signoff.qss) names colours as ``@role@``; ``stylesheet`` fills them in.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from app.paths import resources_dir
from app.services.settings import THEMES
from app.ui.palette import DARK, LIGHT, DiffPalette, palette_from

THEME_WORDS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}

# The style the application had before any theme was applied: what "system" goes back to.
_system: dict[str, object] = {}


def _palette(colours: DiffPalette, window: str, button: str, highlight: str, link: str, mid: str) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    text = colours.foreground
    values = {
        role.Window: QColor(window),
        role.WindowText: text,
        role.Base: colours.background,
        role.AlternateBase: colours.gutter_background,
        role.ToolTipBase: colours.card_background,
        role.ToolTipText: text,
        role.PlaceholderText: colours.muted,
        role.Text: text,
        role.Button: QColor(button),
        role.ButtonText: text,
        role.BrightText: QColor("#ffffff"),
        role.Highlight: QColor(highlight),
        role.HighlightedText: QColor("#ffffff"),
        role.Link: QColor(link),
        role.LinkVisited: QColor(link),
        role.Mid: QColor(mid),
        role.Midlight: colours.gutter_rule,
        role.Light: QColor(button).lighter(120),
        role.Dark: QColor(mid).darker(130),
        role.Shadow: QColor("#000000"),
    }
    for colour_role, colour in values.items():
        palette.setColor(colour_role, colour)
    for colour_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, colour_role, colours.whitespace_mark)
    return palette


def theme_palette(theme: str) -> QPalette | None:
    """The Qt palette of a theme; None for "system" (the platform's own)."""
    if theme == "dark":
        return _palette(DARK, "#161b22", "#21262d", "#1f6feb", "#4493f8", "#3d444d")
    if theme == "light":
        return _palette(LIGHT, "#f6f8fa", "#f6f8fa", "#0969da", "#0969da", "#d1d9e0")
    return None


def ui_colours(palette: QPalette) -> dict[str, str]:
    """Colour roles the stylesheet and the transcript use, for light or dark by the palette's window colour."""
    colours = palette_from(palette)
    dark = colours.is_dark
    return {
        "text": palette.color(QPalette.ColorRole.WindowText).name(),
        "disabled": palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).name(),
        "muted": colours.muted.name(),
        "link": palette.color(QPalette.ColorRole.Link).name(),
        "approve": colours.approve_badge.name(),
        # Text that says "approved": readable on the window's own background.
        "approve_text": colours.added_sign.name(),
        "approve_border": colours.added_sign.name() if dark else "#1a7f37",
        "on_accent": colours.badge_text.name(),
        # Text that says "reject" or "error": readable on the window's own background.
        "reject": colours.removed_sign.name(),
        "reject_fill": colours.reject_badge.name(),
        "warning": "#d29922" if dark else "#9a6700",
        "deceptive": "#db6d28" if dark else "#bc4c00",
        "selected": colours.current_hunk.name(),
        "warning_tint": _tint("#d29922", 0.15),
        "reject_tint": _tint(colours.removed_sign.name(), 0.14),
        "deceptive_tint": _tint("#db6d28" if dark else "#bc4c00", 0.14),
        "selected_tint": _tint(colours.current_hunk.name(), 0.08),
    }


def _tint(colour: str, alpha: float) -> str:
    value = QColor(colour)
    return f"rgba({value.red()}, {value.green()}, {value.blue()}, {alpha})"


def current_colours() -> dict[str, str]:
    """ui_colours of the application's palette now, cached until the palette changes."""
    palette = QApplication.palette()
    key = palette.cacheKey()
    if _current.get("key") != key:
        _current["key"] = key
        _current["colours"] = ui_colours(palette)
    return _current["colours"]  # type: ignore[return-value]


_current: dict[str, object] = {}


def stylesheet(palette: QPalette) -> str:
    text = (resources_dir() / "themes" / "signoff.qss").read_text(encoding="utf-8")
    for role, colour in ui_colours(palette).items():
        text = text.replace(f"@{role}@", colour)
    return text


def apply_theme(app: QApplication, theme: str) -> None:
    """Switch the running application to a theme at once: palette, style, stylesheet (icons follow the palette)."""
    if not _system:
        _system["style"] = app.style().name()
    chosen = theme_palette(theme if theme in THEMES else "system")
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "setColorScheme"):
        scheme = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}.get(theme, Qt.ColorScheme.Unknown)
        hints.setColorScheme(scheme)
    # Fusion draws every control from the palette; some platform styles ignore parts of it. (app.style() is a
    # stylesheet proxy once a stylesheet is set, so the style in use is remembered here, not asked of it.)
    style = str(_system["style"]) if chosen is None else "fusion"
    if _system.get("applied_style", _system["style"]) != style:
        app.setStyle(style)
        _system["applied_style"] = style
    # An empty palette is the platform's own, which keeps following the system's light or dark.
    app.setPalette(chosen if chosen is not None else QPalette())
    app.setStyleSheet(stylesheet(app.palette()))


def icon(name: str, palette: QPalette) -> QIcon:
    """An icon from resources/icons/<name>.svg, stroked in the palette's text colour (greyed when disabled)."""
    source = (resources_dir() / "icons" / f"{name}.svg").read_text(encoding="utf-8")
    result = QIcon()
    for mode, group in (
        (QIcon.Mode.Normal, QPalette.ColorGroup.Active),
        (QIcon.Mode.Disabled, QPalette.ColorGroup.Disabled),
    ):
        colour = palette.color(group, QPalette.ColorRole.ButtonText)
        renderer = QSvgRenderer(QByteArray(source.replace("currentColor", colour.name()).encode("utf-8")))
        for size in (16, 24, 32, 48):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, QRectF(0, 0, size, size))
            painter.end()
            result.addPixmap(pixmap, mode)
    return result
