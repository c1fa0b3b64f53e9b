#!/usr/bin/env python3
"""Checks the layering rule of docs/design.md ("Layers and the rule").

Every door (the code that adapts a protocol onto the core) has a folder under src/doors/
(DOORS_DIR), and every such folder is held to an allowlist: it may include only the core's
application facade (core/app/..., core/guard.h), common/..., interlock/... (include/interlock),
its own folder (doors/<door>/...), another door's header it is named a user of
(DOOR_SHARED_HEADERS: Claude Code's hook contract), the code generated from its own protos
(doors/<door>/proto/X.proto as "X.pb.h" or "X.grpc.pb.h"), the door libraries it is named a
user of (DOOR_LIBRARIES: src/mcp/, the MCP session library that the stdio and the HTTP MCP
doors share, and src/http/, the HTTP exchange the two HTTP doors share, are each held to the
same allowlist) and system headers but the database clients'. No YAML: a door's config
section is a plain value that the daemon reads (src/daemon/config*.cc). A new door folder
is checked the day it lands. What a door still includes outside its allowlist
since the doors moved into src/doors/ (issue 57) is listed in the allowlist file, to shrink.

The daemon's composition root (DAEMON_DIR: src/daemon/, beneath `interlock serve`) may
include anything beneath it (the core, the store, the modules beneath the core) and, of the
doors, only their public entry headers (DOOR_ENTRY_HEADERS): what a door keeps to itself
is no business of the root that composes it. Nothing of the CLI.

The CLI (src/cli/) holds no door: each door's command there is thin (its flags parsed, the
door called, the embedded store or the daemon client handed in), a composition root like
`serve`.

The core itself (src/core, its ports and facade included) must name no database type: no
sqlite3 / PGconn / libpq identifier, no database client header (<sqlite3.h>, <libpq-fe.h>)
and no store header (store/...): the store implements the core's ports, never the other way
round. (The audit log's database functions are the store's, store/sqlite_audit_*.h and
store/postgres_audit.h: the rule covers them.) It may include its ports, its in-memory
backend and the engine (pure values, the core's vocabulary).

The audit module (AUDIT_DIR: src/audit/, the chain, records, checkpoints and verification
over abstract sources) names no database: no sqlite3 / PGconn / libpq identifier outside
comments, no database client header, and its CMakeLists.txt links none (no SQLite /
libpq / PostgreSQL outside comments). Its SQLite and PostgreSQL sides live in src/store/.

The modules beneath the core (BENEATH_CORE: audit, common, engine, identity, outbound,
policy, telemetry) include nothing of the core, its doors or its composition: the core builds on them,
never the other way round (a two-way tie makes both one module). Wiring that joins one of them
to the core (telemetry's notice logger, say) lives with the composition root.

Anywhere under src/, only the strict YAML reader (YAML_HEADER_OWNERS: src/policy/) includes
yaml-cpp, and only the policy module includes policy/yaml_reader.h (which exposes
yaml-cpp's nodes): every YAML file is read by the strict reader, which refuses duplicate keys and
more than one document with file:line:column, and a file that walks yaml-cpp's own nodes
can read YAML around it.

Anywhere under src/, JSON is read with common/json.h, never boost::json::parse (only
JSON_PARSE_OWNERS calls it): ParseJsonStrict for what comes from outside, ParseOwnJson for
what Interlock wrote. Boost's own parse stops at 32 levels, reads a long number one ulp off
and keeps the last of two duplicate keys, so a store or audit reader built on it once
called a deep call corrupt and an untouched record tampered.

Every violation is printed as "path:line: rule" and makes the exit status 1, except those
listed in the allowlist file (one "path include # owner" per line), which are printed as
"allowed" so that the remaining debt stays visible. An allowlist entry that no longer
matches anything is itself an error (so the list only shrinks).

Usage: check_layers.py [--root DIR] [--allowlist FILE]
"""

import argparse
import os
import re
import sys

# Modules the core builds on: they include nothing above them (ABOVE_CORE_PREFIXES).
BENEATH_CORE = ("src/audit/", "src/common/", "src/engine/", "src/identity/", "src/outbound/", "src/policy/",
                "src/telemetry/")
ABOVE_CORE_PREFIXES = ("core/", "mcp/", "http/", "doors/", "cli/", "store/", "daemon/", "governance/",
                       "approval/")
BENEATH_RULE = ("a module beneath the core (audit, common, engine, identity, outbound, "
                "policy, telemetry) includes nothing of the core or above it")
CORE_DIR = "src/core/"
# src/doors/<door>/: checked against DOOR_ALLOWED_PREFIXES / DOOR_ALLOWED_HEADERS (an allowlist).
DOORS_DIR = "src/doors/"
DOOR_ALLOWED_PREFIXES = ("core/app/", "common/", "interlock/")
DOOR_ALLOWED_HEADERS = {"core/guard.h"}
DOORS_RULE = ("a door (src/doors/<door>/, or a door library: src/mcp/) includes only the "
              "core's facade (core/app/, core/guard.h), common/, interlock/, the door "
              "libraries it uses and its own folder")
# Libraries shared by doors, outside src/doors/ (folder -> include prefix, the doors that may
# include it). Each is held to the doors' allowlist itself (its own prefix counts as its
# own folder). src/mcp/ is the MCP session library (the gateway, framing, revisions,
# upstream transports, the sandbox) that the stdio gateway (doors/mcp_stdio/) and the MCP
# over HTTP door (doors/mcp_http/) both run, and whose daemon client the command hook uses.
# src/http/ is the HTTP doors' library: the exchange (request, response, Responder,
# ResponseStream) the API door's listener serves and the MCP over HTTP door answers with,
# and the contract by which the API mounts the MCP door (http/mcp_endpoint.h).
DOOR_LIBRARIES = {"src/mcp/": ("mcp/", ("claude_code", "mcp_http", "mcp_stdio")),
                  "src/http/": ("http/", ("http_api", "mcp_http"))}
# A door's headers that another door may include (header -> the doors that may): Claude
# Code's hook contract (doors/claude_code/contract.h) is the one both its doors speak, the
# command hook beside it and the HTTP API's hook route (POST /v1/hooks/claude-code).
DOOR_SHARED_HEADERS = {"doors/claude_code/contract.h": ("http_api",)}
# The daemon's composition root: anything beneath it, and of the doors only these headers
# (each door's entry: what `serve` builds and starts). Nothing of the CLI.
DAEMON_DIR = "src/daemon/"
DOOR_ENTRY_HEADERS = {
    "doors/egress/decider.h",
    "doors/egress/proxy.h",
    "doors/ext_authz/config.h",
    "doors/ext_authz/door.h",
    "doors/ext_authz/grpc_service.h",
    "doors/http_api/api.h",
    "doors/http_api/http_server.h",
    "doors/mcp_http/config.h",
    "doors/mcp_http/mcp_enforcer.h",
    "doors/mcp_http/mcp_http.h",
    "doors/mcp_http/upstream_credentials.h",
}
DAEMON_RULE = ("the daemon's composition root includes of a door only its entry headers "
               "(DOOR_ENTRY_HEADERS) and nothing of the CLI")
# The audit module: pure (no database type, header or library; its SQLite and PostgreSQL
# sides are in src/store/).
AUDIT_DIR = "src/audit/"
AUDIT_RULE = ("the audit module names no database (its SQLite and PostgreSQL sides live in "
              "src/store/)")
AUDIT_CMAKE_DB = re.compile(r"sqlite|libpq|postgres", re.IGNORECASE)
# The files that may include yaml-cpp: the strict reader, and the two policy files that
# walk the tree it returns (the policy loader's grammar, through its private header
# loader_internal.h, and the drift rewriter) until they read the reader's own tree too.
YAML_HEADER_OWNERS = {
    "src/policy/yaml_reader.h",
    "src/policy/yaml_reader.cc",
    "src/policy/loader_internal.h",
    "src/policy/writer.cc",
}
DB_SYSTEM_HEADERS = {"sqlite3.h", "libpq-fe.h", "postgresql/libpq-fe.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
DB_TOKEN = re.compile(r"\b(sqlite3\w*|PGconn|PGresult|libpq)\b")


def db_header_rule(include, system, who):
    """The rule `who` (a door, the core) breaks by including a database client header, or None."""
    return f"{who} includes no database client header" if (
        system and include in DB_SYSTEM_HEADERS) else None


def core_rule(include, system):
    """The rule a file of the core breaks by including `include`, or None."""
    if system:
        return db_header_rule(include, system, "the core")
    if include.startswith("store/"):
        return "the core includes no store header (the store implements the core's ports)"
    return None


def door_of(rel):
    """(door, own include prefix, libraries it may include) of a door's file, or None."""
    if rel.startswith(DOORS_DIR) and rel.count("/") >= 3:
        door = rel[len(DOORS_DIR):].split("/", 1)[0]
        libs = tuple(prefix for prefix, users in DOOR_LIBRARIES.values() if door in users)
        return door, f"doors/{door}/", libs
    for folder, (prefix, _) in DOOR_LIBRARIES.items():
        if rel.startswith(folder):
            return None, prefix, ()
    return None


def door_folder_rule(root, rel, include, system):
    """The rule a file of a door (or a door library) breaks by including `include`, or None."""
    if system:
        return db_header_rule(include, system, "a door")
    door, own, libs = door_of(rel)
    if include.startswith(own) or include.startswith(libs):
        return None
    if include.startswith(DOOR_ALLOWED_PREFIXES) or include in DOOR_ALLOWED_HEADERS:
        return None
    if door in DOOR_SHARED_HEADERS.get(include, ()):
        return None
    for suffix in (".grpc.pb.h", ".pb.h"):
        if door and include.endswith(suffix):
            proto = include[:-len(suffix)] + ".proto"
            if os.path.isfile(os.path.join(root, DOORS_DIR, door, "proto", proto)):
                return None
    return DOORS_RULE


def daemon_rule(include, system):
    """The rule a file of src/daemon/ breaks by including `include`, or None."""
    if system:
        return None
    if include.startswith("doors/") and include not in DOOR_ENTRY_HEADERS:
        return DAEMON_RULE
    if include.startswith("cli/"):
        return DAEMON_RULE
    return None


def yaml_rule(rel, include, system):
    """The rule `rel` breaks by including `include` (yaml-cpp outside its owners), or None."""
    if include.startswith("yaml-cpp/") and rel not in YAML_HEADER_OWNERS:
        return "only the strict YAML reader includes yaml-cpp (read YAML with policy/yaml_tree.h)"
    if include == "policy/yaml_reader.h" and not rel.startswith("src/policy/"):
        return ("only the policy module includes policy/yaml_reader.h (yaml-cpp's types); "
                "read YAML with policy/yaml_tree.h")
    return None


# The one file that may call boost::json::parse: the strict readers' own.
JSON_PARSE_OWNERS = {"src/common/json.cc"}
JSON_PARSE = re.compile(r"\bjson::parse\s*\(")
JSON_PARSE_RULE = ("JSON is read with common/json.h (ParseJsonStrict from outside, ParseOwnJson "
                   "for Interlock's own), never boost::json::parse")


def strip_comment(line):
    i = line.find("//")
    return line if i < 0 else line[:i]


def scan(root):
    """Yields (path, line, include, rule) for every violation under root."""
    src = os.path.join(root, "src")
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            core = rel.startswith(CORE_DIR)
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if rel.startswith(AUDIT_DIR) and audit_db_name(line, m):
                        yield rel, n, audit_db_name(line, m), AUDIT_RULE
                        continue
                    if m:
                        yrule = yaml_rule(rel, m.group(2), m.group(1) == "<")
                        if yrule:
                            yield rel, n, m.group(2), yrule
                            continue
                        if (rel.startswith(BENEATH_CORE) and m.group(1) == '"' and
                                m.group(2).startswith(ABOVE_CORE_PREFIXES)):
                            yield rel, n, m.group(2), BENEATH_RULE
                            continue
                        if door_of(rel):
                            drule = door_folder_rule(root, rel, m.group(2), m.group(1) == "<")
                            if drule:
                                yield rel, n, m.group(2), drule
                            continue
                        if rel.startswith(DAEMON_DIR):
                            rule = daemon_rule(m.group(2), m.group(1) == "<")
                            if rule:
                                yield rel, n, m.group(2), rule
                            continue
                        if core:
                            rule = core_rule(m.group(2), m.group(1) == "<")
                            if rule:
                                yield rel, n, m.group(2), rule
                        continue
                    code = strip_comment(line)
                    if JSON_PARSE.search(code) and rel not in JSON_PARSE_OWNERS:
                        yield rel, n, "boost::json::parse", JSON_PARSE_RULE
                    if core and DB_TOKEN.search(code):
                        yield rel, n, DB_TOKEN.search(code).group(1), \
                            "the core names no database type"


def audit_db_name(line, include):
    """The database name an audit source line holds (a client header, a type), or None."""
    if include:
        return include.group(2) if include.group(2) in DB_SYSTEM_HEADERS else None
    found = DB_TOKEN.search(strip_comment(line))
    return found.group(1) if found else None


def scan_audit_cmake(root):
    """Yields (path, line, name, rule) for every database named in src/audit/CMakeLists.txt."""
    rel = AUDIT_DIR + "CMakeLists.txt"
    path = os.path.join(root, rel)
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            found = AUDIT_CMAKE_DB.search(line.split("#", 1)[0])
            if found:
                yield rel, n, found.group(0), AUDIT_RULE


def read_allowlist(path):
    allowed = {}
    if not path:
        return allowed
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.split("#", 1)
            body = text[0].strip()
            if not body:
                continue
            parts = body.split()
            if len(parts) != 2:
                raise SystemExit(f"{path}:{n}: expected \"path include  # owner\"")
            owner = text[1].strip() if len(text) > 1 else ""
            allowed[(parts[0], parts[1])] = (n, owner)
    return allowed


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--allowlist", default=None)
    args = ap.parse_args(argv)
    allowed = read_allowlist(args.allowlist)
    used = set()
    bad = 0
    for rel, n, include, rule in [*scan(args.root), *scan_audit_cmake(args.root)]:
        key = (rel, include)
        if key in allowed:
            used.add(key)
            print(f"{rel}:{n}: allowed for now ({allowed[key][1] or 'no owner'}): {include}: {rule}")
            continue
        print(f"{rel}:{n}: {include}: {rule} (docs/design.md, \"Layers and the rule\")")
        bad += 1
    for key, (n, _) in sorted(allowed.items(), key=lambda kv: kv[1][0]):
        if key not in used:
            print(f"{args.allowlist}:{n}: stale entry {key[0]} {key[1]}: it no longer "
                  "violates the rule; delete the line")
            bad += 1
    if bad:
        print(f"check_layers: {bad} violation(s)")
        return 1
    print("check_layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
