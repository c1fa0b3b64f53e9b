// `interlock replay RUN_ID`: reconstruct a run from the audit log alone.
//
// The plain replay (this file's RunReplayCommand) only reads history. The what-if mode
// (`--what-if --policy DIR`: re-decide the recorded calls under another policy) is a
// separate code path (RunWhatIfCommand) over src/governance/what_if.h.
#include <iostream>
#include <memory>
#include <string>

#include <boost/json/serialize.hpp>

#include "audit/replay.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"
#include "common/time.h"
#include "governance/history.h"
#include "governance/what_if.h"
#include "policy/loader.h"
#include "store/open_store.h"
#include "store/sqlite_audit_util.h"

namespace interlock::cli {
namespace {

struct ReplayArgs {
  std::string run_id;
  std::string store;
  std::string format = "text";
  // --what-if (issue 7): re-decide recorded calls under another policy.
  bool what_if = false;
  std::string policy;
  std::string since;
  std::string agent;
  size_t max_listed = 1000;
};

// --- what-if: a separate code path; exit 0 = no change, 1 = changes, 2 = error ---
int RunWhatIfCommand(const ReplayArgs& a) {
  if (!a.run_id.empty()) {
    return Fail("replay --what-if", "takes no RUN_ID; filter with --since and --agent");
  }
  if (a.policy.empty()) return Fail("replay --what-if", "--policy NEW_PATH is required");
  if (Status f = CheckTextOrJson(a.format); !f.ok()) return Fail("replay --what-if", f.error());
  governance::WhatIfOptions opt;
  opt.agent_id = a.agent;
  opt.max_listed = a.max_listed;
  if (!a.since.empty()) {
    Result<int64_t> since = governance::ParseSince(a.since, ToUnixMillis(SystemClock().Now()));
    if (!since.ok()) return Fail("replay --what-if", since.error().message);
    opt.since_ms = *since;
  }
  Result<std::shared_ptr<const policy::PolicySet>> set = policy::LoadPolicySet({a.policy}, nullptr);
  if (!set.ok()) {
    return Fail("replay --what-if", "the new policy does not load:\n" + set.error().message);
  }
  Result<std::unique_ptr<store::StoreHistory>> history = store::OpenStoreHistory(a.store);
  if (!history.ok()) return Fail("replay --what-if", history.error().message);
  Result<governance::WhatIfReport> r = governance::RunWhatIf((*history)->source(), **set, opt);
  if (!r.ok()) return Fail("replay --what-if", r.error().message);
  PrintReport(
      a.format, [&r] { return governance::WhatIfToJson(*r); },
      [&r] { return governance::WhatIfToText(*r); });
  return r->changed > 0 ? kExitFailure : kExitOk;
}

int RunReplayCommand(const ReplayArgs& a) {
  if (Status f = CheckTextOrJson(a.format); !f.ok()) return Fail("replay", f.error());
  Result<std::unique_ptr<store::StoreHistory>> history = store::OpenStoreHistory(a.store);
  if (!history.ok()) return Fail("replay", history.error());
  Result<audit::RunReplay> r = (*history)->Replay(a.run_id);
  if (!r.ok()) return Fail("replay", r.error(), kExitFailure);
  PrintReport(
      a.format, [&r] { return audit::ReplayToJson(*r); }, [&r] { return audit::ReplayToText(*r); });
  return r->tampered > 0 ? kExitFailure : kExitOk;
}

int RunReplay(const ReplayArgs& a) {
  if (a.what_if) return RunWhatIfCommand(a);
  if (a.run_id.empty()) return Fail("replay", "RUN_ID is required (or --what-if --policy PATH)");
  return RunReplayCommand(a);
}

void AddReplay(CLI::App& app, int* exit_code) {
  auto [cmd, a] = AddSubcommand<ReplayArgs>(
      app, "replay",
      "Reconstruct a run from the audit log: calls, arguments (as redacted), decisions, "
      "results, approvals, budget after each step, halts",
      exit_code, &RunReplay);
  cmd->add_option("RUN_ID", a->run_id, "The run to replay (not with --what-if)");
  AddStoreFlag(cmd, &a->store);
  cmd->add_option("--format", a->format, "text (a table) or json");
  cmd->add_flag("--what-if", a->what_if,
                "Re-decide every recorded call under --policy and report the calls whose "
                "decision would change (exit 1 when any would)");
  cmd->add_option("--policy", a->policy, "With --what-if: the new policy file or directory");
  cmd->add_option("--since", a->since, "With --what-if: 30d, 12h, YYYY-MM-DD or RFC 3339");
  cmd->add_option("--agent", a->agent, "With --what-if: only this agent's calls");
  cmd->add_option("--max-listed", a->max_listed, "With --what-if: changes listed (default 1000)");
}

const CommandRegistration kRegisterReplay("replay", &AddReplay);

}  // namespace
}  // namespace interlock::cli
