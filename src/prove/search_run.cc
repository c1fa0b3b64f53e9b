// Search(): the breadth-first search over one run (search.h).
#include <algorithm>
#include <deque>
#include <unordered_set>
#include <utility>

#include "common/json.h"
#include "engine/engine.h"
#include "engine/sequence.h"
#include "prove/search.h"

namespace interlock::prove {
namespace {

namespace json = boost::json;
using policy::AgentPolicy;

// One abstract state: the run as the engine reads it, the counts the store keeps for it
// (the rate-limit windows and the day's calls, all at one instant), and what the property
// tracks.
struct Node {
  RunState rs;
  std::map<std::string, uint64_t> window;  // counted calls per rate-limit key
  uint64_t day = 0;                        // counted calls of the day
  uint64_t target = 0;                     // at_most: calls of the tool that proceeded
  bool requires_done = false;              // before: the required call succeeded
  int parent = -1;
  Step step;  // the call that led here
};

uint64_t Cap(uint64_t v, std::optional<uint64_t> cap) { return cap ? std::min(v, *cap) : 0; }

// The state as far as anything decides differently: counts capped where their rule stops
// reading them (a budget, limit or quota reached reads alike above it).
std::string Key(const AgentPolicy& p, const Property& prop, const Node& n) {
  std::string k = n.rs.workflow_state + '\x1f';
  for (const auto& [var, v] : n.rs.workflow_vars) k += var + '=' + CanonicalJson(v) + '\x1f';
  k += '\x1e';
  for (const std::string& l : n.rs.labels) k += l + '\x1f';
  k += '\x1e' + std::to_string(Cap(n.rs.steps, p.execution.max_steps));
  for (const auto& [tool, used] : n.rs.records) {
    const policy::ToolRule* rule = p.Resolve(tool).rule;
    if (rule != nullptr && rule->max_records_per_run) {
      k += ',' + tool + '=' + std::to_string(Cap(used, *rule->max_records_per_run + 1));
    }
  }
  for (const auto& [key, calls] : n.window) {
    const policy::RateLimit* r = engine::RateLimitFor(&p, key, nullptr);
    k += ';' + key + '=' + std::to_string(Cap(calls, r ? std::optional(r->calls) : std::nullopt));
  }
  k += '\x1e' + std::to_string(Cap(n.day, p.quotas.calls_per_day));
  k += '\x1e' + std::to_string(std::min<uint64_t>(n.target, prop.count + 1));
  k += n.requires_done ? "+" : "-";
  k += n.rs.halted ? "H" : "";
  return k;
}

bool Names(const std::string& pattern, const std::string& tool) {
  return policy::ToolPatternMatches(pattern, tool);
}

// Whether the decision `d` of a call of `tool` in state `n` breaks the property; `what`
// says how.
bool Breaks(const Property& prop, const Node& n, const std::string& tool,
            const std::vector<std::string>& labels, const Decision& d, std::string* what) {
  const bool allow = d.verdict == Verdict::kAllow;
  const bool approval = d.verdict == Verdict::kApprovalRequired;
  if (!allow && !approval) return false;
  const std::string how = allow ? "is allowed" : "can proceed with approval";
  using K = Property::Kind;
  switch (prop.kind) {
    case K::kNeverAllowed:
      *what = "tool " + tool + " " + how;
      return Names(prop.tool, tool);
    case K::kNeedsApprovals:
      if (!Names(prop.tool, tool)) return false;
      if (allow) {
        *what = "tool " + tool + " is allowed without approval";
        return true;
      }
      *what = "tool " + tool + " needs only " + std::to_string(d.approvals_required) +
              " approver(s), not " + std::to_string(prop.count);
      return static_cast<uint64_t>(d.approvals_required) < prop.count;
    case K::kBefore:
      *what = "tool " + tool + " " + how + " before " + prop.requires_tool +
              (prop.requires_ok ? " succeeded" : " proceeded") + " in this run";
      return Names(prop.tool, tool) && !n.requires_done;
    case K::kNeverFlows: {
      const bool seen = n.rs.labels.count(prop.label) > 0 ||
                        std::find(labels.begin(), labels.end(), prop.label) != labels.end();
      *what =
          "tool " + tool + " " + how + " after data labelled " + prop.label + " entered the run";
      return seen && Names(prop.tool, tool);
    }
    case K::kAtMost:
      *what = "call " + std::to_string(n.target + 1) + " of tool " + tool + " in one run " + how +
              " (at most " + std::to_string(prop.count) + ")";
      return Names(prop.tool, tool) && n.target + 1 > prop.count;
    case K::kOnlyTools:
      *what = "tool " + tool + ", which is not in the list, " + how;
      return std::none_of(prop.tools.begin(), prop.tools.end(),
                          [&](const std::string& t) { return Names(t, tool); });
  }
  return false;
}

class Searcher {
 public:
  Searcher(const AgentPolicy& p, const Property& prop, const CallSpace& space, TimePoint start,
           const SearchOptions& opt)
      : p_(p), prop_(prop), space_(space), start_(start), opt_(opt) {}

  SearchResult Run() {
    nodes_.push_back(Node{});
    seen_.insert(Key(p_, prop_, nodes_[0]));
    std::deque<int> queue{0};
    while (!queue.empty()) {
      const int at = queue.front();
      queue.pop_front();
      for (const auto& [tool, arg_sets] : space_.calls) {
        for (const json::object& args : arg_sets) {
          if (++evaluations_ > opt_.max_evaluations) {
            out_.bounded = true;
            return Finish();
          }
          if (Expand(at, tool, args, &queue)) return Finish();
        }
      }
    }
    return Finish();
  }

 private:
  SearchResult Finish() {
    out_.states = nodes_.size();
    return std::move(out_);
  }

  engine::EvalContext Context(const Node& n, const std::string& tool,
                              const policy::ToolRule* rule) {
    engine::EvalContext ctx;
    ctx.now = start_;
    engine::AgentUsage u;
    std::string key;
    if (engine::RateLimitFor(&p_, tool, &key) != nullptr) {
      auto it = n.window.find(key);
      u.window_calls = it == n.window.end() ? 0 : it->second;
    }
    u.day_calls = n.day;
    ctx.usage = u;
    if (opt_.through_humans && rule != nullptr && rule->on_behalf_of) {
      human_ = rule->on_behalf_of->in.empty() ? "prove-human" : rule->on_behalf_of->in.front();
      groups_.assign(rule->on_behalf_of->groups.begin(),
                     rule->on_behalf_of->groups.begin() +
                         std::min<size_t>(1, rule->on_behalf_of->groups.size()));
      ctx.on_behalf_of = human_;
      ctx.on_behalf_of_groups = &groups_;
    }
    return ctx;
  }

  // Decides one call in node `at`; queues the states it leads to. True: it breaks the
  // property (the counterexample is then in out_).
  bool Expand(int at, const std::string& tool, const json::object& args, std::deque<int>* queue) {
    const Node& n = nodes_[at];
    ToolCall call;
    call.tool = tool;
    call.args = args;
    const policy::ToolRule* rule = p_.Resolve(tool).rule;
    const engine::EvalContext ctx = Context(n, tool, rule);
    Node next;
    next.rs = n.rs;
    engine::Evaluation ev = engine::Evaluate(&p_, next.rs, call, ctx);
    Step step;
    if (ev.decision.verdict == Verdict::kRehearsalRequired) {
      engine::ApplyEffects(ev.effects, tool, &next.rs);
      call.rehearsal = ToolCall::RehearsalOutcome{.call_id = "prove", .ok = true};
      ev = engine::Evaluate(&p_, next.rs, call, ctx);
      step.rehearsed = true;
    }
    const Decision& d = ev.decision;
    step.tool = tool;
    step.args = args;
    step.verdict = d.verdict;
    step.code = std::string(CodeName(d.code));
    step.rule = d.rule;
    step.at = d.at;
    step.on_behalf_of = ctx.on_behalf_of.empty() ? "" : std::string(ctx.on_behalf_of);
    const bool approval = d.verdict == Verdict::kApprovalRequired;
    const bool human = approval || !step.on_behalf_of.empty();
    step.needs_human = human;
    if (Breaks(prop_, n, tool, engine::CallLabels(rule, call), d, &out_.what)) {
      out_.violated = true;
      out_.steps = Path(at);
      out_.steps.push_back(std::move(step));
      return true;
    }
    if (d.verdict != Verdict::kAllow && !(opt_.through_humans && approval)) return false;
    if (human && !opt_.through_humans) return false;
    engine::Effects e = ev.effects;
    if (approval) {  // released by its approvers: it proceeds as an allowed call would
      e.consume_records = true;
      e.sequence = engine::ProceedEffects(&p_, next.rs, call);
    }
    engine::ApplyEffects(e, tool, &next.rs);
    Count(n, tool, &next);
    Branch(at, call, std::move(next), std::move(step), queue);
    return false;
  }

  void Count(const Node& n, const std::string& tool, Node* next) {
    next->window = n.window;
    std::string key;
    if (engine::RateLimitFor(&p_, tool, &key) != nullptr) ++next->window[key];
    next->day = n.day + 1;
    next->target = n.target + (prop_.kind == Property::Kind::kAtMost && Names(prop_.tool, tool));
    next->requires_done = n.requires_done;
    if (prop_.kind == Property::Kind::kBefore && !prop_.requires_ok &&
        Names(prop_.requires_tool, tool)) {
      next->requires_done = true;
    }
  }

  // The call proceeded: with no result reported, and, where a result moves the workflow or
  // the property reads it, with each result.
  void Branch(int at, const ToolCall& call, Node next, Step step, std::deque<int>* queue) {
    const bool reads = prop_.kind == Property::Kind::kBefore && prop_.requires_ok &&
                       Names(prop_.requires_tool, call.tool);
    for (Step::Report r : {Step::Report::kNone, Step::Report::kOk, Step::Report::kError}) {
      Node m = next;
      m.parent = at;
      m.step = step;
      m.step.result = r;
      if (r != Step::Report::kNone) {
        const bool ok = r == Step::Report::kOk;
        if (!reads && !engine::ResultMove(&p_, next.rs, call, ok)) continue;
        m.rs = engine::ApplyResult(&p_, next.rs, call, ok);
        if (reads && ok) m.requires_done = true;
      }
      if (!seen_.insert(Key(p_, prop_, m)).second) continue;
      nodes_.push_back(std::move(m));
      queue->push_back(static_cast<int>(nodes_.size()) - 1);
    }
  }

  std::vector<Step> Path(int at) const {
    std::vector<Step> out;
    for (int i = at; i > 0; i = nodes_[i].parent) out.push_back(nodes_[i].step);
    std::reverse(out.begin(), out.end());
    return out;
  }

  const AgentPolicy& p_;
  const Property& prop_;
  const CallSpace& space_;
  const TimePoint start_;
  const SearchOptions& opt_;
  std::vector<Node> nodes_;
  std::unordered_set<std::string> seen_;
  size_t evaluations_ = 0;
  SearchResult out_;
  std::string human_;
  std::vector<std::string> groups_;
};

}  // namespace

SearchResult Search(const AgentPolicy& policy, const Property& property, const CallSpace& space,
                    TimePoint start, const SearchOptions& options) {
  SearchResult r = Searcher(policy, property, space, start, options).Run();
  r.undecidable = space.undecidable;
  return r;
}

}  // namespace interlock::prove
