"""Light and dark colours for the diff view, picked from the system palette; colours only, no widgets or painting."""

from __future__ import annotations

from dataclasses import dataclass, field

from pygments.token import Comment, Error, Generic, Keyword, Literal, Name, Number, Operator, String, _TokenType
from PySide6.QtGui import QColor, QPalette

# Which pygments token types share a colour; subtypes not listed inherit from their nearest listed parent.
_ROLES: dict[str, tuple[_TokenType, ...]] = {
    "keyword": (Keyword, Keyword.Namespace, Operator.Word),
    "constant": (Keyword.Constant, Name.Builtin, Name.Builtin.Pseudo, Name.Constant, Number, Literal),
    "string": (String, String.Affix),
    "escape": (String.Escape, String.Interpol, String.Regex),
    "comment": (Comment, Comment.Hashbang),
    "preproc": (Comment.Preproc, Comment.PreprocFile),
    "function": (Name.Function, Name.Function.Magic, Name.Decorator),
    "type": (Name.Class, Name.Exception, Keyword.Type, Name.Variable, Name.Label),
    "tag": (Name.Tag, Generic.Heading, Generic.Subheading),
    "attribute": (Name.Attribute, Name.Property, Name.Entity),
    "operator": (Operator,),
    "error": (Error, Generic.Error),
    "inserted": (Generic.Inserted,),
    "deleted": (Generic.Deleted,),
}


def _syntax(colour_by_role: dict[str, str]) -> dict[_TokenType, QColor]:
    return {
        token_type: QColor(colour_by_role[role]) for role, token_types in _ROLES.items() for token_type in token_types
    }


@dataclass(frozen=True, slots=True)
class DiffPalette:
    name: str
    background: QColor
    foreground: QColor
    muted: QColor
    gutter_background: QColor
    gutter_foreground: QColor
    gutter_rule: QColor
    added_background: QColor
    added_gutter: QColor
    added_highlight: QColor
    added_sign: QColor
    removed_background: QColor
    removed_gutter: QColor
    removed_highlight: QColor
    removed_sign: QColor
    hunk_background: QColor
    hunk_foreground: QColor
    marker_background: QColor
    marker_foreground: QColor
    card_background: QColor
    card_border: QColor
    fold_background: QColor
    fold_foreground: QColor
    current_hunk: QColor
    search_match: QColor
    search_current: QColor
    whitespace_mark: QColor
    approve_badge: QColor
    reject_badge: QColor
    edit_badge: QColor
    badge_text: QColor
    syntax: dict[_TokenType, QColor]
    _resolved: dict[_TokenType, QColor | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_dark(self) -> bool:
        return self.background.lightness() < 128

    def token_colour(self, token_type: _TokenType) -> QColor | None:
        """The colour for a pygments token type, or None when it paints in the plain foreground."""
        try:
            return self._resolved[token_type]
        except KeyError:
            pass
        walker: _TokenType | None = token_type
        while walker is not None and walker not in self.syntax:
            walker = walker.parent
        colour = self.syntax[walker] if walker is not None else None
        self._resolved[token_type] = colour
        return colour


# GitHub's Primer colours: familiar to reviewers and tuned for contrast on the +/- backgrounds.
LIGHT = DiffPalette(
    name="light",
    background=QColor("#ffffff"),
    foreground=QColor("#1f2328"),
    muted=QColor("#59636e"),
    gutter_background=QColor("#f6f8fa"),
    gutter_foreground=QColor("#6e7781"),
    gutter_rule=QColor("#d1d9e0"),
    added_background=QColor("#e6ffec"),
    added_gutter=QColor("#ccffd8"),
    added_highlight=QColor("#abf2bc"),
    added_sign=QColor("#1a7f37"),
    removed_background=QColor("#ffebe9"),
    removed_gutter=QColor("#ffd7d5"),
    removed_highlight=QColor("#ffc1bd"),
    removed_sign=QColor("#cf222e"),
    hunk_background=QColor("#ddf4ff"),
    hunk_foreground=QColor("#3b5a78"),
    marker_background=QColor("#fff1c2"),
    marker_foreground=QColor("#6f5200"),
    card_background=QColor("#f6f8fa"),
    card_border=QColor("#d1d9e0"),
    fold_background=QColor("#f1f6fd"),
    fold_foreground=QColor("#3b5a78"),
    current_hunk=QColor("#0969da"),
    search_match=QColor("#fff8c5"),
    search_current=QColor("#ffb948"),
    whitespace_mark=QColor("#8c959f"),
    approve_badge=QColor("#1a7f37"),
    reject_badge=QColor("#cf222e"),
    edit_badge=QColor("#9a6700"),
    badge_text=QColor("#ffffff"),
    syntax=_syntax(
        {
            "keyword": "#cf222e",
            "constant": "#0550ae",
            "string": "#0a3069",
            "escape": "#116329",
            "comment": "#6e7781",
            "preproc": "#8250df",
            "function": "#8250df",
            "type": "#953800",
            "tag": "#116329",
            "attribute": "#0550ae",
            "operator": "#0550ae",
            "error": "#82071e",
            "inserted": "#116329",
            "deleted": "#82071e",
        }
    ),
)

DARK = DiffPalette(
    name="dark",
    background=QColor("#0d1117"),
    foreground=QColor("#e6edf3"),
    muted=QColor("#9198a1"),
    gutter_background=QColor("#151b23"),
    gutter_foreground=QColor("#848d97"),
    gutter_rule=QColor("#30363d"),
    added_background=QColor("#12261e"),
    added_gutter=QColor("#1b4428"),
    added_highlight=QColor("#1f6f37"),
    added_sign=QColor("#3fb950"),
    removed_background=QColor("#25171c"),
    removed_gutter=QColor("#542426"),
    removed_highlight=QColor("#8e2b2b"),
    removed_sign=QColor("#f85149"),
    hunk_background=QColor("#121d2f"),
    hunk_foreground=QColor("#9fb3cc"),
    marker_background=QColor("#3b2e0a"),
    marker_foreground=QColor("#e3b341"),
    card_background=QColor("#151b23"),
    card_border=QColor("#30363d"),
    fold_background=QColor("#161f2c"),
    fold_foreground=QColor("#9fb3cc"),
    current_hunk=QColor("#2f81f7"),
    search_match=QColor("#5a4a12"),
    search_current=QColor("#bb8009"),
    whitespace_mark=QColor("#6e7681"),
    approve_badge=QColor("#238636"),
    reject_badge=QColor("#da3633"),
    edit_badge=QColor("#9e6a03"),
    badge_text=QColor("#ffffff"),
    syntax=_syntax(
        {
            "keyword": "#ff7b72",
            "constant": "#79c0ff",
            "string": "#a5d6ff",
            "escape": "#7ee787",
            "comment": "#8b949e",
            "preproc": "#d2a8ff",
            "function": "#d2a8ff",
            "type": "#ffa657",
            "tag": "#7ee787",
            "attribute": "#79c0ff",
            "operator": "#79c0ff",
            "error": "#ffa198",
            "inserted": "#aff5b4",
            "deleted": "#ffdcd7",
        }
    ),
)


def palette_for(window_colour: QColor) -> DiffPalette:
    """Dark colours behind a dark window, light ones otherwise."""
    return DARK if window_colour.lightness() < 128 else LIGHT


def palette_from(qt_palette: QPalette) -> DiffPalette:
    return palette_for(qt_palette.color(QPalette.ColorRole.Window))


# Every token type a palette names, in a fixed order: the same list in every process, so a lexing child process and
# the UI can number them alike (syntax.token_id).
COLOUR_TYPES: tuple[_TokenType, ...] = tuple(
    sorted({token_type for token_types in _ROLES.values() for token_type in token_types}, key=str)
)

_colour_types: dict[_TokenType, _TokenType | None] = {}


def colour_type(token_type: _TokenType) -> _TokenType | None:
    """The nearest type at or above ``token_type`` that a palette colours (one of COLOUR_TYPES), or None when it
    paints in the plain foreground. Every palette colours a type as it colours this one. Safe in any thread."""
    try:
        return _colour_types[token_type]
    except KeyError:
        pass
    walker: _TokenType | None = token_type
    while walker is not None and walker not in LIGHT.syntax:
        walker = walker.parent
    _colour_types[token_type] = walker
    return walker


def has_colour(token_type: _TokenType) -> bool:
    """Whether any palette paints this token type in a colour of its own; safe to call from the lexing thread."""
    return colour_type(token_type) is not None
