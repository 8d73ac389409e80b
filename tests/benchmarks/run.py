"""The project's single benchmark runner: imports every tests/benchmarks/bench_*.py, prints their figures as a
table and optionally writes them as JSON lines. Missed targets are reported, never turned into a failure."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS_DIR.parents[1]

if str(REPO_ROOT) not in sys.path:
    # Run as a script, only tests/benchmarks is on the path; the bench modules import app.* and tests.*.
    sys.path.insert(0, str(REPO_ROOT))

from tests.benchmarks.figures import Figure  # noqa: E402

__all__ = ["Figure", "discover", "main"]


def discover(filter_text: str | None = None) -> list[str]:
    """Module names of the bench_*.py files, sorted, optionally only those whose name contains filter_text."""
    names = sorted(path.stem for path in BENCHMARKS_DIR.glob("bench_*.py"))
    if filter_text:
        names = [name for name in names if filter_text in name]
    return [f"tests.benchmarks.{name}" for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the Signoff benchmarks and compare them with their targets.")
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer repeats (for CI smoke runs)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write one JSON object per figure per line")
    parser.add_argument("--only", metavar="TEXT", help="run only bench modules whose name contains TEXT")
    args = parser.parse_args(argv)

    module_names = discover(args.only)
    if not module_names:
        print(f"no benchmark modules found in {BENCHMARKS_DIR} matching {args.only!r}", file=sys.stderr)
        return 2

    figures: list[Figure] = []
    failed_modules: list[str] = []
    for module_name in module_names:
        short_name = module_name.rsplit(".", 1)[-1]
        print(f"running {short_name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(module_name)
            module_figures = list(_validated(module.benchmarks(args.quick), short_name))
        except Exception:
            # One broken benchmark must not hide the figures of the others.
            failed_modules.append(short_name)
            traceback.print_exc()
            continue
        figures.extend(module_figures)
        print(f"  {short_name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)

    print(render_table(figures))
    if args.json is not None:
        write_json_lines(args.json, figures)
    if failed_modules:
        print(f"benchmark modules that crashed: {', '.join(failed_modules)}", file=sys.stderr)
        return 1
    return 0


def _validated(figures: Iterable[Figure], module_name: str) -> Iterable[Figure]:
    for figure in figures:
        if not isinstance(figure, Figure):
            raise TypeError(f"{module_name}.benchmarks() yielded {figure!r}, expected a Figure")
        yield figure


def write_json_lines(path: Path, figures: Iterable[Figure]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as output:
        for figure in figures:
            output.write(json.dumps(figure.as_json(), ensure_ascii=False) + "\n")


def render_table(figures: Sequence[Figure]) -> str:
    headers = ("benchmark", "value", "unit", "baseline", "ratio", "target", "met")
    rows = [
        (
            figure.name,
            _number(figure.value),
            figure.unit,
            _number(figure.baseline),
            "-" if figure.ratio is None else f"{figure.ratio:.3g}x",
            _number(figure.target),
            "yes" if figure.met else "MISSED",
        )
        for figure in figures
    ]
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
    numeric = {1, 3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[column]) if column in numeric else cell.ljust(widths[column])
            for column, cell in enumerate(cells)
        ).rstrip()

    output = [line(headers), line(["-" * width for width in widths])]
    output.extend(line(row) for row in rows)
    with_target = [figure for figure in figures if figure.target is not None]
    missed = [figure.name for figure in with_target if not figure.met]
    output.append("")
    output.append(f"{len(with_target) - len(missed)} of {len(with_target)} targets met")
    if missed:
        output.append("targets missed: " + "; ".join(missed))
    return "\n".join(output)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isfinite(value) and value == int(value) and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"


if __name__ == "__main__":
    sys.exit(main())
