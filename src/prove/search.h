// The search behind `interlock prove` (docs/prove.md): breadth-first over the abstract
// state of one run of one agent (workflow state and remembered values, labels, the counts
// budgets, rate limits and quotas read, and what the property tracks), whose transitions
// are the engine's own engine::Evaluate on every call the policy can tell apart (a witness
// per tool-name class, names.h, and per argument a value of each class its constraints
// split the values into). The first bad call found is on a shortest path: the counter-
// example. Pure: no I/O, no clock; the caller replays what it finds (prove.h).
// Thread-safety: free functions over values.
#ifndef INTERLOCK_PROVE_SEARCH_H_
#define INTERLOCK_PROVE_SEARCH_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/time.h"
#include "interlock/decision.h"
#include "policy/policy.h"
#include "prove/properties.h"

namespace interlock::prove {

// One call of a counterexample, as `interlock decide` reads it, and what the engine
// decides for it on the path.
struct Step {
  std::string tool;
  boost::json::object args;
  bool rehearsed = false;  // REHEARSAL_REQUIRED first, then a rehearsal reported ok
  enum class Report { kNone, kOk, kError };
  Report result = Report::kNone;  // the result reported after the call (if it proceeded)
  Verdict verdict = Verdict::kDeny;
  std::string code;  // CodeName of the decision
  std::string rule;  // the deciding rule and where it is written
  std::string at;
  // The call proceeds only once a human approves it (APPROVAL_REQUIRED on the path), or
  // with a verified human the agent acts for (on_behalf_of): no offline replay goes past it.
  bool needs_human = false;
  std::string on_behalf_of;  // the human assumed for an on_behalf_of rule
};

// A constraint the search cannot enumerate the values of, where it is written.
struct Undecidable {
  std::string at;  // file:line:column
  std::string why;
};

struct SearchOptions {
  // Calls that need a human (approval, on_behalf_of) advance the run too; otherwise only
  // calls the engine allows outright do (the paths `interlock decide` can replay).
  bool through_humans = false;
  size_t max_evaluations = 4000000;  // then the answer is "undecided: search bound"
  size_t max_arg_combinations = 4096;
};

struct SearchResult {
  bool violated = false;
  std::vector<Step> steps;               // the counterexample when violated
  std::string what;                      // the bad call, in words
  bool bounded = false;                  // the search stopped at a bound before covering the space
  std::vector<Undecidable> undecidable;  // constraints whose values were only sampled
  size_t states = 0;                     // abstract states visited
};

// The calls the search tries: per tool witness, argument objects. Built once per policy.
struct CallSpace {
  std::vector<std::pair<std::string, std::vector<boost::json::object>>> calls;
  std::vector<Undecidable> undecidable;             // constraints on arguments (rule constraints)
  std::vector<Undecidable> undecidable_conditions;  // workflow conditions (`when`)
  bool names_complete = true;
  bool args_truncated = false;
};

// `examples`: sample values per argument name (PropertiesFile::examples). `extra_names`:
// tool names or patterns the properties mention.
CallSpace BuildCallSpace(
    const policy::AgentPolicy& policy, const std::vector<std::string>& extra_names,
    const std::map<std::string, std::vector<boost::json::value>, std::less<>>& examples,
    size_t max_arg_combinations);

// The policy with every argument constraint whose values cannot be enumerated removed (a
// rule's constraints only deny, so this one allows at least what the policy does).
policy::AgentPolicy RelaxConstraints(const policy::AgentPolicy& policy);

// The policy without rate limits and daily quotas (what a long enough run meets).
policy::AgentPolicy WithoutTimeLimits(const policy::AgentPolicy& policy);

// A run start that lies in no freeze window of the policy (the search decides every call
// at that instant, as a fast agent would make them).
TimePoint SearchStart(const policy::AgentPolicy& policy);

// Searches one run of `policy` for a call that breaks `property`.
SearchResult Search(const policy::AgentPolicy& policy, const Property& property,
                    const CallSpace& space, TimePoint start, const SearchOptions& options);

// A call as a line of `interlock decide` input: {"tool":...,"args":{...}}.
std::string CallLine(const Step& step);

}  // namespace interlock::prove

#endif  // INTERLOCK_PROVE_SEARCH_H_
