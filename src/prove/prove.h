// `interlock prove` (docs/prove.md): checks properties of a policy set exhaustively over
// what is finite in it, answers a violated one with its shortest counterexample, and
// replays every counterexample through the real decision path (core::OfflineRun, the
// facade `interlock decide` uses): a counterexample the engine does not reproduce is
// reported as a checker bug, never as a violation.
// Thread-safety: free functions; the policy set is shared read-only.
#ifndef INTERLOCK_PROVE_PROVE_H_
#define INTERLOCK_PROVE_PROVE_H_

#include <memory>
#include <string>
#include <vector>

#include "common/time.h"
#include "interlock/result.h"
#include "policy/loader.h"
#include "policy/policy.h"
#include "prove/properties.h"
#include "prove/search.h"

namespace interlock::prove {

// What the replay of a counterexample through core::OfflineRun found.
struct Replay {
  bool reproduced = false;  // every replayed step got the decision the search expected
  size_t replayed = 0;      // steps replayed
  // The replay stopped at a step that needs a human (approval, on_behalf_of): the offline
  // path has none, so the steps after it are the search's alone.
  bool stopped_at_human = false;
  std::string mismatch;  // what differed, when not reproduced
};

struct PropertyReport {
  enum class Verdict { kHolds, kViolated, kUndecided };
  Property property;
  std::string file;   // the properties file
  std::string agent;  // the agent checked
  Verdict verdict = Verdict::kHolds;
  std::string summary;  // one sentence: why it holds, what breaks it, or why it is undecided
  std::vector<Step> counterexample;  // kViolated (and a possible one for some kUndecided)
  TimePoint start{};                 // the run's start for the counterexample (`decide --now`)
  Replay replay;
  std::vector<Undecidable> undecidable;  // what the answer could not decide
  size_t states = 0;                     // abstract states searched
};

struct ProveReport {
  std::vector<PropertyReport> properties;
  // 0 every property holds, 1 one is violated, 3 none violated but one undecided.
  int ExitCode() const;
};

// Checks every property of `files` against `set`. An error (a property naming an agent
// the set lacks, or none when the set has several) is Error::Invalid("file:line:column:
// message").
Result<ProveReport> Prove(const std::shared_ptr<const policy::PolicySet>& set,
                          const std::vector<PropertiesFile>& files);

// Replays `steps` as one run of `agent` started at `start`, through core::OfflineRun.
Replay ReplayCounterexample(const std::shared_ptr<const policy::PolicySet>& set,
                            const std::string& agent, TimePoint start,
                            const std::vector<Step>& steps);

// The report as text: one line per property, and each counterexample as `interlock
// decide` input lines with the decision each gets.
std::string FormatText(const ProveReport& report);

// The report as policy diagnostics for `interlock check`: an error per violated property,
// a warning per undecided one (an error under --strict).
std::vector<policy::Diagnostic> AsDiagnostics(const ProveReport& report);

// `interlock check`'s one call: the properties files beside `paths` (FindPropertiesFiles),
// checked against `set`; a file that does not parse is an error diagnostic.
std::vector<policy::Diagnostic> CheckPropertiesBeside(
    const std::vector<std::string>& paths, const std::shared_ptr<const policy::PolicySet>& set);

}  // namespace interlock::prove

#endif  // INTERLOCK_PROVE_PROVE_H_
