// `interlock trust report | promote`: graduated trust from the audit trail
// (src/governance/trust.h).
#include <iostream>
#include <memory>
#include <string>

#include <boost/json/serialize.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"
#include "common/time.h"
#include "governance/trust.h"
#include "policy/loader.h"
#include "store/open_store.h"

namespace interlock::cli {
namespace {

struct ReportArgs {
  std::string agent, store, policy, format = "text";
  double floor_s = 2.0;
};

struct PromoteArgs {
  std::string agent, tool, to, reviewer, policy, store;
};

int RunReport(const ReportArgs& a) {
  if (Status f = CheckTextOrJson(a.format); !f.ok()) return Fail("trust report", f.error());
  auto set = policy::LoadPolicySet({a.policy}, nullptr);
  if (!set.ok()) return Fail("trust report", "the policy does not load:\n" + set.error().message);
  Result<std::unique_ptr<store::StoreHistory>> history = store::OpenStoreHistory(a.store);
  if (!history.ok()) return Fail("trust report", history.error());
  governance::TrustOptions opt;
  opt.agent_id = a.agent;
  opt.fatigue_floor_s = a.floor_s;
  Result<governance::TrustEvidence> ev =
      governance::CollectTrustEvidence((*history)->source(), opt);
  if (!ev.ok()) return Fail("trust report", ev.error());
  const auto rows = governance::TrustRows(*ev, **set, a.agent);
  PrintReport(
      a.format, [&] { return governance::TrustReportToJson(rows, *ev, a.floor_s); },
      [&] { return governance::TrustReportToText(rows, *ev, a.floor_s); });
  return kExitOk;
}

int RunPromote(const PromoteArgs& a) {
  Result<std::unique_ptr<core::Store>> st = store::OpenStore(store::OperatorStoreOptions(a.store));
  if (!st.ok()) return Fail("trust promote", st.error());
  governance::PromoteRequest rq{a.agent, a.tool, a.to, a.reviewer, a.policy, SystemClock().Now()};
  Result<governance::PromoteOutcome> out = governance::PromoteTool(**st, rq);
  if (!out.ok()) return Fail("trust promote", out.error());
  if (out->refused) return Fail("trust promote", out->message, kExitFailure);
  std::cout << out->message << '\n';
  return kExitOk;
}

void AddTrust(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("trust", "Graduated trust per agent and action type");
  cmd->require_subcommand(1);
  auto [report, r] = AddSubcommand<ReportArgs>(
      *cmd, "report", "Each action type's stage, evidence, eligibility, and approval fatigue",
      exit_code, &RunReport);
  report->add_option("--agent", r->agent, "Only this agent");
  AddStoreFlag(report, &r->store);
  report->add_option("--policy", r->policy, "The policy file or directory in force")->required();
  report->add_option("--format", r->format, "text or json");
  report->add_option("--fatigue-floor", r->floor_s,
                     "Seconds; reviewers whose median time to approve is lower are flagged "
                     "(default 2)");

  auto [promote, p] = AddSubcommand<PromoteArgs>(
      *cmd, "promote",
      "Set a tool's autonomy stage in the policy file (promotion needs the evidence; "
      "demotion does not) and record it in the audit trail",
      exit_code, &RunPromote);
  promote->add_option("--agent", p->agent, "Agent id")->required();
  promote->add_option("--tool", p->tool, "Tool (action type)")->required();
  promote->add_option("--to", p->to, "gate_all, exception_based or audit_based")->required();
  promote->add_option("--reviewer", p->reviewer, "Who reviewed the change")->required();
  promote->add_option("--policy", p->policy, "The agent's policy file (or its directory)")
      ->required();
  AddStoreFlag(promote, &p->store);
}

const CommandRegistration kRegisterTrust("trust", &AddTrust);

}  // namespace
}  // namespace interlock::cli
