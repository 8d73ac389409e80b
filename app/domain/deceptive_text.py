"""Finds characters that make text read differently from what it does: bidi controls (Trojan Source),
invisible characters and mixed-script identifiers. Pure stdlib computation; no Qt, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

BIDI_CONTROL = "bidi-control"
INVISIBLE = "invisible"
CONFUSABLE_IDENTIFIER = "confusable-identifier"


@dataclass(frozen=True, slots=True)
class Finding:
    # 1-based line (lines end at '\n') and 1-based column counted in code points.
    line: int
    column: int
    char: str
    # "U+202E"
    codepoint: str
    # Unicode name, or "<unassigned U+2065>" when the character has none.
    name: str
    # "bidi-control" | "invisible" | "confusable-identifier"
    category: str
    message: str


_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

_INVISIBLE_RANGES = (
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers: letters that render as nothing
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200d"  # zero width space, non-joiner, joiner
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2065"  # unassigned, in the invisible-operators block
    "\ufeff"  # zero width no-break space (a BOM only at the very start)
    "\ufe00-\ufe0f"  # variation selectors
    "\ufff9-\ufffb"  # interlinear annotation controls
    "\U0001d173-\U0001d17a"  # musical formatting controls
    "\U000e0000-\U000e007f"  # tag characters
    "\U000e0100-\U000e01ef"  # variation selectors supplement
)

_SUSPECT_CHAR_RE = re.compile(f"[{_BIDI_CONTROLS}{_INVISIBLE_RANGES}]")
# Identifier-like runs: letters, digits, underscore (digits and '_' belong to no script).
_WORD_RE = re.compile(r"\w+")
_WORD_CHAR_RE = re.compile(r"\w")
# Only words with a non-ASCII letter can mix scripts; finding those first skips the ASCII bulk of code.
_NON_ASCII_WORD_CHARS_RE = re.compile(r"[^\W\x00-\x7f]+")

_ZERO_WIDTH_JOINERS = "\u200c\u200d"
_EMOJI_VARIATION_SELECTORS = "\ufe0e\ufe0f"
_BLACK_FLAG = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"

# Scripts whose letters pass for Latin ones; mixing them with Latin in one word is the classic spoof.
_LATIN_LOOKALIKE_SCRIPTS = frozenset(
    {"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "FULLWIDTH", "MATHEMATICAL", "LETTERLIKE"}
)
# Chinese, Japanese and Korean text mixes these by design.
_HAN_FAMILY = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "KANGXI"})

_LATIN_LOOKALIKES = {
    "а": "a",
    "в": "B",
    "е": "e",
    "ё": "ë",
    "і": "i",
    "ї": "ï",
    "ј": "j",
    "к": "k",
    "м": "M",
    "н": "H",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "T",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "һ": "h",
    "А": "A",
    "В": "B",
    "Е": "E",
    "З": "3",
    "І": "I",
    "Ј": "J",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "У": "Y",
    "Х": "X",
    "Ѕ": "S",
    "Ԁ": "D",
    "Ү": "Y",
    "α": "a",
    "ε": "e",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "ո": "n",
    "ս": "u",
    "օ": "o",
    "ց": "g",
    "Օ": "O",
    "\u212a": "K",
    "\u212b": "Å",
}


def find_deceptive_characters(text: str) -> list[Finding]:
    """Every bidi control, invisible character and lookalike letter in a mixed-script word of ``text``.

    Findings are ordered by line, then column. Plain ASCII text returns at once.
    """
    if text.isascii():
        return []
    # (offset in text, category, message)
    raw_findings: list[tuple[int, str, str]] = []
    for match in _SUSPECT_CHAR_RE.finditer(text):
        position = match.start()
        char = text[position]
        if char in _BIDI_CONTROLS:
            raw_findings.append((position, BIDI_CONTROL, _bidi_message(char)))
        elif (char != "\ufeff" or position != 0) and not _is_legitimate_joiner(text, position):
            raw_findings.append((position, INVISIBLE, _invisible_message(char)))
    if _may_mix_scripts(text):
        harmless_words: set[str] = set()
        word_end = 0
        for match in _NON_ASCII_WORD_CHARS_RE.finditer(text):
            if match.start() < word_end:
                continue
            word_start = match.start()
            while word_start > 0 and _WORD_CHAR_RE.match(text[word_start - 1]):
                word_start -= 1
            word_match = _WORD_RE.match(text, word_start)
            assert word_match is not None  # the scan stopped on a word character
            word_end = word_match.end()
            word = text[word_start:word_end]
            if word in harmless_words:
                continue
            word_findings = _mixed_script_findings(word_start, word)
            if word_findings:
                raw_findings.extend(word_findings)
            else:
                harmless_words.add(word)
    raw_findings.sort(key=lambda item: item[0])

    findings: list[Finding] = []
    lineno, line_start, counted_to = 1, 0, 0
    for position, category, message in raw_findings:
        newlines = text.count("\n", counted_to, position)
        if newlines:
            lineno += newlines
            line_start = text.rindex("\n", counted_to, position) + 1
        counted_to = position
        char = text[position]
        findings.append(
            Finding(
                line=lineno,
                column=position - line_start + 1,
                char=char,
                codepoint=_codepoint(char),
                name=_char_name(char),
                category=category,
                message=message,
            )
        )
    return findings


def _may_mix_scripts(text: str) -> bool:
    """False when the scripts of all letters in the text together are a harmless mix, so no word can be."""
    scripts = {script for char in set(text) if not char.isascii() and (script := _script(char)) is not None}
    if not scripts:
        return False
    scripts.add("LATIN")
    return _is_suspicious_mix(scripts)


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def _char_name(char: str) -> str:
    return unicodedata.name(char, f"<unassigned {_codepoint(char)}>")


def _bidi_message(char: str) -> str:
    return (
        f"{_codepoint(char)} {_char_name(char)} is an invisible bidirectional control: it reorders how the "
        "text around it is displayed, so code can run differently from how it reads (Trojan Source, "
        "CVE-2021-42574)"
    )


def _invisible_message(char: str) -> str:
    return (
        f"{_codepoint(char)} {_char_name(char)} is invisible: it can make two different identifiers or "
        "strings look the same"
    )


def _is_legitimate_joiner(text: str, position: int) -> bool:
    """Emoji sequences and joining scripts use some invisible characters on purpose; don't cry wolf there."""
    char = text[position]
    before = text[position - 1] if position > 0 else ""
    after = text[position + 1] if position + 1 < len(text) else ""
    if char in _ZERO_WIDTH_JOINERS:
        if _is_emoji_part(before) and _is_pictographic(after):
            return char == "\u200d"
        # ZWJ/ZWNJ shape Arabic, Persian and Indic words; between two such letters they are spelling.
        return _is_joining_script_letter(before) and _is_joining_script_letter(after)
    if "\U000e0100" <= char <= "\U000e01ef":
        # Ideographic variation sequences pick a glyph variant of the Han character before them.
        return bool(before) and _script(before) == "HAN"
    if char in _EMOJI_VARIATION_SELECTORS:
        # Text or emoji presentation of the symbol or keycap digit right before it.
        return bool(before) and (_is_pictographic(before) or before in "0123456789#*")
    if "\U000e0020" <= char <= _CANCEL_TAG:
        # Subdivision flags: black flag, tag letters, cancel tag (England, Scotland, Wales).
        start = position
        while start > 0 and "\U000e0020" <= text[start - 1] <= _CANCEL_TAG:
            start -= 1
        end = position
        while end + 1 < len(text) and "\U000e0020" <= text[end + 1] <= _CANCEL_TAG:
            end += 1
        return start > 0 and text[start - 1] == _BLACK_FLAG and text[end] == _CANCEL_TAG
    return False


def _is_emoji_part(char: str) -> bool:
    return _is_pictographic(char) or char in _EMOJI_VARIATION_SELECTORS or char == "\u20e3"


def _is_pictographic(char: str) -> bool:
    if not char:
        return False
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2B00 <= code <= 0x2BFF
        or 0x2190 <= code <= 0x21FF
        or 0x2300 <= code <= 0x23FF
        or code in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D)
    )


def _is_joining_script_letter(char: str) -> bool:
    if not char or char.isascii():
        return False
    category = unicodedata.category(char)
    if category[0] == "L":
        script = _script(char)
    elif category in ("Mn", "Mc"):
        # A virama or vowel sign: its script is the first word of its name too.
        script = unicodedata.name(char, "COMBINING").split(" ")[0]
    else:
        return False
    return script not in (None, "COMBINING", "LATIN", "GREEK", "CYRILLIC")


@lru_cache(maxsize=8192)
def _script(char: str) -> str | None:
    """A script label from the character's Unicode name; None for characters that belong to no script."""
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    if unicodedata.category(char)[0] != "L":
        return None
    name = unicodedata.name(char, "")
    if not name:
        return None
    if 0x2100 <= ord(char) <= 0x214F:
        # Letterlike symbols (KELVIN SIGN, SCRIPT SMALL L) normalise to plain Latin letters.
        return "LETTERLIKE"
    words = name.split(" ")
    first = words[0]
    if first in ("FULLWIDTH", "HALFWIDTH") and len(words) > 1:
        if words[1] == "LATIN":
            return "FULLWIDTH"
        first = words[1]
    if first.split("-")[0] in _HAN_FAMILY:
        # Includes KATAKANA-HIRAGANA PROLONGED SOUND MARK and friends.
        return "HAN"
    if first == "MODIFIER":
        return None
    return first


def _mixed_script_findings(word_start: int, word: str) -> list[tuple[int, str, str]]:
    scripts = {script for char in set(word) if (script := _script(char)) is not None}
    if len(scripts) < 2 or not _is_suspicious_mix(scripts):
        return []
    scripts_by_position = [
        (offset, script) for offset, char in enumerate(word) if (script := _script(char)) is not None
    ]

    if "LATIN" in scripts:
        suspects = {script for script in scripts if script in _LATIN_LOOKALIKE_SCRIPTS}
        if not suspects:
            suspects = scripts - {"LATIN", "HAN"}
    else:
        counts: dict[str, int] = {}
        for _offset, script in scripts_by_position:
            counts[script] = counts.get(script, 0) + 1
        dominant = max(sorted(counts), key=counts.__getitem__)
        suspects = scripts - {dominant}

    mix = " and ".join(sorted(script.title() for script in scripts))
    findings = []
    for offset, script in scripts_by_position:
        if script not in suspects:
            continue
        char = word[offset]
        lookalike = _LATIN_LOOKALIKES.get(char) or unicodedata.normalize("NFKC", char)
        looks_like = f", which looks like Latin '{lookalike}'" if lookalike != char and lookalike.isascii() else ""
        message = (
            f"identifier '{word}' mixes {mix} letters: '{char}' is {_codepoint(char)} {_char_name(char)}{looks_like}"
        )
        findings.append((word_start + offset, CONFUSABLE_IDENTIFIER, message))
    return findings


def _is_suspicious_mix(scripts: set[str]) -> bool:
    # Latin with Chinese/Japanese/Korean, or Latin with one script that has no Latin lookalikes
    # (Arabic, Devanagari...), is ordinary naming; anything else in one word is a spoofing risk.
    others = scripts - {"LATIN"}
    if "LATIN" in scripts:
        if others <= {"HAN"}:
            return False
        if len(others) == 1 and not (others & _LATIN_LOOKALIKE_SCRIPTS):
            return False
        return True
    return len(scripts - {"HAN"}) >= 1 and len(scripts) >= 2
