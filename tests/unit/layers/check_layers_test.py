"""Tests of tools/check_layers.py on fixture trees (temp directories)."""

import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("INTERLOCK_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CHECKER = os.path.join(SOURCE, "tools", "check_layers.py")


class Tree:
    """A fixture source tree under a temp directory."""

    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        for rel, text in files.items():
            path = os.path.join(self.dir.name, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)

    def check(self, allowlist=None):
        args = [sys.executable, CHECKER, "--root", self.dir.name]
        if allowlist is not None:
            path = os.path.join(self.dir.name, "allow.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(allowlist)
            args += ["--allowlist", path]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def close(self):
        self.dir.cleanup()


CLEAN = {
    "src/doors/http_api/api.cc": '#include "doors/http_api/api.h"\n#include "core/app/calls.h"\n',
    "src/doors/decide/decide.cc": '#include "doors/decide/decide.h"\n'
                                  '#include "core/app/offline_run.h"\n#include "common/json.h"\n',
    "src/cli/decide_cmd.cc": '#include "cli/command.h"\n#include "doors/decide/decide.h"\n',
    "src/daemon/config.cc": '#include "store/open_store.h"\n#include "doors/http_api/api.h"\n',
    "src/mcp/gateway.cc": '#include "mcp/gateway.h"\n#include "core/app/calls.h"\n',
    "src/doors/mcp_http/mcp_http.cc": '#include "mcp/gateway.h"\n#include "common/json.h"\n',
    "src/core/app/calls.h": '#include "core/ports/store.h"\n',
    "src/policy/yaml_reader.cc": "#include <yaml-cpp/yaml.h>\n",
    "src/core/ports/store.h": '#include "engine/engine.h"\n// sqlite3 in a comment is fine\n',
    "src/store/sqlite_store.cc": "#include <sqlite3.h>\n",
    "src/cli/serve_cmd.cc": '#include "store/sqlite_store.h"\n',
    "src/audit/verify.cc": '#include "audit/verify.h"\n// the SQLite log (sqlite3) is the store\'s\n',
    "src/audit/CMakeLists.txt": "# no SQLite here\ninterlock_module(audit DEPS interlock::common)\n",
    "src/store/sqlite_audit_log.cc": '#include <sqlite3.h>\n#include "audit/audit_log.h"\n',
}


class LayersTest(unittest.TestCase):
    def run_tree(self, extra, allowlist=None):
        tree = Tree({**CLEAN, **extra})
        try:
            return tree.check(allowlist)
        finally:
            tree.close()

    # Tests that a tree keeping the rule passes (the store and the composition root may
    # include backends; a port may name the pure engine).
    def test_clean_tree_passes(self):
        code, out = self.run_tree({})
        self.assertEqual(code, 0, out)

    # Tests that a door folder under src/doors/ passes with the facade, common, interlock,
    # its own folder and its own protos' generated headers, and that a new door folder
    # including anything else (a store, the MCP door's code, another door's folder, another
    # door's protos, the engine, a database client) fails the day it lands.
    def test_doors_folder_is_an_allowlist(self):
        ok = {
            "src/doors/ext_authz/door.cc":
                '#include "doors/ext_authz/door.h"\n#include "core/app/calls.h"\n'
                '#include "core/guard.h"\n#include "common/json.h"\n'
                '#include "interlock/decision.h"\n#include <grpcpp/grpcpp.h>\n'
                '#include "envoy/service/auth/v3/external_auth.grpc.pb.h"\n',
            "src/doors/ext_authz/proto/envoy/service/auth/v3/external_auth.proto": "",
        }
        code, out = self.run_tree(ok)
        self.assertEqual(code, 0, out)
        for include in ('"store/sqlite_store.h"', '"mcp/request_headers.h"',
                        '"doors/ext_authz/door.h"', '"daemon/config.h"', '"engine/engine.h"',
                        '"core/ports/store.h"', '"other/thing.pb.h"', "<sqlite3.h>",
                        '"identity/jwt.h"', '"core/policy_source.h"', '"cli/cli_util.h"'):
            code, out = self.run_tree({**ok, "src/doors/new_door/x.cc": f"#include {include}\n"})
            self.assertEqual(code, 1, include + out)
            self.assertIn("src/doors/new_door/x.cc:1:", out)

    # Tests that a door reading YAML fails: its config section is a plain value the daemon
    # reads (src/daemon/config_ext_authz.cc for ext_authz), not the door.
    def test_door_reading_yaml_fails(self):
        code, out = self.run_tree({"src/doors/ext_authz/config.h": '#include "policy/yaml_tree.h"\n',
                                   "src/mcp/config.cc": '#include "policy/yaml_tree.h"\n'})
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/ext_authz/config.h:1: policy/yaml_tree.h", out)
        self.assertIn("src/mcp/config.cc:1: policy/yaml_tree.h", out)

    # Tests that a module beneath the core including the core (or a door, or the store)
    # fails: a two-way tie (telemetry's setup once included core/guard.h while the core
    # included telemetry) makes two modules one.
    def test_module_beneath_the_core_including_it_fails(self):
        ok = {"src/telemetry/sink.cc": '#include "telemetry/sink.h"\n#include "common/json.h"\n',
              "src/core/guard.h": '#include "telemetry/decision_span.h"\n'}
        code, out = self.run_tree(ok)
        self.assertEqual(code, 0, out)
        for rel, include in (("src/telemetry/setup.h", "core/guard.h"),
                             ("src/policy/x.cc", "daemon/config.h"),
                             ("src/identity/z.cc", "doors/http_api/api.h"),
                             ("src/common/y.h", "store/sqlite_store.h"),
                             ("src/audit/verify.h", "core/ports/store.h")):
            code, out = self.run_tree({**ok, rel: f'#include "{include}"\n'})
            self.assertEqual(code, 1, out)
            self.assertIn(f"{rel}:1: {include}: a module beneath the core", out)

    # Tests that a door including a store header fails, naming file:line and the rule: a
    # serving command's door (the egress proxy's) and the MCP session library.
    def test_door_including_store_fails(self):
        code, out = self.run_tree(
            {"src/doors/egress/command.cc": '#include "doors/egress/command.h"\n\n'
                                            '#include "store/sqlite_pins.h"\n',
             "src/mcp/pins.cc": '#include "mcp/pins.h"\n\n#include "store/sqlite_pins.h"\n'})
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/egress/command.cc:3: store/sqlite_pins.h: a door (src/doors/<door>/, "
                      "or a door library: src/mcp/) includes only", out)
        self.assertIn("src/mcp/pins.cc:3: store/sqlite_pins.h: a door (src/doors/<door>/, or a "
                      "door library: src/mcp/) includes only", out)

    # Tests the door libraries: the MCP session library (src/mcp/) is held to the doors'
    # allowlist, the MCP over HTTP door may include it, and another door may not.
    def test_door_library_is_shared_by_its_doors_only(self):
        code, out = self.run_tree(
            {"src/doors/ext_authz/door.cc": '#include "mcp/gateway.h"\n',
             "src/mcp/sse.cc": '#include "mcp/sse.h"\n#include "outbound/tls_client.h"\n'})
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/ext_authz/door.cc:1: mcp/gateway.h", out)
        self.assertIn("src/mcp/sse.cc:2: outbound/tls_client.h", out)
        self.assertIn("2 violation(s)", out)

    # Tests that the HTTP doors' library (src/http/) is theirs only: the API and the MCP over
    # HTTP doors include it, another door does not, and it is held to the doors' allowlist
    # itself (the API door's listener is not on it).
    def test_http_library_is_shared_by_the_http_doors_only(self):
        ok = {"src/doors/http_api/api.h": '#include "http/mcp_endpoint.h"\n',
              "src/doors/mcp_http/mcp_http.h": '#include "http/mcp_endpoint.h"\n',
              "src/http/mcp_endpoint.h": '#include "http/exchange.h"\n'
                                         '#include "core/app/authn.h"\n'}
        code, out = self.run_tree(ok)
        self.assertEqual(code, 0, out)
        code, out = self.run_tree(
            {**ok, "src/doors/ext_authz/door.cc": '#include "http/exchange.h"\n',
             "src/http/exchange.cc": '#include "doors/http_api/http_server.h"\n',
             "src/policy/x.cc": '#include "http/exchange.h"\n'})
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/ext_authz/door.cc:1: http/exchange.h", out)
        self.assertIn("src/http/exchange.cc:1: doors/http_api/http_server.h", out)
        self.assertIn("src/policy/x.cc:1: http/exchange.h: a module beneath the core", out)
        self.assertIn("3 violation(s)", out)

    # Tests the doors that moved out of the CLI (issue 57): the command hook and the stdio
    # gateway are held to the doors' allowlist (the CLI's headers are not on it), the HTTP
    # API may include Claude Code's hook contract (DOOR_SHARED_HEADERS) but not the command
    # hook beside it, and another door may include neither.
    def test_moved_doors_and_the_shared_hook_contract(self):
        code, out = self.run_tree({
            "src/doors/claude_code/command_hook.cc": '#include "doors/claude_code/contract.h"\n'
                                                     '#include "core/app/standalone.h"\n'
                                                     '#include "mcp/daemon_enforcer.h"\n'
                                                     '#include "cli/local_store.h"\n',
            "src/doors/mcp_stdio/stdio_gateway.cc": '#include "mcp/gateway.h"\n'
                                                    '#include "policy/loader.h"\n',
            "src/doors/http_api/api_hooks.cc": '#include "doors/claude_code/contract.h"\n'
                                               '#include "doors/claude_code/command_hook.h"\n',
            "src/doors/ext_authz/door.cc": '#include "doors/claude_code/contract.h"\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/claude_code/command_hook.cc:4: cli/local_store.h", out)
        self.assertIn("src/doors/mcp_stdio/stdio_gateway.cc:2: policy/loader.h", out)
        self.assertIn("src/doors/http_api/api_hooks.cc:2: doors/claude_code/command_hook.h", out)
        self.assertIn("src/doors/ext_authz/door.cc:1: doors/claude_code/contract.h", out)
        self.assertIn("4 violation(s)", out)

    # Tests the serving commands that moved out of the CLI (issue 57): `decide` and the
    # egress proxy's command are doors held to the allowlist (the CLI, the policy loader, the
    # MCP library their thin commands use are not on it), while their thin commands in
    # src/cli may hand them the daemon client and the embedded store.
    def test_moved_serving_commands_are_doors(self):
        code, out = self.run_tree({
            "src/cli/egress_cmd.cc": '#include "cli/local_store.h"\n'
                                     '#include "doors/egress/command.h"\n'
                                     '#include "mcp/daemon_enforcer.h"\n',
            "src/doors/egress/command.cc": '#include "doors/egress/command.h"\n'
                                           '#include "core/app/standalone.h"\n'
                                           '#include "mcp/daemon_enforcer.h"\n',
            "src/doors/decide/decide.cc": '#include "core/app/offline_run.h"\n'
                                          '#include "cli/cli_util.h"\n'
                                          '#include "policy/loader.h"\n'
                                          '#include "policy/workflow.h"\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/egress/command.cc:3: mcp/daemon_enforcer.h", out)
        self.assertIn("src/doors/decide/decide.cc:2: cli/cli_util.h", out)
        self.assertIn("src/doors/decide/decide.cc:3: policy/loader.h", out)
        self.assertIn("src/doors/decide/decide.cc:4: policy/workflow.h", out)
        self.assertNotIn("src/cli/egress_cmd.cc", out)
        self.assertIn("4 violation(s)", out)

    # Tests that the daemon's composition root may include anything beneath it and a door's
    # entry header, but not what a door keeps to itself, nor the CLI.
    def test_daemon_includes_only_door_entry_headers(self):
        code, out = self.run_tree({
            "src/daemon/wiring.cc": '#include "doors/mcp_http/mcp_http.h"\n'
                                    '#include "store/sqlite_store.h"\n#include "engine/engine.h"\n'
                                    '#include "doors/http_api/api_internal.h"\n'
                                    '#include "cli/cli_util.h"\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/daemon/wiring.cc:4: doors/http_api/api_internal.h: the daemon's "
                      "composition root includes of a door only its entry headers", out)
        self.assertIn("src/daemon/wiring.cc:5: cli/cli_util.h", out)
        self.assertIn("2 violation(s)", out)

    # Tests that a door holding the core's in-memory run store itself (around the
    # core::OfflineRun facade) fails, while the core may build on it.
    def test_door_including_memory_run_store_fails(self):
        code, out = self.run_tree({
            "src/doors/decide/decide.cc": '#include "core/memory_run_store.h"\n',
            "src/core/app/offline_run.h": '#include "core/memory_run_store.h"\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/decide/decide.cc:1: core/memory_run_store.h: a door "
                      "(src/doors/<door>/, or a door library: src/mcp/) includes only", out)
        self.assertNotIn("offline_run.h", out)

    # Tests that a door calling the store around the core fails: the egress proxy's
    # command, an MCP file or `decide` including a store port header (core/ports/store.h
    # and the other ports, the value-only kill_entry.h too: a door asks the facade).
    def test_door_including_store_port_fails(self):
        code, out = self.run_tree({
            "src/doors/egress/command.cc": '#include "doors/egress/command.h"\n'
                                           '#include "core/ports/store.h"\n',
            "src/mcp/pins.h": '#include "core/ports/pin_rows.h"\n',
            "src/doors/decide/decide.cc": '#include "core/ports/approvals.h"\n'
                                          '#include "core/ports/kill_entry.h"\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/egress/command.cc:2: core/ports/store.h: a door "
                      "(src/doors/<door>/, or a door library: src/mcp/) includes only", out)
        self.assertIn("src/mcp/pins.h:1: core/ports/pin_rows.h", out)
        self.assertIn("src/doors/decide/decide.cc:1: core/ports/approvals.h", out)
        self.assertIn("src/doors/decide/decide.cc:2: core/ports/kill_entry.h", out)
        self.assertIn("4 violation(s)", out)

    # Tests that yaml-cpp outside the strict reader fails (the server config read around
    # policy/yaml_reader.h could accept a duplicate key), wherever the file is.
    def test_yaml_cpp_outside_reader_fails(self):
        code, out = self.run_tree({
            "src/daemon/config.cc": '#include <yaml-cpp/yaml.h>\n',
            "src/governance/x.cc": '#include "yaml-cpp/node/node.h"\n',
            "src/cli/doctor.cc": '#include "policy/yaml_reader.h"\n',
            "src/policy/writer.cc": '#include "policy/yaml_reader.h"\n#include <yaml-cpp/yaml.h>\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/daemon/config.cc:1: yaml-cpp/yaml.h: only the strict YAML reader "
                      "includes yaml-cpp", out)
        self.assertIn("src/governance/x.cc:1: yaml-cpp/node/node.h", out)
        self.assertIn("src/cli/doctor.cc:1: policy/yaml_reader.h: only the policy module", out)
        self.assertIn("3 violation(s)", out)

    # Tests that boost::json::parse outside common/json.cc fails wherever it is called (a
    # store reader, the core, a door; with or without the boost:: prefix), and that a
    # comment naming it and json.cc itself pass.
    def test_boost_json_parse_outside_the_strict_readers_fails(self):
        code, out = self.run_tree({
            "src/store/row_codec.cc": "auto v = boost::json::parse(text, ec);\n",
            "src/core/run_txn.cc": "// never boost::json::parse(text)\njson::value v = json::parse (t);\n",
            "src/doors/http_api/api.cc": "auto v = ParseOwnJson(body);\n",
            "src/common/json.cc": "boost::json::value v = boost::json::parse(text);\n",
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/store/row_codec.cc:1: boost::json::parse: JSON is read with "
                      "common/json.h", out)
        self.assertIn("src/core/run_txn.cc:2: boost::json::parse", out)
        self.assertIn("2 violation(s)", out)

    # Tests that a door reaching the engine, SQLite or libpq fails, each on its line.
    def test_door_including_engine_or_database_fails(self):
        code, out = self.run_tree({
            "src/doors/decide/decide.cc": '#include "engine/engine.h"\n',
            "src/doors/http_api/x.cc": "#include <sqlite3.h>\n#include <libpq-fe.h>\n",
            "src/doors/egress/command.cc": '#include "store/sqlite_audit_log.h"\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/doors/decide/decide.cc:1: engine/engine.h: a door (src/doors/<door>/, "
                      "or a door library: src/mcp/) includes only", out)
        self.assertIn("src/doors/http_api/x.cc:1: sqlite3.h: a door includes no database client", out)
        self.assertIn("src/doors/http_api/x.cc:2: libpq-fe.h", out)
        self.assertIn("src/doors/egress/command.cc:1: store/sqlite_audit_log.h", out)
        self.assertIn("4 violation(s)", out)

    # Tests that the audit module naming a database fails, each on its line: a client
    # header, a database type in code (not in a comment), the store's SQLite side, and its
    # CMakeLists.txt linking SQLite or libpq (the chain and verification stay pure: the
    # database sides are the store's).
    def test_audit_naming_database_fails(self):
        code, out = self.run_tree({
            "src/audit/export.cc": '#include "audit/export.h"\n\n#include <sqlite3.h>\n',
            "src/audit/export.h": "struct sqlite3;  // the store's\n",
            "src/audit/query.cc": "#include <libpq-fe.h>\nPGresult* r = nullptr;\n",
            "src/audit/tail.cc": '#include "store/sqlite_audit_read.h"\n',
            "src/audit/CMakeLists.txt":
                "# a comment naming SQLite is fine\n"
                "interlock_module(audit DEPS interlock::common SQLite::SQLite3)\n",
        })
        self.assertEqual(code, 1, out)
        self.assertIn("src/audit/export.cc:3: sqlite3.h: the audit module names no database",
                      out)
        self.assertIn("src/audit/export.h:1: sqlite3: the audit module names no database", out)
        self.assertIn("src/audit/query.cc:1: libpq-fe.h: the audit module", out)
        self.assertIn("src/audit/query.cc:2: PGresult: the audit module", out)
        self.assertIn("src/audit/tail.cc:1: store/sqlite_audit_read.h: a module beneath the core",
                      out)
        self.assertIn("src/audit/CMakeLists.txt:2: SQLite: the audit module names no database",
                      out)
        self.assertIn("6 violation(s)", out)

    # Tests that a port (or any core file) naming a database type fails even without an
    # include, and that the core including a store header fails.
    def test_port_naming_database_type_fails(self):
        code, out = self.run_tree({"src/core/ports/bad.h": "struct sqlite3;\nclass X {};\n"})
        self.assertEqual(code, 1, out)
        self.assertIn("src/core/ports/bad.h:1: sqlite3: the core names no database type", out)
        code, out = self.run_tree({"src/core/guard.cc": '#include "store/sqlite_store.h"\n'})
        self.assertEqual(code, 1, out)
        self.assertIn("src/core/guard.cc:1: store/sqlite_store.h: the core includes no store", out)

    # Tests that an allowlisted violation passes but is still printed with its owner.
    def test_allowlisted_violation_is_shown_and_passes(self):
        code, out = self.run_tree({"src/doors/http_api/api.cc": '#include "engine/engine.h"\n'},
                                  "src/doors/http_api/api.cc engine/engine.h  # H4\n")
        self.assertEqual(code, 0, out)
        self.assertIn("allowed for now (H4)", out)

    # Tests that an allowlist entry that no longer matches fails, so the list only shrinks.
    def test_stale_allowlist_entry_fails(self):
        code, out = self.run_tree({}, "src/doors/http_api/api.cc engine/engine.h  # H4\n")
        self.assertEqual(code, 1, out)
        self.assertIn("stale entry", out)


if __name__ == "__main__":
    unittest.main()
