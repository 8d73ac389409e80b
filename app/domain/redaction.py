"""Finds secrets (API keys, tokens, private keys, passwords in URLs, KEY=/TOKEN= assignments) in text and replaces
them with ``[REDACTED:<kind>]``, counting what it replaced. Pure text work: no files, no database, no Qt.
"""

from __future__ import annotations

import re
from typing import Any

# Order matters only where two patterns start at the same place; the earliest match in the text wins otherwise.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY-----"),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{10,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("url_password", r"(?P<url_head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@\"'<>]+:)(?P<url_secret>[^\s@/\"'<>]+)(?=@)"),
    (
        "assignment",
        r"(?P<assign_head>\b(?:[A-Z0-9_]*(?:TOKEN|_KEY|SECRET|PASSWORD|PASSWD)|aws_secret_access_key|password)"
        r"[ \t]*[=:][ \t]*[\"']?)(?P<assign_secret>(?![$<{\[])[^\s\"'`,;]{4,})",
    ),
)
_COMBINED = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS))
# Literal pieces at least one of which every pattern needs: one C-level scan clears most text (and whole serialised
# messages) without running the patterns.
_HINT_PATTERN = r"sk-|gh[pousr]_|github_pat_|AKIA|ASIA|PRIVATE KEY|://|TOKEN|_KEY|SECRET|PASSW|passw|aws_secret"
_HINT = re.compile(_HINT_PATTERN)
try:
    # RE2 matches the literals with a DFA: 4x faster than re over a session's transcript (an export scans them all).
    import re2 as _re2

    _FAST_HINT: Any = _re2.compile(_HINT_PATTERN)
except ImportError:  # pragma: no cover (google-re2 has wheels for every platform Signoff ships on)
    _FAST_HINT = _HINT
# Below this many characters re is faster: RE2's Python wrapper costs more per call than re's scan of a short text.
_FAST_FROM = 1000


def marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


class Redactor:
    """Replaces secrets and keeps count by kind across every call (one Redactor per export)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _replace(self, match: re.Match[str]) -> str:
        kind = match.lastgroup or "secret"
        # lastgroup names the innermost closed group for the two patterns that keep a head; map them back.
        if match.group("url_head") is not None:
            kind = "url_password"
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return match.group("url_head") + marker(kind)
        if match.group("assign_head") is not None:
            kind = "assignment"
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return match.group("assign_head") + marker(kind)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return marker(kind)

    @staticmethod
    def might_hold_secrets(text: str) -> bool:
        """False when ``text`` (e.g. a whole message as JSON) certainly holds nothing to redact."""
        if len(text) < _FAST_FROM:
            return _HINT.search(text) is not None
        return _FAST_HINT.search(text) is not None

    def text(self, value: str) -> str:
        if _HINT.search(value) is None:
            return value
        return _COMBINED.sub(self._replace, value)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted (dict keys are left alone)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Redact one text; returns it with the counts by kind."""
    redactor = Redactor()
    return redactor.text(text), redactor.counts
