// Store: the daemon's durable state (runs, calls, tokens, kill switches) and the
// audit log, in one SQLite database in WAL mode.
//
// Writes go through one writer thread that batches concurrent decisions into one
// transaction (group commit): each batch reads the kill switches and run rows, runs the
// engine for each call, writes run state, call rows and audit records, and commits
// (fsync with durability=full) before any caller in the batch is answered. So a decision
// is never returned that is not durable, two calls can never both spend the last step,
// and a kill switch written by another process (`interlock kill engage --store`) is seen
// by the very next batch after it commits.
//
// Errors are values: an unavailable, locked (past busy_timeout), read-only or full
// database gives ErrorKind::kUnavailable, which the Guard turns into STORE_UNAVAILABLE.
// Thread-safety: every public method may be called from any thread. Callbacks of
// DecideAsync run on the writer thread and must not block: post work elsewhere.
#ifndef INTERLOCK_STORE_STORE_H_
#define INTERLOCK_STORE_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/redact.h"
#include "common/time.h"
#include "core/run_store.h"

namespace interlock::store {

enum class Role { kAgent, kReviewer, kAdmin };
// "agent" | "reviewer" | "admin".
const char* RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);

// Who a request acts as, from its bearer token only.
struct Principal {
  std::string token_id;
  std::string name;  // reviewer/admin name, or the agent id for agent tokens
  Role role = Role::kAgent;
  std::string agent_id;  // set for kAgent
};

struct TokenInfo {
  std::string token_id;
  std::string name;
  Role role = Role::kAgent;
  std::string agent_id;
  TimePoint created;
  bool revoked = false;
};

struct KillEntry {
  std::string scope;   // "global" | "agent" | "run"
  std::string target;  // agent id or run id; empty for global
  bool engaged = false;
  std::string reason;
  std::string actor;
  TimePoint at;
};

// What an agent reports after executing an allowed call.
struct CallResult {
  bool ok = true;
  std::string output_json;  // canonical JSON of the output, already size-capped
  std::string error;
  Usage usage;
};

struct StoredCall {
  core::CallRecord record;
  std::optional<CallResult> result;
};

// Results larger than this (output or error, in bytes) are truncated with a marker.
inline constexpr size_t kMaxResultOutputBytes = 64 * 1024;

struct StoreOptions {
  std::string path;            // database file; ":memory:" for tests
  bool durable_full = true;    // synchronous=FULL (fsync per group commit) or NORMAL
  int busy_timeout_ms = 2000;  // waiting longer for a lock is STORE_UNAVAILABLE
  int max_batch = 512;         // decisions per group commit at most
  std::string audit_key;       // HMAC key for redaction (raw bytes)
  // false: a missing file is an error instead of a new empty store. Operator commands
  // (`interlock kill`) use this so a typo in --store cannot silently write elsewhere.
  bool create_if_missing = true;
  // Time for writes that carry no `now` (AddUsage). nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
};

// The daemon's store interface. SqliteStore (sqlite_store.h) is the first backend; a
// PostgreSQL backend for several daemons sharing one state implements the same.
//
// Error kinds every backend returns: kNotFound (unknown run, call or token),
// kPermissionDenied (another agent's run or call; a revoked token), kInvalidArgument (bad
// input: a result for a call that was not allowed, a call in an ended run, an unknown
// kill scope), kAlreadyExists (a second result for one call, an explicit run id in use),
// kUnavailable (the database cannot serve: locked, read-only, full, I/O error, closing).
// Every successful write has committed, together with its audit record, when it returns.
class Store : public core::RunStore {
 public:
  // Tokens. CreateToken returns the plaintext token ("ilk_" + 43 base64url characters)
  // once; only its SHA-256 is stored. RevokeToken of a revoked token is Ok (no-op).
  virtual Result<std::string> CreateToken(Role role, std::string_view name,
                                          std::string_view agent_id, TimePoint now) = 0;
  virtual Result<Principal> Authenticate(std::string_view bearer_token) = 0;
  virtual Result<std::vector<TokenInfo>> ListTokens() = 0;
  virtual Status RevokeToken(std::string_view token_id, std::string_view actor, TimePoint now) = 0;

  // Kill switches (persisted; audited with principal = entry.actor). Scope "global"
  // ignores target; "agent" and "run" need one. ListKills returns released rows too.
  virtual Status SetKill(const KillEntry& entry) = 0;
  virtual Result<std::vector<KillEntry>> ListKills() = 0;

  // Calls and results. GetCall's args are as stored (redacted). RecordResult caps output
  // and error at kMaxResultOutputBytes and adds the result's usage to the run. EndRun of
  // an ended run is Ok (no-op); later decisions in it fail with kInvalidArgument.
  virtual Result<StoredCall> GetCall(std::string_view call_id) = 0;
  virtual Status RecordResult(std::string_view call_id, std::string_view agent_id,
                              const CallResult& result, TimePoint now) = 0;
  virtual Status EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) = 0;
};

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_STORE_H_
