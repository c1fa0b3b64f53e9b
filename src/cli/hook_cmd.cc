// `interlock hook claude-code`: the Claude Code PreToolUse hook.
//
// Reads the hook's JSON on stdin ({"session_id","tool_name","tool_input",
// "hook_event_name",...}), decides the call through the shared Guard on the embedded
// store, and prints
//   {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":
//    "allow"|"deny"|"ask","permissionDecisionReason":"..."}}
// allow -> allow, deny -> deny, approval_required -> ask (Claude Code asks the human).
//
// Fail closed, the Claude Code way: Claude Code treats exit 2 as "block" but every other
// non-zero exit as "proceed". So every failure of Interlock itself (bad stdin, bad
// policy, store unavailable, an exception) prints a deny and exits 0; nothing here exits
// non-zero except CLI11's own usage errors, which Claude Code would surface as a hook
// error at configuration time.
//
// One Interlock run per Claude Code session: run id "cc-" + the first 32 hex digits of
// SHA-256(session_id), created on the session's first call and reused after; the store
// refuses the run to any other agent, and distinct sessions cannot share a run.
//
// With --daemon URL --token-env NAME the decision comes from `interlock serve` instead
// (no --policy needed): the session's daemon run is started on its first call and its id
// kept in $XDG_STATE_HOME/interlock/hook-runs/<first 32 hex of SHA-256(session_id)>, so
// later calls of the session share its budgets. Daemon failures are denies too.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/json.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "mcp/daemon_enforcer.h"
#include "mcp/local_store.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

constexpr size_t kMaxHookInputBytes = 4 << 20;

struct HookOptions : EnforcementFlags {};

int Print(std::string_view decision, const std::string& reason) {
  json::object out{{"hookSpecificOutput", json::object{{"hookEventName", "PreToolUse"},
                                                       {"permissionDecision", decision},
                                                       {"permissionDecisionReason", reason}}}};
  std::cout << ToJsonText(out) << std::endl;
  return kExitOk;
}

int Deny(const std::string& reason) { return Print("deny", "Interlock: " + reason); }

// Reads stdin up to the cap; false when larger or unreadable.
bool ReadStdin(std::string* out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxHookInputBytes) return false;
  }
}

std::string RunIdForSession(std::string_view session_id) {
  return "cc-" + Sha256Hex(session_id).substr(0, 32);
}

int PrintDecision(const Decision& d) {
  const std::string reason = std::string(CodeName(d.code)) + ": " + d.reason;
  switch (d.verdict) {
    case Verdict::kAllow:
      return Print("allow", "Interlock: " + reason);
    case Verdict::kApprovalRequired:
      return Print("ask", "Interlock: " + reason);
    case Verdict::kDeny:
      break;
  }
  return Print("deny", "Interlock: " + reason);
}

// $XDG_STATE_HOME/interlock/hook-runs (else $HOME/.local/state/...): one file per Claude
// Code session holding the daemon run id of that session.
Result<std::string> HookRunsDir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/interlock/hook-runs";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/interlock/hook-runs";
  }
  return Error::Invalid("neither XDG_STATE_HOME nor HOME is set (needed for the session map)");
}

Result<std::string> ReadSessionRun(const std::string& path) {
  auto text = ReadFileBounded(path, 256, "hook run file");
  if (!text.ok()) return text.error();
  std::string id = *text;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  if (id.empty()) return Error::Corrupt("hook run file " + path + " is empty");
  return id;
}

// The daemon run of a Claude Code session: read from the session's file, or started
// (POST /v1/runs) and published atomically (temp file + link, so concurrent hooks of one
// session agree on the run that got linked first).
Result<std::string> SessionRun(mcp::DaemonEnforcer& daemon, std::string_view session_id) {
  auto dir = HookRunsDir();
  if (!dir.ok()) return dir.error();
  const std::string path = *dir + "/" + Sha256Hex(session_id).substr(0, 32);
  if (auto id = ReadSessionRun(path); id.ok() || id.error().kind != ErrorKind::kNotFound) {
    return id;
  }
  std::error_code ec;
  std::filesystem::create_directories(*dir, ec);
  if (ec) return Error::Unavailable("cannot create " + *dir + ": " + ec.message());
  auto run = daemon.StartRun();
  if (!run.ok()) return Error::Unavailable("cannot start a run: " + run.error().message);
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return Error::Unavailable("cannot write " + path + ": " + std::strerror(errno));
  const std::string line = run->run_id + "\n";
  const bool written =
      write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
  close(fd);
  const bool linked = written && link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  unlink(tmp.c_str());
  if (linked) return run->run_id;
  if (written && link_errno == EEXIST) return ReadSessionRun(path);  // another hook won
  return Error::Unavailable("cannot write " + path + ": " + std::strerror(link_errno));
}

// True only when the daemon answers 404 for the run: any other failure (unreachable,
// 5xx) leaves the run file alone and the call denied.
bool SessionRunIsUnknown(mcp::DaemonEnforcer& daemon, const std::string& run) {
  auto r = daemon.Exchange("GET", "/v1/runs/" + run, "", std::chrono::seconds(5));
  return r.ok() && r->status == 404;
}

// --daemon: the decision comes from `interlock serve`, in the session's run.
int RunHookDaemon(const HookOptions& opt, std::string_view session_id, ToolCall call) {
  auto daemon = mcp::DaemonEnforcerFromEnv(opt.daemon, opt.token_env, opt.daemon_ca);
  if (!daemon.ok()) return Deny(daemon.error().message);
  auto run = SessionRun(**daemon, session_id);
  if (!run.ok()) {
    return Deny(std::string(CodeName(Code::kStoreUnavailable)) +
                ": no daemon run for this session (" + run.error().message + "); call denied");
  }
  (*daemon)->UseRun(*run);
  ToolCall retry = call;
  Decision d = (*daemon)->Decide(std::move(call)).decision;
  if (d.code == Code::kStoreUnavailable && SessionRunIsUnknown(**daemon, *run)) {
    // The session's run file names a run the daemon does not know (its store was reset,
    // or the token now belongs to another agent): start a new run once and ask again.
    // A run that exists but is halted or ended is kept, so its budgets keep holding.
    if (auto dir = HookRunsDir(); dir.ok()) {
      std::error_code ec;  // a file that cannot be removed makes SessionRun reuse it: deny
      std::filesystem::remove(*dir + "/" + Sha256Hex(session_id).substr(0, 32), ec);
    }
    auto fresh = SessionRun(**daemon, session_id);
    if (!fresh.ok()) {
      return Deny(std::string(CodeName(Code::kStoreUnavailable)) +
                  ": no daemon run for this session (" + fresh.error().message + "); call denied");
    }
    (*daemon)->UseRun(*fresh);
    d = (*daemon)->Decide(std::move(retry)).decision;
  }
  return PrintDecision(d);
}

int RunHook(const HookOptions& opt) {
  std::string input;
  if (!ReadStdin(&input)) {
    return Deny("could not read the hook input (unreadable or over " +
                std::to_string(kMaxHookInputBytes) + " bytes); call denied");
  }
  auto doc = ParseJsonStrict(input, JsonLimits{kMaxHookInputBytes, 64});
  if (!doc.ok()) return Deny("the hook input is not valid JSON (" + doc.error().message + ")");
  if (!doc->is_object()) return Deny("the hook input is not a JSON object");
  const json::object& in = doc->get_object();
  const json::value* event = in.if_contains("hook_event_name");
  if (event != nullptr && (!event->is_string() || event->get_string() != "PreToolUse")) {
    return Deny("this hook handles PreToolUse events only; configure it under PreToolUse");
  }
  const json::value* tool = in.if_contains("tool_name");
  if (tool == nullptr || !tool->is_string() || tool->get_string().empty()) {
    return Deny("the hook input has no tool_name");
  }
  const json::value* session = in.if_contains("session_id");
  if (session == nullptr || !session->is_string() || session->get_string().empty()) {
    return Deny("the hook input has no session_id");
  }
  const json::value* tool_input = in.if_contains("tool_input");
  if (tool_input != nullptr && !tool_input->is_object()) {
    return Deny("tool_input is not a JSON object");
  }
  ToolCall call;
  call.tool = std::string(tool->get_string());
  if (tool_input != nullptr) call.args = tool_input->get_object();
  if (!opt.daemon.empty()) return RunHookDaemon(opt, session->get_string(), std::move(call));
  if (opt.policy.empty()) return Deny("no --policy given");

  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({opt.policy}, &diags);
  if (!set.ok()) return Deny("policy " + opt.policy + " is invalid: " + set.error().message);
  std::string agent_id = opt.agent;
  if (agent_id.empty()) {
    if ((*set)->agents.size() != 1) {
      return Deny("policy " + opt.policy + " holds " + std::to_string((*set)->agents.size()) +
                  " agents; pass --agent ID");
    }
    agent_id = (*set)->agents.begin()->first;
  }
  std::string store_path = opt.store;
  if (store_path.empty()) {
    auto p = mcp::DefaultStorePath();
    if (!p.ok()) return Deny(p.error().message);
    store_path = *p;
  }
  auto store = mcp::OpenLocalStore(store_path);
  if (!store.ok()) return Deny("store unavailable: " + store.error().message);

  SystemClock clock;
  const std::string run_id = RunIdForSession(session->get_string());
  if (auto run = (*store)->CreateRun(agent_id, run_id, clock.Now());
      !run.ok() && run.error().kind != ErrorKind::kAlreadyExists) {
    return Deny("cannot create the run for this session: " + run.error().message);
  }
  core::PolicySource source(*set);
  core::Guard guard(&source, store->get(), &clock, nullptr);
  core::GuardResponse r = guard.Decide(agent_id, agent_id, run_id, std::move(call));
  return PrintDecision(r.decision);
}

void AddHook(CLI::App& app, int* exit_code) {
  CLI::App* hook = app.add_subcommand("hook", "Agent-framework hooks that ask Interlock first");
  hook->require_subcommand(1);
  auto opt = std::make_shared<HookOptions>();
  CLI::App* cc = hook->add_subcommand(
      "claude-code",
      "Claude Code PreToolUse hook: reads the hook JSON on stdin, prints the permission "
      "decision. Every Interlock failure prints a deny.");
  AddEnforcementFlags(cc, opt.get());
  cc->callback([opt, exit_code] {
    try {
      *exit_code = RunHook(*opt);
    } catch (const std::exception& e) {
      *exit_code = Deny(std::string("internal error: ") + e.what());
    } catch (...) {
      *exit_code = Deny("internal error");
    }
  });
}

const CommandRegistration kRegistration("hook", &AddHook);

}  // namespace
}  // namespace interlock::cli
