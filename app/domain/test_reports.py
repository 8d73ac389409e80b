"""Test runner reports read into per-test outcomes (JUnit XML, pytest, unittest, cargo, go), and the comparison of a
proposal's run with the baseline run of the unchanged tree: newly failing, newly passing, still failing.

Pure functions over text; no I/O, no subprocesses, no Qt.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
FAILING = (FAILED, ERROR)

_PYTEST_SUMMARY = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|XFAIL)\s+(\S+::\S+|\S+\.py)(?:\s+-\s.*)?$")
_PYTEST_VERBOSE = re.compile(r"^(\S+::\S+)\s+(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")
_PYTEST_WORDS = {"PASSED": PASSED, "XPASS": PASSED, "XFAIL": SKIPPED, "FAILED": FAILED, "ERROR": ERROR}
_PYTEST_WORDS["SKIPPED"] = SKIPPED
_UNITTEST_VERBOSE = re.compile(r"^(\w+) \(([\w.]+)\)(?: \S.*)? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure.*)$")
_UNITTEST_HEADING = re.compile(r"^(FAIL|ERROR): (\w+) \(([\w.]+)\)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ")
_UNITTEST_FAILED = re.compile(r"^FAILED \((.*)\)$")
_CARGO = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)$")
_GO = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)")


@dataclass(frozen=True)
class TestReport:
    """What one run of a verify command says about the tests: each test's outcome where the output names tests."""

    __test__ = False  # not a pytest test class, despite the name

    # Test name -> passed | failed | error | skipped; empty when the output names no tests.
    outcomes: dict[str, str] = field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    # junit | pytest | unittest | cargo | go | exit-code: where the figures came from.
    source: str = "exit-code"
    exit_code: int | None = None

    @property
    def failing(self) -> list[str]:
        return sorted(name for name, outcome in self.outcomes.items() if outcome in FAILING)

    @property
    def ran_cleanly(self) -> bool:
        return self.exit_code == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "outcomes": self.outcomes,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "source": self.source,
            "exit_code": self.exit_code,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestReport:
        return cls(
            outcomes=dict(data.get("outcomes") or {}),
            passed=int(data.get("passed") or 0),
            failed=int(data.get("failed") or 0),
            skipped=int(data.get("skipped") or 0),
            source=str(data.get("source") or "exit-code"),
            exit_code=data.get("exit_code"),
        )


def _counted(outcomes: dict[str, str], source: str, exit_code: int | None) -> TestReport:
    values = list(outcomes.values())
    return TestReport(
        outcomes=outcomes,
        passed=values.count(PASSED),
        failed=sum(1 for value in values if value in FAILING),
        skipped=values.count(SKIPPED),
        source=source,
        exit_code=exit_code,
    )


def parse_junit_xml(text: str | bytes) -> dict[str, str]:
    """Outcomes from a JUnit XML report (pytest --junitxml, surefire, go-junit-report, ...); {} when unreadable."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return {}
    outcomes: dict[str, str] = {}
    for case in root.iter("testcase"):
        name = _junit_name(case.get("classname") or "", case.get("name") or "", case.get("file"))
        if case.find("error") is not None:
            outcomes[name] = ERROR
        elif case.find("failure") is not None:
            outcomes[name] = FAILED
        elif case.find("skipped") is not None:
            outcomes[name] = SKIPPED
        else:
            outcomes[name] = PASSED
    return outcomes


def _junit_name(classname: str, name: str, file: str | None) -> str:
    """pytest's own spelling (``tests/test_x.py::TestA::test_b``) where the report names the file, else dotted."""
    if file and file.endswith(".py"):
        module = file[:-3].replace("/", ".")
        rest = classname[len(module) + 1 :].split(".") if classname.startswith(module + ".") else []
        return "::".join([file, *[part for part in rest if part], name])
    return f"{classname}.{name}" if classname else name


def parse_pytest(text: str) -> dict[str, str]:
    """Outcomes from pytest's ``-rA`` short summary or ``-v`` lines (a failed collection is an error of the file)."""
    outcomes: dict[str, str] = {}
    for line in text.splitlines():
        line = line.rstrip()
        match = _PYTEST_SUMMARY.match(line)
        if match:
            outcomes[match.group(2)] = _PYTEST_WORDS[match.group(1)]
            continue
        match = _PYTEST_VERBOSE.match(line)
        if match:
            outcomes.setdefault(match.group(1), _PYTEST_WORDS[match.group(2)])
    return outcomes


def parse_unittest(text: str) -> tuple[dict[str, str], int | None]:
    """Outcomes from ``python -m unittest`` (``-v`` lines, or the FAIL:/ERROR: headings without -v), and how many
    tests it says ran."""
    outcomes: dict[str, str] = {}
    ran = None
    for line in text.splitlines():
        line = line.rstrip()
        match = _UNITTEST_VERBOSE.match(line)
        if match:
            word = match.group(3)
            outcome = {"ok": PASSED, "FAIL": FAILED, "ERROR": ERROR}.get(word, SKIPPED)
            outcomes[_unittest_name(match.group(1), match.group(2))] = outcome
            continue
        match = _UNITTEST_HEADING.match(line)
        if match:
            outcomes[_unittest_name(match.group(2), match.group(3))] = FAILED if match.group(1) == "FAIL" else ERROR
            continue
        match = _UNITTEST_RAN.match(line)
        if match:
            ran = int(match.group(1))
    return outcomes, ran


def _unittest_name(method: str, where: str) -> str:
    # Python 3.11 prints (module.Class.method), older ones (module.Class).
    return where if where.endswith("." + method) else f"{where}.{method}"


def parse_cargo_or_go(text: str) -> tuple[dict[str, str], str]:
    outcomes: dict[str, str] = {}
    source = ""
    for line in text.splitlines():
        match = _CARGO.match(line.rstrip())
        if match:
            outcomes[match.group(1)] = {"ok": PASSED, "FAILED": FAILED}.get(match.group(2), SKIPPED)
            source = "cargo"
            continue
        match = _GO.match(line)
        if match:
            outcomes[match.group(2)] = {"PASS": PASSED, "FAIL": FAILED}.get(match.group(1), SKIPPED)
            source = "go"
    return outcomes, source


def read_report(output: str, exit_code: int | None, junit_xml: str | bytes | None = None) -> TestReport:
    """The best reading of one run: a JUnit XML report when there is one, else the runner's own output, else the
    exit code alone."""
    if junit_xml:
        outcomes = parse_junit_xml(junit_xml)
        if outcomes:
            return _counted(outcomes, "junit", exit_code)
    outcomes = parse_pytest(output)
    if outcomes:
        return _counted(outcomes, "pytest", exit_code)
    outcomes, ran = parse_unittest(output)
    if outcomes or ran:
        report = _counted(outcomes, "unittest", exit_code)
        if ran is not None and ran > len(outcomes):
            # Without -v unittest names only the tests that went wrong; the rest of those it ran passed.
            failing = report.failed
            report = TestReport(
                outcomes, ran - failing - report.skipped, failing, report.skipped, "unittest", exit_code
            )
        return report
    outcomes, source = parse_cargo_or_go(output)
    if outcomes:
        return _counted(outcomes, source, exit_code)
    return TestReport(exit_code=exit_code)


@dataclass(frozen=True)
class Comparison:
    """A proposal's run against the baseline run of the unchanged tree."""

    newly_failing: list[str]
    newly_passing: list[str]
    still_failing: list[str]
    # passed | failed: failed when the change makes a test fail that did not before (or, with no test names to go by,
    # makes a clean run fail). A tree that was red and stays as red is 'passed': the change broke nothing.
    status: str


def compare_reports(baseline: TestReport, candidate: TestReport) -> Comparison:
    before = set(baseline.failing)
    after = set(candidate.failing)
    newly_failing = sorted(after - before)
    newly_passing = sorted(
        name for name in before - after if candidate.outcomes.get(name) == PASSED or not candidate.outcomes
    )
    if not candidate.outcomes and baseline.outcomes and candidate.exit_code not in (0, None):
        # The run named no tests at all this time (an import error before collection, say): everything broke.
        newly_failing = sorted(name for name, outcome in baseline.outcomes.items() if outcome == PASSED) or ["(run)"]
        newly_passing = []
    still_failing = sorted(before & after)
    failed = bool(newly_failing)
    if not candidate.outcomes and not baseline.outcomes:
        failed = baseline.exit_code == 0 and candidate.exit_code != 0
        if failed:
            newly_failing = ["(exit code)"]
        elif baseline.exit_code != 0 and candidate.exit_code == 0:
            newly_passing = ["(exit code)"]
    return Comparison(newly_failing, newly_passing, still_failing, FAILED if failed else PASSED)


def reward(report: TestReport) -> float | None:
    """The verifiable reward of a run in [0, 1]: the share of tests that passed (1 or 0 from the exit code alone)."""
    total = report.passed + report.failed
    if total:
        return report.passed / total
    if report.exit_code is None:
        return None
    return 1.0 if report.exit_code == 0 else 0.0


def detect_command(file_names: set[str], file_texts: dict[str, str] | None = None) -> str | None:
    """The verify command a workspace most likely uses, from the names of files at its root (and a few of their
    texts: package.json's scripts, a Makefile's targets); None when nothing looks like a test suite."""
    texts = file_texts or {}
    if "Cargo.toml" in file_names:
        return "cargo test"
    if "go.mod" in file_names:
        return "go test ./..."
    if "package.json" in file_names and '"test"' in texts.get("package.json", ""):
        return "npm test"
    python_markers = {"pytest.ini", "conftest.py", "tox.ini", "setup.cfg", "pyproject.toml", "tests", "test"}
    if file_names & python_markers or any(name.startswith("test_") and name.endswith(".py") for name in file_names):
        configs = texts.get("pyproject.toml", "") + texts.get("setup.cfg", "") + texts.get("tox.ini", "")
        # pytest only where the project says it uses it: unittest needs nothing installed beyond Python itself.
        uses_pytest = "pytest" in configs or "pytest.ini" in file_names or "conftest.py" in file_names
        return "python3 -m pytest" if uses_pytest else "python3 -m unittest"
    makefile = texts.get("Makefile", "")
    if re.search(r"^test\s*:", makefile, re.MULTILINE):
        return "make test"
    return None
