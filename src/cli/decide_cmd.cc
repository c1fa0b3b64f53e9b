// `interlock decide`: the flags of the door that decides a scripted run read as JSON lines
// on stdin, doors/decide/decide.h (the pipeline, the lines' forms and the in-memory run).
#include <memory>

#include "cli/command.h"
#include "doors/decide/decide.h"

namespace interlock::cli {
namespace {

void AddDecide(CLI::App& app, int* exit_code) {
  auto [cmd, opt] = AddSubcommand<decide::DecideOptions>(
      app, "decide",
      "Decide a run read from stdin: one JSON call per line, "
      "{\"tool\":...,\"args\":{...},\"usage\":{\"tokens\":N,\"cost_usd\":X},\"elapsed_s\":S}; "
      "writes one decision per line. Blank lines are skipped.",
      exit_code, &decide::RunDecide);
  cmd->add_option("--policy", opt->policy, "Policy file or directory")->required();
  cmd->add_option("--agent", opt->agent, "Agent id (required when PATH holds several)");
  cmd->add_option("--now", opt->now, "Run start time, RFC 3339 (default: now)");
  cmd->add_option("--run", opt->run_id, "Run id to report (default: cli-run)");
  cmd->add_option("--workspace", opt->workspace,
                  "The directory ${workspace} stands for (default: the current directory)");
}

const CommandRegistration kRegisterDecide("decide", &AddDecide);

}  // namespace
}  // namespace interlock::cli
