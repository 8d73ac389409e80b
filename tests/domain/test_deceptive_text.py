"""Tests for find_deceptive_characters: Trojan Source bidi controls, invisible characters, mixed-script words,
and clean ASCII / CJK / emoji text that must stay quiet."""

from __future__ import annotations

import time

from app.domain.deceptive_text import (
    BIDI_CONTROL,
    CONFUSABLE_IDENTIFIER,
    INVISIBLE,
    Finding,
    find_deceptive_characters,
)

# The "commenting-out" example of the Trojan Source paper (CVE-2021-42574): it reads as a comment but the
# RLO/LRI/PDI controls make the `return` real code.
TROJAN_SOURCE_COMMENTING_OUT = (
    "def is_admin(user):\n"
    "    access = 'user'\n"
    "    if access != 'user\u202e \u2066# Check if admin\u2069 \u2066':  # Check if admin\n"
    "        return True\n"
    "    return False\n"
)

# The "stretched string" example: the early return hides inside what looks like a string literal.
TROJAN_SOURCE_STRETCHED_STRING = 'access_level = "user\u202e \u2066// Check if admin\u2069 \u2066"\n'


def summary(findings: list[Finding]) -> list[tuple[int, int, str, str]]:
    return [(finding.line, finding.column, finding.codepoint, finding.category) for finding in findings]


def test_trojan_source_commenting_out_reports_every_bidi_control_with_its_position():
    findings = find_deceptive_characters(TROJAN_SOURCE_COMMENTING_OUT)

    line = TROJAN_SOURCE_COMMENTING_OUT.split("\n")[2]
    expected = [
        (3, line.index(char) + 1, f"U+{ord(char):04X}", BIDI_CONTROL) for char in ("\u202e", "\u2066", "\u2069")
    ]
    expected.append((3, line.rindex("\u2066") + 1, "U+2066", BIDI_CONTROL))
    assert summary(findings) == sorted(expected, key=lambda item: item[1])
    override = findings[0]
    assert override.char == "\u202e"
    assert override.name == "RIGHT-TO-LEFT OVERRIDE"
    assert "CVE-2021-42574" in override.message
    assert "U+202E" in override.message


def test_trojan_source_stretched_string_is_caught_on_the_first_line():
    findings = find_deceptive_characters(TROJAN_SOURCE_STRETCHED_STRING)

    assert [finding.codepoint for finding in findings] == ["U+202E", "U+2066", "U+2069", "U+2066"]
    assert {finding.line for finding in findings} == {1}
    assert {finding.category for finding in findings} == {BIDI_CONTROL}


def test_directional_marks_and_the_arabic_letter_mark_count_as_bidi_controls():
    text = "a\u200eb\u200fc\u061cd"
    assert [(finding.codepoint, finding.category) for finding in find_deceptive_characters(text)] == [
        ("U+200E", BIDI_CONTROL),
        ("U+200F", BIDI_CONTROL),
        ("U+061C", BIDI_CONTROL),
    ]


def test_zero_width_space_inside_an_identifier_is_reported_as_invisible():
    findings = find_deceptive_characters("user\u200bname = 1\n")

    assert summary(findings) == [(1, 5, "U+200B", INVISIBLE)]
    assert findings[0].name == "ZERO WIDTH SPACE"
    assert "invisible" in findings[0].message


def test_every_kind_of_invisible_character_is_reported():
    invisible = [
        "\u200b", "\u200c", "\u200d", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\u00ad",
        "\ufe0f", "\ufe00", "\U000e0041", "\U000e0001", "\u3164", "\u115f", "\u1160", "\uffa0", "\u180e",
        "\u034f", "\U000e0100",
    ]  # fmt: skip
    for char in invisible:
        findings = find_deceptive_characters(f"x = 'a{char}b'")
        assert summary(findings) == [(1, 7, f"U+{ord(char):04X}", INVISIBLE)], repr(char)


def test_hangul_filler_used_as_a_variable_name_is_reported():
    # The "invisible backdoor": U+3164 is a letter, so it is a valid identifier that renders as nothing.
    text = "const { timeout, \u3164} = req.query;\nexec(\u3164);\n"
    findings = find_deceptive_characters(text)

    assert summary(findings) == [(1, 18, "U+3164", INVISIBLE), (2, 6, "U+3164", INVISIBLE)]
    assert findings[0].name == "HANGUL FILLER"


def test_byte_order_mark_is_fine_at_the_start_of_the_file_but_not_later():
    assert find_deceptive_characters("\ufeffimport os\n") == []
    assert summary(find_deceptive_characters("import os\n\ufeffimport sys\n")) == [(2, 1, "U+FEFF", INVISIBLE)]
    assert summary(find_deceptive_characters("a\ufeffb")) == [(1, 2, "U+FEFF", INVISIBLE)]


def test_cyrillic_a_inside_a_latin_identifier_is_a_confusable():
    findings = find_deceptive_characters("def check_pаssword(pw):\n    pass\n")

    assert summary(findings) == [(1, 12, "U+0430", CONFUSABLE_IDENTIFIER)]
    finding = findings[0]
    assert finding.char == "\u0430"
    assert finding.name == "CYRILLIC SMALL LETTER A"
    assert "check_pаssword" in finding.message
    assert "Cyrillic" in finding.message and "Latin" in finding.message
    assert "looks like Latin 'a'" in finding.message


def test_greek_omicron_mixed_into_a_latin_word_is_a_confusable():
    findings = find_deceptive_characters("if is_r\u03bfot:\n")
    assert summary(findings) == [(1, 8, "U+03BF", CONFUSABLE_IDENTIFIER)]
    assert "looks like Latin 'o'" in findings[0].message


def test_fullwidth_and_letterlike_lookalikes_mixed_with_latin_are_confusables():
    # Python normalises identifiers with NFKC, so these really are `print` and `Kelvin`.
    assert summary(find_deceptive_characters("\uff50rint(1)")) == [(1, 1, "U+FF50", CONFUSABLE_IDENTIFIER)]
    assert summary(find_deceptive_characters("\u212aelvin = 1")) == [(1, 1, "U+212A", CONFUSABLE_IDENTIFIER)]


def test_mostly_cyrillic_word_reports_the_cyrillic_letters_that_pose_as_latin():
    findings = find_deceptive_characters("\u0455\u0441r\u0456pt")
    assert [finding.codepoint for finding in findings] == ["U+0455", "U+0441", "U+0456"]
    assert {finding.category for finding in findings} == {CONFUSABLE_IDENTIFIER}


def test_findings_are_ordered_by_line_then_column_across_categories():
    text = "ok\nzеro = 'x\u200by'\n\u202e\n"
    assert summary(find_deceptive_characters(text)) == [
        (2, 2, "U+0435", CONFUSABLE_IDENTIFIER),
        (2, 10, "U+200B", INVISIBLE),
        (3, 1, "U+202E", BIDI_CONTROL),
    ]


def test_clean_ascii_code_has_no_findings():
    text = "def main():\n    print('hello, world')  # greet\n\treturn 0\r\n"
    assert find_deceptive_characters(text) == []
    assert find_deceptive_characters("") == []


def test_clean_cjk_japanese_korean_and_accented_text_has_no_findings():
    text = (
        "# 计算用户数据\n"
        "数据 = 读取文件('résumé.txt')\n"
        "ユーザー名 = 'テスト'  # ひらがな、カタカナ、漢字々\n"
        "사용자_이름 = '홍길동'\n"
        "getユーザー = lambda: None\n"
        "naïve_café = 'Ünïcödé'\n"
        "Привет, мир! Это обычный русский текст.\n"
        "Γειά σου Κόσμε\n"
        "user_اسم = 'مرحبا'\n"
    )
    assert find_deceptive_characters(text) == []


def test_emoji_sequences_joining_scripts_and_subdivision_flags_are_not_reported():
    text = (
        "family = '\U0001f468\u200d\U0001f469\u200d\U0001f467'\n"
        "heart = '\u2764\ufe0f\u200d\U0001f525 \u2764\ufe0f'\n"
        "keycap = '1\ufe0f\u20e3'\n"
        "flag = '\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f'\n"
        "persian = 'می\u200cخواهم'\n"
        "hindi = 'क्\u200dष'\n"
    )
    assert find_deceptive_characters(text) == []


def test_joiners_outside_their_legitimate_context_are_reported():
    assert summary(find_deceptive_characters("ab\u200dcd")) == [(1, 3, "U+200D", INVISIBLE)]
    assert summary(find_deceptive_characters("x\U000e0067\U000e007f")) == [
        (1, 2, "U+E0067", INVISIBLE),
        (1, 3, "U+E007F", INVISIBLE),
    ]


def test_unassigned_invisible_codepoint_gets_a_descriptive_name():
    findings = find_deceptive_characters("a\u2065b")
    assert findings[0].name == "<unassigned U+2065>"
    assert findings[0].category == INVISIBLE


def test_large_plain_ascii_text_costs_almost_nothing():
    text = "def function(argument):\n    return argument + 1  # comment\n" * 50_000
    started = time.perf_counter()
    assert find_deceptive_characters(text) == []
    assert time.perf_counter() - started < 0.05
