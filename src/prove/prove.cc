#include "prove/prove.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "common/json.h"
#include "core/app/offline_run.h"
#include "core/app/tool_calls.h"

namespace interlock::prove {
namespace {

using Verdict = PropertyReport::Verdict;

std::vector<std::string> PropertyNames(const Property& p) {
  std::vector<std::string> out = p.tools;
  if (!p.tool.empty()) out.push_back(p.tool);
  if (!p.requires_tool.empty()) out.push_back(p.requires_tool);
  return out;
}

std::string Where(const Property& p) { return p.at.ToString() + ": "; }

void Violated(const SearchResult& r, bool humans, PropertyReport* out) {
  out->verdict = Verdict::kViolated;
  out->summary = r.what + " after " + std::to_string(r.steps.size() - 1) + " earlier call(s)" +
                 (humans ? " (the path needs a human: an approval or on_behalf_of)" : "");
  out->counterexample = r.steps;
}

// Upper bound on calls of the property's tool in one UTC day from the policy's limits, or
// nullopt when they set none (rate limits of every allowed rule the tool's names reach).
std::optional<uint64_t> DayBound(const policy::AgentPolicy& p, const Property& prop,
                                 const CallSpace& space) {
  if (p.mode == policy::Mode::kShadow) return std::nullopt;
  std::optional<uint64_t> bound;
  if (p.quotas.calls_per_day) bound = *p.quotas.calls_per_day;
  std::set<const policy::ToolRule*> rules;
  bool unlimited = false;
  for (const auto& [tool, args] : space.calls) {
    if (!policy::ToolPatternMatches(prop.tool, tool)) continue;
    const policy::ToolRule* rule = p.Resolve(tool).rule;
    if (rule == nullptr) continue;
    if (!rule->rate_limit) unlimited = true;
    rules.insert(rule);
  }
  if (!unlimited) {
    uint64_t sum = 0;
    for (const policy::ToolRule* r : rules) {
      const uint64_t windows =
          (86400 + r->rate_limit->per_seconds - 1) / r->rate_limit->per_seconds;
      sum += r->rate_limit->calls * windows;
    }
    if (!bound || sum < *bound) bound = sum;
  }
  return bound;
}

// never_allowed and only_tools hold whatever the state when every name the property is about
// is blocked or in no allowed entry (enforce mode): the engine refuses such a call before it
// reads any argument or state.
bool RefusedByName(const policy::AgentPolicy& p, const Property& prop, const CallSpace& space) {
  using K = Property::Kind;
  if (p.mode != policy::Mode::kEnforce ||
      (prop.kind != K::kNeverAllowed && prop.kind != K::kOnlyTools))
    return false;
  for (const auto& call : space.calls) {
    const std::string& tool = call.first;  // not a structured binding: clang 14's lambdas
    const bool about =
        prop.kind == K::kNeverAllowed
            ? policy::ToolPatternMatches(prop.tool, tool)
            : std::none_of(prop.tools.begin(), prop.tools.end(), [&](const std::string& t) {
                return policy::ToolPatternMatches(t, tool);
              });
    if (about && p.Resolve(tool).kind == policy::ToolResolution::Kind::kAllowed) return false;
  }
  return true;
}

// at_most, when one run at one instant does not break it: what time (rate limits, quotas) and
// several runs (per: day) answer. False: it holds as the search found.
bool SettleAtMost(
    const std::shared_ptr<const policy::PolicySet>& set, const policy::AgentPolicy& p,
    const policy::AgentPolicy& relaxed, const CallSpace& rspace, const Property& prop,
    const std::map<std::string, std::vector<boost::json::value>, std::less<>>& examples,
    TimePoint start, PropertyReport* out) {
  const SearchOptions humans{.through_humans = true};
  std::optional<uint64_t> bound;
  if (prop.per_day) {
    bound = DayBound(p, prop, rspace);
    if (bound && *bound <= prop.count) {
      out->summary = "the daily quota or rate limits allow at most " + std::to_string(*bound) +
                     " call(s) a day";
      return true;
    }
  }
  Property once = prop;
  once.count = 0;
  const SearchResult real = Search(p, once, BuildCallSpace(p, PropertyNames(prop), examples, 4096),
                                   start, {.through_humans = false});
  const SearchResult any = real.violated ? real : Search(relaxed, once, rspace, start, humans);
  if (!any.violated && !any.bounded) {
    out->summary = "no call of " + prop.tool + " can proceed";
    return true;
  }
  if (prop.per_day && !bound && real.violated) {
    // Nothing bounds calls across runs: count+1 runs, each making this one call, exceed it.
    out->verdict = Verdict::kViolated;
    out->counterexample = real.steps;
    out->summary = "nothing bounds calls of " + prop.tool + " across runs (no calls_per_day " +
                   "quota, no rate limit): " + std::to_string(prop.count + 1) +
                   " runs, each making the calls below, exceed " + std::to_string(prop.count);
    out->replay = ReplayCounterexample(set, p.id, start, out->counterexample);
    if (!out->replay.reproduced) {
      out->verdict = Verdict::kUndecided;
      out->summary = "checker bug: the engine does not reproduce the counterexample (" +
                     out->replay.mismatch + ")";
    }
    return true;
  }
  const policy::AgentPolicy untimed = WithoutTimeLimits(relaxed);
  const SearchResult r = Search(
      untimed, prop, BuildCallSpace(untimed, PropertyNames(prop), examples, 4096), start, humans);
  if (!prop.per_day && !r.violated && !r.bounded) return false;
  out->verdict = Verdict::kUndecided;
  out->summary = prop.per_day
                     ? "one run cannot exceed the bound at one instant, but several runs or the "
                       "passing of time may (the checker decides one run at one instant)"
                     : "only a rate limit or daily quota holds it, and those let more calls "
                       "through as time passes";
  return true;
}

// The property's answer when no counterexample was found on the policy's own values.
void Settle(const std::shared_ptr<const policy::PolicySet>& set, const policy::AgentPolicy& p,
            const Property& prop, const CallSpace& space,
            const std::map<std::string, std::vector<boost::json::value>, std::less<>>& examples,
            TimePoint start, PropertyReport* out) {
  SearchOptions humans{.through_humans = true};
  if (!space.names_complete || space.args_truncated) {
    out->verdict = Verdict::kUndecided;
    out->summary =
        "the policy has more tool-name classes or argument combinations than the "
        "search covers";
    return;
  }
  if (RefusedByName(p, prop, space)) {
    out->summary = "every tool name it is about is blocked or in no allowed entry";
    return;
  }
  if (!space.undecidable_conditions.empty()) {
    out->verdict = Verdict::kUndecided;
    out->undecidable = space.undecidable_conditions;
    out->summary =
        "no counterexample among the values tried, but a workflow condition checks "
        "values the checker cannot enumerate";
    return;
  }
  const policy::AgentPolicy relaxed = RelaxConstraints(p);
  const CallSpace rspace = BuildCallSpace(relaxed, PropertyNames(prop), examples, 4096);
  if (!space.undecidable.empty()) {
    SearchResult r = Search(relaxed, prop, rspace, start, humans);
    if (r.violated || r.bounded) {
      out->verdict = Verdict::kUndecided;
      out->undecidable = space.undecidable;
      out->counterexample = r.steps;
      out->summary = "no counterexample among the values tried, but one may exist: " +
                     (r.violated ? r.what : std::string("(search bound)")) +
                     " if an argument passes a check the checker cannot enumerate (give values "
                     "under examples:)";
      return;
    }
  }
  const bool timed = p.quotas.any() || std::any_of(p.allowed.begin(), p.allowed.end(), [](auto& e) {
                       return e.second.rate_limit.has_value();
                     });
  if (prop.kind == Property::Kind::kAtMost && (timed || prop.per_day) &&
      SettleAtMost(set, p, relaxed, rspace, prop, examples, start, out)) {
    return;
  }
  out->summary = "holds over every reachable state";
}

PropertyReport CheckOne(const std::shared_ptr<const policy::PolicySet>& set,
                        const policy::AgentPolicy& p, const PropertiesFile& file,
                        const Property& prop) {
  PropertyReport out;
  out.property = prop;
  out.file = file.file;
  out.agent = p.id;
  out.start = SearchStart(p);
  const CallSpace space = BuildCallSpace(p, PropertyNames(prop), file.examples, 4096);
  for (bool humans : {false, true}) {
    SearchResult r = Search(p, prop, space, out.start, {.through_humans = humans});
    out.states += r.states;
    if (r.violated) {
      Violated(r, humans, &out);
      out.replay = ReplayCounterexample(set, p.id, out.start, out.counterexample);
      if (!out.replay.reproduced) {
        out.verdict = Verdict::kUndecided;
        out.summary = "checker bug: the engine does not reproduce the counterexample (" +
                      out.replay.mismatch + ")";
      }
      return out;
    }
    if (r.bounded) {
      out.verdict = Verdict::kUndecided;
      out.summary = "the search reached its bound of evaluations";
      return out;
    }
  }
  Settle(set, p, prop, space, file.examples, out.start, &out);
  return out;
}

}  // namespace

int ProveReport::ExitCode() const {
  bool undecided = false;
  for (const PropertyReport& r : properties) {
    if (r.verdict == Verdict::kViolated) return 1;
    undecided = undecided || r.verdict == Verdict::kUndecided;
  }
  return undecided ? 3 : 0;
}

Result<ProveReport> Prove(const std::shared_ptr<const policy::PolicySet>& set,
                          const std::vector<PropertiesFile>& files) {
  ProveReport report;
  for (const PropertiesFile& f : files) {
    for (const Property& prop : f.properties) {
      const policy::AgentPolicy* p = nullptr;
      if (prop.agent.empty()) {
        if (set->agents.size() != 1) {
          return Result<ProveReport>(
              Error::Invalid(Where(prop) + "property " + prop.name +
                             " names no agent and the policies define several: add agent:"));
        }
        p = set->agents.begin()->second.get();
      } else {
        p = set->Find(prop.agent);
        if (p == nullptr) {
          return Result<ProveReport>(Error::Invalid(Where(prop) + "property " + prop.name +
                                                    ": no agent " + prop.agent +
                                                    " in the policies"));
        }
      }
      report.properties.push_back(CheckOne(set, *p, f, prop));
    }
  }
  return Result<ProveReport>(std::move(report));
}

Replay ReplayCounterexample(const std::shared_ptr<const policy::PolicySet>& set,
                            const std::string& agent, TimePoint start,
                            const std::vector<Step>& steps) {
  Replay out;
  core::OfflineRun run(set, 1024);
  if (Status st = run.Start(agent, "prove-replay", start); !st.ok()) {
    out.mismatch = "cannot start the run: " + st.error().message;
    return out;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    if (!s.on_behalf_of.empty()) {  // decided for a verified human: not on the offline path
      out.stopped_at_human = true;
      break;
    }
    const std::string n = "step " + std::to_string(i + 1) + ": ";
    run.SetTime(start);
    ToolCall call;
    if (Status read = core::ReadToolCall(CallLine(s), {}, &call); !read.ok()) {
      out.mismatch = n + read.error().message;
      return out;
    }
    core::GuardResponse g = run.Decide(std::move(call));
    if (s.rehearsed) {
      if (g.decision.verdict != interlock::Verdict::kRehearsalRequired) {
        out.mismatch =
            n + "expected REHEARSAL_REQUIRED, got " + std::string(CodeName(g.decision.code));
        return out;
      }
      core::CallResult ok;
      ok.ok = true;
      g = run.CompleteRehearsal(g.call_id, ok);
    }
    if (g.decision.verdict != s.verdict || CodeName(g.decision.code) != s.code) {
      out.mismatch = n + "expected " + s.code + ", the engine decided " +
                     std::string(CodeName(g.decision.code)) + " (" + g.decision.reason + ")";
      return out;
    }
    out.replayed = i + 1;
    if (s.needs_human && i + 1 < steps.size()) {
      out.stopped_at_human = true;
      break;
    }
    if (s.result != Step::Report::kNone) {
      core::CallResult r;
      r.ok = s.result == Step::Report::kOk;
      if (!r.ok) r.error = "prove: reported as an error";
      if (Status st = run.RecordResult(g.call_id, r); !st.ok()) {
        out.mismatch = n + "the result was not recorded: " + st.error().message;
        return out;
      }
    }
  }
  out.reproduced = true;
  return out;
}

std::string FormatText(const ProveReport& report) {
  std::ostringstream o;
  for (const PropertyReport& r : report.properties) {
    const char* v = r.verdict == Verdict::kHolds      ? "holds"
                    : r.verdict == Verdict::kViolated ? "VIOLATED"
                                                      : "UNDECIDED";
    o << r.property.at.ToString() << ": " << v << ": " << r.property.name << " ("
      << KindName(r.property.kind) << ", agent " << r.agent << "): " << r.summary << '\n';
    for (const Undecidable& u : r.undecidable)
      o << "    undecidable: " << u.at << ": " << u.why << '\n';
    if (r.counterexample.empty()) continue;
    o << "    " << (r.verdict == Verdict::kViolated ? "counterexample" : "possible counterexample")
      << " (" << r.counterexample.size() << " call(s); replay with: interlock decide --agent "
      << r.agent << " --now " << FormatRfc3339(r.start) << "):\n";
    for (size_t i = 0; i < r.counterexample.size(); ++i) {
      const Step& s = r.counterexample[i];
      o << "    " << (i + 1) << ". " << CallLine(s) << "  -> " << s.code;
      if (!s.rule.empty()) o << " (" << s.rule << (s.at.empty() ? "" : " at " + s.at) << ")";
      if (s.rehearsed) o << " [after a rehearsal reported ok]";
      if (s.needs_human && i + 1 < r.counterexample.size())
        o << (s.on_behalf_of.empty() ? " [approved by a human]"
                                     : " [on behalf of " + s.on_behalf_of + "]");
      o << '\n';
      if (s.result != Step::Report::kNone)
        o << "       {\"result\":{\"ok\":" << (s.result == Step::Report::kOk ? "true" : "false")
          << "}}\n";
    }
    if (r.verdict == Verdict::kViolated) {
      o << "    replayed through the engine: " << r.replay.replayed << " of "
        << r.counterexample.size() << " step(s) reproduced"
        << (r.replay.stopped_at_human ? " (the offline path stops at the step a human allows)" : "")
        << '\n';
    }
  }
  size_t holds = 0, violated = 0, undecided = 0;
  for (const PropertyReport& r : report.properties) {
    (r.verdict == Verdict::kHolds      ? holds
     : r.verdict == Verdict::kViolated ? violated
                                       : undecided)++;
  }
  o << report.properties.size() << " propert" << (report.properties.size() == 1 ? "y" : "ies")
    << ": " << holds << " hold, " << violated << " violated, " << undecided << " undecided\n";
  return o.str();
}

std::vector<policy::Diagnostic> AsDiagnostics(const ProveReport& report) {
  std::vector<policy::Diagnostic> out;
  for (const PropertyReport& r : report.properties) {
    if (r.verdict == Verdict::kHolds) continue;
    policy::Diagnostic d;
    d.severity = r.verdict == Verdict::kViolated ? policy::Diagnostic::Severity::kError
                                                 : policy::Diagnostic::Severity::kWarning;
    d.at = r.property.at;
    d.id = r.verdict == Verdict::kViolated ? "property-violated" : "property-undecided";
    d.message = "property " + r.property.name + " (agent " + r.agent + "): " + r.summary;
    if (!r.counterexample.empty() && r.verdict == Verdict::kViolated) {
      d.message += "; run `interlock prove` for the counterexample";
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<policy::Diagnostic> CheckPropertiesBeside(
    const std::vector<std::string>& paths, const std::shared_ptr<const policy::PolicySet>& set) {
  std::vector<PropertiesFile> files;
  std::vector<policy::Diagnostic> out;
  for (const std::string& path : paths) {
    for (const std::string& f : FindPropertiesFiles(path)) {
      auto parsed = ReadProperties(f);
      if (!parsed.ok()) {
        policy::Diagnostic d;
        d.at = {f, 0, 0};
        d.id = "properties-invalid";
        d.message = parsed.error().message;
        out.push_back(std::move(d));
        continue;
      }
      files.push_back(std::move(*parsed));
    }
  }
  if (files.empty()) return out;
  auto report = Prove(set, files);
  if (!report.ok()) {
    policy::Diagnostic d;
    d.id = "properties-invalid";
    d.message = report.error().message;
    out.push_back(std::move(d));
    return out;
  }
  for (policy::Diagnostic& d : AsDiagnostics(*report)) out.push_back(std::move(d));
  return out;
}

}  // namespace interlock::prove
