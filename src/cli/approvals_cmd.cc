// `interlock approvals list | show ID | approve ID | deny ID` against a running daemon
// (docs/approvals.md#the-cli). The daemon and token flags are the shared ones
// (cli_util.h: --url / $INTERLOCK_URL, --ca, --token-env / $INTERLOCK_TOKEN); the token
// itself is never a flag, so it stays out of shell history and `ps`.
//
// Exit codes: 0 ok; 1 the daemon refused (401 bad token, 403 not allowed, 404 unknown
// approval, 409 already decided) or is unreachable; 2 bad usage (no token, bad --url).
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

struct ApprovalsFlags {
  DaemonFlags daemon;
  std::string id;
  std::string comment;
  std::string state = "pending";
  bool json_out = false;
};

std::string S(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (v == nullptr) return "";
  return v->is_string() ? std::string(v->as_string()) : ToJsonText(*v);
}

int Run(const ApprovalsFlags& f, const std::string& action) {
  auto daemon = DaemonConnection::Open(f.daemon, "interlock-approvals");
  if (!daemon.ok()) return Fail("approvals", daemon.error());
  DaemonReply r;
  if (action == "list") {
    r = daemon->Send("GET", "/v1/approvals?state=" + f.state);
  } else if (action == "show") {
    r = daemon->Send("GET", "/v1/approvals/" + f.id);
  } else {
    const json::object body{{"verdict", action == "approve" ? "approve" : "deny"},
                            {"comment", f.comment}};
    r = daemon->Send("POST", "/v1/approvals/" + f.id, ToJsonText(body));
  }
  if (!r.error.empty() || r.status != 200) return PrintDaemonRefusal("approvals", r);
  // Null when the reply is not JSON: every reading below then finds nothing.
  json::value v = ParseOwnJson(r.body).value_or(json::value());
  if (f.json_out || !v.is_object()) {
    std::cout << r.body << '\n';
    return kExitOk;
  }
  const json::object& o = v.as_object();
  if (action == "list") {
    const json::value* arr = o.if_contains("approvals");
    if (arr == nullptr || !arr->is_array() || arr->as_array().empty()) {
      std::cout << "no " << f.state << " approvals\n";
      return kExitOk;
    }
    for (const json::value& a : arr->as_array()) {
      const json::object& x = a.as_object();
      std::cout << S(x, "approval_id") << "  " << S(x, "state") << "  " << S(x, "agent_id") << "  "
                << S(x, "tool") << "  run " << S(x, "run_id") << "  " << S(x, "approvals") << "/"
                << S(x, "required");
      if (x.contains("time_left_s")) std::cout << "  " << S(x, "time_left_s") << " s left";
      std::cout << '\n';
    }
    return kExitOk;
  }
  for (const char* k : {"approval_id", "state", "agent_id", "identity", "run_id", "tool",
                        "required", "approvals", "time_left_s", "outcome_reason"}) {
    if (o.contains(k)) std::cout << k << ": " << S(o, k) << '\n';
  }
  if (o.contains("args")) std::cout << "args: " << S(o, "args") << '\n';
  if (o.contains("classification"))
    std::cout << "classification: " << S(o, "classification") << '\n';
  if (auto* d = o.if_contains("decision"); d && d->is_object()) {
    std::cout << "why: " << S(d->as_object(), "reason") << '\n';
  }
  return kExitOk;
}

void AddApprovals(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ApprovalsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "approvals", "Review pending approvals on a running daemon (token from $INTERLOCK_TOKEN)");
  cmd->require_subcommand(1);
  AddDaemonFlags(cmd, &f->daemon);
  cmd->add_flag("--json", f->json_out, "print the daemon's JSON");
  CLI::App* list = cmd->add_subcommand("list", "List approvals");
  list->add_option("--state", f->state, "pending | decided | all")
      ->check(CLI::IsMember({"pending", "decided", "all"}));
  list->callback([f, exit_code] { *exit_code = Run(*f, "list"); });
  CLI::App* show = cmd->add_subcommand("show", "Show one approval in full");
  show->add_option("ID", f->id, "approval id")->required();
  show->callback([f, exit_code] { *exit_code = Run(*f, "show"); });
  for (const char* verb : {"approve", "deny"}) {
    CLI::App* sub = cmd->add_subcommand(
        verb, std::string(verb == std::string("approve") ? "Approve" : "Deny") + " an approval");
    sub->add_option("ID", f->id, "approval id")->required();
    sub->add_option("--comment", f->comment, "why (recorded in the audit log)");
    const std::string action = verb;
    sub->callback([f, exit_code, action] { *exit_code = Run(*f, action); });
  }
}

const CommandRegistration kRegisterApprovals("approvals", &AddApprovals);

}  // namespace
}  // namespace interlock::cli
