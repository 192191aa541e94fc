"""Checks of .ci/summarize.py on synthetic `cargo test --release --no-fail-fast` output.

python3 -m unittest discover -s .ci -p 'test_*.py'
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import summarize  # noqa: E402

SCRIPT = os.path.join(HERE, "summarize.py")
DEPS = "target/release/deps"

BUILD = """\
   Compiling kbench v0.1.0 (/work/main)
    Finished `release` profile [optimized] target(s) in 1m 02s
"""

LIB_OK = f"""\
     Running unittests src/lib.rs ({DEPS}/kbench-3f2a1b0c9d8e7f60)

running 12 tests
test avro::tests::encodes_record ... ok
test metrics::tests::histogram_merges ... ok
test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.05s

"""

MAIN_OK = f"""\
     Running unittests src/main.rs ({DEPS}/kbench-9a8b7c6d5e4f3021)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

"""

CLUSTER_OK = f"""\
     Running tests/cluster.rs ({DEPS}/cluster-0f1e2d3c4b5a6978)

running 3 tests
test cluster_starts_and_stops ... ok
test registry_answers ... ok
test status_reports_three_brokers ... ok

test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 61.20s

"""

CLUSTER_ONE_FAILED = f"""\
     Running tests/cluster.rs ({DEPS}/cluster-0f1e2d3c4b5a6978)

running 3 tests
test cluster_starts_and_stops ... ok
test registry_answers ... FAILED
test status_reports_three_brokers ... ok

failures:

---- registry_answers stdout ----

thread 'registry_answers' panicked at tests/cluster.rs:88:5:
registry did not answer within 240s
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    registry_answers

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 250.02s

error: test failed, to rerun pass `--test cluster`
"""

CRASH_SIGSEGV = f"""\
     Running tests/cluster_crash.rs ({DEPS}/cluster_crash-5d4c3b2a19087f6e)

running 4 tests
test broker_restart_keeps_offsets ... ok
test kill_leader_during_load ... ok
error: test failed, to rerun pass `--test cluster_crash`

Caused by:
  process didn't exit successfully: `/work/main/{DEPS}/cluster_crash-5d4c3b2a19087f6e` (signal: 11, SIGSEGV: invalid memory reference)
note: test exited abnormally; to see the full output pass --no-capture to the harness.
"""

DOCKER_IGNORED = f"""\
     Running tests/docker_backend.rs ({DEPS}/docker_backend-77aa55cc33ee1100)

running 2 tests
test docker_cluster_survives_faults ... ignored, needs a Docker engine; run with --ignored
test failover_scenario_on_the_docker_backend ... ignored, needs a Docker engine; run with --ignored

test result: ok. 0 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s

"""

DOC_OK = """\
   Doc-tests kbench

running 2 tests
test src/duration.rs - duration::parse (line 12) ... ok
test src/lib.rs - (line 3) ... ignored

test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.41s

"""

CASES = {
    "all_pass": (BUILD + LIB_OK + MAIN_OK + CLUSTER_OK + DOC_OK.replace(
        "test src/lib.rs - (line 3) ... ignored\n", "test src/lib.rs - (line 3) ... ok\n").replace(
        "1 passed; 0 failed; 1 ignored", "2 passed; 0 failed; 0 ignored"), 0),
    "one_failing_test": (BUILD + LIB_OK + MAIN_OK + CLUSTER_ONE_FAILED + DOC_OK
                         + "error: 1 target failed:\n    `--test cluster`\n", 101),
    "sigsegv_crash": (BUILD + LIB_OK + MAIN_OK + CRASH_SIGSEGV + CLUSTER_OK + DOC_OK
                      + "error: 1 target failed:\n    `--test cluster_crash`\n", 101),
    "ignored_with_reasons": (BUILD + LIB_OK + MAIN_OK + DOCKER_IGNORED + DOC_OK, 0),
    "exit_101_nothing_counted": (BUILD + LIB_OK + MAIN_OK + CLUSTER_OK + DOC_OK, 101),
}


def run_script(text, status):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([sys.executable, SCRIPT, f.name, str(status)],
                           capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return p


class SummarizeScript(unittest.TestCase):
    """The script end to end: a captured file and cargo's status in, lines out, exit 0."""

    def check(self, case, last, contains=(), absent=()):
        text, status = CASES[case]
        p = run_script(text, status)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        lines = p.stdout.splitlines()
        self.assertEqual(lines[-1], last)
        body = "\n".join(lines[:-1])
        for s in contains:
            self.assertIn(s, body)
        for s in absent:
            self.assertNotIn(s, p.stdout)
        return lines

    def test_all_pass(self):
        lines = self.check("all_pass", "kbench: 17 passed, 0 failed, 0 ignored")
        self.assertEqual(len(lines), 1)

    def test_one_failing_test(self):
        self.check("one_failing_test", "kbench: 15 passed, 1 failed, 1 ignored",
                   contains=["kbench: failed tests: registry_answers"],
                   absent=["CRASHED", "INCOMPLETE", "INCONSISTENT", "no output seen"])

    def test_sigsegv_crash_without_result_line(self):
        lines = self.check("sigsegv_crash", "kbench: 16 passed, 1 failed, 1 ignored",
                           contains=["CRASHED", "tests/cluster_crash.rs",
                                     "--test cluster_crash",
                                     "signal: 11, SIGSEGV: invalid memory reference",
                                     "2 test(s) had reported ok before"],
                           absent=["INCOMPLETE", "INCONSISTENT", "no output seen"])
        crash = [l for l in lines if "CRASHED" in l][0]
        # The binaries after the crash ran and are not blamed.
        self.assertNotIn("tests/cluster.rs", crash)
        self.assertNotIn("Doc-tests", crash)

    def test_ignored_tests_listed_with_reasons(self):
        self.check("ignored_with_reasons", "kbench: 13 passed, 0 failed, 3 ignored",
                   contains=["kbench: ignored: docker_cluster_survives_faults (needs a Docker "
                             "engine; run with --ignored), failover_scenario_on_the_docker_backend"
                             " (needs a Docker engine; run with --ignored), src/lib.rs - (line 3)"],
                   absent=["INCOMPLETE", "INCONSISTENT", "CRASHED"])

    def test_exit_101_with_no_failure_counted(self):
        self.check("exit_101_nothing_counted", "kbench: 16 passed, 0 failed, 1 ignored",
                   contains=["kbench: INCOMPLETE: cargo test exited 101 but no test failure "
                             "was counted (a test binary crashed or did not run: "])

    def test_unreadable_capture_still_exits_0(self):
        p = subprocess.run([sys.executable, SCRIPT, "/nonexistent/kbench.log", "101"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("cannot read the captured cargo test output", p.stdout)
        self.assertIn("INCOMPLETE: cargo test exited 101", p.stdout)
        self.assertEqual(p.stdout.splitlines()[-1], "kbench: 0 passed, 0 failed, 0 ignored")


class SummarizeFunction(unittest.TestCase):
    """Corner cases, on summarize.summarize(text, status) directly."""

    def test_build_failure_named(self):
        text = ("   Compiling kbench v0.1.0 (/work/main)\n"
                "error[E0425]: cannot find value `x` in this scope\n"
                "error: could not compile `kbench` (lib test) due to 1 previous error\n")
        lines, p, f, i = summarize.summarize(text, "101")
        self.assertEqual((p, f, i), (0, 0, 0))
        self.assertIn("did not run: could not compile `kbench` (lib test) due to 1 previous "
                      "error)", lines[-2])

    def test_crash_at_end_of_output_counts(self):
        # cargo itself was killed while the last binary ran: no error line at all.
        text = LIB_OK + f"     Running tests/failover.rs ({DEPS}/failover-1234)\n\nrunning 1 test\n"
        lines, p, f, i = summarize.summarize(text, "137")
        self.assertEqual((p, f, i), (12, 1, 0))
        self.assertIn("CRASHED", lines[0])
        self.assertIn("tests/failover.rs (no `test result:` line)", lines[0])
        self.assertFalse(any("INCOMPLETE" in l for l in lines))

    def test_sigabrt_after_ok_result_counts(self):
        # All tests passed, then the process aborted (e.g. a panic in a destructor at exit).
        text = CLUSTER_OK + (
            "error: test failed, to rerun pass `--test cluster`\n\nCaused by:\n"
            f"  process didn't exit successfully: `/work/main/{DEPS}/cluster-0f1e2d3c4b5a6978` "
            "(signal: 6, SIGABRT: process abort signal)\n")
        lines, p, f, i = summarize.summarize(text, "101")
        self.assertEqual((p, f, i), (3, 1, 0))
        self.assertIn("signal: 6, SIGABRT: process abort signal", lines[0])
        self.assertIn("exited unsuccessfully after `test result: 3 passed; 0 failed`", lines[0])

    def test_status_0_with_failures_is_flagged(self):
        text = LIB_OK + f"     Running tests/failover.rs ({DEPS}/failover-1234)\n"
        lines, p, f, i = summarize.summarize(text, "0")
        self.assertEqual(f, 1)
        self.assertIn("INCONSISTENT: cargo test exited 0 but 1 failure(s) were counted",
                      lines[-2])

    def test_failed_target_without_output(self):
        text = LIB_OK + "error: 1 target failed:\n    `--test failover`\n"
        lines, p, f, i = summarize.summarize(text, "101")
        self.assertEqual(f, 1)
        self.assertIn("--test failover", lines[0])

    def test_colored_and_old_format_output(self):
        text = ("\x1b[1m\x1b[32m     Running\x1b[0m target/release/deps/kbench-3f2a\n"
                "\nrunning 1 test\ntest a ... \x1b[32mok\x1b[0m\n\n"
                "test result: \x1b[32mok\x1b[0m. 1 passed; 0 failed; 0 ignored; 0 measured; "
                "0 filtered out; finished in 0.00s\n")
        lines, p, f, i = summarize.summarize(text, "0")
        self.assertEqual(lines, ["kbench: 1 passed, 0 failed, 0 ignored"])

    def test_empty_output(self):
        lines, p, f, i = summarize.summarize("", "0")
        self.assertEqual(lines, ["kbench: no test binary was started",
                                 "kbench: 0 passed, 0 failed, 0 ignored"])


if __name__ == "__main__":
    unittest.main()
