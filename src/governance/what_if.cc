#include "governance/what_if.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/monotonic_resource.hpp>

#include "audit/audit_log.h"
#include "common/json.h"
#include "common/time.h"
#include "doors/egress/principal.h"
#include "engine/engine.h"
#include "governance/history.h"

namespace interlock::governance {
namespace {

namespace json = boost::json;

std::string_view Unquote(std::string_view token) {
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"') {
    return token.substr(1, token.size() - 2);
  }
  return token;
}

bool HasRedacted(std::string_view args) {
  return args.find("\"hmac-sha256:") != std::string_view::npos;
}

// Usage {"tokens", "cost_usd"} of a record's data member `key` (zero when absent).
Usage RecordUsage(std::string_view data, std::string_view key) {
  Usage u;
  std::string_view token;
  if (!FindMember(data, key, &token)) return u;
  Result<json::value> v = ParseOwnJson(token);
  if (!v.ok() || !v->is_object()) return u;
  if (const json::value* t = v->get_object().if_contains("tokens"); t && t->is_number()) {
    u.tokens = static_cast<uint64_t>(std::max(0.0, t->to_number<double>()));
  }
  if (const json::value* c = v->get_object().if_contains("cost_usd"); c && c->is_number()) {
    u.cost_micros = static_cast<int64_t>(c->to_number<double>() * 1e6 + 0.5);
  }
  return u;
}

// The sequences re-simulated under the new policies (issue 15): each run's workflow state,
// variables and labels, and each agent's counted calls and daily totals, as the store
// would have kept them had the new policies decided.
struct Simulation {
  struct Call {
    std::string agent_id, run_id;
    ToolCall call;
  };
  std::unordered_map<std::string, RunState> runs;   // sequence fields only
  std::unordered_map<std::string, Call> proceeded;  // calls whose result may move a run
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> hits;  // (agent, key)
  struct Day {
    int64_t day = 0;
    uint64_t calls = 0, tokens = 0;
    int64_t cost_micros = 0;
  };
  std::unordered_map<std::string, Day> days;

  Day& DayOf(const std::string& agent, int64_t time_ms) {
    Day& d = days[agent];
    if (d.day != UtcDayOfMillis(time_ms)) d = Day{UtcDayOfMillis(time_ms), 0, 0, 0};
    return d;
  }
  void AddUsage(const std::string& agent, int64_t time_ms, const Usage& u, bool call) {
    Day& d = DayOf(agent, time_ms);
    RunState sum;
    sum.tokens = d.tokens;
    sum.cost_micros = d.cost_micros;
    interlock::AddUsage(u, &sum);
    d.tokens = sum.tokens;
    d.cost_micros = sum.cost_micros;
    if (call) ++d.calls;
  }
};

// A call decided after its rehearsal is re-judged with the rehearsal's recorded outcome,
// as the core judged it (Guard::CompleteRehearsal); without it, the new policy would ask
// for the rehearsal again and show a change that is none. False: a malformed rehearsal.
bool ReadRehearsal(std::string_view rehearsal, ToolCall* call) {
  if (rehearsal.empty()) return true;
  Result<json::value> v = ParseOwnJson(rehearsal);
  const json::object* o = v.ok() ? v->if_object() : nullptr;
  const json::value* id = o != nullptr ? o->if_contains("call_id") : nullptr;
  const json::value* ok = o != nullptr ? o->if_contains("ok") : nullptr;
  if (id != nullptr && id->is_string() && ok != nullptr && ok->is_bool()) {
    ToolCall::RehearsalOutcome out;
    out.call_id = std::string(id->get_string());
    out.ok = ok->get_bool();
    if (const json::value* t = o->if_contains("output"); t != nullptr && t->is_string()) {
      out.output = std::string(t->get_string());
    }
    if (const json::value* t = o->if_contains("error"); t != nullptr && t->is_string()) {
      out.error = std::string(t->get_string());
    }
    call->rehearsal = std::move(out);
    return true;
  }
  return o != nullptr && o->contains("args");
}

// One pass over the history for RunWhatIf: each result and usage record moves the
// simulated sequences and days; each decision record is re-judged under the new policies
// and compared with what was decided.
class Replay {
 public:
  Replay(const policy::PolicySet& policies, const WhatIfOptions& options)
      : policies_(policies), options_(options) {}

  void OnRecord(const RecordView& r) {
    if (error_) return;
    const std::string agent_id(r.agent_id);
    if (r.type == audit::kUsage) {
      sim_.AddUsage(agent_id, r.time_ms, RecordUsage(r.data, "usage"), false);
      return;
    }
    if (r.type == audit::kResult) {
      OnResult(r, agent_id);
      return;
    }
    OnDecision(r, agent_id);
  }

  Result<WhatIfReport> Finish() && {
    if (error_) return *error_;
    return std::move(report_);
  }

 private:
  void OnResult(const RecordView& r, const std::string& agent_id) {
    sim_.AddUsage(agent_id, r.time_ms, RecordUsage(r.data, "usage"), false);
    auto it = sim_.proceeded.find(std::string(r.call_id));
    if (it == sim_.proceeded.end()) return;
    std::string_view ok_token;
    const bool ok = FindMember(r.data, "ok", &ok_token) && ok_token == "true";
    const policy::AgentPolicy* agent = policies_.Find(it->second.agent_id);
    RunState& seq = sim_.runs[it->second.run_id];
    seq = engine::ApplyResult(agent, seq, it->second.call, ok);
    sim_.proceeded.erase(it);  // one result per call
  }

  void OnDecision(const RecordView& r, const std::string& agent_id) {
    f_ = DecisionFields{};
    if (!ParseDecisionFields(r.data, &f_)) {
      error_ = Error::Corrupt("decision record " + std::to_string(r.seq) +
                              " lacks tool, decision or state_after");
      return;
    }
    const std::string_view old_verdict = Unquote(f_.verdict);
    ToolCall call;
    call.tool = TokenToString(f_.tool);
    // An egress proxy's connection (issue 16) is re-judged as one: egress.allow of the new
    // policy against the host, port and address it recorded.
    const bool egress = r.principal == egress::kEgressPrincipal && call.tool == kEgressToolName;
    if (egress) call.kind = CallKind::kEgress;
    if (!ReadRehearsal(f_.rehearsal, &call)) {
      error_ =
          Error::Corrupt("decision record " + std::to_string(r.seq) + " has a malformed rehearsal");
      return;
    }
    RunState& seq = sim_.runs[std::string(r.run_id)];
    RunState state = StateBefore(r, seq);
    engine::EvalContext ctx;
    ctx.now = FromUnixMillis(r.time_ms);
    if (Unquote(f_.code) == "KILL_SWITCH") {
      std::string_view scope = Unquote(f_.rule);
      if (scope.starts_with("kill_switch.")) scope.remove_prefix(12);
      ctx.kill = engine::KillSwitch{std::string(scope), "as recorded"};
    }
    const policy::AgentPolicy* agent = policies_.Find(r.agent_id);
    const policy::ToolRule* rule = nullptr;
    if (agent != nullptr) {
      rule = agent->Resolve(call.tool).rule;
    }
    // Arguments matter only when the new policy has a rule for the tool; parse them into
    // a per-record arena then.
    unsigned char buf[4096];
    json::monotonic_resource arena(buf, sizeof(buf));
    if ((rule != nullptr || egress) && !ctx.kill) {
      Result<json::value> v = ParseOwnJson(f_.args, json::storage_ptr(&arena));
      if (!v.ok() || !v->is_object()) {
        error_ = Error::Corrupt("decision record " + std::to_string(r.seq) + " has bad args");
        return;
      }
      call.args = std::move(v->get_object());
      if (rule != nullptr && rule->max_records_per_run) {
        RecordsBefore(call, rule, old_verdict, &state);
      }
    }
    // Cross-run counts as the store would have kept them under the new policies.
    std::string rate_key;
    const policy::RateLimit* limit =
        egress ? nullptr : engine::RateLimitFor(agent, call.tool, &rate_key);
    const Usage call_usage = RecordUsage(r.data, "usage");
    if (agent != nullptr && !egress && (limit != nullptr || agent->quotas.any())) {
      ctx.usage = AgentUsageAt(r, agent_id, limit, rate_key, call_usage);
    }
    engine::Evaluation ev = engine::Evaluate(agent, state, call, ctx);
    ++report_.evaluated;
    // A connection is not a step: it moves no sequence and counts towards no quota.
    const bool proceeds = !egress && ev.effects.consume_records;
    sim_.AddUsage(agent_id, r.time_ms, call_usage, proceeds);
    if (proceeds) Proceed(r, agent_id, agent, limit, rate_key, call, ev, &seq);
    Compare(r, call, ev);
  }

  // The run's state before the recorded call: the sequence as simulated so far, the
  // counters as recorded.
  RunState StateBefore(const RecordView& r, const RunState& seq) {
    RunState state;
    state.workflow_state = seq.workflow_state;
    state.workflow_vars = seq.workflow_vars;
    state.labels = seq.labels;
    state.steps = f_.steps_after > 0 ? f_.steps_after - 1 : 0;
    state.tokens = f_.tokens;
    state.cost_micros = f_.cost_micros;
    state.elapsed_ms = f_.elapsed_ms;
    auto [prev, first] = halted_after_.try_emplace(std::string(r.run_id), false);
    state.halted =
        first ? (Unquote(f_.code) == "RUN_HALTED" || Unquote(f_.shadow_code) == "RUN_HALTED")
              : prev->second;
    prev->second = f_.halted_after;
    return state;
  }

  // The tool's records counted in the run before this call (max_records_per_run).
  void RecordsBefore(const ToolCall& call, const policy::ToolRule* rule,
                     std::string_view old_verdict, RunState* state) const {
    std::string_view used_token;
    uint64_t used = 0;
    if (FindMember(f_.records_after, call.tool, &used_token)) TokenToU64(used_token, &used);
    if (old_verdict == "allow") {
      const uint64_t n = engine::CountRecords(call.args, rule);
      used = used > n ? used - n : 0;
    }
    if (used > 0) state->records.emplace(call.tool, used);
  }

  engine::AgentUsage AgentUsageAt(const RecordView& r, const std::string& agent_id,
                                  const policy::RateLimit* limit, const std::string& rate_key,
                                  const Usage& call_usage) {
    engine::AgentUsage u;
    if (limit != nullptr) {
      std::vector<int64_t>& hits = sim_.hits[{agent_id, rate_key}];
      std::erase_if(hits, [&](int64_t t) { return t <= r.time_ms - limit->per_seconds * 1000; });
      u.window_calls = hits.size();
      if (!hits.empty()) u.window_oldest_ms = r.time_ms - hits.front();
    }
    Simulation::Day& d = sim_.DayOf(agent_id, r.time_ms);
    RunState day;  // this call's usage included, as the store does
    day.tokens = d.tokens;
    day.cost_micros = d.cost_micros;
    interlock::AddUsage(call_usage, &day);
    u.day_calls = d.calls;
    u.day_tokens = day.tokens;
    u.day_cost_micros = day.cost_micros;
    return u;
  }

  // A call the new policies let proceed moves its run's sequence and the rate window, and
  // is kept for its result when the agent has a workflow.
  void Proceed(const RecordView& r, const std::string& agent_id, const policy::AgentPolicy* agent,
               const policy::RateLimit* limit, const std::string& rate_key, const ToolCall& call,
               const engine::Evaluation& ev, RunState* seq) {
    for (const std::string& l : ev.effects.sequence.add_labels) seq->labels.insert(l);
    if (ev.effects.sequence.move) engine::ApplyMove(*ev.effects.sequence.move, seq);
    if (limit != nullptr) sim_.hits[{agent_id, rate_key}].push_back(r.time_ms);
    if (agent != nullptr && agent->workflow != nullptr && !r.call_id.empty()) {
      ToolCall kept;
      kept.tool = call.tool;
      kept.args = json::object(call.args, json::storage_ptr());  // out of the arena
      sim_.proceeded[std::string(r.call_id)] =
          Simulation::Call{agent_id, std::string(r.run_id), std::move(kept)};
    }
  }

  // Counts and lists a decision the new policies change.
  void Compare(const RecordView& r, const ToolCall& call, const engine::Evaluation& ev) {
    const std::string_view old_code = Unquote(f_.code);
    const std::string_view old_verdict = Unquote(f_.verdict);
    const std::string_view new_code = CodeName(ev.decision.code);
    const std::string_view new_verdict = VerdictName(ev.decision.verdict);
    if (new_code == old_code && new_verdict == old_verdict) return;
    ++report_.changed;
    ++report_.transitions[{std::string(old_code), std::string(new_code)}];
    if (report_.changes.size() >= options_.max_listed) return;
    WhatIfChange c;
    c.seq = r.seq;
    c.run_id = std::string(r.run_id);
    c.call_id = std::string(r.call_id);
    c.agent_id = std::string(r.agent_id);
    c.tool = call.tool;
    c.old_decision = std::string(old_verdict);
    c.old_code = std::string(old_code);
    c.new_decision = std::string(new_verdict);
    c.new_code = std::string(new_code);
    c.new_rule = ev.decision.rule;
    c.new_reason = ev.decision.reason;
    c.redacted_args = HasRedacted(f_.args);
    report_.changes.push_back(std::move(c));
  }

  const policy::PolicySet& policies_;
  const WhatIfOptions& options_;
  WhatIfReport report_;
  // Per run: whether the run was halted after its latest decision seen so far.
  std::unordered_map<std::string, bool> halted_after_;
  Simulation sim_;
  std::optional<Error> error_;
  DecisionFields f_;  // the decision record at hand (reused: its buffers are kept)
};

}  // namespace

Result<WhatIfReport> RunWhatIf(const HistorySource& source, const policy::PolicySet& policies,
                               const WhatIfOptions& options) {
  HistoryFilter filter;
  // Results and usage too: they move workflows and count towards the day's quotas.
  filter.types = {audit::kDecision, audit::kResult, audit::kUsage};
  filter.since_ms = options.since_ms;
  filter.agent_id = options.agent_id;
  Replay replay(policies, options);
  Status st = source.ForEachRecord(filter, [&](const RecordView& r) { replay.OnRecord(r); });
  if (!st.ok()) return st.error();
  return std::move(replay).Finish();
}

json::object WhatIfToJson(const WhatIfReport& r) {
  json::array changes;
  for (const WhatIfChange& c : r.changes) {
    changes.push_back(json::object{{"seq", c.seq},
                                   {"run_id", c.run_id},
                                   {"call_id", c.call_id},
                                   {"agent_id", c.agent_id},
                                   {"tool", c.tool},
                                   {"old", {{"decision", c.old_decision}, {"code", c.old_code}}},
                                   {"new",
                                    {{"decision", c.new_decision},
                                     {"code", c.new_code},
                                     {"rule", c.new_rule},
                                     {"reason", c.new_reason}}},
                                   {"redacted_args", c.redacted_args}});
  }
  json::array totals;
  for (const auto& [k, n] : r.transitions) {
    totals.push_back(json::object{{"from", k.first}, {"to", k.second}, {"count", n}});
  }
  return json::object{{"evaluated", r.evaluated},
                      {"changed", r.changed},
                      {"changes", std::move(changes)},
                      {"listed", r.changes.size()},
                      {"totals", std::move(totals)}};
}

std::string WhatIfToText(const WhatIfReport& r) {
  std::string out;
  for (const WhatIfChange& c : r.changes) {
    out += "changed  run " + c.run_id + "  call " + c.call_id + "  agent " + c.agent_id +
           "  tool " + c.tool + ": " + c.old_code + " -> " + c.new_code + "  (" + c.new_rule +
           (c.redacted_args ? "; arguments were redacted" : "") + ")\n";
  }
  if (r.changes.size() < r.changed) {
    out += "... " + std::to_string(r.changed - r.changes.size()) + " more not listed\n";
  }
  for (const auto& [k, n] : r.transitions) {
    out += "total    " + k.first + " -> " + k.second + ": " + std::to_string(n) + "\n";
  }
  out += std::to_string(r.evaluated) + " calls re-evaluated, " + std::to_string(r.changed) +
         " would change\n";
  return out;
}

}  // namespace interlock::governance
