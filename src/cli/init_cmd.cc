// `interlock init --agent ID [--out FILE] -- SERVER...` (or --url URL): a commented
// starter policy from the tools an MCP server lists (docs/mcp.md#from-a-server-to-a-policy).
//
// The server is started, asked for initialize and tools/list only (mcp::ListServerTools:
// never tools/call), and ended. Each tool is sorted by its annotations and name:
//   destructive (destructiveHint true; readOnlyHint false with no destructiveHint, the MCP
//     default; or a name containing delete, drop, remove, destroy, purge, truncate, kill):
//     allowed with requires_approval, reversible: false and an approval timeout;
//   read-only (readOnlyHint true; or, when the server sends no readOnlyHint, a name whose
//     first word is get, list, read, search or view): allowed;
//   everything else: listed commented out, so default deny keeps it refused.
// Open-world tools (openWorldHint true) are labelled. What the server sent (descriptions,
// argument names) only ever lands in comments, sanitized to one line; names are written
// as quoted strings. The text is parsed and linted before it is written: a starter that
// would not load is an error, never a file. An existing file is kept unless --force.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/server_flags.h"
#include "common/json.h"
#include "common/text.h"
#include "mcp/tool_catalog.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

struct InitOptions {
  std::string agent;
  std::string out;
  std::string identity;
  std::vector<std::string> contacts;
  bool force = false;
  ServerFlags server_flags;
  std::vector<std::string> server;
};

enum class Kind { kReadOnly, kDestructive, kOther };

constexpr std::string_view kDestructiveWords[] = {"delete", "drop",     "remove", "destroy",
                                                  "purge",  "truncate", "kill"};
constexpr std::string_view kReadWords[] = {"get", "list", "read", "search", "view"};

// The first word of a tool name: up to the first '_', '-', '.', '/', ' ' or lower-to-upper
// case change: getFoo, get_foo and get-foo all start with "get".
std::string FirstWord(std::string_view name) {
  std::string w;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '_' || c == '-' || c == '.' || c == '/' || c == ' ') break;
    if (i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
        std::islower(static_cast<unsigned char>(name[i - 1]))) {
      break;
    }
    w.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return w;
}

std::string DestructiveWordIn(std::string_view name) {
  const std::string lower = AsciiLower(name);
  for (std::string_view w : kDestructiveWords) {
    if (lower.find(w) != std::string::npos) return std::string(w);
  }
  return "";
}

// Why the tool is in its kind, for the comment above it.
Kind Classify(const mcp::ServerTool& t, std::string* why) {
  const std::optional<bool> ro = mcp::ToolHint(t, "readOnlyHint");
  const std::optional<bool> de = mcp::ToolHint(t, "destructiveHint");
  if (de == true) {
    *why = "destructiveHint: true";
    return Kind::kDestructive;
  }
  if (ro == false && !de.has_value()) {
    *why = "readOnlyHint: false and no destructiveHint (MCP assumes destructive)";
    return Kind::kDestructive;
  }
  if (std::string w = DestructiveWordIn(t.name); !w.empty()) {
    *why = "its name contains \"" + w + "\"";
    return Kind::kDestructive;
  }
  if (ro == true) {
    *why = "readOnlyHint: true";
    return Kind::kReadOnly;
  }
  if (!ro.has_value()) {
    const std::string first = FirstWord(t.name);
    for (std::string_view w : kReadWords) {
      if (first == w) {
        *why = "no annotations; its name starts with \"" + first + "\"";
        return Kind::kReadOnly;
      }
    }
    *why = "no readOnlyHint and a name that does not say it only reads";
    return Kind::kOther;
  }
  *why = "readOnlyHint: false, destructiveHint: false";
  return Kind::kOther;
}

std::string Quote(std::string_view s) { return ToJsonText(json::string(s)); }

// The comment lines describing one tool, each starting with `indent` + "# ".
void DescribeTool(std::ostream& o, const std::string& indent, const mcp::ServerTool& t,
                  const std::string& why) {
  std::string head = OneLine(t.name, 120);
  const std::string desc = OneLine(t.description.empty() ? t.title : t.description, 160);
  if (!desc.empty()) head += ": " + desc;
  o << indent << "# " << head << '\n';
  if (auto args = mcp::DeclaredArguments(t)) {
    std::vector<std::string> required;
    if (const json::value* r = t.input_schema.as_object().if_contains("required");
        r != nullptr && r->is_array()) {
      for (const json::value& v : r->as_array()) {
        if (v.is_string()) required.emplace_back(v.as_string());
      }
    }
    std::string line;
    for (const std::string& a : *args) {
      if (!line.empty()) line += ", ";
      line += OneLine(a, 60);
      if (std::find(required.begin(), required.end(), a) != required.end()) line += " (required)";
    }
    o << indent << "#   arguments: " << (line.empty() ? "none" : OneLine(line, 400)) << '\n';
  } else {
    o << indent << "#   arguments: not declared (inputSchema has no properties)\n";
  }
  o << indent << "#   sorted by: " << why << '\n';
  if (mcp::ToolHint(t, "openWorldHint") == true) {
    o << indent
      << "#   OPEN WORLD (openWorldHint: true): reaches systems outside this server; "
         "constrain its arguments\n";
  }
}

std::string Generate(const InitOptions& opt, const mcp::ServerCatalog& cat) {
  std::vector<std::pair<const mcp::ServerTool*, std::string>> reads, destructive, other;
  for (const mcp::ServerTool& t : cat.tools) {
    std::string why;
    switch (Classify(t, &why)) {
      case Kind::kReadOnly:
        reads.emplace_back(&t, why);
        break;
      case Kind::kDestructive:
        destructive.emplace_back(&t, why);
        break;
      case Kind::kOther:
        other.emplace_back(&t, why);
        break;
    }
  }
  // Blocked: one name pattern for the first destructive word no tool of this server
  // contains, so such a tool added later is refused even if someone writes an allow pattern
  // that matches it. Only one, and one matching none of today's tools: it never overlaps
  // another entry (which `check` would report).
  std::vector<std::string> blocked;
  for (std::string_view w : kDestructiveWords) {
    bool used = false;
    for (const mcp::ServerTool& t : cat.tools) {
      used = used || AsciiLower(t.name).find(w) != std::string::npos;
    }
    if (!used) {
      blocked.push_back("*" + std::string(w) + "*");
      break;
    }
  }

  std::ostringstream o;
  const std::string server =
      cat.server_name.empty() ? std::string("(unnamed)") : OneLine(cat.server_name, 80);
  o << "# Starter policy for agent " << OneLine(opt.agent, 80) << ", written by `interlock init`\n"
    << "# from the " << cat.tools.size() << " tool(s) the MCP server " << server
    << (cat.server_version.empty() ? "" : " " + OneLine(cat.server_version, 40))
    << " lists (protocol " << OneLine(cat.protocol_version, 20) << ").\n"
    << "#\n"
    << "# Review every entry before use: annotations are hints from the server, not guarantees.\n"
    << "#   allowed:             read-only tools (readOnlyHint: true, or no hint and a name\n"
    << "#                        starting with get, list, read, search or view)\n"
    << "#   requires approval:   destructive tools (destructiveHint: true, readOnlyHint: false\n"
    << "#                        without destructiveHint, or a name containing delete, drop,\n"
    << "#                        remove, destroy, purge, truncate or kill)\n"
    << "#   commented out:       everything else; uncomment what the agent needs\n"
    << "# A tool this file does not allow is denied (default deny). Add argument constraints\n"
    << "# (docs/policy.md), e.g. path_prefix: \"${workspace}\" on path arguments.\n"
    << "# Check it:  interlock check FILE --against-server -- SERVER_COMMAND...\n"
    << "agent:\n"
    << "  id: " << Quote(opt.agent) << '\n'
    << "  identity: "
    << Quote(opt.identity.empty() ? opt.agent + "@change-me.invalid" : opt.identity)
    << "  # the service account the agent authenticates as\n"
    << "  mode: enforce\n"
    << "  autonomy: exception_based\n"
    << "\n"
    << "tools:\n"
    << "  allowed:\n";
  if (reads.empty() && destructive.empty()) o << "    []\n";
  if (!reads.empty()) o << "    # ---- read-only: allowed ----\n";
  for (const auto& [t, why] : reads) {
    DescribeTool(o, "    ", *t, why);
    o << "    - name: " << Quote(t->name) << "\n\n";
  }
  if (!destructive.empty()) o << "    # ---- destructive: a human approves every call ----\n";
  for (const auto& [t, why] : destructive) {
    DescribeTool(o, "    ", *t, why);
    o << "    - name: " << Quote(t->name) << '\n'
      << "      requires_approval: true\n"
      << "      reversible: false\n"
      << "      approval_timeout_seconds: 900\n"
      << "      auto_deny_on_timeout: true\n\n";
  }
  if (!other.empty()) {
    o << "    # ---- not allowed yet (default deny): uncomment what the agent needs ----\n";
  }
  for (const auto& [t, why] : other) {
    DescribeTool(o, "    ", *t, why);
    o << "    # - name: " << Quote(t->name) << "\n\n";
  }
  o << "  # Refused outright: a kind of destructive tool this server does not have today, so\n"
    << "  # one it adds later is refused even if an allow pattern would match it.\n"
    << "  blocked:\n";
  if (blocked.empty()) o << "    []\n";
  for (const std::string& b : blocked) o << "    - " << Quote(b) << '\n';
  o << "\n"
    << "# Conservative budgets: raise them once you know what a normal run needs.\n"
    << "execution:\n"
    << "  max_steps: 50\n"
    << "  max_wall_clock_seconds: 900\n"
    << "  max_cost_usd: 1.00\n"
    << "  on_budget_exceeded:\n"
    << "    action: halt\n"
    << "\n"
    << "escalation:\n"
    << "  contacts:  # the people who answer approvals and halted runs\n";
  if (opt.contacts.empty()) o << "    - \"change-me@example.invalid\"\n";
  for (const std::string& c : opt.contacts) o << "    - " << Quote(c) << '\n';
  return o.str();
}

// Writes `text` to `path`: a new file (O_EXCL) unless `force`, then via a temporary file
// renamed over the old one.
Status WriteOut(const std::string& path, const std::string& text, bool force) {
  const std::string tmp = force ? path + ".tmp." + std::to_string(::getpid()) : path;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST && !force) {
      return Error::Invalid(path + " exists; pass --force to overwrite it");
    }
    return Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  const bool ok = off == text.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error::Unavailable("cannot write " + tmp);
  }
  if (force && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error::Unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

int RunInit(const InitOptions& opt) {
  if (!opt.out.empty() && !opt.force && std::filesystem::exists(opt.out)) {
    return Fail("init", opt.out + " exists; pass --force to overwrite it");
  }
  auto spec = MakeServerSpec(opt.server_flags, opt.server);
  if (!spec.ok()) return Fail("init", spec.error());
  auto cat = mcp::ListServerTools(*spec);
  if (!cat.ok()) return Fail("init", "cannot list the server's tools: " + cat.error().message);

  const std::string text = Generate(opt, *cat);
  // The starter must load: parse and lint it before anything is written.
  std::vector<policy::Diagnostic> diags;
  const std::string name = opt.out.empty() ? "<stdout>" : opt.out;
  auto parsed = policy::ParseAgentPolicy(text, name, &diags);
  if (!parsed.ok()) {
    for (const policy::Diagnostic& d : diags) std::cerr << d.ToString() << '\n';
    return Fail("init",
                "the generated policy does not load (nothing written): " + parsed.error().message,
                kExitFailure);
  }
  if (opt.out.empty()) {
    std::cout << text << std::flush;
  } else if (Status s = WriteOut(opt.out, text, opt.force); !s.ok()) {
    return Fail("init", s.error().message, kExitFailure);
  }
  size_t reads = 0, approvals = 0;
  for (const auto& [tool_name, rule] : (*parsed)->allowed) {
    (void)tool_name;
    rule.requires_approval == true ? ++approvals : ++reads;
  }
  std::cerr << "interlock init: " << cat->tools.size() << " tool(s): " << reads << " allowed, "
            << approvals << " requiring approval, " << cat->tools.size() - reads - approvals
            << " left denied (commented out)" << (opt.out.empty() ? "" : "; wrote " + opt.out)
            << '\n';
  return kExitOk;
}

void AddInit(CLI::App& app, int* exit_code) {
  auto [cmd, opt] = AddSubcommand<InitOptions>(
      app, "init",
      "Write a commented starter policy from the tools an MCP server lists: read-only tools "
      "allowed, destructive tools requiring approval, the rest commented out (default deny). "
      "Starts the server, reads initialize and tools/list only (never calls a tool), ends it.",
      exit_code, &RunInit);
  cmd->add_option("--agent", opt->agent, "The agent id the policy is for")->required();
  cmd->add_option("--out", opt->out, "Write the policy to this file (default: stdout)");
  cmd->add_flag("--force", opt->force, "Overwrite --out if it exists");
  cmd->add_option("--identity", opt->identity,
                  "agent.identity: the service account the agent authenticates as (default "
                  "ID@change-me.invalid)");
  cmd->add_option("--contact", opt->contacts,
                  "An escalation contact (repeatable; default a change-me placeholder)")
      ->allow_extra_args(false);
  AddServerFlags(cmd, &opt->server_flags);
  cmd->add_option("server", opt->server, "The MCP server command, after --");
}

const CommandRegistration kRegisterInit("init", &AddInit);

}  // namespace
}  // namespace interlock::cli
