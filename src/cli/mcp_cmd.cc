// `interlock mcp`: the flags of the MCP gateway over stdio, whose door is
// doors/mcp_stdio/stdio_gateway.h (this command hands it the embedded store's backend and
// the sandbox's egress proxy), and `interlock mcp pins list|show|accept`, the operator's
// review of the tool definition pins (over a SQLite file or a fleet's PostgreSQL store).
#include <cctype>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/local_store.h"
#include "common/json.h"
#include "common/store_path.h"
#include "doors/egress/daemon_decider.h"
#include "doors/egress/proxy.h"
#include "doors/mcp_stdio/stdio_gateway.h"
#include "mcp/daemon_enforcer.h"
#include "mcp/pins.h"
#include "outbound/http_connector.h"
#include "store/open_store.h"
#include "telemetry/setup.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

struct McpFlags {
  EnforcementFlags enforcement;
  mcp_stdio::StdioGatewayOptions gateway;
};

// The starter of the sandbox's egress proxy (the egress door's) on a session's deciders:
// each connection decided by the daemon with --daemon, else by the session's own Guard.
core::SessionEgressStarter SandboxEgressStarter(const mcp_stdio::SandboxDeciders& who) {
  return [who](core::SessionEgressRequest request) -> Result<std::unique_ptr<core::SessionEgress>> {
    if (who.daemon != nullptr) {
      return egress::StartSessionEgress(
          MakeDaemonEgressDecider(who.daemon, std::move(request.call_in_flight)),
          request.socket_path);
    }
    return egress::StartSessionEgress(who.guard, who.store, who.clock, std::move(request));
  };
}

// Runs the gateway with the flags, the embedded store's backend, the sandbox's egress proxy
// and the OpenTelemetry exporter.
int RunStdioGateway(McpFlags* flags) {
  static const EmbeddedStores kStores;
  mcp_stdio::StdioGatewayOptions& o = flags->gateway;
  ApplyEnforcementFlags(flags->enforcement, &kStores, &o);
  o.daemon_connector = &DaemonClientConnector();
  o.connector = outbound::Connector();
  o.sandbox_egress = SandboxEgressStarter;
  o.start_telemetry = []() -> Result<std::unique_ptr<telemetry::Sink>> {
    auto otel = telemetry::StartExporter({}, {}, "interlock mcp");
    if (!otel.ok()) return otel.error();
    return std::unique_ptr<telemetry::Sink>(std::move(*otel));
  };
  return mcp_stdio::RunStdioGateway(o);
}

struct PinsOptions {
  std::string store;
  std::string tool;
  std::string by;      // pins accept: who accepts (default cli:$USER)
  std::string sha256;  // pins accept: the reviewed changed definition (pins show prints it)
};

std::string StorePathOrDefault(const std::string& given, std::string* error) {
  if (!given.empty()) return given;
  auto p = DefaultStorePath();
  if (!p.ok()) {
    *error = p.error().message;
    return {};
  }
  return *p;
}

// The pins of --store: a SQLite file (on a connection of their own; the table is created
// when missing), or the fleet's PostgreSQL store (which must exist). Members are
// destroyed in reverse order: the pins before the store they use.
struct OpenedPins {
  std::unique_ptr<core::Store> store;  // PostgreSQL only
  std::unique_ptr<mcp::PinStore> pins;
};

Result<OpenedPins> OpenPins(const PinsOptions& opt) {
  std::string err;
  const std::string path = StorePathOrDefault(opt.store, &err);
  if (path.empty()) return Error::Invalid(err);
  OpenedPins out;
  if (!IsPostgresStore(path)) {
    // An operator command never creates a store: a typo in --store is an error, not an
    // empty list or "accepted 0" from a new file.
    if (std::error_code ec; !std::filesystem::exists(path, ec)) {
      return Error::NotFound("no store at " + path + " (pass the gateway's --store)");
    }
    auto rows = OpenLocalPinRows(path);
    if (!rows.ok()) return rows.error();
    out.pins = std::make_unique<mcp::PinStore>(std::move(rows).value());
    return out;
  }
  auto s = store::OpenStore(store::OperatorStoreOptions(path));
  if (!s.ok()) return s.error();
  out.store = std::move(s).value();
  auto rows = out.store->OpenPinRows();
  if (!rows.ok()) return rows.error();
  out.pins = std::make_unique<mcp::PinStore>(std::move(rows).value());
  return out;
}

// The pins of opt.tool (every tool when empty), or an exit code after an error.
Result<std::vector<mcp::PinRow>> LoadPins(const PinsOptions& opt) {
  auto opened = OpenPins(opt);
  if (!opened.ok()) return opened.error();
  auto rows = opened->pins->List();
  if (!rows.ok()) return rows.error();
  std::erase_if(*rows,
                [&](const mcp::PinRow& r) { return !opt.tool.empty() && r.tool != opt.tool; });
  return rows;
}

// A stored canonical definition as JSON (null when not recorded or unreadable).
json::value DefinitionJson(const std::string& canonical) {
  if (canonical.empty()) return nullptr;
  auto v = ParseJsonStrict(canonical, JsonLimits{8 << 20, 256});
  return v.ok() ? std::move(*v) : json::value(nullptr);
}

// One JSON line per pin: its state and hashes, the pinned definition and, for a changed
// tool, the changed definition and the line diff between them.
int RunPinsList(const PinsOptions& opt) {
  auto rows = LoadPins(opt);
  if (!rows.ok()) return Fail("mcp", rows.error());
  for (const mcp::PinRow& r : *rows) {
    json::object o{{"agent_id", r.agent_id},
                   {"tool", r.tool},
                   {"state", r.changed_sha256.empty() ? "pinned" : "changed"},
                   {"sha256", r.sha256},
                   {"first_seen", r.first_seen},
                   {"definition", DefinitionJson(r.definition)}};
    if (!r.changed_sha256.empty()) {
      o["changed_sha256"] = r.changed_sha256;
      o["changed_at"] = r.changed_at;
      o["changed_definition"] = DefinitionJson(r.changed_definition);
      o["diff"] = mcp::DefinitionDiff(r.definition, r.changed_definition);
    }
    std::cout << ToJsonText(o) << '\n';
  }
  return kExitOk;
}

// For people: each pin's definition and, for a changed tool, the pinned and the changed
// definition pretty-printed and a line diff ("- " pinned, "+ " changed), so what a
// server slipped into a description or schema is read before it is accepted.
int RunPinsShow(const PinsOptions& opt) {
  auto rows = LoadPins(opt);
  if (!rows.ok()) return Fail("mcp", rows.error());
  if (rows->empty()) {
    return Fail("mcp", opt.tool.empty() ? "no pinned tools" : "no pin for tool " + opt.tool);
  }
  const std::string not_recorded = "(not recorded: pinned before definitions were kept)";
  for (const mcp::PinRow& r : *rows) {
    std::cout << "tool " << r.tool << " (agent " << r.agent_id << "): "
              << (r.changed_sha256.empty()
                      ? "pinned"
                      : "CHANGED at " + r.changed_at + ", blocked until accepted")
              << '\n';
    std::cout << "pinned " << r.first_seen << " sha256 " << r.sha256 << ":\n"
              << (r.definition.empty() ? not_recorded : mcp::PrettyJson(r.definition)) << '\n';
    if (r.changed_sha256.empty()) {
      std::cout << '\n';
      continue;
    }
    std::cout << "changed sha256 " << r.changed_sha256 << ":\n"
              << (r.changed_definition.empty() ? not_recorded
                                               : mcp::PrettyJson(r.changed_definition))
              << "\ndiff (- pinned, + changed):\n"
              << mcp::DefinitionDiff(r.definition, r.changed_definition)
              << "to accept exactly this definition (refused if it changes again first):\n"
              << "  interlock mcp pins accept " << r.tool << " --sha256 " << r.changed_sha256
              << "\n\n";
  }
  return kExitOk;
}

int RunPinsAccept(const PinsOptions& opt) {
  // Checked before the store is opened: a usage error touches nothing.
  if (!opt.sha256.empty() && opt.tool.empty()) {
    return Fail("mcp", "--sha256 names one reviewed definition: give the TOOL it belongs to");
  }
  auto opened = OpenPins(opt);
  if (!opened.ok()) return Fail("mcp", opened.error());
  const std::string by = OperatorActor(opt.by);
  auto n = opened->pins->Accept(opt.tool, by, opt.sha256);
  if (!n.ok()) return Fail("mcp", n.error());
  std::cout << "accepted " << *n << " changed tool definition(s) (by " << by << ", audited)\n";
  return kExitOk;
}

void AddMcp(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<McpFlags>();
  mcp_stdio::StdioGatewayOptions* opt = &flags->gateway;
  CLI::App* cmd = app.add_subcommand(
      "mcp",
      "MCP gateway: interlock mcp (--policy P [--agent ID] [--store PATH] | --daemon URL "
      "--token-env NAME) -- SERVER [ARGS...]. "
      "Every tools/call is decided by Interlock before the server sees it; with --daemon the "
      "daemon's policies decide and --policy is ignored.");
  AddEnforcementFlags(cmd, &flags->enforcement);
  cmd->add_option("--durability", opt->durability,
                  "Standalone store: full (default; fsync before each decision is returned) or "
                  "normal (WAL, no fsync: a decision's record survives a crash of this process, "
                  "not of the machine)");
  cmd->add_option("--secret-env", opt->secret_env,
                  "Pass this environment variable to the server and mask its value in results")
      ->allow_extra_args(false);
  cmd->add_option("--secret-file", opt->secret_file,
                  "NAME=PATH: put the file's content into the server's environment as NAME "
                  "and mask it in results")
      ->allow_extra_args(false);
  cmd->add_option("--pass-env,--sandbox-env", opt->pass_env,
                  "Pass this variable of Interlock's environment to the server (repeatable). "
                  "The server gets nothing else of it but PATH, HOME, USER, LOGNAME, SHELL, "
                  "TERM, LANG, LC_ALL, LC_CTYPE and TZ (docs/mcp.md)")
      ->allow_extra_args(false);
  cmd->add_option("--forward-method", opt->forward_methods,
                  "Also forward this JSON-RPC method (either direction); by default only the "
                  "MCP specification's methods pass and others are answered Method not found")
      ->allow_extra_args(false);
  cmd->add_option("--rehearse-upstream", opt->rehearse_upstreams,
                  "NAME=COMMAND (split at spaces) or NAME=URL: the staging MCP server that "
                  "rehearsals of `rehearse: {upstream: NAME}` are sent to (docs/mcp.md#rehearsal)")
      ->allow_extra_args(false);
  cmd->add_option("--rehearsal-timeout", opt->rehearsal_timeout_s,
                  "Seconds a rehearsal may take before it counts as failed (default 30)");
  const std::string retry_wait_range = std::to_string(mcp::kMinRetryWaitSeconds) + " to " +
                                       std::to_string(mcp::kMaxRetryWaitSeconds) + ", default " +
                                       std::to_string(mcp::kDefaultRetryWaitSeconds);
  cmd->add_option("--approval-retry-wait", opt->approval_retry_wait_s,
                  "With --daemon: seconds a 2026-07-28 client's retry of a call held for "
                  "reviewers waits for their verdict before it is answered input_required "
                  "again (" +
                      retry_wait_range + "; docs/mcp.md#approvals-over-mrtr)");
  cmd->add_option("--workspace", opt->workspace,
                  "The directory ${workspace} stands for in the policy (default: the current "
                  "directory; made absolute). Ignored with --daemon: the daemon's own "
                  "workspace applies");
  cmd->add_flag("--sandbox", opt->sandbox,
                "Run the server under bubblewrap as an unprivileged id with no capability: no "
                "network but Interlock's egress proxy (the policy's egress.allow), only the "
                "system directories and its own files read-only, a private /tmp and HOME, "
                "Interlock's files and credential files hidden (docs/mcp.md#sandbox-and-egress). "
                "Refuses to start without a sandbox");
  cmd->add_option("--sandbox-write", opt->sandbox_write,
                  "With --sandbox: a directory the server may write (repeatable); refused if it "
                  "holds or lies inside Interlock's store, keys, policy, config or programs")
      ->allow_extra_args(false);
  cmd->add_option("--sandbox-read", opt->sandbox_read,
                  "With --sandbox: a path the server may read (repeatable); beyond it the server "
                  "sees only the system directories and its own program's and script's files")
      ->allow_extra_args(false);
  cmd->add_option("server", opt->server, "The MCP server command, after --");

  auto pins_opt = std::make_shared<PinsOptions>();
  CLI::App* pins = cmd->add_subcommand("pins", "Tool definition pins (rug-pull protection)");
  pins->require_subcommand(1);
  CLI::App* list = pins->add_subcommand("list", "List pinned tools as JSON lines");
  list->add_option("--store", pins_opt->store,
                   "SQLite store file or postgresql:// URI (a fleet's shared store)");
  list->add_option("tool", pins_opt->tool, "Only this tool");
  list->callback([pins_opt, exit_code] { *exit_code = RunPinsList(*pins_opt); });
  CLI::App* show = pins->add_subcommand(
      "show", "Show pinned and changed tool definitions with a line diff, to review them");
  show->add_option("--store", pins_opt->store,
                   "SQLite store file or postgresql:// URI (a fleet's shared store)");
  show->add_option("tool", pins_opt->tool, "Only this tool");
  show->callback([pins_opt, exit_code] { *exit_code = RunPinsShow(*pins_opt); });
  CLI::App* accept = pins->add_subcommand("accept", "Accept changed tool definitions");
  accept->add_option("--store", pins_opt->store,
                     "SQLite store file or postgresql:// URI (a fleet's shared store)");
  accept->add_option("tool", pins_opt->tool, "Only this tool (default: every changed tool)");
  accept->add_option("--by", pins_opt->by, "Who accepts, for the audit record (default cli:$USER)");
  accept
      ->add_option("--sha256", pins_opt->sha256,
                   "The changed definition you reviewed (`pins show` prints it): refused, "
                   "and nothing accepted, if TOOL's pending definition is another one")
      // Given, it must name a definition: an empty value (a script's unset variable) never
      // falls back to accepting whatever is pending. Upper case is read as lower.
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const bool hex =
                v.size() == 64 && v.find_first_not_of("0123456789abcdef") == std::string::npos;
            return hex ? std::string() : "must be the 64 hex digits `pins show` prints";
          },
          "SHA256"));
  accept->callback([pins_opt, exit_code] { *exit_code = RunPinsAccept(*pins_opt); });

  cmd->callback([cmd, flags, exit_code] {
    if (cmd->got_subcommand("pins")) return;
    if (flags->enforcement.policy.empty() && flags->enforcement.daemon.empty()) {
      *exit_code =
          Fail("mcp", "--policy is required (or --daemon URL, whose policies then decide)");
      return;
    }
    *exit_code = RunStdioGateway(flags.get());
  });
}

const CommandRegistration kRegisterMcp("mcp", &AddMcp);

}  // namespace
}  // namespace interlock::cli
