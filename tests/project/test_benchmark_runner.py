"""Smoke test of tests/benchmarks/run.py: a quick run in a subprocess writes well-formed JSON lines. One small module
is enough for the runner's format; .ci/run runs every benchmark in quick mode after the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
FIGURE_KEYS = ["name", "value", "unit", "baseline", "ratio", "target", "met"]


def test_quick_benchmark_run_writes_one_json_object_per_figure_with_exactly_the_agreed_keys(tmp_path):
    json_path = tmp_path / "figures.jsonl"

    result = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--only", "diff_engine", "--json", str(json_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    lines = json_path.read_text(encoding="utf-8").splitlines()
    assert lines, "the runner wrote no figures"
    figures = [json.loads(line) for line in lines]
    for figure in figures:
        assert list(figure) == FIGURE_KEYS
        assert isinstance(figure["name"], str) and figure["name"]
        assert isinstance(figure["value"], (int, float))
        assert isinstance(figure["unit"], str)
        assert isinstance(figure["met"], bool)
        for optional in ("baseline", "ratio", "target"):
            assert figure[optional] is None or isinstance(figure[optional], (int, float))
    assert any(figure["name"].startswith("compute_diff") for figure in figures)
    # The table on stdout names every figure and says how many targets were met.
    for figure in figures:
        assert figure["name"] in result.stdout
    assert "targets met" in result.stdout
