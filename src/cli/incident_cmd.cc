// `interlock incident mark CALL_ID --reason TEXT --by NAME --store PATH|URI`: records an
// incident against the call's action type (resets its trust eligibility), through the
// store's audit append (SQLite file or the fleet's PostgreSQL store).
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/time.h"
#include "governance/trust.h"
#include "store/open_store.h"

namespace interlock::cli {
namespace {

struct IncidentArgs {
  std::string call_id, reason, by, store;
};

int RunMark(const IncidentArgs& a) {
  Result<std::unique_ptr<core::Store>> st = store::OpenStore(store::OperatorStoreOptions(a.store));
  if (!st.ok()) return Fail("incident mark", st.error());
  governance::IncidentMark m{a.call_id, a.reason, a.by, SystemClock().Now()};
  if (Status s = governance::MarkIncident(**st, m); !s.ok()) {
    return Fail("incident mark", s.error(),
                s.error().kind == ErrorKind::kNotFound ? kExitFailure : kExitUsage);
  }
  std::cout << "incident recorded for call " << a.call_id << " (audit record \"incident\")\n";
  return kExitOk;
}

void AddIncident(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("incident", "Record incidents against action types");
  cmd->require_subcommand(1);
  auto [mark, a] = AddSubcommand<IncidentArgs>(*cmd, "mark", "Mark a recorded call as an incident",
                                               exit_code, &RunMark);
  mark->add_option("CALL_ID", a->call_id, "The call")->required();
  mark->add_option("--reason", a->reason, "What went wrong")->required();
  mark->add_option("--by", a->by, "Who marks it (reviewer or admin)")->required();
  AddStoreFlag(mark, &a->store);
}

const CommandRegistration kRegisterIncident("incident", &AddIncident);

}  // namespace
}  // namespace interlock::cli
