// `interlock replay RUN_ID`: reconstruct a run from the audit log alone.
//
// The plain replay (this file's RunReplayCommand) only reads history. The what-if mode
// (`--what-if --policy DIR`: re-decide the recorded calls under another policy) is a
// separate code path to be added beside it, consuming the same audit::RunReplay.
#include <iostream>
#include <memory>
#include <string>

#include <boost/json/serialize.hpp>

#include "audit/replay.h"
#include "audit/sqlite_util.h"
#include "cli/command.h"

namespace interlock::cli {
namespace {

struct ReplayArgs {
  std::string run_id;
  std::string store;
  std::string format = "text";
};

int RunReplayCommand(const ReplayArgs& a) {
  if (a.format != "text" && a.format != "json") {
    std::cerr << "interlock replay: --format must be text or json\n";
    return kExitUsage;
  }
  Result<audit::SqliteDb> db = audit::OpenAuditStore(a.store, /*read_only=*/true);
  if (!db.ok()) {
    std::cerr << "interlock replay: " << db.error().message << '\n';
    return kExitUsage;
  }
  Result<audit::RunReplay> r = audit::ReplayRun(db->get(), a.run_id);
  if (!r.ok()) {
    std::cerr << "interlock replay: " << r.error().message << '\n';
    return kExitFailure;
  }
  if (a.format == "json") {
    std::cout << boost::json::serialize(audit::ReplayToJson(*r)) << '\n';
  } else {
    std::cout << audit::ReplayToText(*r);
  }
  return r->tampered > 0 ? kExitFailure : kExitOk;
}

void AddReplay(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Reconstruct a run from the audit log: calls, arguments (as redacted), decisions, "
      "results, approvals, budget after each step, halts");
  cmd->add_option("RUN_ID", a->run_id, "The run to replay")->required();
  cmd->add_option("--store", a->store, "Store database file")->required();
  cmd->add_option("--format", a->format, "text (a table) or json");
  cmd->callback([a, exit_code] { *exit_code = RunReplayCommand(*a); });
}

const CommandRegistration kRegistration("replay", &AddReplay);

}  // namespace
}  // namespace interlock::cli
