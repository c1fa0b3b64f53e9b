// `interlock runs`: the daemon's runs, newest first (GET /v1/runs, docs/api.md), so an
// incident starts from a list. Reviewer or admin token; the daemon and token flags are the
// shared ones (cli_util.h). A table by default, the daemon's JSON with --json.
//
// Exit codes: 0 ok; 1 the daemon refused or is unreachable; 2 bad usage.
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

struct RunsFlags {
  DaemonFlags daemon;
  std::string agent;
  std::string state;
  std::string since;
  std::string until;
  std::string cursor;
  int limit = 50;
  bool all = false;
  bool json_out = false;
};

std::string Target(const RunsFlags& f, const std::string& cursor) {
  std::string q = "/v1/runs?limit=" + std::to_string(f.limit);
  auto add = [&q](const char* k, const std::string& v) {
    if (!v.empty())
      q += std::string("&") + k + "=" + boost::urls::encode(v, boost::urls::unreserved_chars);
  };
  add("agent", f.agent);
  add("state", f.state);
  add("since", f.since);
  add("until", f.until);
  add("cursor", cursor);
  return q;
}

std::string Field(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (v == nullptr) return "";
  return v->is_string() ? std::string(v->as_string()) : ToJsonText(*v);
}

void PrintTable(const json::array& runs, bool header) {
  if (header) {
    std::cout << std::left << std::setw(22) << "RUN" << std::setw(24) << "AGENT" << std::setw(8)
              << "STATE" << std::setw(22) << "STARTED" << std::setw(7) << "STEPS" << std::setw(10)
              << "TOKENS"
              << "COST_USD\n";
  }
  for (const json::value& v : runs) {
    if (!v.is_object()) continue;
    const json::object& r = v.as_object();
    std::cout << std::left << std::setw(22) << Field(r, "run_id") << std::setw(24)
              << Field(r, "agent_id") << std::setw(8) << Field(r, "state") << std::setw(22)
              << Field(r, "started") << std::setw(7) << Field(r, "steps") << std::setw(10)
              << Field(r, "tokens") << Field(r, "cost_usd");
    const std::string why = Field(r, "halt_reason");
    if (!why.empty()) std::cout << "  " << why;
    std::cout << '\n';
  }
}

int ListRunsCommand(const RunsFlags& f) {
  auto daemon = DaemonConnection::Open(f.daemon, "interlock-runs");
  if (!daemon.ok()) return Fail("runs", daemon.error());
  std::string cursor = f.cursor;
  json::array all;
  for (int page = 0;; ++page) {
    DaemonReply r = daemon->Send("GET", Target(f, cursor));
    if (!r.error.empty() || r.status != 200) return PrintDaemonRefusal("runs", r);
    // Null when the reply is not JSON: every reading below then finds nothing.
    json::value v = ParseOwnJson(r.body).value_or(json::value());
    const json::value* runs = v.is_object() ? v.as_object().if_contains("runs") : nullptr;
    if (runs == nullptr || !runs->is_array()) {
      return Fail("runs", "unexpected reply from the daemon: " + r.body, kExitFailure);
    }
    cursor = Field(v.as_object(), "next_cursor");
    if (!f.all) {
      if (f.json_out) {
        std::cout << ToJsonText(v) << '\n';
      } else if (runs->as_array().empty()) {
        std::cout << "no runs\n";
      } else {
        PrintTable(runs->as_array(), true);
        if (!cursor.empty()) std::cout << "more: --cursor " << cursor << '\n';
      }
      return kExitOk;
    }
    for (const json::value& x : runs->as_array()) all.push_back(x);
    if (cursor.empty()) break;
  }
  if (f.json_out) {
    std::cout << ToJsonText(json::object{{"runs", std::move(all)}}) << '\n';
  } else if (all.empty()) {
    std::cout << "no runs\n";
  } else {
    PrintTable(all, true);
  }
  return kExitOk;
}

void AddRuns(CLI::App& app, int* exit_code) {
  auto [cmd, f] = AddSubcommand<RunsFlags>(
      app, "runs",
      "List a daemon's runs, newest first (reviewer or admin token from $INTERLOCK_TOKEN)",
      exit_code, &ListRunsCommand);
  AddDaemonFlags(cmd, &f->daemon);
  cmd->add_option("--agent", f->agent, "only this agent's runs");
  cmd->add_option("--state", f->state, "active | ended | halted")
      ->check(CLI::IsMember({"active", "ended", "halted"}));
  cmd->add_option("--since", f->since, "started at or after (RFC 3339)");
  cmd->add_option("--until", f->until, "started before (RFC 3339)");
  cmd->add_option("--limit", f->limit, "runs per page (1-1000, default 50)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--cursor", f->cursor, "continue after a previous page (its next_cursor)");
  cmd->add_flag("--all", f->all, "follow the pages to the end");
  cmd->add_flag("--json", f->json_out, "print the daemon's JSON");
}

const CommandRegistration kRegisterRuns("runs", &AddRuns);

}  // namespace
}  // namespace interlock::cli
