// `interlock kill engage|release|status`: the kill switch, written to the store directly
// or, with --url (or $INTERLOCK_URL and no --store), through the daemon's POST/GET /v1/kill
// with an admin token (status: reviewer or admin).
//
// The store path works when the daemon's HTTP port is unreachable: the daemon reads kill
// switches inside every decision transaction, so an engaged switch applies to the very
// next decision after this command returns. The store must already exist (a typo in
// --store must not create an empty database and report success).
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"
#include "common/time.h"
#include "core/app/kills.h"
#include "store/open_store.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

struct KillOptions {
  std::string store;
  DaemonFlags daemon;
  bool over_http = false;  // decided after parsing (UseHttp)
  std::string agent;
  std::string run;
  std::string reason;
  std::string actor;
  bool end_runs = false;
  std::string format = "table";
  std::string keys_dir;
  std::string checkpoints;
};

// --url given, or $INTERLOCK_URL set and --store not given: through the daemon.
bool UseHttp(const CLI::App& sub) {
  if (sub.count("--url") > 0) return true;
  const char* env = std::getenv("INTERLOCK_URL");
  return env != nullptr && *env != '\0' && sub.count("--store") == 0;
}

int RunSetHttp(const KillOptions& opt, bool engaged, const core::KillEntry& e) {
  const std::string cmd = std::string("kill ") + (engaged ? "engage" : "release");
  auto daemon = DaemonConnection::Open(opt.daemon, "interlock-kill");
  if (!daemon.ok()) return Fail(cmd, daemon.error());
  json::object body{{"scope", e.scope}, {"engaged", engaged}, {"reason", e.reason}};
  if (!e.target.empty()) body["target"] = e.target;
  if (e.end_runs) body["end_runs"] = true;
  DaemonReply r = daemon->Send("POST", "/v1/kill", ToJsonText(body));
  if (!r.error.empty() || r.status != 200) {
    PrintDaemonRefusal(cmd, r);
    std::cerr << "(the kill switch was NOT " << (engaged ? "engaged" : "released") << ")\n";
    return kExitFailure;
  }
  std::string actor = "?";
  std::string ended;
  // Null when the reply is not JSON: every reading below then finds nothing.
  json::value v = ParseOwnJson(r.body).value_or(json::value());
  if (v.is_object()) {
    if (auto* a = v.as_object().if_contains("actor"); a && a->is_string()) {
      actor = std::string(a->as_string());
    }
    if (auto* n = v.as_object().if_contains("runs_ended"); n && n->is_number()) {
      ended = "; " + ToJsonText(*n) + " run(s) ended";
    }
  }
  std::cout << "kill switch " << (engaged ? "ENGAGED" : "released") << ": " << e.scope
            << (e.target.empty() ? "" : " " + e.target) << " (by " << actor << ", via "
            << daemon->url() << ")" << ended << "\n";
  return kExitOk;
}

int RunSet(const KillOptions& opt, bool engaged) {
  const char* cmd = engaged ? "kill engage" : "kill release";
  if (!opt.agent.empty() && !opt.run.empty()) {
    return Fail(cmd, "give at most one of --agent and --run");
  }
  if (opt.over_http) {
    if (!opt.actor.empty()) {
      return Fail(cmd, "--actor is for the store; over HTTP the actor is the token's name");
    }
    core::KillEntry e;
    e.scope = !opt.agent.empty() ? "agent" : !opt.run.empty() ? "run" : "global";
    e.target = !opt.agent.empty() ? opt.agent : opt.run;
    e.reason = opt.reason;
    e.end_runs = opt.end_runs;
    return RunSetHttp(opt, engaged, e);
  }
  // The record is signed into the checkpoint file before the switch takes effect
  // (docs/audit.md, "Anchors"): a release waits for that anchor, an engagement never does.
  audit::CheckpointSigner signer;
  Result<audit::CheckpointSigner> loaded =
      LoadExistingStoreSigner(opt.store, opt.keys_dir, opt.checkpoints);
  if (loaded.ok()) {
    signer = std::move(loaded).value();
  } else if (!engaged) {
    return Fail("kill release",
                "cannot anchor the record (" + loaded.error().message +
                    "); the kill switch was NOT released (pass the daemon's --keys)",
                kExitFailure);
  } else {
    std::cerr << "interlock kill engage: warning: the record will not be anchored by a "
                 "signed checkpoint: "
              << loaded.error().message << '\n';
  }
  auto st = store::OpenStore(store::OperatorStoreOptions(opt.store, std::move(signer)));
  if (!st.ok()) return Fail(cmd, st.error(), kExitFailure);
  core::KillEntry e;
  e.scope = !opt.agent.empty() ? "agent" : !opt.run.empty() ? "run" : "global";
  e.target = !opt.agent.empty() ? opt.agent : opt.run;
  e.engaged = engaged;
  e.reason = opt.reason;
  e.actor = OperatorActor(opt.actor);
  e.at = SystemClock().Now();
  e.end_runs = opt.end_runs;
  core::Kills::Outcome done;
  if (Status s = core::Kills(**st).Set(e, &done); !s.ok()) {
    return Fail(
        cmd,
        s.error().message + " (the kill switch was NOT " + (engaged ? "engaged" : "released") + ")",
        kExitFailure);
  }
  std::cout << "kill switch " << (engaged ? "ENGAGED" : "released") << ": " << e.scope
            << (e.target.empty() ? "" : " " + e.target) << " (by " << e.actor << ")"
            << (e.end_runs ? "; " + std::to_string(done.runs_ended) + " run(s) ended" : "") << '\n';
  if (!done.end_runs_error.empty()) {
    return Fail(cmd,
                "the switch IS engaged, but ending its runs stopped: " + done.end_runs_error +
                    " (run the command again to end the rest)",
                kExitFailure);
  }
  return kExitOk;
}

int PrintKills(const KillOptions& opt, const std::vector<core::KillEntry>& kills);

// Kill switches from the daemon, as the store path's KillEntry list.
Result<std::vector<core::KillEntry>> ListKillsHttp(const KillOptions& opt) {
  auto daemon = DaemonConnection::Open(opt.daemon, "interlock-kill");
  if (!daemon.ok()) return daemon.error();
  DaemonReply r = daemon->Send("GET", "/v1/kill");
  if (!r.error.empty()) return Error::Unavailable(r.error);
  if (r.status != 200) {
    PrintDaemonRefusal("kill status", r);
    return Error::Unavailable("the daemon refused (HTTP " + std::to_string(r.status) + ")");
  }
  // Null when the reply is not JSON: every reading below then finds nothing.
  json::value v = ParseOwnJson(r.body).value_or(json::value());
  const json::value* arr = v.is_object() ? v.as_object().if_contains("kill_switches") : nullptr;
  if (arr == nullptr || !arr->is_array()) return Error::Unavailable("unexpected reply: " + r.body);
  std::vector<core::KillEntry> out;
  for (const json::value& x : arr->as_array()) {
    if (!x.is_object()) continue;
    const json::object& o = x.as_object();
    auto str = [&o](const char* k) {
      auto* f = o.if_contains(k);
      return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    core::KillEntry k;
    k.scope = str("scope");
    k.target = str("target");
    auto* e = o.if_contains("engaged");
    k.engaged = e && e->is_bool() && e->as_bool();
    k.reason = str("reason");
    k.actor = str("actor");
    auto at = ParseRfc3339(str("at"));
    if (at.ok()) k.at = *at;
    out.push_back(std::move(k));
  }
  return out;
}

int RunStatus(const KillOptions& opt) {
  if (opt.over_http) {
    auto kills = ListKillsHttp(opt);
    if (!kills.ok()) {
      return Fail("kill status", kills.error(),
                  kills.error().kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailure);
    }
    return PrintKills(opt, *kills);
  }
  auto st = store::OpenStore(store::OperatorStoreOptions(opt.store));
  if (!st.ok()) return Fail("kill status", st.error(), kExitFailure);
  auto kills = core::Kills(**st).List();
  if (!kills.ok()) return Fail("kill status", kills.error(), kExitFailure);
  return PrintKills(opt, *kills);
}

int PrintKills(const KillOptions& opt, const std::vector<core::KillEntry>& kills) {
  if (opt.format == "json") {
    boost::json::array arr;
    for (const core::KillEntry& k : kills) {
      arr.push_back(boost::json::object{{"scope", k.scope},
                                        {"target", k.target},
                                        {"engaged", k.engaged},
                                        {"reason", k.reason},
                                        {"actor", k.actor},
                                        {"at", FormatRfc3339(k.at)}});
    }
    WriteJsonLine(std::cout, arr);
    return kExitOk;
  }
  int engaged = 0;
  for (const core::KillEntry& k : kills) {
    if (!k.engaged) continue;
    ++engaged;
    std::cout << "ENGAGED  " << k.scope << (k.target.empty() ? "" : " " + k.target) << "  since "
              << FormatRfc3339(k.at) << " by " << k.actor << ": " << k.reason << '\n';
  }
  if (engaged == 0) std::cout << "no kill switch engaged\n";
  return kExitOk;
}

void AddKill(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<KillOptions>();
  CLI::App* cmd = app.add_subcommand(
      "kill", "Engage, release or show kill switches (global, per agent, per run)");
  cmd->require_subcommand(1);
  for (bool engaged : {true, false}) {
    CLI::App* sub = cmd->add_subcommand(
        engaged ? "engage" : "release",
        engaged ? "Deny every call in scope from the next decision on (global by default)"
                : "Release a kill switch");
    AddStoreFlag(sub, &opt->store);
    AddDaemonFlags(sub, &opt->daemon);
    sub->add_option("--agent", opt->agent, "Scope: this agent id");
    sub->add_option("--run", opt->run, "Scope: this run id");
    sub->add_option("--reason", opt->reason, "Why (recorded in the audit log)")->required();
    sub->add_option("--actor", opt->actor, "Who (default: $USER)");
    if (engaged) {
      sub->add_flag("--end-runs", opt->end_runs,
                    "Also end every open run the switch covers (recorded), so agents stop "
                    "instead of being denied at each call");
    }
    AddAuditKeyFlags(sub, &opt->keys_dir, &opt->checkpoints);
    sub->callback([opt, exit_code, engaged, sub] {
      opt->over_http = UseHttp(*sub);
      *exit_code = RunSet(*opt, engaged);
    });
  }
  CLI::App* status = cmd->add_subcommand("status", "Show engaged kill switches");
  AddStoreFlag(status, &opt->store);
  AddDaemonFlags(status, &opt->daemon);
  status->add_option("--format", opt->format, "table or json (json lists released ones too)")
      ->check(CLI::IsMember({"table", "json"}));
  status->callback([opt, exit_code, status] {
    opt->over_http = UseHttp(*status);
    *exit_code = RunStatus(*opt);
  });
}

const CommandRegistration kRegisterKill("kill", &AddKill);

}  // namespace
}  // namespace interlock::cli
