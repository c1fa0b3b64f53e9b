// `interlock decide`: a scripted run decided from JSON lines on stdin, one decision line per
// call on stdout, in order (docs/design.md, "`interlock decide`"). Each line is one call of the
// same run (or a result or rehearsal report of the most recent call), decided by the same Guard as
// the daemon's, on an in-memory run (core/app/offline_run.h): no store, no daemon. decide.cc
// says the pipeline (a reader, the decider, a writer) and every line's form.
// The CLI's `decide` command (src/cli/decide_cmd.cc) parses the flags into DecideOptions and
// calls RunDecide.
// Thread-safety: one run per process (it reads stdin and writes stdout).
#ifndef INTERLOCK_DOORS_DECIDE_DECIDE_H_
#define INTERLOCK_DOORS_DECIDE_DECIDE_H_

#include <string>

namespace interlock::decide {

// The command's flags.
struct DecideOptions {
  std::string policy;              // --policy: the policy file or directory
  std::string agent;               // --agent (default: the policy's only agent)
  std::string now;                 // --now: the run's start, RFC 3339 (default: now)
  std::string run_id = "cli-run";  // --run: the run id reported
  std::string workspace;           // ${workspace}; empty: the current directory
};

// Decides stdin to stdout until stdin ends: the process's exit code (0; 1 when stdout cannot
// be written or the run cannot start; 2 for bad flags or an invalid policy, said on stderr).
int RunDecide(const DecideOptions& opt);

}  // namespace interlock::decide

#endif  // INTERLOCK_DOORS_DECIDE_DECIDE_H_
