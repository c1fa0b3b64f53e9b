// `interlock doctor`: checks an installation and says what to fix (docs/operations.md,
// "Checking an installation").
//
// RunDoctor reads what `interlock serve` would use (the config file, else flags and the
// defaults) and checks, in order: the config loads; the policy set is valid; every secret
// file the config names (TLS key, metrics token, client secrets, assertion keys, upstream
// secret files) is closed to others (FAIL) and to the group (warn), and the config holds
// no secret inline (warn; FAIL when group or others can read it); the store
// and its key directory are owned by the service's user and closed to group and others;
// the store opens read-only and its schema is one this build can use (older: migrated at
// the next start; newer: refused); the audit keys load, and the audit chain verifies
// against the signed checkpoints with those keys (the `audit verify` code, whole log);
// bubblewrap can make user, PID and network namespaces (the sandbox); the egress proxy's
// private socket directory can be made. It never writes to the store or the keys.
//
// Each finding is one line, `ok|warn|FAIL <what> — <how to fix>`. A missing prerequisite
// of a feature the config does not use is a warning; one it uses is a failure.
// Thread-safety: plain functions; RunDoctor runs child processes (bwrap) and waits for
// them, bounded.
#ifndef INTERLOCK_CLI_DOCTOR_H_
#define INTERLOCK_CLI_DOCTOR_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace interlock::cli {

enum class DoctorLevel { kOk, kWarn, kFail };

struct DoctorFinding {
  DoctorLevel level = DoctorLevel::kOk;
  std::string what;  // the thing checked and what was found
  std::string fix;   // how to fix it; empty for kOk
};

struct DoctorOptions {
  std::string config;                 // serve's --config; may be empty
  std::vector<std::string> policies;  // overrides the config's
  std::string store;                  // overrides the config's; empty: serve's default
  std::string keys_dir;               // empty: STORE.keys
  std::string checkpoints;            // empty: KEYS/checkpoints.jsonl
  uid_t owner = 0;                    // who must own the store and the keys
  std::string owner_name;             // for the advice ("chown interlock ...")
  std::chrono::milliseconds probe_timeout{10'000};  // each bwrap probe
};

std::vector<DoctorFinding> RunDoctor(const DoctorOptions& options);

// "ok   what", "warn what — fix", "FAIL what — fix".
std::string FormatFinding(const DoctorFinding& f);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_DOCTOR_H_
