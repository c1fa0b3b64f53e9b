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
#include <unistd.h>

#include <exception>
#include <iostream>
#include <string>

#include <boost/json.hpp>

#include "cli/command.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "mcp/local_store.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

constexpr size_t kMaxHookInputBytes = 4 << 20;

struct HookOptions {
  std::string policy;
  std::string agent;
  std::string store;
  std::string daemon;
  std::string token_env;
};

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
  if (!opt.daemon.empty()) {
    return Deny("--daemon is not supported by this build of the hook yet; use --policy");
  }
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
  ToolCall call;
  call.tool = std::string(tool->get_string());
  if (tool_input != nullptr) call.args = tool_input->get_object();
  core::GuardResponse r = guard.Decide(agent_id, agent_id, run_id, std::move(call));
  const Decision& d = r.decision;
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

void AddHook(CLI::App& app, int* exit_code) {
  CLI::App* hook = app.add_subcommand("hook", "Agent-framework hooks that ask Interlock first");
  hook->require_subcommand(1);
  auto opt = std::make_shared<HookOptions>();
  CLI::App* cc = hook->add_subcommand(
      "claude-code",
      "Claude Code PreToolUse hook: reads the hook JSON on stdin, prints the permission "
      "decision. Every Interlock failure prints a deny.");
  cc->add_option("--policy", opt->policy, "Policy file or directory");
  cc->add_option("--agent", opt->agent, "Agent id (required when the policy holds several)");
  cc->add_option("--store", opt->store,
                 "SQLite store (default $XDG_STATE_HOME/interlock/interlock.db)");
  cc->add_option("--daemon", opt->daemon, "Daemon URL (not supported yet: denies)");
  cc->add_option("--token-env", opt->token_env, "Environment variable holding the bearer token");
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
