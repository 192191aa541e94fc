#!/usr/bin/env python3
"""One closing line for a `cargo test --no-fail-fast` run, from its captured output.

Usage: summarize.py CAPTURED_OUTPUT CARGO_EXIT_STATUS

The last line printed is always `kbench: N passed, N failed, N ignored`. N passed and N ignored
are the sums of libtest's `test result:` lines; N failed is their sum plus one for every test
binary that ended without a `test result:` line or exited unsuccessfully after reporting no
failure (a crash: SIGSEGV, SIGABRT, a panic outside a test, process::exit, cargo killed...).
Lines before it say what is off: failed tests by name, crashed binaries by name, ignored tests
with their reasons, and a cargo exit status that disagrees with the counts.

Always exits 0: the caller keeps cargo's own exit status.
"""

import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# `     Running unittests src/lib.rs (target/release/deps/kbench-abc123)`
# `     Running tests/cluster.rs (target/release/deps/cluster-0f1e2d)`
# `     Running target/release/deps/cluster-0f1e2d` (cargo before 1.59)
RUNNING = re.compile(r"^\s+Running (?:(unittests )?(\S+) \(([^()]+)\)|(\S+))\s*$")
DOCTESTS = re.compile(r"^\s+Doc-tests (\S+)\s*$")
RESULT = re.compile(
    r"test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored;"
)
TEST_LINE = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)(?:, (.*))?$")
# `error: test failed, to rerun pass `--test cluster`` (also doctest/bench failed)
RERUN = re.compile(r"^error: (?:test|doctest|bench) failed, to rerun pass `([^`]+)`")
# `  process didn't exit successfully: `/x/target/release/deps/c-0f1e` (signal: 11, SIGSEGV: ...)`
PROCESS = re.compile(r"process didn't exit successfully: `([^`]*)` \((.*)\)\s*$")
TARGETS_FAILED = re.compile(r"^error: \d+ targets? failed:\s*$")
TARGETS_FAILED_ITEM = re.compile(r"^\s+`([^`]+)`\s*$")
BUILD_ERROR = re.compile(r"^error: could not compile `[^`]+`.*$")


class Binary:
    """One test executable cargo started (a `Running` or `Doc-tests` line)."""

    def __init__(self, label, path=None):
        self.label = label  # `tests/cluster.rs`, `unittests src/lib.rs`, `Doc-tests kbench`
        self.exe = os.path.basename(path) if path else None  # `cluster-0f1e2d`
        self.result = None  # (passed, failed, ignored) of its `test result:` line
        self.rerun = None  # `--test cluster`, from cargo's error line
        self.exit = None  # `signal: 11, SIGSEGV: invalid memory reference`
        self.reported_ok = 0  # `test x ... ok` lines seen

    def crashed(self):
        if self.result is None:
            return True
        # cargo reported this binary as failed although libtest counted no failed test.
        return (self.rerun is not None or self.exit is not None) and self.result[1] == 0

    def name(self):
        extra = [x for x in (self.rerun, self.exit) if x]
        if self.result is None:
            extra.append("no `test result:` line")
            if self.reported_ok:
                extra.append(f"{self.reported_ok} test(s) had reported ok before")
        else:
            extra.append(
                "exited unsuccessfully after `test result: %d passed; %d failed`"
                % self.result[:2]
            )
        return f"{self.label} ({'; '.join(extra)})"


def exe_stem(path):
    base = os.path.basename(path.split()[0]) if path.split() else ""
    return base[:-4] if base.endswith(".exe") else base


def parse(text):
    binaries = []
    orphan = Binary("output before any Running line")
    failed_tests, ignored_tests, rerun_only, build_errors = [], [], [], []
    in_targets_block = False

    def current():
        return binaries[-1] if binaries else orphan

    for raw in text.splitlines():
        line = ANSI.sub("", raw).rstrip("\r")
        if in_targets_block:
            m = TARGETS_FAILED_ITEM.match(line)
            if m:
                rerun_only.append(m.group(1))
                continue
            in_targets_block = False

        m = RUNNING.match(line)
        if m:
            if m.group(4):
                binaries.append(Binary(m.group(4), m.group(4)))
            else:
                label = (m.group(1) or "") + m.group(2)
                binaries.append(Binary(label, m.group(3)))
            continue
        m = DOCTESTS.match(line)
        if m:
            binaries.append(Binary(f"Doc-tests {m.group(1)}"))
            continue
        m = RESULT.search(line)
        if m:
            b = current()
            counts = tuple(int(m.group(i)) for i in (2, 3, 4))
            if b.result is None:
                b.result = counts
            else:  # two results for one binary: keep both counted
                b.result = tuple(x + y for x, y in zip(b.result, counts))
            continue
        m = TEST_LINE.match(line)
        if m:
            name, outcome, reason = m.groups()
            if outcome == "ok":
                current().reported_ok += 1
            elif outcome == "FAILED":
                failed_tests.append(name)
            else:
                ignored_tests.append((name, reason))
            continue
        m = RERUN.match(line)
        if m:
            if binaries:
                binaries[-1].rerun = m.group(1)
            else:
                rerun_only.append(m.group(1))
            continue
        m = PROCESS.search(line)
        if m:
            stem = exe_stem(m.group(1))
            target = next((b for b in reversed(binaries) if b.exe and b.exe == stem), None)
            target = target or (binaries[-1] if binaries else None)
            if target is not None:
                target.exit = m.group(2)
            continue
        if TARGETS_FAILED.match(line):
            in_targets_block = True
            continue
        m = BUILD_ERROR.match(line)
        if m:
            build_errors.append(m.group(0)[len("error: "):])

    if orphan.result is not None:  # results without a Running line still count
        binaries.insert(0, orphan)
    known = {b.rerun for b in binaries if b.rerun}
    unseen = [r for r in dict.fromkeys(rerun_only) if r not in known]
    return binaries, failed_tests, ignored_tests, unseen, build_errors


def summarize(text, status):
    """Returns (lines, passed, failed, ignored); the last line is the closing one."""
    binaries, failed_tests, ignored_tests, unseen, build_errors = parse(text)
    passed = sum(b.result[0] for b in binaries if b.result)
    failed = sum(b.result[1] for b in binaries if b.result)
    ignored = sum(b.result[2] for b in binaries if b.result)
    crashed = [b for b in binaries if b.crashed()]
    failed += len(crashed) + len(unseen)

    lines = []
    if failed_tests:
        lines.append("kbench: failed tests: " + ", ".join(failed_tests))
    if crashed:
        lines.append(
            "kbench: CRASHED: %d test binary(ies) did not finish normally, each counted as 1 failed: %s"
            % (len(crashed), ", ".join(b.name() for b in crashed))
        )
    if unseen:
        lines.append(
            "kbench: cargo reported failed targets with no output seen here, each counted as 1 failed: "
            + ", ".join(unseen)
        )
    if ignored_tests:
        lines.append(
            "kbench: ignored: "
            + ", ".join(f"{n} ({r})" if r else n for n, r in ignored_tests)
        )
    if not binaries:
        lines.append("kbench: no test binary was started")

    try:
        code = int(status)
    except (TypeError, ValueError):
        code = None
        lines.append(f"kbench: cargo test exit status unknown ({status!r})")
    if code is not None and code != 0 and failed == 0:
        why = build_errors or (
            ["no test binary was started"] if not binaries else ["none named in the output"]
        )
        lines.append(
            f"kbench: INCOMPLETE: cargo test exited {code} but no test failure was counted "
            f"(a test binary crashed or did not run: {', '.join(why)})"
        )
    elif code == 0 and failed > 0:
        lines.append(
            f"kbench: INCONSISTENT: cargo test exited 0 but {failed} failure(s) were counted"
        )
    lines.append(f"kbench: {passed} passed, {failed} failed, {ignored} ignored")
    return lines, passed, failed, ignored


def main(argv):
    if len(argv) < 3:
        print("usage: summarize.py CAPTURED_OUTPUT CARGO_EXIT_STATUS", file=sys.stderr)
    path = argv[1] if len(argv) > 1 else ""
    status = argv[2] if len(argv) > 2 else None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        print(f"kbench: INCOMPLETE: cannot read the captured cargo test output: {e}")
        text = ""
    lines, _, _, _ = summarize(text, status)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
