// `interlock check PATH...`: validate policy files and directories.
// `interlock check POLICY --against-server -- SERVER...` (or --url): also lint the policy
// against the tools the server lists (tools/list only, never a call): names it does not
// have, tools it has that the policy does not mention, constraints on arguments a tool's
// inputSchema does not declare (docs/mcp.md#from-a-server-to-a-policy).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/server_flags.h"
#include "common/glob.h"
#include "common/json.h"
#include "common/spelling.h"
#include "common/text.h"
#include "daemon/config.h"
#include "mcp/tool_catalog.h"
#include "policy/loader.h"
#include "policy/workflow.h"
#include "policytest/runner.h"
#include "prove/prove.h"

namespace interlock::cli {
namespace {

using policy::Diagnostic;
namespace json = boost::json;

struct CheckOptions {
  std::string first;               // the first path
  std::vector<std::string> paths;  // every path (RunCheck fills it)
  std::vector<std::string> rest;   // more paths, or (--against-server) the server command
  bool strict = false;
  std::string format = "text";
  bool against_server = false;
  std::string agent;
  std::string workspace;  // ${workspace}; empty: the current directory
  ServerFlags server_flags;
  std::string graph;                     // --graph FILE: print its workflow as a diagram
  std::string graph_format = "mermaid";  // "mermaid" | "dot"
  std::string config;                    // --config FILE: the daemon's, for its upstreams
};

const char* SeverityName(Diagnostic::Severity s) {
  switch (s) {
    case Diagnostic::Severity::kError:
      return "error";
    case Diagnostic::Severity::kWarning:
      return "warning";
    case Diagnostic::Severity::kInfo:
      return "info";
  }
  return "error";
}

// ---- --config: upstream credentials ----

// The seed's "shared team API key": an upstream whose only credential is a static secret
// of the daemon's config gives every agent one identity there (docs/identity.md#upstream-
// credentials). One warning per such upstream when the policies define several agents.
std::vector<Diagnostic> CheckSharedSecrets(const server::ServerConfig& config,
                                           const std::string& path, const policy::PolicySet& set) {
  std::vector<Diagnostic> out;
  if (set.agents.size() < 2) return out;
  std::string agents;
  for (const auto& [id, agent] : set.agents) agents += (agents.empty() ? "" : ", ") + id;
  for (const auto& [name, u] : config.mcp.upstreams) {
    bool literal_auth = false;
    for (const auto& [h, v] : u.headers) {
      literal_auth = literal_auth || AsciiLower(h) == "authorization";
    }
    const bool static_secret = literal_auth || !u.secret_headers.empty() || !u.secret_env.empty() ||
                               !u.secret_files.empty();
    if (!static_secret || u.has_credentials) continue;
    Diagnostic d;
    d.severity = Diagnostic::Severity::kWarning;
    d.at.file = path;
    d.id = "shared-upstream-secret";
    d.message = "upstream " + name + " gets one static secret for every agent (" + agents +
                "): upstream, they are one identity that cannot be told apart or revoked "
                "separately; give it credentials: client_credentials with agents:, or "
                "token_exchange (docs/identity.md#upstream-credentials)";
    out.push_back(std::move(d));
  }
  return out;
}

// ---- --against-server ----

// "; did you mean "x"?" for the nearest candidate (common/spelling.h), or "".
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  const std::string best = NearestName(name, candidates);
  return best.empty() ? "" : "; did you mean " + ToJsonText(json::string(best)) + "?";
}

std::string Q(std::string_view s) { return ToJsonText(json::string(s)); }

// The top-level argument an argument path starts from: `paths` for `paths[*]`, `options`
// for `options.recursive`, `a.b` for `["a.b"].c`; the whole string when it has no
// separator.
std::string FirstSegment(std::string_view path) {
  if (path.size() >= 2 && path[0] == '[' && path[1] == '"') {
    for (size_t i = 2; i < path.size(); ++i) {
      if (path[i] == '\\') {
        ++i;
      } else if (path[i] == '"') {
        auto v = ParseJsonStrict(path.substr(1, i));
        if (v.ok() && v->is_string()) return std::string(v->as_string());
        break;
      }
    }
    return std::string(path);
  }
  const size_t end = path.find_first_of(".[");
  return std::string(path.substr(0, end));
}

std::vector<Diagnostic> CheckAgainstServer(const policy::AgentPolicy& p,
                                           const mcp::ServerCatalog& cat) {
  std::vector<Diagnostic> out;
  auto add = [&](Diagnostic::Severity sev, policy::Location at, std::string id, std::string msg) {
    if (at.file.empty()) at.file = p.file;
    out.push_back({sev, std::move(at), std::move(id), std::move(msg)});
  };
  std::vector<std::string> names;
  for (const mcp::ServerTool& t : cat.tools) names.push_back(t.name);
  const std::string server =
      cat.server_name.empty() ? "the server" : "server " + Q(cat.server_name);

  auto check_name = [&](std::string_view entry, const policy::Location& at, bool blocked) {
    const std::string where = std::string(blocked ? "tools.blocked " : "tools.allowed ") + Q(entry);
    if (!IsGlob(entry)) {
      if (std::find(names.begin(), names.end(), entry) == names.end()) {
        add(Diagnostic::Severity::kError, at, "unknown-tool",
            where + ": " + server + " has no tool of that name" + DidYouMean(entry, names));
      }
      return;
    }
    for (const std::string& n : names) {
      if (policy::ToolPatternMatches(entry, n)) return;
    }
    if (blocked) {
      add(Diagnostic::Severity::kInfo, at, "pattern-matches-nothing",
          where + ": the pattern matches none of the " + std::to_string(names.size()) +
              " tools of " + server + " (it still refuses any such tool added later)");
    } else {
      add(Diagnostic::Severity::kWarning, at, "pattern-matches-nothing",
          where + ": the pattern matches none of the " + std::to_string(names.size()) +
              " tools of " + server + "; a typo?");
    }
  };
  for (const auto& [name, rule] : p.allowed) check_name(name, rule.at, false);
  for (const auto& [name, at] : p.blocked) check_name(name, at, true);

  for (const mcp::ServerTool& t : cat.tools) {
    // Mentioned: some entry, exact or pattern, decides it (the engine's own resolution).
    if (p.Resolve(t.name).kind == policy::ToolResolution::Kind::kNone) {
      add(Diagnostic::Severity::kInfo, p.tools_at, "unlisted-tool",
          server + " has tool " + Q(t.name) +
              " which this policy neither allows nor blocks: it is denied by default; allow or "
              "block it to say so");
    }
  }

  // Argument names, for the exact entries (a pattern's tools may differ in arguments).
  for (const auto& [name, rule] : p.allowed) {
    if (IsGlob(name)) continue;
    auto it = std::find_if(cat.tools.begin(), cat.tools.end(),
                           [&name = name](const mcp::ServerTool& t) { return t.name == name; });
    if (it == cat.tools.end()) continue;
    const auto declared = mcp::DeclaredArguments(*it);
    std::vector<std::pair<std::string, policy::Location>> used;
    std::set<std::string> seen;
    for (const policy::ArgConstraint& c : rule.constraints) {
      std::string first = FirstSegment(c.argument);
      if (seen.insert(first).second) used.emplace_back(std::move(first), c.at);
    }
    for (const policy::ArgCombination& k : rule.combinations) {
      for (const policy::ArgConstraint& a : k.arguments) {
        if (seen.insert(a.argument).second) used.emplace_back(a.argument, k.at);
      }
    }
    if (rule.scope && seen.insert(rule.scope_argument).second) {
      used.emplace_back(rule.scope_argument, rule.at);
    }
    // A misspelt redact name is worse than a no-op: the value it meant is stored.
    for (const std::string& r : rule.redact) {
      std::string first = FirstSegment(r);
      if (seen.insert(first).second) used.emplace_back(std::move(first), rule.at);
    }
    if (used.empty()) continue;
    if (!declared) {
      add(Diagnostic::Severity::kInfo, rule.at, "undeclared-arguments",
          "tools.allowed " + Q(name) +
              ": the tool's inputSchema declares no properties, so its constrained argument "
              "names cannot be checked");
      continue;
    }
    for (const auto& [arg, at] : used) {
      if (std::find(declared->begin(), declared->end(), arg) != declared->end()) continue;
      std::string known;
      for (const std::string& d : *declared) known += (known.empty() ? "" : ", ") + d;
      add(Diagnostic::Severity::kError, at, "unknown-argument",
          "tools.allowed " + Q(name) + ": a constraint, scope or redact names argument " + Q(arg) +
              " which the tool's inputSchema does not declare (it has: " +
              (known.empty() ? "none" : known) + ")" + DidYouMean(arg, *declared));
    }
  }
  return out;
}

// `interlock check --graph FILE`: the policy's workflow as a Mermaid or Graphviz diagram.
int RunGraph(const CheckOptions& opt) {
  std::vector<Diagnostic> diags;
  auto set = policy::LoadPolicySet({opt.graph}, &diags, {.workspace = opt.workspace, .getenv = {}});
  if (!set.ok()) {
    for (const Diagnostic& d : diags) std::cerr << d.ToString() << '\n';
    if (diags.empty()) return Fail("check", set.error(), kExitFailure);
    return kExitFailure;
  }
  const auto format =
      opt.graph_format == "dot" ? policy::DiagramFormat::kDot : policy::DiagramFormat::kMermaid;
  int drawn = 0;
  for (const auto& [id, agent] : (*set)->agents) {
    if (agent->workflow == nullptr) continue;
    if ((*set)->agents.size() > 1)
      std::cout << (format == policy::DiagramFormat::kDot ? "// " : "%% ") << id << '\n';
    std::cout << policy::WorkflowDiagram(*agent->workflow, format);
    ++drawn;
  }
  if (drawn == 0) return Fail("check", opt.graph + " declares no workflow", kExitFailure);
  return kExitOk;
}

// `check --format json`: one line with the verdict, the policies and every diagnostic.
void PrintCheckJson(bool ok, int errors, int warnings,
                    const Result<std::shared_ptr<const policy::PolicySet>>& set,
                    const std::vector<Diagnostic>& diags,
                    const std::optional<mcp::ServerCatalog>& catalog) {
  boost::json::object out;
  out["ok"] = ok;
  out["errors"] = errors;
  out["warnings"] = warnings;
  boost::json::array policies;
  if (set.ok()) {
    for (const auto& [id, agent] : (*set)->agents) {
      policies.push_back({{"id", id},
                          {"file", agent->file},
                          {"sha256", agent->sha256},
                          {"mode", policy::ModeName(agent->mode)}});
    }
  }
  out["policies"] = std::move(policies);
  boost::json::array ds;
  for (const Diagnostic& d : diags) {
    ds.push_back({{"severity", SeverityName(d.severity)},
                  {"file", d.at.file},
                  {"line", d.at.line},
                  {"column", d.at.column},
                  {"id", d.id},
                  {"message", d.message}});
  }
  out["diagnostics"] = std::move(ds);
  if (catalog) {
    json::array names;
    for (const mcp::ServerTool& t : catalog->tools) names.emplace_back(t.name);
    out["server"] = {{"name", catalog->server_name},
                     {"version", catalog->server_version},
                     {"tools", std::move(names)}};
  }
  WriteJsonLine(std::cout, out);
}

int RunCheck(const CheckOptions& given) {
  if (!given.graph.empty()) return RunGraph(given);
  if (given.first.empty()) {
    return Fail("check", "give policy files or directories (or --graph FILE)");
  }
  CheckOptions opt = given;
  // With --against-server and a server command, `path` is the policy and `rest` the
  // command; otherwise `rest` holds more policy paths.
  std::vector<std::string> server_command;
  opt.paths = {opt.first};
  if (opt.against_server && opt.server_flags.url.empty()) {
    if (opt.rest.empty()) {
      return Fail("check",
                  "--against-server wants one policy and the server: "
                  "interlock check POLICY --against-server -- SERVER_COMMAND... (or --url)");
    }
    server_command = opt.rest;
  } else {
    opt.paths.insert(opt.paths.end(), opt.rest.begin(), opt.rest.end());
  }
  if (!opt.against_server &&
      (!opt.server_flags.url.empty() || !opt.server_flags.headers.empty() ||
       !opt.server_flags.header_env.empty() || !opt.server_flags.ca_file.empty())) {
    return Fail("check", "--url, --header, --header-env and --ca need --against-server");
  }
  std::vector<Diagnostic> diags;
  Result<std::shared_ptr<const policy::PolicySet>> set =
      policy::LoadPolicySet(opt.paths, &diags, {.workspace = opt.workspace, .getenv = {}});
  if (set.ok()) {
    for (const auto& [id, agent] : (*set)->agents) {
      for (Diagnostic& d : policy::Lint(*agent)) diags.push_back(std::move(d));
    }
  }
  if (set.ok()) {  // the properties beside the policies (`interlock prove`, docs/prove.md)
    for (Diagnostic& d : prove::CheckPropertiesBeside(opt.paths, *set)) diags.push_back(d);
    // and the policy tests beside them (`interlock test`, docs/policy-tests.md)
    for (Diagnostic& d : policytest::CheckTestsBeside(opt.paths)) diags.push_back(d);
  }
  if (!opt.config.empty() && set.ok()) {
    server::ServerConfig config;
    if (Status st = server::LoadServerConfig(opt.config, &config); !st.ok()) {
      return Fail("check", st.error());
    }
    for (Diagnostic& d : CheckSharedSecrets(config, opt.config, **set)) diags.push_back(d);
  }
  std::optional<mcp::ServerCatalog> catalog;
  if (opt.against_server && set.ok()) {
    auto spec = MakeServerSpec(opt.server_flags, server_command);
    if (!spec.ok()) return Fail("check", spec.error());
    std::vector<const policy::AgentPolicy*> agents;
    for (const auto& [id, agent] : (*set)->agents) {
      if (opt.agent.empty() || id == opt.agent) agents.push_back(agent.get());
    }
    if (agents.empty()) return Fail("check", "no agent " + opt.agent + " in the policy");
    auto cat = mcp::ListServerTools(*spec);
    if (!cat.ok()) {
      return Fail("check", "cannot list the server's tools: " + cat.error().message);
    }
    for (const policy::AgentPolicy* a : agents) {
      for (Diagnostic& d : CheckAgainstServer(*a, *cat)) diags.push_back(std::move(d));
    }
    catalog = std::move(*cat);
  }
  if (opt.strict) {
    for (Diagnostic& d : diags) {
      if (d.severity == Diagnostic::Severity::kWarning) d.severity = Diagnostic::Severity::kError;
    }
  }
  int errors = 0, warnings = 0;
  for (const Diagnostic& d : diags) {
    if (d.severity == Diagnostic::Severity::kError) ++errors;
    if (d.severity == Diagnostic::Severity::kWarning) ++warnings;
  }
  // A loader failure with no diagnostic still counts (e.g. unreadable path).
  if (!set.ok() && errors == 0) {
    Diagnostic d;
    d.severity = Diagnostic::Severity::kError;
    d.id = "load-failed";
    d.message = set.error().message;
    diags.push_back(d);
    ++errors;
  }
  const bool ok = errors == 0;

  if (opt.format == "json") {
    PrintCheckJson(ok, errors, warnings, set, diags, catalog);
  } else {
    for (const Diagnostic& d : diags) std::cerr << d.ToString() << '\n';
    if (set.ok()) {
      std::cout << (ok ? "ok: " : "failed: ") << (*set)->agents.size() << " polic"
                << ((*set)->agents.size() == 1 ? "y" : "ies") << " (";
      bool first = true;
      for (const auto& [id, agent] : (*set)->agents) {
        std::cout << (first ? "" : ", ") << id;
        first = false;
      }
      std::cout << "), " << errors << " error(s), " << warnings << " warning(s)\n";
    } else {
      std::cout << "failed: " << errors << " error(s), " << warnings << " warning(s)\n";
    }
  }
  return ok ? kExitOk : kExitFailure;
}

void AddCheck(CLI::App& app, int* exit_code) {
  auto [cmd, opt] = AddSubcommand<CheckOptions>(
      app, "check",
      "Validate policy files or directories. Errors carry file:line:column; warnings list "
      "the pre-production checklist items a policy shows. Exit 0 when valid, 1 when not.",
      exit_code, &RunCheck);
  // One positional for the first path and one for the rest: CLI11 2.1 then routes the words
  // after `--` (the server command) to `rest` too; RunCheck tells them apart.
  cmd->add_option("path", opt->first, "Policy files or directories of *.yaml");
  cmd->add_option("rest", opt->rest,
                  "More policy paths; with --against-server: the server command, after --");
  cmd->add_flag("--strict", opt->strict, "Treat warnings as errors");
  cmd->add_option("--format", opt->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--against-server", opt->against_server,
                "Also lint the policy against the tools an MCP server lists: give one policy "
                "and the server command after -- (or --url). Never calls a tool.");
  cmd->add_option("--agent", opt->agent,
                  "With --against-server: check only this agent's policy (default: every one)");
  cmd->add_option("--workspace", opt->workspace,
                  "The directory ${workspace} stands for (default: the current directory)");
  cmd->add_option("--graph", opt->graph,
                  "Print the workflow of this policy file as a diagram (Mermaid by default) "
                  "instead of checking");
  cmd->add_option("--config", opt->config,
                  "The daemon's configuration: warn when agents share an upstream's static "
                  "secret");
  cmd->add_option("--graph-format", opt->graph_format, "Diagram format for --graph")
      ->check(CLI::IsMember({"mermaid", "dot"}));
  AddServerFlags(cmd, &opt->server_flags);
}

const CommandRegistration kRegisterCheck("check", &AddCheck);

}  // namespace
}  // namespace interlock::cli
