// `interlock drill`: a kill-switch drill against a running daemon (POST /v1/drills,
// docs/drill.md): a canary run of the drill agent, its kill switch engaged, one call
// through every door the daemon serves, each answer and latency, the switch released, the
// drill recorded in the audit chain. `--status` shows the last drill (GET /v1/drills).
// Admin token for a drill, reviewer or admin for --status; the daemon and token flags are
// the shared ones (cli_util.h).
//
// Exit codes: 0 every door refused with KILL_SWITCH (--status: the last drill is recent
// and passed); 1 a door did not, the drill could not run or be recorded, the daemon refused
// or is unreachable (--status: overdue, none, or the last one failed); 2 bad usage.
#include <cstdio>
#include <iomanip>
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

struct DrillFlags {
  DaemonFlags daemon;
  bool status = false;
  bool json_out = false;
};

std::string DrillText(const json::object& o, const char* k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr || v->is_null()) return "";
  return v->is_string() ? std::string(v->as_string()) : ToJsonText(*v);
}

bool Passed(const json::object& report) {
  const json::value* p = report.if_contains("passed");
  return p != nullptr && p->is_bool() && p->as_bool();
}

// One drill as the daemon reports it (the API's answer, or a drill record's data).
void PrintReport(const json::object& d) {
  std::cout << "drill " << DrillText(d, "drill_id") << " by " << DrillText(d, "actor") << " at "
            << DrillText(d, "started_at") << ": " << (Passed(d) ? "PASSED" : "FAILED")
            << " (canary run " << DrillText(d, "canary_run") << ")\n";
  if (const json::value* doors = d.if_contains("doors"); doors && doors->is_array()) {
    for (const json::value& v : doors->as_array()) {
      if (!v.is_object()) continue;
      const json::object& door = v.as_object();
      const json::value* ms = door.if_contains("latency_ms");
      char latency[32] = "?";
      if (ms != nullptr && ms->is_number()) {
        std::snprintf(latency, sizeof latency, "%.1f ms", ms->to_number<double>());
      }
      const bool refused = DrillText(door, "refused_by_kill_switch") == "true";
      std::cout << "  " << std::left << std::setw(20) << DrillText(door, "door") << std::setw(18)
                << DrillText(door, "code") << std::setw(12) << latency
                << (refused ? "refused"
                            : "NOT REFUSED BY THE KILL SWITCH: " + DrillText(door, "detail"))
                << '\n';
    }
  }
  if (const std::string e = DrillText(d, "error"); !e.empty())
    std::cout << "  error: " << e << '\n';
}

int RunDrill(DaemonConnection& daemon, const DrillFlags& f) {
  DaemonReply r = daemon.Send("POST", "/v1/drills", "{}");
  if (!r.error.empty() || r.status != 200) return PrintDaemonRefusal("drill", r);
  json::value v = ParseOwnJson(r.body).value_or(json::value());
  if (!v.is_object())
    return Fail("drill", "unexpected reply from the daemon: " + r.body, kExitFailure);
  const json::object& d = v.as_object();
  if (f.json_out) {
    std::cout << ToJsonText(v) << '\n';
  } else {
    PrintReport(d);
    std::cout << (DrillText(d, "recorded") == "true" ? "recorded in the audit chain\n"
                                                     : "NOT RECORDED in the audit chain\n");
  }
  return Passed(d) && DrillText(d, "recorded") == "true" ? kExitOk : kExitFailure;
}

int ShowStatus(DaemonConnection& daemon, const DrillFlags& f) {
  DaemonReply r = daemon.Send("GET", "/v1/drills");
  if (!r.error.empty() || r.status != 200) return PrintDaemonRefusal("drill", r);
  json::value v = ParseOwnJson(r.body).value_or(json::value());
  if (!v.is_object())
    return Fail("drill", "unexpected reply from the daemon: " + r.body, kExitFailure);
  const json::object& o = v.as_object();
  const bool overdue = DrillText(o, "overdue") == "true";
  const json::value* last = o.if_contains("last");
  const json::object* rec = last != nullptr ? last->if_object() : nullptr;
  const json::value* data = rec != nullptr ? rec->if_contains("data") : nullptr;
  const bool passed = data != nullptr && data->is_object() && Passed(data->as_object());
  if (f.json_out) {
    std::cout << ToJsonText(v) << '\n';
  } else if (data == nullptr || !data->is_object()) {
    std::cout << "no kill-switch drill on record: run `interlock drill`\n";
  } else {
    PrintReport(data->as_object());
    if (overdue) {
      std::cout << "OVERDUE: older than " << DrillText(o, "warn_after_s")
                << " s (drill.warn_after_days)\n";
    }
  }
  return overdue || !passed ? kExitFailure : kExitOk;
}

int RunDrillCommand(const DrillFlags& f) {
  auto daemon = DaemonConnection::Open(f.daemon, "interlock-drill");
  if (!daemon.ok()) return Fail("drill", daemon.error());
  return f.status ? ShowStatus(*daemon, f) : RunDrill(*daemon, f);
}

void AddDrill(CLI::App& app, int* exit_code) {
  auto [cmd, f] = AddSubcommand<DrillFlags>(
      app, "drill",
      "Kill-switch drill on a running daemon: engage the drill agent's switch, confirm every "
      "door refuses its next call with KILL_SWITCH (and how fast), release it, record it "
      "(admin token from $INTERLOCK_TOKEN). Exit 0 passed, 1 failed, 2 bad usage",
      exit_code, &RunDrillCommand);
  AddDaemonFlags(cmd, &f->daemon);
  cmd->add_flag("--status", f->status,
                "show the last drill instead (exit 1 when overdue, failed or none)");
  cmd->add_flag("--json", f->json_out, "print the daemon's JSON");
}

const CommandRegistration kRegisterDrill("drill", &AddDrill);

}  // namespace
}  // namespace interlock::cli
