#!/usr/bin/env python3
"""Lists the functions and files in src/ too long for a reader to hold.

Usage: tools/long_functions.py [--root DIR] [--max-function N] [--max-file N]
                               [--allowlist FILE] [--all]

A function is over --max-function lines (default 120) from its signature to its closing
brace; a hand-written source file is over --max-file lines (default 1200). Entries of the
allowlist (tools/long_functions.allow: `file PATH` or `function PATH NAME`, shell
wildcards allowed, each with a reason after `#`) are reported apart and do not fail the
check. Exit status 1 when a finding is not allowlisted. An entry that no longer matches
anything is reported (delete it) but does not fail: another branch may fix the file first.

The function finder is a heuristic, not a C++ parser: comments, string and character
literals (raw strings too) and preprocessor lines are blanked, then braces are matched.
A `{` at namespace or class level whose preceding text holds a `(` before any `=` and is
not a namespace/class/struct/union/enum/extern head opens a function body; a brace group
followed by `,` or `{` is a constructor's member initializer, not the body. Lambdas and
local classes count as part of the function they are written in. It is exact enough for
this code base (tests/unit/tools/long_functions_test.py pins its cases).
"""

import argparse
import fnmatch
import os
import re
import sys

SOURCE_EXTS = (".cc", ".h", ".cpp", ".hpp")
CONTAINER_RE = re.compile(r"\b(namespace|class|struct|union|enum|extern)\b")


def blank_non_code(text):
    """Returns text with comments, literals and preprocessor lines replaced by spaces.

    Newlines are kept, so offsets map to the same line numbers.
    """
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            # A preprocessor line, with its backslash continuations.
            j = i
            while j < n:
                if text[j] == "\n" and (j == 0 or text[j - 1] != "\\"):
                    break
                j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == "\n":
            at_line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            at_line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        m = re.match(r'(?:u8|u|U|L)?R"([^()\\ ]{0,16})\(', text[i:i + 40])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = ")" + m.group(1) + '"'
            j = text.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):
            # A string or character literal (a digit separator 1'000 is not one).
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def matching_brace(code, open_at):
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def function_name(head):
    before = head[:head.index("(")].rstrip()
    m = re.search(r"(operator\s*\S+|~?[A-Za-z_][A-Za-z_0-9]*(?:\s*<[^<>]*>)?)$", before)
    name = m.group(1) if m else before.split()[-1] if before.split() else "?"
    q = re.search(r"([A-Za-z_][A-Za-z_0-9:<>]*::)\s*" + re.escape(name) + r"$", before)
    return (q.group(1) + name) if q else name


def find_functions(text):
    """Yields (name, first_line, last_line) for each function body in text."""
    code = blank_non_code(text)

    def line_of(pos):
        return code.count("\n", 0, pos) + 1

    results = []

    def scan(begin, end):
        """Scans a container scope's contents, code[begin:end]."""
        head_start = begin
        i = begin
        while i < end:
            c = code[i]
            if c in ";}":
                head_start = i + 1
            elif c == "{":
                head = code[head_start:i]
                close = matching_brace(code, i)
                stripped = head.strip()
                after = code[close + 1:close + 80].lstrip()
                if ("(" not in stripped and CONTAINER_RE.search(stripped)) or CONTAINER_RE.match(
                        re.sub(r"^template\s*<.*?>\s*", "", stripped)):
                    scan(i + 1, close)
                    head_start = close + 1
                    i = close + 1
                    continue
                is_function = "(" in stripped and "=" not in stripped[:stripped.index("(")]
                if is_function and after[:1] in (",", "{"):
                    # A member initializer `a_{x},` or `a_{x} {`: the body comes later.
                    i = close + 1
                    continue
                if is_function:
                    label = re.match(r"\s*(?:(?:public|private|protected)\s*:\s*)*", head)
                    first = head_start + label.end()
                    results.append((function_name(stripped), line_of(first), line_of(close)))
                head_start = close + 1
                i = close + 1
                continue
            i += 1

    scan(0, len(code))
    return results


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, "src")):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(SOURCE_EXTS):
                yield os.path.relpath(os.path.join(dirpath, f), root)


def read_allowlist(path):
    entries = {}
    if not path or not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if parts[0] == "file" and len(parts) == 2:
                entries[("file", parts[1], "")] = False
            elif parts[0] == "function" and len(parts) == 3:
                entries[("function", parts[1], parts[2])] = False
            else:
                raise SystemExit(f"{path}: cannot read entry: {raw.rstrip()}")
    return entries


def allowed_by(allow, kind, path, name):
    """The allowlist entry that lets this finding through, or None."""
    for key in allow:
        k, p, n = key
        if k == kind and fnmatch.fnmatchcase(path, p) and fnmatch.fnmatchcase(name, n or ""):
            return key
    return None


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here))
    ap.add_argument("--max-function", type=int, default=120)
    ap.add_argument("--max-file", type=int, default=1200)
    ap.add_argument("--allowlist", default=os.path.join(here, "long_functions.allow"))
    ap.add_argument("--all", action="store_true", help="list every function, longest first")
    args = ap.parse_args(argv)

    allow = read_allowlist(args.allowlist)
    findings, allowed, every = [], [], []
    for rel in source_files(args.root):
        with open(os.path.join(args.root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = text.count("\n")
        if lines > args.max_file:
            key = allowed_by(allow, "file", rel, "")
            msg = f"{rel}: {lines} lines (file over {args.max_file})"
            (allowed if key else findings).append(msg)
            if key:
                allow[key] = True
        for name, first, last in find_functions(text):
            length = last - first + 1
            every.append((length, f"{rel}:{first}: {name}: {length} lines"))
            if length > args.max_function:
                key = allowed_by(allow, "function", rel, name)
                msg = f"{rel}:{first}: {name}: {length} lines (function over {args.max_function})"
                (allowed if key else findings).append(msg)
                if key:
                    allow[key] = True

    if args.all:
        for _, msg in sorted(every, reverse=True):
            print(msg)
        return 0
    for msg in findings:
        print(msg)
    for msg in allowed:
        print(f"allowed: {msg}")
    stale = [k for k, used in allow.items() if not used]
    for kind, path, name in stale:
        print(f"stale allowlist entry (nothing to allow any more; delete it): {kind} {path} {name}")
    print(f"{len(findings)} finding(s), {len(allowed)} allowlisted, {len(stale)} stale entr(ies)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
