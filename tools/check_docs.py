#!/usr/bin/env python3
"""Fails when a formatter has damaged the docs' code (issue 56): README.md and docs/*.md.

What a code formatter does to Markdown that it takes for C++ (docs/mcp.md, 2026-11-26):
spaces around `/`, `-` and `:` inside code spans (`src / core / guard.h`, `2025 - 06 - 18`),
`${workspace}` broken after its brace, sentences glued (`server.Every`), a heading's `#`
stuck to its text, shell comments stuck to their `#`, JSON written `"key" : value`.
Checked:
  - code spans: no `word / word`, `dddd - dd`, `${ `, `{ ` at the start, ` : ` after a quoted
    key; a span broken over two lines only where a space belongs (never right after `{`,
    `(`, `[`, `$`, `/` or a word's `-`, nor right before `}`, `)`, `]`, `,` or `:`);
  - outside code: a heading's `#` followed by a space; no `a.B` glued sentence after a
    lower-case word of two letters or more (`e.g.`, `i.e.` and names with dots in code are
    fine);
  - fenced blocks tagged sh/bash/console/shell: no comment `#word` (a shebang is fine);
    tagged json: no `"key" : ` spacing.
Prints FILE:LINE: what, for each finding; exits 1 when there is any. Standard library only.
"""
import argparse
import pathlib
import re
import sys

SPAN_BAD = [
    (re.compile(r"\w / \w"), "spaces around '/' in a code span"),
    (re.compile(r"\d{4} - \d{2}"), "a date spaced around '-' in a code span"),
    (re.compile(r"\$\{ "), "'${' followed by a space in a code span"),
    (re.compile(r"^\{ (?!\})"), "'{' followed by a space at a code span's start"),
    (re.compile(r"\" : "), "'\" : ' in a code span (JSON as a formatter writes it)"),
]
BREAK_AFTER = "{([$/-"
BREAK_BEFORE = "})],:"
GLUED = re.compile(r"\b[a-z]{2,}\.[A-Z][a-z]+\b")
SHELL = {"sh", "bash", "console", "shell"}


def strip_code(line):
    """The line without its inline code spans (for the checks of prose)."""
    return re.sub(r"(`+)(.*?)\1", "", line)


def check_span(code, findings, n):
    """Checks one inline code span's text (newlines where the source broke it)."""
    if "\n" in code:
        before, after = code.split("\n", 1)
        if before.endswith(tuple(BREAK_AFTER)) and not re.search(r"(^|\s)-+$", before):
            findings.append((n, "a code span broken inside a word or path: `" + code[:60] + "`"))
        elif after.lstrip().startswith(tuple(BREAK_BEFORE)):
            findings.append((n, "a code span broken inside a word or path: `" + code[:60] + "`"))
    flat = re.sub(r"\s*\n\s*", " ", code)
    for pattern, what in SPAN_BAD:
        if pattern.search(flat):
            findings.append((n, what + ": `" + flat[:60] + "`"))


def check_paragraph(lines, first, findings):
    """Inline code spans and prose of one paragraph (lines first.. of the file)."""
    text = "\n".join(lines)
    for m in re.finditer(r"(`+)(.+?)\1", text, re.S):
        check_span(m.group(2), findings, first + text.count("\n", 0, m.start()))
    for k, line in enumerate(lines):
        prose = strip_code(line)
        if re.match(r"#+[^#\s!]", line):
            findings.append((first + k, "a heading's '#' stuck to its text"))
        g = GLUED.search(prose)
        if g and "://" not in prose and not re.search(r"\w\.\w+\(", prose):
            findings.append((first + k, "two sentences glued: '" + g.group(0) + "'"))


def check_text(name, text):
    findings = []
    fence = None  # the open fence's language ("" when untagged), or None
    para, first = [], 0
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip()
        if stripped.startswith("```"):
            check_paragraph(para, first, findings)
            para = []
            fence = None if fence is not None else stripped[3:].strip().lower()
            continue
        if fence is not None:
            if fence in SHELL and re.match(r"\s*#[A-Za-z]", line):
                findings.append((n, "a shell comment stuck to its '#'"))
            if fence == "json" and re.search(r"\"\s+:\s", line):
                findings.append((n, "'\" : ' in a JSON block (as a formatter writes it)"))
            continue
        if not stripped:
            check_paragraph(para, first, findings)
            para = []
            continue
        if not para:
            first = n
        para.append(line)
    check_paragraph(para, first, findings)
    return [(name, n, what) for n, what in findings]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent))
    args = ap.parse_args()
    root = pathlib.Path(args.root)
    files = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    findings = []
    for f in files:
        findings += check_text(str(f.relative_to(root)), f.read_text(encoding="utf-8"))
    for name, n, what in findings:
        print(f"{name}:{n}: {what}")
    if findings:
        print(f"check_docs: {len(findings)} finding(s); fix them by hand (never run a code "
              "formatter over Markdown)")
        return 1
    print(f"check_docs: {len(files)} files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
