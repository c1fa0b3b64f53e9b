// `interlock decide`: decide a scripted run read as JSON lines on stdin.
//
// Each line is one call of the same run; each gets one decision line on stdout, in
// order. It goes through the same Guard as the daemon, on an in-memory run store.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <istream>
#include <string>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "core/run_store.h"
#include "engine/call_parser.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

struct DecideOptions {
  std::string policy;
  std::string agent;
  std::string now;
  std::string run_id = "cli-run";
};

// Reads one line of at most `max` bytes. A longer line is consumed whole and reported
// as oversized, so one hostile line cannot exhaust memory or desynchronise the stream.
bool ReadBoundedLine(std::istream& in, size_t max, std::string* line, bool* oversized) {
  line->clear();
  *oversized = false;
  bool any = false;
  std::streambuf* buf = in.rdbuf();
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) return any;
    any = true;
    if (c == '\n') return true;
    if (line->size() < max) {
      line->push_back(static_cast<char>(c));
    } else {
      *oversized = true;
    }
  }
}

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

int RunDecide(const DecideOptions& opt) {
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({opt.policy}, &diags);
  if (!set.ok()) {
    std::cerr << "interlock decide: policy " << opt.policy << " is invalid; fix it (run "
              << "`interlock check " << opt.policy << "` for details):\n"
              << set.error().message << '\n';
    return kExitUsage;
  }
  std::string agent_id = opt.agent;
  if (agent_id.empty()) {
    if ((*set)->agents.size() != 1) {
      std::cerr << "interlock decide: " << opt.policy << " holds " << (*set)->agents.size()
                << " agents; pick one with --agent ID\n";
      return kExitUsage;
    }
    agent_id = (*set)->agents.begin()->first;
  }
  TimePoint start = std::chrono::system_clock::now();
  if (!opt.now.empty()) {
    auto t = ParseRfc3339(opt.now);
    if (!t.ok()) {
      std::cerr << "interlock decide: --now: " << t.error().message << '\n';
      return kExitUsage;
    }
    start = *t;
  }

  core::PolicySource source(*set);
  core::MemoryRunStore store;
  ManualClock clock(start);
  core::Guard guard(&source, &store, &clock, nullptr);
  if (auto run = store.CreateRun(agent_id, opt.run_id, start); !run.ok()) {
    std::cerr << "interlock decide: " << run.error().message << '\n';
    return kExitFailure;
  }

  const JsonLimits limits;
  double elapsed_s = 0;
  std::string line;
  bool oversized = false;
  while (ReadBoundedLine(std::cin, limits.max_bytes, &line, &oversized)) {
    if (!oversized && IsBlank(line)) continue;
    Result<ToolCall> call =
        oversized ? Result<ToolCall>(Error::Invalid("line exceeds " +
                                                    std::to_string(limits.max_bytes) + " bytes"))
                  : engine::ParseToolCall(line, limits);
    if (!call.ok()) {
      Decision d = DenyDecision(Code::kInvalidRequest, call.error().message, "request");
      d.agent_id = agent_id;
      WriteJsonLine(std::cout, DecisionToJson(d));
      continue;
    }
    // Time never runs backwards: a smaller elapsed_s than before keeps the larger.
    if (call->elapsed_s) elapsed_s = std::max(elapsed_s, *call->elapsed_s);
    clock.Set(start + std::chrono::duration_cast<TimePoint::duration>(
                          std::chrono::duration<double>(elapsed_s)));
    core::GuardResponse r = guard.Decide(agent_id, agent_id, opt.run_id, std::move(call).value());
    boost::json::object out = DecisionToJson(r.decision);
    out["step"] = r.state.steps;
    out["run"] = {{"steps", r.state.steps},
                  {"tokens", r.state.tokens},
                  {"cost_usd", static_cast<double>(r.state.cost_micros) / 1e6},
                  {"elapsed_s", static_cast<double>(r.state.elapsed_ms) / 1e3},
                  {"halted", r.state.halted}};
    WriteJsonLine(std::cout, out);
  }
  return kExitOk;
}

void AddDecide(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<DecideOptions>();
  CLI::App* cmd = app.add_subcommand(
      "decide",
      "Decide a run read from stdin: one JSON call per line, "
      "{\"tool\":...,\"args\":{...},\"usage\":{\"tokens\":N,\"cost_usd\":X},\"elapsed_s\":S}; "
      "writes one decision per line. Blank lines are skipped.");
  cmd->add_option("--policy", opt->policy, "Policy file or directory")->required();
  cmd->add_option("--agent", opt->agent, "Agent id (required when PATH holds several)");
  cmd->add_option("--now", opt->now, "Run start time, RFC 3339 (default: now)");
  cmd->add_option("--run", opt->run_id, "Run id to report (default: cli-run)");
  cmd->callback([opt, exit_code] { *exit_code = RunDecide(*opt); });
}

const CommandRegistration kRegistration("decide", &AddDecide);

}  // namespace
}  // namespace interlock::cli
