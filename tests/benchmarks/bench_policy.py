"""Benchmark of the policy check of long command lines (app.domain.policy, app.domain.shell_parse): a 1 MB line is
answered at once, and lines up to the parsed limit are checked in time linear in their length; baselines are the
unbounded parse and shlex's quote removal, timed in the same run. Builds its input in memory; touches no files."""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Iterator
from unittest import mock

from app.domain import shell_parse
from app.domain.policy import Policy, Rule
from tests.benchmarks.bench_diff_engine import median_ms
from tests.benchmarks.figures import Figure

TARGET_1MB_MS = 100.0
# Time per character of a line at the limit over that of a line a quarter as long: 1.0 is exactly linear.
TARGET_LINEARITY = 1.5
_POLICY = Policy((Rule.for_command("allow", "echo"), Rule.for_command("deny", "rm")))


def _words_line(chars: int) -> str:
    return "echo " + " ".join(["abc"] * (chars // 4))


def _one_word_line(chars: int) -> str:
    return "echo " + "a" * chars


def _shlex_word(raw: str) -> str | None:
    try:
        words = shlex.split(raw, comments=False, posix=True)
    except ValueError:
        return None
    return words[0] if len(words) == 1 else None


def benchmarks(quick: bool) -> Iterator[Figure]:
    root = tempfile.gettempdir()
    runs = 3 if quick else 5

    def check(line: str) -> object:
        return _POLICY.check_command(line, root=root)

    huge = _words_line(1024 * 1024)
    check(huge)  # warm-up
    huge_ms = median_ms(lambda: check(huge), runs=runs)
    # The code before the limit parsed the whole line; 1/8 of it (128 kB) is timed to keep the run short.
    eighth = _words_line(128 * 1024)
    unbounded = mock.patch.object(shell_parse, "MAX_COMMAND_CHARS", 1 << 30)
    with unbounded:
        baseline_ms = median_ms(lambda: check(eighth), runs=1)
    yield Figure.at_most(
        "policy check, 1 MB command line (baseline: the unbounded parse of 128 kB of it)",
        round(huge_ms, 3),
        "ms",
        TARGET_1MB_MS,
        baseline=round(baseline_ms, 1),
    )

    limit = shell_parse.MAX_COMMAND_CHARS - 16
    word = _one_word_line(limit)
    word_ms = median_ms(lambda: check(word), runs=runs)
    with mock.patch.object(shell_parse, "unquoted_word", _shlex_word):
        shlex_ms = median_ms(lambda: check(word), runs=runs)
    yield Figure.at_most(
        f"policy check, one {limit // 1024} kB word (vs shlex quote removal)",
        round(word_ms, 1),
        "ms",
        None,
        baseline=round(shlex_ms, 1),
    )

    quarter_line, full_line = _words_line(limit // 4), _words_line(limit)
    quarter_ms = median_ms(lambda: check(quarter_line), runs=runs)
    full_ms = median_ms(lambda: check(full_line), runs=runs)
    linearity = (full_ms / len(full_line)) / (quarter_ms / len(quarter_line))
    yield Figure.at_most(
        f"policy check time per character, {limit // 1024} kB line over a quarter of it (1.0 = linear)",
        round(linearity, 2),
        "ratio",
        TARGET_LINEARITY,
    )
