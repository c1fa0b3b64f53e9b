#!/usr/bin/env python3
"""The tests wait instead of sleeping (issue 57's test kit).

A test that sleeps a guessed time before it looks is slow on an idle machine and flaky on a
loaded one; `WaitUntil(condition, deadline)` (tests/support/wait.h) polls until the thing
happens and fails, rather than hangs, when it never does. This check counts the sleeps in
tests/ (C++ `sleep_for`, `usleep`, `nanosleep`) that are not marked as pacing, and fails
when there are more than CEILING: the count may only go down. A sleep that waits for
nothing (it paces a load, spaces two timestamps, or gives something the time *not* to
happen) says so on its line or the line above:

    std::this_thread::sleep_for(5ms);  // pace: distinct start times

Usage: test_sleeps.py --root DIR [--list]
"""
import argparse
import os
import re
import sys

# Unmarked sleeps allowed: none since 2026-11-29 (148 the day before).
CEILING = 0

SLEEP = re.compile(r"\b(sleep_for|usleep|nanosleep)\s*\(")
MARK = re.compile(r"//.*\bpace:")
EXTENSIONS = (".cc", ".h", ".cpp")
# The one place that sleeps between polls on purpose.
EXEMPT = {os.path.join("tests", "support", "wait.h")}


def unmarked_sleeps(root):
    """(path, line number, text) of every sleep in root/tests not marked as pacing."""
    out = []
    base = os.path.join(root, "tests")
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "node_modules")
        for name in sorted(filenames):
            if not name.endswith(EXTENSIONS):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if rel in EXEMPT:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().split("\n")
            for i, line in enumerate(lines):
                code = line.split("//", 1)[0]
                if not SLEEP.search(code):
                    continue
                if MARK.search(line) or (i > 0 and MARK.search(lines[i - 1])):
                    continue
                out.append((rel, i + 1, line.strip()))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--list", action="store_true", help="print every unmarked sleep")
    args = ap.parse_args(argv)
    found = unmarked_sleeps(args.root)
    if args.list:
        for rel, line, text in found:
            print(f"{rel}:{line}: {text}")
    n = len(found)
    if n > CEILING:
        for rel, line, text in found[-10:] if not args.list else []:
            print(f"{rel}:{line}: {text}")
        print(f"test_sleeps: {n} unmarked sleeps in tests/, more than the {CEILING} allowed: "
              "wait with WaitUntil (tests/support/wait.h), or mark a sleep that waits for "
              "nothing with `// pace: why` (--list prints them all)")
        return 1
    if n < CEILING:
        print(f"test_sleeps: {n} unmarked sleeps (ceiling {CEILING}): lower CEILING in "
              f"tools/test_sleeps.py to {n}")
    else:
        print(f"test_sleeps: {n} unmarked sleeps (ceiling {CEILING})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
