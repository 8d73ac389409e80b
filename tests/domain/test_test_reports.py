"""Reading test runners' reports (JUnit XML, pytest, unittest, cargo, go) and comparing a run with its baseline."""

from __future__ import annotations

from app.domain.test_reports import (
    TestReport,
    compare_reports,
    detect_command,
    parse_junit_xml,
    read_report,
    reward,
)

JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py"/>
<testcase classname="tests.test_calc.TestHalf" name="test_half" file="tests/test_calc.py">
<failure message="x"/></testcase>
<testcase classname="tests.test_calc" name="test_io" file="tests/test_calc.py"><error message="y"/></testcase>
<testcase classname="tests.test_calc" name="test_later" file="tests/test_calc.py"><skipped/></testcase>
</testsuite></testsuites>"""


def test_junit_xml_names_tests_the_way_pytest_does_and_reads_each_outcome() -> None:
    assert parse_junit_xml(JUNIT) == {
        "tests/test_calc.py::test_add": "passed",
        "tests/test_calc.py::TestHalf::test_half": "failed",
        "tests/test_calc.py::test_io": "error",
        "tests/test_calc.py::test_later": "skipped",
    }
    assert parse_junit_xml("not xml <") == {}


def test_pytest_short_summary_and_verbose_lines_are_read_when_there_is_no_xml() -> None:
    output = "t.py::test_a PASSED [ 50%]\n=== short test summary info ===\nFAILED t.py::test_b - assert 1 == 2\n"
    report = read_report(output, 1)
    assert report.source == "pytest"
    assert report.outcomes == {"t.py::test_a": "passed", "t.py::test_b": "failed"}
    assert (report.passed, report.failed) == (1, 1)


def test_unittest_without_verbose_counts_the_tests_it_ran_and_names_those_that_went_wrong() -> None:
    output = "F.E\n======\nFAIL: test_b (test_m.T.test_b)\n---\nERROR: test_c (test_m.T)\n---\nRan 3 tests in 0.01s\n"
    report = read_report(output, 1)
    assert report.source == "unittest"
    assert report.failing == ["test_m.T.test_b", "test_m.T.test_c"]
    assert (report.passed, report.failed) == (1, 2)


def test_unittest_verbose_cargo_and_go_lines_are_read() -> None:
    assert read_report("test_a (m.T.test_a) ... ok\nRan 1 test in 0.0s\n", 0).outcomes == {"m.T.test_a": "passed"}
    cargo = read_report("test tests::adds ... ok\ntest tests::halves ... FAILED\n", 101)
    assert (cargo.source, cargo.failing) == ("cargo", ["tests::halves"])
    go = read_report("=== RUN TestAdd\n--- FAIL: TestAdd (0.00s)\n--- PASS: TestHalf (0.00s)\n", 1)
    assert (go.source, go.failing, go.passed) == ("go", ["TestAdd"], 1)


def test_a_newly_failing_test_makes_the_comparison_red_and_a_fix_makes_it_green() -> None:
    baseline = TestReport({"a": "passed", "b": "failed"}, 1, 1, exit_code=1)
    broken = TestReport({"a": "failed", "b": "failed"}, 0, 2, exit_code=1)
    fixed = TestReport({"a": "passed", "b": "passed"}, 2, 0, exit_code=0)

    red = compare_reports(baseline, broken)
    green = compare_reports(baseline, fixed)

    assert (red.status, red.newly_failing, red.still_failing) == ("failed", ["a"], ["b"])
    assert (green.status, green.newly_passing, green.newly_failing) == ("passed", ["b"], [])


def test_a_run_that_names_no_tests_after_a_baseline_that_did_breaks_every_test_that_passed() -> None:
    baseline = TestReport({"a": "passed", "b": "failed"}, 1, 1, exit_code=1)
    comparison = compare_reports(baseline, TestReport(exit_code=2))
    assert (comparison.status, comparison.newly_failing) == ("failed", ["a"])


def test_with_exit_codes_alone_only_a_clean_run_turning_unclean_is_red() -> None:
    assert compare_reports(TestReport(exit_code=0), TestReport(exit_code=1)).status == "failed"
    assert compare_reports(TestReport(exit_code=1), TestReport(exit_code=1)).status == "passed"
    assert compare_reports(TestReport(exit_code=1), TestReport(exit_code=0)).newly_passing == ["(exit code)"]


def test_the_reward_is_the_share_of_tests_passed_or_the_exit_code() -> None:
    assert reward(TestReport({}, 3, 1)) == 0.75
    assert reward(TestReport(exit_code=0)) == 1.0
    assert reward(TestReport(exit_code=2)) == 0.0
    assert reward(TestReport()) is None


def test_the_verify_command_is_detected_from_the_files_at_the_root() -> None:
    assert detect_command({"Cargo.toml"}) == "cargo test"
    assert detect_command({"go.mod"}) == "go test ./..."
    assert detect_command({"package.json"}, {"package.json": '{"scripts": {"test": "jest"}}'}) == "npm test"
    assert detect_command({"package.json"}, {"package.json": "{}"}) is None
    assert detect_command({"pytest.ini", "src"}) == "python3 -m pytest"
    assert detect_command({"pyproject.toml", "tests"}, {"pyproject.toml": "[project]\nname='x'\n"}) == (
        "python3 -m unittest"
    )
    assert detect_command({"Makefile"}, {"Makefile": "build:\n\tcc x.c\ntest: build\n\t./t\n"}) == "make test"
    assert detect_command({"README"}) is None
