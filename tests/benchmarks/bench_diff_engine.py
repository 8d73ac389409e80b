"""Benchmark of compute_diff on a large Python-like file with scattered edits, against difflib in the same run.
Builds its input in memory; touches no files."""

from __future__ import annotations

import difflib
import random
import statistics
import time
from collections.abc import Callable, Iterator

from app.domain.diffing import compute_diff
from tests.benchmarks.figures import Figure

TARGET_MS = 50.0

_NAMES = ("value", "result", "item", "count", "total", "index", "payload", "config", "request", "record")
_CALLS = ("compute", "validate", "transform", "lookup", "normalise", "render", "parse", "store")


def python_like_lines(line_count: int, rng: random.Random) -> list[str]:
    """Lines shaped like real Python: classes, methods, docstrings, comments, repeated idioms, blank lines."""
    lines: list[str] = []
    class_number = 0
    while len(lines) < line_count:
        class_number += 1
        lines += [f"class Service{class_number}(BaseService):", f'    """Handles batch {class_number}."""', ""]
        for method_number in range(rng.randint(3, 8)):
            name = rng.choice(_NAMES)
            lines.append(f"    def {rng.choice(_CALLS)}_{name}_{method_number}(self, {name}, *, strict=False):")
            if rng.random() < 0.5:
                lines.append(f'        """Return the {name} after step {method_number}."""')
            for _ in range(rng.randint(2, 12)):
                roll = rng.random()
                other = rng.choice(_NAMES)
                if roll < 0.45:
                    lines.append(f"        {other} = self.{rng.choice(_CALLS)}({name}, {rng.randint(0, 99)})")
                elif roll < 0.6:
                    lines.append(f"        if {other} is None:")
                    lines.append("            return None")
                elif roll < 0.7:
                    lines.append(f"        # {rng.choice(_CALLS)} the {other} before storing it")
                elif roll < 0.8:
                    lines.append(f"        for {other} in self.{name}s:")
                    lines.append(f"            yield {other}")
                elif roll < 0.9:
                    lines.append(f"        self.log.debug('{other}=%s', {other})")
                else:
                    lines.append("")
            lines.append(f"        return {name}")
            lines.append("")
        lines.append("")
    return [line + "\n" for line in lines[:line_count]]


def scattered_edit(lines: list[str], change_count: int, rng: random.Random) -> list[str]:
    """A copy of ``lines`` with ``change_count`` edits spread over the whole file: changed, added, removed lines."""
    edited = list(lines)
    positions = sorted(rng.sample(range(1, len(lines) - 1), change_count), reverse=True)
    for position in positions:
        roll = rng.random()
        if roll < 0.5:
            edited[position] = edited[position].rstrip("\n") + "  # reviewed\n"
        elif roll < 0.75:
            edited[position:position] = [f"        audit({rng.randint(0, 10**6)})\n"] * rng.randint(1, 3)
        else:
            del edited[position : position + rng.randint(1, 2)]
    return edited


def median_ms(function: Callable[[], object], runs: int) -> float:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations)


def benchmarks(quick: bool) -> Iterator[Figure]:
    line_count, change_count = (10_000, 20) if quick else (100_000, 200)
    rng = random.Random(20240601)
    old_lines = python_like_lines(line_count, rng)
    new_lines = scattered_edit(old_lines, change_count, rng)
    old, new = "".join(old_lines).encode(), "".join(new_lines).encode()
    path = "src/service.py"

    def engine() -> object:
        return compute_diff(old, new, path)

    def baseline() -> object:
        # Same work as the engine: bytes in, decoded lines, the whole unified diff out as bytes.
        return "".join(
            difflib.unified_diff(
                old.decode().splitlines(keepends=True),
                new.decode().splitlines(keepends=True),
                f"a/{path}",
                f"b/{path}",
            )
        ).encode()

    engine()  # warm-up: imports, allocator
    engine_ms = median_ms(engine, runs=7 if quick else 11)
    # difflib takes seconds on the full input; its spread is small next to the gap being measured.
    baseline_ms = median_ms(baseline, runs=3 if quick else 1)
    yield Figure.at_most(
        f"compute_diff, {line_count // 1000}k-line Python file, {change_count} scattered changes (vs difflib)",
        round(engine_ms, 2),
        "ms",
        TARGET_MS,
        baseline=round(baseline_ms, 2),
    )
