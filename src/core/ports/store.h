// Store: the port of the daemon's durable state (runs, calls, tokens, kill switches,
// approvals) and its audit log, named by what the core and the doors need; no database
// type here. Backends (src/store): store::SqliteStore, one SQLite database in WAL mode,
// and store::PostgresStore, one database a fleet of daemons shares.
//
// Writes go through one writer thread that batches concurrent decisions into one
// transaction (group commit): each batch reads the kill switches and run rows, runs the
// core's transaction function for each call, writes run state, call rows and audit
// records, and commits; with durability=full the commit is synced before any caller in
// the batch is answered. So a decision is never returned that is not durable, two calls
// can never both spend the last step, and a kill switch written by another process
// (`interlock kill engage --store`) is seen by the very next batch after it commits.
//
// Errors are values: an unavailable, locked (past busy_timeout), read-only or full
// database gives ErrorKind::kUnavailable, which the Guard turns into STORE_UNAVAILABLE.
// Thread-safety: every public method may be called from any thread. Callbacks of
// DecideAsync run on a store thread (the writer, or the syncer with durability=full) and
// must not block: post work elsewhere.
#ifndef INTERLOCK_CORE_PORTS_STORE_H_
#define INTERLOCK_CORE_PORTS_STORE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "audit/audit_event.h"
#include "audit/audit_query.h"
#include "common/time.h"
#include "core/approval_rules.h"
#include "core/approval_txn.h"
#include "core/ports/approval_messages.h"
#include "core/ports/approvals.h"
#include "core/ports/history_source.h"
#include "core/ports/kill_entry.h"
#include "core/ports/pin_rows.h"
#include "core/ports/run_store.h"
#include "core/roles.h"

namespace interlock::core {

using core::Principal;  // defined in core/roles.h

struct TokenInfo {
  std::string token_id;
  std::string name;
  Role role = Role::kAgent;
  std::string agent_id;
  TimePoint created;
  bool revoked = false;
  std::vector<std::string> workspace_roots;  // Principal::workspace_roots
};

// The kill_switch record of `e` (one shape for every backend).
audit::AuditEvent KillSwitchEvent(const KillEntry& e);

// What a security-relevant op needs of its signed anchor (StoreOptions::checkpoint_signer,
// docs/audit.md "Anchors"), one rule for every backend: an op that widens access (a kill
// switch released, a token created, a policy set loaded) is refused without its anchor
// (kRequired); one that narrows it (a kill switch engaged, a token revoked) is never held
// up by one (kBestEffort: committed anyway, logged and counted).
enum class AnchorNeed { kNone, kBestEffort, kRequired };
inline AnchorNeed KillAnchorNeed(const KillEntry& e) {
  return e.engaged ? AnchorNeed::kBestEffort : AnchorNeed::kRequired;
}
inline constexpr AnchorNeed kTokenCreatedAnchor = AnchorNeed::kRequired;
inline constexpr AnchorNeed kTokenRevokedAnchor = AnchorNeed::kBestEffort;
// The answer when the anchor of the op whose last record is `seq` could not be written:
// kUnavailable for kRequired (the op is refused); Ok for kBestEffort, after logging it
// and counting it in *failures.
Status AnchorFailed(AnchorNeed need, int64_t seq, const Error& error,
                    std::atomic<uint64_t>* failures);

// A policy set a daemon loaded (or refused to load), for the audit log.
struct PolicyLoad {
  std::string sha256;  // of the set loaded
  size_t agents = 0;
  std::string why;        // "start", "SIGHUP", "files changed"
  std::string error;      // non-empty: the set was refused (policy_rejected)
  std::string principal;  // who loaded it ("daemon")
  TimePoint at;
};

// The policy_loaded / policy_rejected record of `load` (an error longer than
// kMaxResultOutputBytes is cut, marked "...[truncated]").
audit::AuditEvent PolicyLoadEvent(const PolicyLoad& load);
// A loaded set may widen access: anchored before the caller swaps it in. A refused one
// changes nothing.
inline AnchorNeed PolicyLoadAnchorNeed(const PolicyLoad& load) {
  return load.error.empty() ? AnchorNeed::kRequired : AnchorNeed::kNone;
}

// A refused sign-in whose person the provider named (its ID token verified), listed in
// the auth_failed record that counts it (docs/identity.md, "Sign-ins in the audit trail").
struct RefusedSignIn {
  std::string code;       // "OIDC_NO_ROLE", "OIDC_NONCE", ...
  std::string principal;  // "oidc:<sub>@<issuer host>"
  std::string issuer;
  TimePoint at;
};
inline constexpr size_t kMaxListedSignIns = 16;

// Requests refused for authentication since the last such record, for the audit log.
// Coalesced (the daemon writes at most one record a second), so a flood of bad tokens
// cannot flood the log: `count` says how many, `reasons` how many of each kind.
struct AuthFailures {
  uint64_t count = 0;
  std::map<std::string, uint64_t> reasons;  // "missing token", "invalid or revoked token", ...
  TimePoint first;
  TimePoint last;
  std::vector<RefusedSignIn> sign_ins;  // at most kMaxListedSignIns; the rest only counted
};
// The auth_failed record of `failures` (one shape for every backend).
audit::AuditEvent AuthFailuresEvent(const AuthFailures& failures);

// A reviewer or admin signing in with OpenID Connect (signed_in) or out (signed_out).
struct SignIn {
  bool signed_out = false;
  std::string principal;  // "oidc:<sub>@<issuer host>": the record's principal
  std::string issuer;
  std::string subject;
  std::string role;                 // "reviewer" or "admin"
  std::vector<std::string> groups;  // the role claim's values that granted the role
  TimePoint expires_at;             // the session's end (signed_in only)
  TimePoint at;
};
// The signed_in / signed_out record of `s`.
audit::AuditEvent SignInEvent(const SignIn& s);

struct ApprovalFilter {
  enum class Which { kPending, kDecided, kAll } which = Which::kPending;
  size_t limit = 100;
  std::optional<TimePoint> decided_since;  // decided approvals only: decided at or after
  std::optional<TimePoint> created_since;  // pending approvals only: created after
  bool with_votes = true;
};

// One call of a run, for the reviewer's "run so far".
struct CallSummary {
  std::string call_id;
  TimePoint at;
  std::string tool;
  std::string verdict;
  std::string code;
  std::string reason;
};

// --- Runs list (GET /v1/runs, `interlock runs`) -------------------------------------------
// A run's state for listing: "halted" (a budget or halt rule stopped it, ended or not),
// else "ended", else "active".
enum class RunListState { kAny, kActive, kEnded, kHalted };
const char* RunListStateName(const RunInfo& run);

struct RunFilter {
  std::string agent_id;  // empty: every agent
  RunListState state = RunListState::kAny;
  std::optional<TimePoint> started_since;  // started at or after
  std::optional<TimePoint> started_until;  // started before
  std::string cursor;                      // RunPage::next_cursor of the previous page
  size_t limit = 100;                      // clamped to 1..1000
  std::string parent_run_id;               // non-empty: that run's children only
};

struct RunPage {
  std::vector<RunInfo> runs;  // newest first: (started, run_id) descending
  std::string next_cursor;    // empty: this was the last page
};

// One audit record as stored (Store::FindCallRecord).
struct CallAuditRecord {
  int64_t seq = 0;
  std::string type, run_id, call_id, agent_id, principal;
  std::string body;  // the canonical JSON body
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
class Store : public RunStore, public ApprovalStore, public HistorySource {
 public:
  // Tokens. CreateToken returns the plaintext token ("ilk_" + 43 base64url characters)
  // once; only its SHA-256 is stored. RevokeToken of a revoked token is Ok (no-op).
  // `workspace_roots`: bound to an agent token (Principal::workspace_roots; checked with
  // core::CheckTokenWorkspaceRoots), named in its token_created record.
  virtual Result<std::string> CreateToken(Role role, std::string_view name,
                                          std::string_view agent_id, TimePoint now,
                                          const std::vector<std::string>& workspace_roots = {}) = 0;
  virtual Result<Principal> Authenticate(std::string_view bearer_token) = 0;
  // Authenticate's answer for a live token when the store holds it from a read less than
  // its cache's TTL ago, without reading or waiting; nullopt when it would have to read
  // (the default: a store without a cache). For a door whose thread must never wait.
  virtual std::optional<Principal> CachedPrincipal(std::string_view /*bearer_token*/) {
    return std::nullopt;
  }
  virtual Result<std::vector<TokenInfo>> ListTokens() = 0;
  virtual Status RevokeToken(std::string_view token_id, std::string_view actor, TimePoint now) = 0;

  // Kill switches (persisted; audited with principal = entry.actor). Scope "global"
  // ignores target; "agent" and "run" need one. ListKills returns released rows too.
  virtual Status SetKill(const KillEntry& entry) = 0;
  virtual Result<std::vector<KillEntry>> ListKills() = 0;

  // Records policy_loaded {sha256, agents, why} (anchored, see StoreOptions::checkpoint_signer; the
  // caller swaps the set in only after this succeeded) or, with `error`,
  // policy_rejected {error, why}.
  virtual Status RecordPolicyLoad(const PolicyLoad& load) = 0;
  // Records auth_failed {count, reasons, first, last} (not anchored: it widens nothing).
  virtual Status RecordAuthFailures(const AuthFailures& failures) = 0;
  // Records signed_in {issuer, subject, role, groups, expires_at} or signed_out {issuer,
  // subject} (not anchored), committed when it returns: a sign-in that cannot be recorded
  // is refused by the caller.
  virtual Status RecordSignIn(const SignIn& s) = 0;

  // Audit records for GET /v1/audit (the caller authorises: admin or reviewer only).
  virtual Result<boost::json::array> QueryAudit(const audit::AuditQuery& query) = 0;
  // One page of the console's audit search (audit::QueryAuditPage: the text filter reads a
  // bounded window per page). Default: QueryAudit, `more` when the page is full.
  virtual Result<audit::AuditPage> QueryAuditPage(const audit::AuditQuery& query) {
    auto records = QueryAudit(query);
    if (!records.ok()) return records.error();
    audit::AuditPage page;
    page.more = static_cast<int64_t>(records->size()) ==
                std::clamp<int64_t>(query.limit, 1, audit::kMaxAuditQueryLimit);
    if (page.more) page.next_cursor = records->back().as_object().at("seq").to_number<int64_t>();
    page.records = std::move(*records);
    return page;
  }
  // The run as the audit log alone tells it (audit::ReplayRun, as `interlock replay`
  // prints it) with each record's hash re-checked, for the console's run timeline.
  // kNotFound when no record names the run.
  virtual Result<boost::json::object> ReplayRun(std::string_view run_id) = 0;
  // Governance's read side (core/ports/history_source.h): the console's drift, trust and
  // fatigue pages.
  Status ForEachRecord(const HistoryFilter& filter, const HistoryFn& fn) const override = 0;

  // Calls and results. GetCall's args are as stored (redacted). RecordResult caps output
  // and error at kMaxResultOutputBytes and adds the result's usage to the run. EndRun of
  // an ended run is Ok (no-op); later decisions in it fail with kInvalidArgument.
  // GetCall and ReleaseCall (the release of an approved call): core::ApprovalStore.
  // `principal`: the reporter's, as its decisions record it. A call decided under another
  // principal is kPermissionDenied (RecordResultInTxn): an agent acting for mallory
  // cannot report the result of alice's call (nor move her run's workflow with it).
  Status RecordResult(std::string_view call_id, std::string_view agent_id,
                      std::string_view principal, const CallResult& result,
                      TimePoint now) override = 0;
  // RecordResult without waiting for the commit. The write is queued before this returns,
  // so it lands before any write submitted afterwards, in submission order; `done` (may be
  // empty) runs exactly once with the outcome, on a store thread, and must not block or
  // call this store synchronously. For front doors that return the tool's result to the
  // agent before its record is durable (the decision record, which is durable first, is
  // what "no audit, no action" requires). A store may hold the write briefly (SqliteStore:
  // up to 5 ms) so that it commits together with the next write someone waits for.
  // Default: the synchronous call.
  using StatusCallback = std::function<void(Status)>;
  virtual void RecordResultAsync(std::string_view call_id, std::string_view agent_id,
                                 std::string_view principal, const CallResult& result,
                                 TimePoint now, StatusCallback done) {
    Status s = RecordResult(call_id, agent_id, principal, result, now);
    if (done) done(std::move(s));
  }
  virtual Status EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) = 0;
  // core::HaltRunInTxn in one transaction: the daemon halts a run (its wall-clock deadline).
  virtual Status HaltRun(std::string_view run_id, std::string reason, std::string by,
                         TimePoint now) = 0;

  // Approvals: GetApproval, Vote, WithdrawApproval and ExpireApprovals are
  // core::ApprovalStore's (core/ports/approvals.h).
  virtual Result<std::vector<Approval>> ListApprovals(const ApprovalFilter& filter) = 0;
  // Revokes the approval "for the rest of this run" of `tool` in `run_id` (reviewers and
  // admins): later calls ask again. Audited ("approval" record, event
  // "run_grant_revoked"). kNotFound: no such run or no such grant.
  virtual Status RevokeRunGrant(std::string_view run_id, std::string_view tool,
                                const Principal& actor, std::string_view reason, TimePoint now) = 0;
  // Runs matching `filter`, newest first, a page at a time (kInvalidArgument for a cursor
  // this store did not hand out). Served from an index on (agent, started), so a page costs
  // the same with a million runs as with ten (the state is checked row by row on it).
  virtual Result<RunPage> ListRuns(const RunFilter& filter) = 0;
  // The run's calls in order (at most `limit`, the latest), for the reviewer page.
  virtual Result<std::vector<CallSummary>> ListRunCalls(std::string_view run_id, size_t limit) = 0;

  // Retention of the per-call state (the audit log has its own, audit::PruneAuditLog):
  // deletes up to `limit` call rows made before `cutoff`, and up to `limit` approvals
  // decided before it with their votes, in one short write. Calls with a pending approval
  // and all runs (their budgets) stay. Returns the rows deleted; call until it returns 0.
  virtual Result<int64_t> PruneCalls(TimePoint cutoff, int64_t limit) = 0;

  // Operator records (`interlock incident mark`, `interlock trust promote`): appended to
  // the audit chain as given, in a transaction of their own, through the same append
  // every daemon on this store writes with (one chain).
  virtual Status AppendRecords(std::vector<audit::AuditEvent> events) = 0;
  // The first audit record of `type` for `call_id` (the audit log outlives the call rows
  // that retention prunes). kNotFound when there is none.
  virtual Result<CallAuditRecord> FindCallRecord(std::string_view type,
                                                 std::string_view call_id) = 0;
  // The MCP tool pins kept in this store (core/ports/pin_rows.h). The rows object must not
  // outlive the store.
  virtual Result<std::unique_ptr<PinRows>> OpenPinRows() = 0;
  // Chat messages posted for approvals (core/ports/approval_messages.h), shared by every
  // daemon on this store. Put inserts or replaces the row of (approval_id, service) (a
  // final row stays final) and answers true; with `only_if_absent` it writes only when
  // there is no row, and answers whether it wrote (the claim of the daemon that posts: of
  // two daemons announcing one approval, one posts). Get: nullopt when there is none.
  // ListOpen: the rows not final of `service`, oldest first, at most
  // kMaxOpenApprovalMessages. No audit record: the votes and decisions are audited where
  // they happen; this is only where their message is.
  virtual Result<bool> PutApprovalMessage(const ApprovalMessage& message, bool only_if_absent) = 0;
  virtual Result<std::optional<ApprovalMessage>> GetApprovalMessage(std::string_view approval_id,
                                                                    std::string_view service) = 0;
  virtual Result<std::vector<ApprovalMessage>> ListOpenApprovalMessages(
      std::string_view service) = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_STORE_H_
