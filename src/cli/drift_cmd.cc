// `interlock drift`: permission drift audit from the audit log (src/governance/drift.h).
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json/serialize.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"
#include "common/time.h"
#include "governance/drift.h"
#include "governance/history.h"
#include "governance/suggest.h"
#include "policy/loader.h"
#include "policy/writer.h"
#include "store/open_store.h"
#include "store/sqlite_audit_util.h"

namespace interlock::cli {
namespace {

struct DriftArgs {
  int days = 30;
  uint64_t min_runs = governance::kDefaultMinRuns;
  double min_days = governance::kDefaultMinDays;
  std::string agent, policy, store, format = "text", suggest;
};

int RunDrift(const DriftArgs& a) {
  if (Status f = CheckTextOrJson(a.format); !f.ok()) return Fail("drift", f.error());
  if (a.days < 1) return Fail("drift", "--days must be at least 1");
  if (!(a.min_days >= 0)) return Fail("drift", "--min-days must be 0 or more");
  if (a.policy.empty()) {
    return Fail("drift",
                "--policy PATH is required: the audit log records policy hashes, not policy text");
  }
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({a.policy}, &diags);
  if (!set.ok()) return Fail("drift", "the policy does not load:\n" + set.error().message);
  if (!a.agent.empty() && (*set)->Find(a.agent) == nullptr) {
    return Fail("drift", "no agent " + a.agent + " in " + a.policy);
  }
  Result<std::unique_ptr<store::StoreHistory>> history = store::OpenStoreHistory(a.store);
  if (!history.ok()) return Fail("drift", history.error());
  governance::DriftOptions opt;
  opt.agent_id = a.agent;
  opt.min_runs = a.min_runs;
  opt.min_days = a.min_days;
  opt.since_ms = ToUnixMillis(SystemClock().Now()) - int64_t{a.days} * 86400000;
  Result<governance::DriftReport> r = governance::RunDrift((*history)->source(), **set, opt);
  if (!r.ok()) return Fail("drift", r.error());
  PrintReport(
      a.format, [&r] { return governance::DriftToJson(*r); },
      [&r] { return governance::DriftToText(*r); });
  if (a.suggest.empty()) return kExitOk;
  if (r->agents.size() != 1) {
    return Fail("drift", "--suggest writes one agent's policy; pass --agent (the policy has " +
                             std::to_string(r->agents.size()) + " agents)");
  }
  const governance::AgentDrift& d = r->agents.front();
  if (d.unreadable > 0) {
    return Fail("drift",
                "nothing written to " + a.suggest + ": " + std::to_string(d.unreadable) +
                    " decision record(s) of " + d.agent_id +
                    " could not be read, and they may have used any grant (check the log with "
                    "`interlock audit verify --deep`)",
                kExitFailure);
  }
  if (!d.enough_evidence) {
    std::cerr << "interlock drift: nothing written to " << a.suggest << ": " << d.runs
              << " run(s) over " << d.days << " day(s) is too little evidence (need at least "
              << d.min_runs << " runs over " << d.min_days
              << " days; lower with --min-runs and --min-days)\n";
    return kExitFailure;
  }
  // The same text the console's Governance page diffs (governance/suggest.h).
  Result<governance::SuggestedPolicy> out = governance::SuggestPolicyText(d);
  if (!out.ok()) return Fail("drift", out.error());
  std::ofstream f(a.suggest, std::ios::binary | std::ios::trunc);
  f << out->after;
  if (!f.flush()) return Fail("drift", "cannot write " + a.suggest);
  std::cerr << "suggested policy written to " << a.suggest
            << "; check it with `interlock replay --what-if --policy " << a.suggest << "`\n";
  return kExitOk;
}

void AddDrift(CLI::App& app, int* exit_code) {
  auto [cmd, a] = AddSubcommand<DriftArgs>(
      app, "drift",
      "Permission drift: granted tools, values, scope fields and budget headroom not "
      "exercised in the last --days, as candidates for removal",
      exit_code, &RunDrift);
  cmd->add_option("--days", a->days, "Window in days (default 30)");
  cmd->add_option("--agent", a->agent, "Only this agent");
  cmd->add_option("--policy", a->policy, "The policy file or directory in force")->required();
  AddStoreFlag(cmd, &a->store);
  cmd->add_option("--format", a->format, "text or json");
  cmd->add_option("--suggest", a->suggest, "Write a tightened policy for review to this file");
  cmd->add_option("--min-runs", a->min_runs,
                  "Runs a suggestion needs in the window (default " +
                      std::to_string(governance::kDefaultMinRuns) + ")");
  cmd->add_option("--min-days", a->min_days,
                  "Days from first to last call a suggestion needs (default 7)");
}

const CommandRegistration kRegisterDrift("drift", &AddDrift);

}  // namespace
}  // namespace interlock::cli
