"""The shell parser finds every command a line would run: lists, pipes, substitutions, nested shells and wrappers."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.shell_parse import parse_command


def names(line: str) -> list[str]:
    return [" ".join(c.words) for c in parse_command(line).commands]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a && b", ["a", "b"]),
        ("a; b", ["a", "b"]),
        ("a || b", ["a", "b"]),
        ("a | b |& c", ["a", "b", "c"]),
        ("a &\nb", ["a", "b"]),
        ("( cd sub; make ) && { ls; }", ["cd sub", "make", "ls"]),
        ("if test -f x; then rm x; fi", ["test -f x", "rm x"]),
        ("for f in *.py; do black $f; done", ["black $f"]),
        ("while true; do sleep 1; done", ["true", "sleep 1"]),
        ("f() { rm -rf build; }; f", ["rm -rf build", "f"]),
        ("! grep -q x y", ["grep -q x y"]),
    ],
)
def test_every_part_of_a_list_pipeline_or_compound_is_found(line: str, expected: list[str]) -> None:
    parsed = parse_command(line)
    assert parsed.understood, parsed.problems
    assert names(line) == expected


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("echo $(rm -rf x)", "rm -rf x"),
        ("echo `rm -rf x`", "rm -rf x"),
        ('echo "$(rm -rf x)"', "rm -rf x"),
        ("diff <(cat a) <(rm b)", "rm b"),
        ("ls > >(rm c)", "rm c"),
        ("X=$(rm d) true", "rm d"),
    ],
)
def test_commands_inside_substitutions_are_found(line: str, hidden: str) -> None:
    assert hidden in names(line)


@pytest.mark.parametrize(
    ("line", "inner"),
    [
        ("bash -c 'rm -rf x; ls'", "rm -rf x"),
        ('sh -c "rm -rf x"', "rm -rf x"),
        ("bash -lc 'rm -rf x'", "rm -rf x"),
        ("bash -o pipefail -c 'rm -rf x'", "rm -rf x"),
        ("eval 'rm -rf x'", "rm -rf x"),
        ("eval rm -rf x", "rm -rf x"),
        ("ls | xargs rm -f", "rm -f"),
        ("find . -name '*.pyc' -exec rm {} \\;", "rm {}"),
        ("find . -type f -execdir chmod 777 {} +", "chmod 777 {}"),
        ("env A=1 rm x", "A=1 rm x"),
        ("timeout 5 rm x", "rm x"),
        ("nice -n 10 nohup rm x", "rm x"),
        ("sudo -u root rm x", "rm x"),
        ("xargs -I{} sh -c 'rm {}'", "rm {}"),
        ("command rm x", "rm x"),
        ("exec rm x", "rm x"),
        ("watch 'rm x'", "rm x"),
    ],
)
def test_commands_run_by_other_commands_are_unwrapped(line: str, inner: str) -> None:
    parsed = parse_command(line)
    assert parsed.understood, parsed.problems
    assert inner in names(line)


@pytest.mark.parametrize(
    ("line", "word"),
    [
        ("r''m -rf x", "rm"),
        ('"rm" -rf x', "rm"),
        ("\\rm -rf x", "rm"),
        ("r\\m -rf x", "rm"),
        ("rm \\\n  -rf x", "rm"),
    ],
)
def test_quoting_tricks_and_line_continuations_yield_the_real_words(line: str, word: str) -> None:
    (command,) = parse_command(line).commands
    assert command.argv[0] == word
    assert command.argv[-1] == "x"


def test_environment_prefixes_are_kept_apart_from_the_command() -> None:
    (command,) = parse_command("LD_PRELOAD=./evil.so PATH=.:/bin pytest -q").commands
    assert command.assignments == ("LD_PRELOAD=./evil.so", "PATH=.:/bin")
    assert command.argv == ("pytest", "-q")


@pytest.mark.parametrize(
    "line",
    [
        "$CMD -rf x",
        "$(echo rm) -rf x",
        "{rm,-rf,x}",
        "/bin/r? x",
        "~/bin/tool",
    ],
)
def test_a_program_name_known_only_at_run_time_is_marked_dynamic(line: str) -> None:
    commands = parse_command(line).commands
    assert any(c.dynamic_name for c in commands)


@pytest.mark.parametrize(
    "line",
    [
        "echo 'unterminated",
        "case $x in a) rm -rf y;; esac",
        "echo $((1 + 2))",
        "time rm x",
        "cat <<EOF\n$(rm -rf x)\nEOF\n",
        "echo ${x:-$(rm y)}",
        "$'\\x72m' -rf x",
        "cd $SOMEWHERE && ls",
        "cd && ls",
        "cd - && ls",
        "popd",
        "env -S 'rm x'",
        "bash -c",
        "",
        "   ",
        "echo a\x00b",
    ],
)
def test_what_cannot_be_read_for_sure_is_reported_as_a_problem(line: str) -> None:
    assert not parse_command(line).understood


def test_here_documents_with_quoted_delimiters_or_plain_text_are_fine() -> None:
    parsed = parse_command("cat <<EOF > notes.txt\nplain text\nEOF\n")
    assert parsed.understood, parsed.problems
    assert [r.target for r in parsed.redirects] == ["notes.txt"]


def test_redirect_targets_are_listed_with_whether_they_write() -> None:
    parsed = parse_command("cmd < in.txt > out.txt 2>> err.log 2>&1 &> both")
    assert [(r.operator, r.target, r.writes) for r in parsed.redirects] == [
        ("<", "in.txt", False),
        (">", "out.txt", True),
        (">>", "err.log", True),
        ("&>", "both", True),
    ]


def test_a_redirect_to_a_variable_has_no_known_target() -> None:
    (redirect,) = parse_command("echo hi > $OUT").redirects
    assert redirect.target is None and redirect.writes


def test_cd_targets_are_collected_in_text_order() -> None:
    assert parse_command("cd a && cd ../b && make").directories == ("a", "../b")


def test_deep_nesting_is_refused_rather_than_followed() -> None:
    line = "rm x"
    for _ in range(10):
        line = "bash -c " + "'" + line.replace("'", "'\"'\"'") + "'"
    assert not parse_command(line).understood


def test_nested_quotes_are_read_by_posix_rules_not_by_the_parsers_guess() -> None:
    # bashlex alone reads the inner word as `bash -c '"'"'rm x'"'"'`; the shell runs `bash -c 'rm x'`.
    line = "bash -c 'bash -c '\"'\"'rm x'\"'\"''"
    parsed = parse_command(line)
    assert parsed.understood, parsed.problems
    assert ("rm", "x") in [c.argv for c in parsed.commands]


def test_shell_code_built_from_variables_is_a_problem() -> None:
    assert not parse_command('bash -c "rm $TARGET"').understood
    assert not parse_command("eval $CMD").understood


# -- long lines ---------------------------------------------------------------------------------------------------


def test_a_command_line_longer_than_the_limit_asks_a_person_and_says_why() -> None:
    from app.domain.policy import Policy, Rule
    from app.domain.shell_parse import MAX_COMMAND_CHARS

    line = "echo " + " ".join(["abc"] * (1024 * 1024 // 4))
    verdict = Policy((Rule.for_command("allow", "echo"),)).check_command(line, root="/tmp")
    assert verdict.action == "ask"
    assert f"{len(line):,} characters long" in verdict.reason and f"{MAX_COMMAND_CHARS:,}" in verdict.reason
    assert Policy((Rule.for_command("allow", "echo"),)).check_command("echo abc", root="/tmp").action == "allow"


@given(st.text(alphabet="ab '\"\\\t\n", max_size=10))
def test_quote_removal_agrees_with_shlex_on_every_single_word(raw: str) -> None:
    import shlex

    from app.domain.shell_parse import unquoted_word

    assume("\\\n" not in raw and raw == raw.strip(" \t\r\n"))
    try:
        words = shlex.split(raw, comments=False, posix=True)
    except ValueError:
        words = []
    assert unquoted_word(raw) == (words[0] if len(words) == 1 else None)


def test_one_long_quoted_word_is_read_exactly() -> None:
    word = "x" * 30_000
    parsed = parse_command(f"echo '{word}' \"{word}\"")
    assert parsed.understood and parsed.commands[0].argv == ("echo", word, word)
