// One contract for every store::Store backend (docs/design.md#state-port): the operations
// beyond RunStore (tokens, kill switches, calls and results, approvals, the audit trail,
// reopening, the audit log's read paths), typed over the backends: SQLite and PostgreSQL
// (a private cluster per test binary, tests/support/pg_cluster.h; a fresh database per
// test). RunStore's own contract (decisions, usage, ended runs) is
// run_store_contract_test.cc.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sqlite3.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/retention.h"
#include "audit/tail.h"
#include "audit/verify.h"
#include "common/json.h"
#include "core/app/approvals.h"
#include "core/app/free_text.h"
#include "core/app/kills.h"
#include "core/ports/store.h"
#include "pg_cluster.h"
#include "store/postgres_audit.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"
#include "store/sqlite_audit_checkpoint.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_retention.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_record_source.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace interlock {
// A namespace of this file's own rather than INTERLOCK_TEST_NS: the typed tests' names carry
// their backend's type, which reads the same in every build this way.
namespace store_contract_test {

namespace fs = std::filesystem;
using core::Approval;
using core::ApprovalState;
using core::CallRecord;
using core::DecideRequest;
using core::Role;
using core::Store;

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }
TimePoint At(int64_t s) { return T0() + std::chrono::seconds(s); }

using ::interlock::testing::TempDir;

// --- backends ---------------------------------------------------------------------------

// How a backend anchors security records (docs/audit.md, "Anchors"): signed with `key`
// into `file` (SQLite) or the database's table and `file` (PostgreSQL); `fail` makes
// every anchor fail.
struct Anchoring {
  const audit::SigningKey* key = nullptr;
  std::string file;
  bool fail = false;
};

// kCallerCommits: the store of the stdio gateway (StoreOptions::commit_on_caller, with
// durability full: the caller fsyncs); else the daemon's threads (durability normal).
template <bool kCallerCommits>
struct SqliteBackendOf {
  explicit SqliteBackendOf(const TempDir& dir) : path(dir.File("s.db")) { Open(); }
  void Open() {
    store::StoreOptions o;
    o.path = path;
    o.durable_full = kCallerCommits;
    o.commit_on_caller = kCallerCommits;
    o.approval_default_timeout_seconds = 60;
    o.approval_max_wait_seconds = 600;
    if (anchoring.key != nullptr) {
      const Anchoring a = anchoring;
      o.checkpoint_signer.sign = [a](const audit::AuditHead& head) -> Result<audit::Checkpoint> {
        if (a.fail) return Error::Unavailable("anchor disk full");
        return audit::MakeCheckpoint(*a.key, head.seq, head.hash, At(0));
      };
      o.checkpoint_signer.mirror = [a](const audit::Checkpoint& cp) {
        return audit::AppendCheckpoint(a.file, cp);
      };
    }
    auto s = store::SqliteStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store = std::move(s).value();
  }
  Store& get() { return *store; }
  // Drops the store without a clean close of anything it had not committed, and opens
  // the same state again.
  void Reopen() {
    store.reset();
    Open();
  }
  // The audit chain's rows as the audit tools see them (each on its own connection).
  std::unique_ptr<audit::RecordSource> Source() {
    reader = audit::OpenAuditStore(path, /*read_only=*/true).value();
    return audit::MakeSqliteRecordSource(reader.get());
  }
  std::unique_ptr<audit::CheckpointStore> Checkpoints() {
    checkpoint_db = audit::OpenAuditStore(path, /*read_only=*/true).value();
    sqlite3* db = checkpoint_db.get();
    return audit::MakeFileCheckpointStore(anchoring.file,
                                          [db] { return audit::ReadAuditHead(db); });
  }
  std::unique_ptr<audit::PruneTarget> PruneTarget() {
    pruner = audit::OpenAuditStore(path, /*read_only=*/false).value();
    return audit::MakeSqlitePruneTarget(pruner.get());
  }
  // An attacker with write access: `sql` on the file.
  void Sql(const std::string& sql) {
    audit::SqliteDb db = audit::OpenAuditStore(path, /*read_only=*/false).value();
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  }
  // An edit of record `seq`'s stored text (`from` and `to` are SQL literals).
  static std::string EditRecord(int64_t seq, const std::string& from, const std::string& to) {
    return "UPDATE audit_log SET body = replace(body, " + from + ", " + to +
           ") WHERE seq = " + std::to_string(seq);
  }
  // The run heads are SQLite's alone; an attacker rewinds them too.
  std::string RewindRunHeads(int64_t keep) {
    return "UPDATE audit_runs SET head_seq = " + std::to_string(keep) + " WHERE head_seq > " +
           std::to_string(keep) + ";";
  }
  std::string path;
  Anchoring anchoring;
  audit::SqliteDb reader, checkpoint_db, pruner;
  std::unique_ptr<store::SqliteStore> store;
};

using SqliteBackend = SqliteBackendOf<false>;
using SqliteCallerBackend = SqliteBackendOf<true>;

struct PostgresBackend {
  explicit PostgresBackend(const TempDir&) {
    std::string error;
    uri = testing::PgTestEnvironment::Instance()->NewDatabase(&error);
    EXPECT_FALSE(uri.empty()) << error;
    if (uri.empty()) return;
    Open();
  }
  void Open() {
    store::PostgresOptions o;
    o.uri = uri;
    o.approval_default_timeout_seconds = 60;
    o.approval_max_wait_seconds = 600;
    if (anchoring.key != nullptr) {
      o.checkpoint_signer.sign =
          [a = anchoring](const audit::AuditHead& head) -> Result<audit::Checkpoint> {
        if (a.fail) return Error::Unavailable("anchor key unavailable");
        return audit::MakeCheckpoint(*a.key, head.seq, head.hash, At(0));
      };
      o.checkpoint_signer.mirror = [file = anchoring.file](const audit::Checkpoint& cp) {
        return audit::AppendCheckpoint(file, cp);
      };
    }
    auto s = store::PostgresStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store = std::move(s).value();
  }
  Store& get() { return *store; }
  void Reopen() {
    store.reset();
    Open();
  }
  std::unique_ptr<audit::RecordSource> Source() {
    return store::OpenPostgresRecordSource(uri).value();
  }
  std::unique_ptr<audit::CheckpointStore> Checkpoints() {
    return store::OpenPostgresCheckpointStore(uri, anchoring.file).value();
  }
  std::unique_ptr<audit::PruneTarget> PruneTarget() {
    return store::OpenPostgresPruneTarget(uri).value();
  }
  void Sql(const std::string& sql) {
    std::string error;
    testing::PgTestEnvironment::Instance()->Cluster(&error)->Psql(uri.substr(uri.rfind('/') + 1),
                                                                  sql, &error);
    ASSERT_EQ(error, "");
  }
  // A record is stored whole (body) or compact (its data alone): the edit covers both.
  static std::string EditRecord(int64_t seq, const std::string& from, const std::string& to) {
    return "UPDATE audit_log SET body = replace(body, " + from + ", " + to +
           "), data = replace(data, " + from + ", " + to + ") WHERE seq = " + std::to_string(seq);
  }
  std::string RewindRunHeads(int64_t) { return ""; }
  std::string uri;
  Anchoring anchoring;
  std::unique_ptr<store::PostgresStore> store;
};

template <class B>
class StoreContract : public ::testing::Test {
 protected:
  StoreContract() : backend_(dir_) {}
  Store& store() { return backend_.get(); }

  std::string NewRun(const std::string& agent = "a") {
    Result<core::RunInfo> r = store().CreateRun(agent, "", T0());
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->run_id : "";
  }

  // A call of `agent` in `run` decided `verdict` (APPROVAL_REQUIRED: `required` approvals,
  // `timeout_s`, auto-deny unless `escalate`).
  Result<CallRecord> Decide(const std::string& run, Verdict verdict, const std::string& agent = "a",
                            int required = 1, int timeout_s = 0, bool escalate = false,
                            const std::string& tool = "deploy", TimePoint now = T0()) {
    DecideRequest rq;
    rq.run_id = run;
    rq.agent_id = agent;
    rq.principal = agent;
    rq.policy_sha256 = std::string(64, 'a');
    rq.now = now;
    rq.call.tool = tool;
    rq.call.args = boost::json::object{{"env", "prod"}};
    return DecideAs(rq, verdict, required, timeout_s, escalate);
  }

  // Decides `rq` as an engine that answers `verdict` would.
  Result<CallRecord> DecideAs(const DecideRequest& rq, Verdict verdict, int required = 1,
                              int timeout_s = 0, bool escalate = false) {
    return store().Decide(
        rq, [=](const ToolCall& call, const RunState&, const std::optional<engine::KillSwitch>&,
                const std::optional<engine::AgentUsage>&) {
          engine::Evaluation ev;
          ev.decision.verdict = verdict;
          ev.decision.tool = call.tool;
          ev.decision.code = verdict == Verdict::kAllow              ? Code::kAllowed
                             : verdict == Verdict::kApprovalRequired ? Code::kApprovalRequired
                                                                     : Code::kToolNotAllowed;
          ev.decision.approvals_required = required;
          ev.decision.approval_timeout_seconds = timeout_s;
          ev.decision.auto_deny_on_timeout = !escalate;
          return ev;
        });
  }

  // A call of "deploy" by agent "a" in `run`, at T0, without arguments.
  static DecideRequest DeployRequest(const std::string& run) {
    DecideRequest rq;
    rq.run_id = run;
    rq.agent_id = rq.principal = "a";
    rq.policy_sha256 = std::string(64, 'a');
    rq.now = T0();
    rq.call.tool = "deploy";
    return rq;
  }

  // Decides an allowed call of "deploy" with `args` as a door parsed them (ParseJsonStrict).
  Result<CallRecord> DecideWithArgs(const std::string& run, std::string_view args_json) {
    Result<boost::json::value> args = ParseJsonStrict(args_json);
    if (!args.ok()) return args.error();
    DecideRequest rq = DeployRequest(run);
    rq.call.args = std::move(args->get_object());
    return DecideAs(rq, Verdict::kAllow);
  }

  Result<core::VoteOutcome> Vote(const std::string& approval_id, const std::string& reviewer,
                                 bool approve, Role role = Role::kReviewer) {
    core::VoteRequest v;
    v.approval_id = approval_id;
    v.reviewer = core::Principal{"tok_" + reviewer, reviewer, role, ""};
    v.approve = approve;
    v.now = At(1);
    return store().Vote(v);
  }

  // Audit records of `type`, oldest first, as QueryAudit answers them.
  std::vector<boost::json::object> Audit(std::string_view type) {
    audit::AuditQuery q;
    q.limit = audit::kMaxAuditQueryLimit;
    Result<boost::json::array> all = store().QueryAudit(q);
    EXPECT_TRUE(all.ok());
    std::vector<boost::json::object> out;
    if (!all.ok()) return out;
    for (const boost::json::value& v : *all) {
      const boost::json::object& o = v.as_object();
      if (o.at("type").as_string() == type) out.push_back(o);
    }
    return out;
  }

  TempDir dir_;
  B backend_;
};

using Backends = ::testing::Types<SqliteBackend, SqliteCallerBackend, PostgresBackend>;
TYPED_TEST_SUITE(StoreContract, Backends);

// The approval part of the contract, on every backend that keeps approvals.
template <class B>
class ApprovalContract : public StoreContract<B> {};
using ApprovalBackends = ::testing::Types<SqliteBackend, SqliteCallerBackend, PostgresBackend>;
TYPED_TEST_SUITE(ApprovalContract, ApprovalBackends);

// --- chat messages of approvals ------------------------------------------------------------

// Tests that the record of an approval's chat message (server::SlackApprovals) is claimed
// once, read back exactly, listed while open, stays final once final (a late writer of an
// older state cannot reopen it), and outlives the store's reopening (a restart, or another
// daemon on the same store).
TYPED_TEST(StoreContract, ApprovalMessageIsClaimedOnceAndStaysFinal) {
  Store& s = this->store();
  auto got = s.GetApprovalMessage("apr_1", "slack");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_FALSE(got->has_value());
  core::ApprovalMessage claim{"apr_1", "slack", "C1", "", false, At(1)};
  Result<bool> first = s.PutApprovalMessage(claim, /*only_if_absent=*/true);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  Result<bool> second = s.PutApprovalMessage(claim, /*only_if_absent=*/true);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);  // another daemon claimed it first
  core::ApprovalMessage posted{"apr_1", "slack", "C1", "1700000001.000100", false, At(2)};
  ASSERT_TRUE(s.PutApprovalMessage(posted, false).ok());
  ASSERT_TRUE(s.PutApprovalMessage({"apr_1", "teams", "T", "x", false, At(2)}, false).ok());
  got = s.GetApprovalMessage("apr_1", "slack");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->channel, "C1");
  EXPECT_EQ((*got)->ts, "1700000001.000100");
  EXPECT_FALSE((*got)->final);
  EXPECT_EQ((*got)->updated, At(2));
  auto open = s.ListOpenApprovalMessages("slack");
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().approval_id, "apr_1");
  posted.final = true;
  posted.updated = At(3);
  ASSERT_TRUE(s.PutApprovalMessage(posted, false).ok());
  posted.final = false;  // a slower daemon's write of the message as still pending
  ASSERT_TRUE(s.PutApprovalMessage(posted, false).ok());
  this->backend_.Reopen();
  got = this->store().GetApprovalMessage("apr_1", "slack");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->final);
  EXPECT_EQ((*got)->ts, "1700000001.000100");
  open = this->store().ListOpenApprovalMessages("slack");
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());
  open = this->store().ListOpenApprovalMessages("teams");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size(), 1u);  // one service's record is not another's
}

// --- tokens -----------------------------------------------------------------------------

// Tests that a revoked token authenticates no one, and that the plaintext is never listed.
TYPED_TEST(StoreContract, RevokedTokenAuthenticatesNoOne) {
  Result<std::string> agent = this->store().CreateToken(Role::kAgent, "", "a", T0());
  ASSERT_TRUE(agent.ok());
  Result<core::Principal> p = this->store().Authenticate(*agent);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kAgent);
  EXPECT_EQ(p->agent_id, "a");
  EXPECT_EQ(this->store().Authenticate("ilk_nope").error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(this->store().RevokeToken(p->token_id, "root", T0()).ok());
  EXPECT_EQ(this->store().Authenticate(*agent).error().kind, ErrorKind::kPermissionDenied);
  EXPECT_TRUE(this->store().RevokeToken(p->token_id, "root", T0()).ok());  // no-op
  EXPECT_EQ(this->store().RevokeToken("tok_nope", "root", T0()).error().kind, ErrorKind::kNotFound);
  Result<std::vector<core::TokenInfo>> list = this->store().ListTokens();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].revoked);
  EXPECT_EQ((*list)[0].token_id.find(agent->substr(4)), std::string::npos);
  EXPECT_EQ(this->Audit(audit::kTokenRevoked).size(), 1u);
}

// Tests the cache-only lookup a door's one thread may make (Store::CachedPrincipal): it never
// answers a token the store has not read, answers what Authenticate answered while the
// store's cache holds it, and never a token revoked through this store.
TYPED_TEST(StoreContract, CachedPrincipalAnswersOnlyWhatARecentReadLeft) {
  Result<std::string> agent = this->store().CreateToken(Role::kAgent, "", "a", T0());
  ASSERT_TRUE(agent.ok());
  EXPECT_FALSE(this->store().CachedPrincipal(*agent).has_value());
  EXPECT_FALSE(this->store().CachedPrincipal("").has_value());
  Result<core::Principal> read = this->store().Authenticate(*agent);
  ASSERT_TRUE(read.ok());
  std::optional<core::Principal> held = this->store().CachedPrincipal(*agent);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->token_id, read->token_id);
  EXPECT_EQ(held->agent_id, "a");
  EXPECT_EQ(held->role, Role::kAgent);
  EXPECT_FALSE(this->store().CachedPrincipal("ilk_nope").has_value());
  ASSERT_TRUE(this->store().RevokeToken(read->token_id, "root", T0()).ok());
  EXPECT_FALSE(this->store().CachedPrincipal(*agent).has_value());
}

// Tests that a token spec the role rules refuse (an agent token without an agent, a
// reviewer without a name) is never created.
TYPED_TEST(StoreContract, TokenWithoutItsIdentityIsRefused) {
  EXPECT_EQ(this->store().CreateToken(Role::kAgent, "x", "", T0()).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(this->store().CreateToken(Role::kReviewer, "", "", T0()).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_TRUE(this->store().ListTokens()->empty());
}

// --- kill switches ----------------------------------------------------------------------

// Tests that an engaged switch reaches the next decision and a released one stops doing
// so; a switch without a target or with an unknown scope is refused, not ignored.
TYPED_TEST(StoreContract, KillSwitchEngagesAndReleasesAndRefusesBadScopes) {
  const std::string run = this->NewRun();
  ASSERT_TRUE(this->store().SetKill({"agent", "a", true, "stop", "root", T0()}).ok());
  std::optional<engine::KillSwitch> seen;
  DecideRequest rq;
  rq.run_id = run;
  rq.agent_id = rq.principal = "a";
  rq.now = T0();
  rq.call.tool = "read";
  auto probe = [&](const ToolCall&, const RunState&, const std::optional<engine::KillSwitch>& k,
                   const std::optional<engine::AgentUsage>&) {
    seen = k;
    return engine::Evaluation{};
  };
  ASSERT_TRUE(this->store().Decide(rq, probe).ok());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->reason, "stop");
  ASSERT_TRUE(this->store().SetKill({"agent", "a", false, "", "root", T0()}).ok());
  ASSERT_TRUE(this->store().Decide(rq, probe).ok());
  EXPECT_FALSE(seen.has_value());
  Result<std::vector<core::KillEntry>> kills = this->store().ListKills();
  ASSERT_TRUE(kills.ok());
  ASSERT_EQ(kills->size(), 1u);
  EXPECT_FALSE((*kills)[0].engaged);
  EXPECT_EQ(this->store().SetKill({"run", "", true, "x", "root", T0()}).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(this->store().SetKill({"everything", "", true, "x", "root", T0()}).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(this->Audit(audit::kKillSwitch).size(), 2u);
}

// --- calls and results ------------------------------------------------------------------

// Tests that a call is read back as recorded, its result with it, and that another
// agent's front door cannot release (read) it.
TYPED_TEST(StoreContract, CallAndResultReadBackAndStayTheirAgents) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kAllow);
  ASSERT_TRUE(c.ok());
  core::CallResult res;
  res.output_json = "{\"done\":true}";
  res.usage = Usage{4, 0};
  ASSERT_TRUE(this->store().RecordResult(c->call_id, "a", "a", res, T0()).ok());
  Result<core::StoredCall> got = this->store().GetCall(c->call_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->record.call.tool, "deploy");
  EXPECT_EQ(got->record.decision.verdict, Verdict::kAllow);
  ASSERT_TRUE(got->result.has_value());
  EXPECT_EQ(got->result->usage.tokens, 4u);
  EXPECT_EQ(this->store().ReleaseCall(c->call_id, "b", "b", T0()).error().kind,
            ErrorKind::kPermissionDenied);
  EXPECT_EQ(this->store().GetCall("call_nope").error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(this->Audit(audit::kResult).size(), 1u);
}

// Tests that a call row an attacker with write access edited reads as corrupt, naming the
// column, on every backend: a decision whose verdict is not one Interlock knows (which the
// SQLite store once read as a deny of its own making, and PostgreSQL as corrupt), and
// columns that are not the JSON objects the store writes. Never an allow, never a default.
TYPED_TEST(StoreContract, TamperedCallRowReadsAsCorruptNeverAsADecision) {
  const std::string run = this->NewRun();
  // An allowed call with its result, read back whole before any edit.
  auto decided = [&]() -> std::string {
    Result<CallRecord> c = this->Decide(run, Verdict::kAllow);
    EXPECT_TRUE(c.ok());
    if (!c.ok()) return "";
    core::CallResult res;
    res.output_json = "{\"done\":true}";
    EXPECT_TRUE(this->store().RecordResult(c->call_id, "a", "a", res, T0()).ok());
    Result<core::StoredCall> intact = this->store().GetCall(c->call_id);
    EXPECT_TRUE(intact.ok()) << intact.error().message;
    if (intact.ok()) {
      EXPECT_EQ(intact->record.decision.verdict, Verdict::kAllow);
      EXPECT_EQ(intact->record.policy_sha256, std::string(64, 'a'));
      EXPECT_EQ(intact->record.call.args.at("env").as_string(), "prod");
      EXPECT_TRUE(intact->result.has_value() && intact->result->output_json == "{\"done\":true}");
    }
    return c->call_id;
  };
  struct Edit {
    std::string set;
    std::string column;
  };
  const std::vector<Edit> edits = {
      {"decision_json = '{\"decision\":\"maybe\",\"code\":\"allowed\"}'", "calls.decision_json"},
      {"decision_json = '{\"decision\":\"allow\",\"code\":\"allowed_by_me\"}'",
       "calls.decision_json"},
      {"decision_json = '[\"allow\"]'", "calls.decision_json"},
      {"state_after_json = 'steps=1'", "calls.state_after_json"},
      {"result_json = '\"done\"'", "calls.result_json"},
      {"args_json = '{\"env\":'", "calls.args_json"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.set);
    const std::string call_id = decided();
    ASSERT_FALSE(call_id.empty());
    this->backend_.Sql("UPDATE calls SET " + e.set + " WHERE call_id = '" + call_id + "'");
    Result<core::StoredCall> got = this->store().GetCall(call_id);
    ASSERT_FALSE(got.ok()) << "read as " << VerdictName(got->record.decision.verdict);
    EXPECT_EQ(got.error().kind, ErrorKind::kCorrupt);
    EXPECT_NE(got.error().message.find(e.column), std::string::npos) << got.error().message;
  }
}

// The deepest arguments the HTTP door accepts ({"tool", "args": {...}} within its 64
// levels), with what Boost 1.81's own parse reads otherwise: a number whose shortest
// decimal it reads one ulp off, and arrays 62 levels deep (it stops at 32).
const std::string kDeepArguments =
    "{\"n\":444944444444444444444444444444444444444446,"
    "\"m\":0.30000000000000004,\"deep\":" +
    std::string(62, '[') + "1" + std::string(62, ']') + "}";

// Tests that a call's arguments read back from the store exactly as they were decided, on
// every backend (kDeepArguments; fuzz/decision_json found the number). The store once read
// the call back as corrupt, and the number one ulp off.
TYPED_TEST(StoreContract, ArgumentsReadBackExactlyWhateverTheirDigitsOrDepth) {
  const std::string run = this->NewRun();
  const std::string args = kDeepArguments;
  Result<CallRecord> c = this->DecideWithArgs(run, args);
  ASSERT_TRUE(c.ok()) << c.error().message;
  Result<core::StoredCall> got = this->store().GetCall(c->call_id);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(boost::json::value(got->record.call.args), *ParseJsonStrict(args));
  EXPECT_EQ(CanonicalJson(got->record.call.args), CanonicalJson(*ParseJsonStrict(args)));
}

// Tests that token counts past the signed 64-bit range (the API takes any uint64, and a run's
// total saturates at its maximum) read back exactly on every backend: the call's usage and
// the run's state, again after a second call in the run.
TYPED_TEST(StoreContract, TokensPastTheSignedRangeReadBackExactly) {
  const std::string run = this->NewRun();
  constexpr uint64_t kHuge = std::numeric_limits<uint64_t>::max() - 7;
  DecideRequest rq = this->DeployRequest(run);
  rq.call.usage.tokens = kHuge;
  Result<CallRecord> c = this->DecideAs(rq, Verdict::kAllow);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->state_after.tokens, kHuge);
  Result<core::StoredCall> got = this->store().GetCall(c->call_id);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->record.call.usage.tokens, kHuge);
  rq.call.usage.tokens = 100;
  rq.now = At(1);
  Result<CallRecord> again = this->DecideAs(rq, Verdict::kAllow);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->state_after.tokens, std::numeric_limits<uint64_t>::max());
}

// Tests that the result of a call decided for one identity cannot be reported under another
// principal of the same agent (an agent acting for mallory reports alice's call, which
// could move her run's workflow): kPermissionDenied naming mallory, nothing recorded, and
// alice's own report still lands.
TYPED_TEST(StoreContract, ResultOfAlicesCallCannotBeReportedByMallory) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kAllow);
  ASSERT_TRUE(c.ok());
  const std::string mallory = "a (on behalf of mallory)";
  core::CallResult forged;
  forged.ok = false;
  forged.error = "forged";
  forged.usage = Usage{9, 0};
  Status m = this->store().RecordResult(c->call_id, "a", mallory, forged, T0());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(m.error().message.find(mallory), std::string::npos) << m.error().message;
  EXPECT_FALSE(this->store().GetCall(c->call_id)->result.has_value());
  EXPECT_EQ(this->store().GetRun(run)->state.tokens, 0u);
  EXPECT_EQ(this->Audit(audit::kResult).size(), 0u);

  ASSERT_TRUE(this->store().RecordResult(c->call_id, "a", "a", core::CallResult{}, T0()).ok());
  EXPECT_EQ(this->Audit(audit::kResult).size(), 1u);
}

// --- approvals --------------------------------------------------------------------------

// Tests that an APPROVAL_REQUIRED call queues exactly one pending approval, and that the
// agent's own token cannot vote on it.
TYPED_TEST(ApprovalContract, ApprovalRequiredQueuesOnePendingApproval) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  Result<Approval> a = this->store().GetApproval(id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->state, ApprovalState::kPending);
  EXPECT_EQ(a->call_id, c->call_id);
  EXPECT_EQ(a->deadline, At(60));  // the deployment default timeout
  Result<std::vector<Approval>> pending = this->store().ListApprovals({});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 1u);
  EXPECT_EQ(this->Vote(id, "a", true, Role::kAgent).error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(this->store().GetApproval("apr_nope").error().kind, ErrorKind::kNotFound);
}

// Tests that a grant allows the call once, settles the approval, and that a late vote
// changes nothing.
TYPED_TEST(ApprovalContract, GrantAllowsTheCallAndLaterVotesAreRefused) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  Result<core::VoteOutcome> v = this->Vote(id, "rita", true);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->settled);
  EXPECT_EQ(v->approval.state, ApprovalState::kGranted);
  EXPECT_EQ(this->store().GetCall(c->call_id)->record.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(this->Vote(id, "bob", false).error().kind, ErrorKind::kAlreadyExists);
  Result<core::StoredCall> released = this->store().ReleaseCall(c->call_id, "a", "a", At(2));
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->record.decision.verdict, Verdict::kAllow);
}

// Tests that the agent door's read of an approved call (ReleaseCall) under another
// principal of the same agent (an agent acting for mallory polls the call approved for
// alice) is refused, recorded and releases nothing, pending or granted, and that the
// identity the call was made for still collects and releases it.
TYPED_TEST(ApprovalContract, ApprovedCallOfAliceCannotBeReleasedByMallory) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string mallory = "a (on behalf of mallory)";
  auto refused_to_mallory = [&](TimePoint now) {
    Result<core::StoredCall> r = this->store().ReleaseCall(c->call_id, "a", mallory, now);
    return !r.ok() && r.error().kind == ErrorKind::kPermissionDenied;
  };
  EXPECT_TRUE(refused_to_mallory(At(1)));
  const std::string id = core::ApprovalIdForCall(c->call_id);
  ASSERT_TRUE(this->Vote(id, "rita", true).ok());
  Result<core::StoredCall> refused = this->store().ReleaseCall(c->call_id, "a", mallory, At(2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(refused.error().message.find(mallory), std::string::npos) << refused.error().message;
  EXPECT_FALSE(this->store().GetApproval(id)->used.has_value());

  Result<core::StoredCall> released = this->store().ReleaseCall(c->call_id, "a", "a", At(3));
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(released->record.decision.verdict, Verdict::kAllow);
  EXPECT_TRUE(this->store().GetApproval(id)->used.has_value());
  // Once released, still only its own identity's to read.
  EXPECT_TRUE(refused_to_mallory(At(4)));
  // Each refusal is an approval record under mallory's name, as the decide path records an
  // approval redemption by another identity.
  int recorded = 0;
  for (const boost::json::object& r : this->Audit(audit::kApproval)) {
    const std::string text = boost::json::serialize(r);
    if (r.at("principal").is_string() && r.at("principal").get_string() == mallory &&
        text.find("release_refused") != std::string::npos &&
        text.find("IDENTITY_MISMATCH") != std::string::npos) {
      ++recorded;
    }
  }
  EXPECT_EQ(recorded, 3);
}

// Tests that an approval granted for one identity's call cannot be redeemed by re-submitting
// its approval_id under another (an agent acting for mallory re-submits the approval a
// reviewer granted for alice): the re-submission is a new call denied IDENTITY_MISMATCH,
// its decision record names mallory, and alice can still redeem the approval.
TYPED_TEST(ApprovalContract, ApprovalGrantedForAliceCannotBeRedeemedByMallory) {
  const std::string run = this->NewRun();
  auto request = [&](const std::string& human, const std::string& approval_id) {
    DecideRequest rq;
    rq.run_id = run;
    rq.agent_id = "a";
    rq.identity = core::CallerIdentity{"https://idp", "a@iam", human, {}, {}};
    rq.principal = "a@iam (https://idp) on behalf of " + human;
    rq.policy_sha256 = std::string(64, 'a');
    rq.now = At(2);
    rq.call.tool = "deploy";
    rq.call.args = boost::json::object{{"env", "prod"}};
    rq.call.approval_id = approval_id;
    return rq;
  };
  Result<CallRecord> c = this->DecideAs(request("alice", ""), Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const std::string id = core::ApprovalIdForCall(c->call_id);
  ASSERT_TRUE(this->Vote(id, "rita", true).ok());

  Result<CallRecord> m = this->DecideAs(request("mallory", id), Verdict::kApprovalRequired);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->existing);
  EXPECT_NE(m->call_id, c->call_id);
  EXPECT_EQ(m->decision.verdict, Verdict::kDeny);
  EXPECT_EQ(m->decision.code, Code::kIdentityMismatch);
  int naming_mallory = 0;
  for (const boost::json::object& d : this->Audit("decision")) {
    const boost::json::value* p = d.if_contains("principal");
    if (p != nullptr && p->is_string() &&
        std::string_view(p->get_string()).ends_with("on behalf of mallory")) {
      ++naming_mallory;
    }
  }
  EXPECT_EQ(naming_mallory, 1);

  Result<CallRecord> own = this->DecideAs(request("alice", id), Verdict::kApprovalRequired);
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_TRUE(own->existing);
  EXPECT_EQ(own->call_id, c->call_id);
  EXPECT_EQ(own->decision.verdict, Verdict::kAllow);
}

// Tests the two-person rule: the same reviewer twice is one person, and only the second
// person's vote settles the approval.
TYPED_TEST(ApprovalContract, TwoPersonRuleNeedsTwoPeople) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired, "a", /*required=*/2);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  Result<core::VoteOutcome> first = this->Vote(id, "rita", true);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->settled);
  EXPECT_EQ(this->Vote(id, "rita", true).error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().GetApproval(id)->state, ApprovalState::kPending);
  Result<core::VoteOutcome> second = this->Vote(id, "bob", true);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->settled);
  EXPECT_EQ(second->approval.state, ApprovalState::kGranted);
}

// A reviewer's edit as core::EvaluateEdit hands it to the store.
core::EditedCall Edit(boost::json::object args, uint64_t records = 0) {
  core::EditedCall e;
  e.args = std::move(args);
  e.args_sha256 = std::string(64, 'e');
  e.records = records;
  return e;
}

// Rita's vote at At(1) on the approval of `call_id`, with a reviewer's `edit` if any.
core::VoteRequest RitaVotes(const std::string& call_id, bool approve,
                            std::optional<core::EditedCall> edit = std::nullopt) {
  core::VoteRequest v;
  v.approval_id = core::ApprovalIdForCall(call_id);
  v.reviewer = core::Principal{"tok_rita", "rita", Role::kReviewer, ""};
  v.approve = approve;
  v.now = At(1);
  v.edit = std::move(edit);
  return v;
}

// Tests that an approve with edited arguments settles the call with them (the decision the
// agent reads carries the arguments to run), keeps the edited hash with the approval across
// a reopen (a re-submission must match it), and that a later vote changes nothing.
TYPED_TEST(ApprovalContract, EditedApproveIsWhatTheAgentRuns) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  const core::VoteRequest v =
      RitaVotes(c->call_id, true, Edit(boost::json::object{{"env", "staging"}}));
  Result<core::VoteOutcome> out = this->store().Vote(v);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->settled);
  EXPECT_EQ(out->approval.state, ApprovalState::kGranted);
  Result<core::StoredCall> call = this->store().GetCall(c->call_id);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->record.decision.verdict, Verdict::kAllow);
  ASSERT_TRUE(call->record.decision.arguments.has_value());
  EXPECT_EQ(call->record.decision.arguments->at("env").as_string(), "staging");
  EXPECT_NE(call->record.decision.reason.find("with edited arguments"), std::string::npos);
  EXPECT_EQ(call->record.call.args.at("env").as_string(), "prod");  // the original stays
  this->backend_.Reopen();
  Result<Approval> a = this->store().GetApproval(id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->edited_args_sha256, std::string(64, 'e'));
  EXPECT_NE(a->args_sha256, a->edited_args_sha256);
  EXPECT_EQ(this->Vote(id, "bob", false).error().kind, ErrorKind::kAlreadyExists);
}

// Tests the attack on a reviewer's edit of a redacted argument: anyone who reads the
// store (a backup, a replica, a DBA) would find the edited value, which the agent's door
// must get back in plain text. The store keeps it sealed under the audit key, bound to the
// call: the door gets it opened (core::OpenSealedArguments); a sealed value copied to
// another call, or read with another deployment's key, does not open.
TYPED_TEST(ApprovalContract, EditedRedactedArgumentIsSealedInTheStore) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  core::VoteRequest v =
      RitaVotes(c->call_id, true,
                Edit(boost::json::object{{"env", "staging"}, {"password", "edited-s3cret"}}));
  v.edit->redact_fields = {"password"};
  ASSERT_TRUE(this->store().Vote(v).ok());
  this->backend_.Reopen();
  Result<core::StoredCall> stored = this->store().GetCall(c->call_id);
  ASSERT_TRUE(stored.ok());
  const Decision& d = stored->record.decision;
  ASSERT_TRUE(d.arguments.has_value());
  EXPECT_EQ(d.sealed_arguments, std::vector<std::string>{"password"});
  EXPECT_TRUE(d.arguments->at("password").as_string().starts_with("sealed:aes-256-gcm:"));
  EXPECT_EQ(boost::json::serialize(DecisionToJson(d)).find("edited-s3cret"), std::string::npos);
  Result<boost::json::object> replay = this->store().ReplayRun(run);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(boost::json::serialize(*replay).find("edited-s3cret"), std::string::npos);

  Result<core::StoredCall> opened = core::OpenSealedArguments(this->store(), stored);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->record.decision.arguments->at("password").as_string(), "edited-s3cret");
  EXPECT_EQ(opened->record.decision.arguments->at("env").as_string(), "staging");
  EXPECT_TRUE(opened->record.decision.sealed_arguments.empty());
  // Any other reader sees the edited value as the audit trail shows it: its keyed hash.
  Result<core::StoredCall> viewed = core::HashSealedArguments(this->store(), stored);
  ASSERT_TRUE(viewed.ok()) << viewed.error().message;
  EXPECT_EQ(viewed->record.decision.arguments->at("password").as_string(),
            this->store().redactor()->Hash(boost::json::value("edited-s3cret")));
  EXPECT_EQ(viewed->record.decision.arguments->at("env").as_string(), "staging");
  EXPECT_TRUE(viewed->record.decision.sealed_arguments.empty());

  core::StoredCall moved = *stored;  // the sealed value pasted into another call's decision
  moved.record.call_id = "call_other";
  EXPECT_EQ(core::OpenSealedArguments(this->store(), moved).error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(core::HashSealedArguments(this->store(), moved).error().kind, ErrorKind::kCorrupt);
  const audit::Redactor other("another deployment's key");
  EXPECT_FALSE(other.OpenFields(*d.arguments, d.sealed_arguments, c->call_id).ok());
}

// Tests that edited arguments ride only on an approve of a one-approver call: a deny with
// an edit, or an edit of a call that needs two people, is refused and records nothing.
TYPED_TEST(ApprovalContract, EditOnADenyOrATwoPersonCallIsRefused) {
  const std::string run = this->NewRun();
  Result<CallRecord> one = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(one.ok());
  core::VoteRequest v =
      RitaVotes(one->call_id, false, Edit(boost::json::object{{"env", "staging"}}));
  EXPECT_EQ(this->store().Vote(v).error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(this->store().GetApproval(v.approval_id)->state, ApprovalState::kPending);
  EXPECT_TRUE(this->store().GetApproval(v.approval_id)->votes.empty());

  const std::string run2 = this->NewRun();
  Result<CallRecord> two = this->Decide(run2, Verdict::kApprovalRequired, "a", /*required=*/2);
  ASSERT_TRUE(two.ok());
  v.approval_id = core::ApprovalIdForCall(two->call_id);
  v.approve = true;
  EXPECT_EQ(this->store().Vote(v).error().kind, ErrorKind::kInvalidArgument);
  EXPECT_TRUE(this->store().GetApproval(v.approval_id)->votes.empty());
  EXPECT_FALSE(this->store().GetCall(two->call_id)->record.decision.arguments.has_value());
}

// Tests that an approve for the rest of the run puts the grant in the run's state (read
// back after a reopen), that without policy facts (an agent the policy set lacks) it is
// refused, and that a revocation removes it once.
TYPED_TEST(ApprovalContract, ApproveForTheRunKeepsTheGrantUntilRevoked) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  core::VoteRequest v = RitaVotes(c->call_id, true);
  v.for_run = true;
  EXPECT_EQ(this->store().Vote(v).error().kind, ErrorKind::kInvalidArgument);  // no facts
  v.policy = [](std::string_view, std::string_view) {
    core::ApprovalPolicyFacts f;
    f.run_grant_refusal = "";
    return f;
  };
  Result<core::VoteOutcome> out = this->store().Vote(v);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->approval.state, ApprovalState::kGranted);
  this->backend_.Reopen();
  Result<core::RunInfo> info = this->store().GetRun(run);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->state.grants.count("deploy"), 1u);
  EXPECT_EQ(info->state.grants.at("deploy").approval_id, v.approval_id);
  const core::Principal carol{"tok_carol", "carol", Role::kReviewer, ""};
  const core::Principal agent{"tok_a", "a", Role::kAgent, "a"};
  EXPECT_FALSE(this->store().RevokeRunGrant(run, "deploy", agent, "", At(2)).ok());
  ASSERT_TRUE(this->store().RevokeRunGrant(run, "deploy", carol, "enough", At(2)).ok());
  EXPECT_TRUE(this->store().GetRun(run)->state.grants.empty());
  EXPECT_EQ(this->store().RevokeRunGrant(run, "deploy", carol, "", At(3)).error().kind,
            ErrorKind::kNotFound);
}

// Tests that a withdrawn approval denies its call and refuses later verdicts, and that
// another agent cannot withdraw it.
TYPED_TEST(ApprovalContract, WithdrawnApprovalDeniesAndRefusesVerdicts) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  EXPECT_EQ(this->store().WithdrawApproval(id, "b", "b", "gone", At(1)).error().kind,
            ErrorKind::kPermissionDenied);
  Result<Approval> w = this->store().WithdrawApproval(id, "a", "a", "client went away", At(1));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->state, ApprovalState::kWithdrawn);
  EXPECT_EQ(this->store().GetCall(c->call_id)->record.decision.code, Code::kApprovalDenied);
  EXPECT_EQ(this->Vote(id, "rita", true).error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().WithdrawApproval(id, "a", "a", "again", At(2)).error().kind,
            ErrorKind::kAlreadyExists);
}

// Tests that a person's text no store can keep (a NUL, which cut PostgreSQL's SQL; bytes
// that are not UTF-8, which its text refuses; more than the core's bound) is refused by the
// core's use cases on every backend, whichever door hands it in: the kill switch is not
// engaged, the approval stays pending, nothing is audited (attack: a NUL in a kill switch's
// reason through a door that does not check it).
TYPED_TEST(ApprovalContract, TextAStoreCannotKeepIsRefusedByTheCoreOnEveryBackend) {
  ManualClock clock(At(1));
  core::Kills kills(this->store());
  core::Approvals approvals(&this->store(), &clock);
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  const core::Principal rita{"tok_rita", "rita", Role::kReviewer, ""};
  const std::vector<std::string> texts = {std::string("stop\0now", 8), "stop \xff\xfe",
                                          std::string(core::kMaxFreeTextBytes + 1, 'x')};
  for (const std::string& text : texts) {
    SCOPED_TRACE(text.substr(0, 16));
    EXPECT_EQ(kills.Engage("global", "", text, "root", At(1)).error().kind,
              ErrorKind::kInvalidArgument);
    EXPECT_EQ(kills.Engage("agent", text, "why", "root", At(1)).error().kind,
              ErrorKind::kInvalidArgument);
    EXPECT_EQ(approvals.Withdraw(id, "a", "a", text).error().kind, ErrorKind::kInvalidArgument);
    core::Approvals::VoteAsk vote;
    vote.approval_id = id;
    vote.reviewer = rita;
    vote.approve = true;
    vote.comment = text;
    EXPECT_EQ(approvals.Vote(std::move(vote)).error().kind, ErrorKind::kInvalidArgument);
    EXPECT_EQ(approvals.RevokeRunGrant(run, "deploy", rita, text).error().kind,
              ErrorKind::kInvalidArgument);
    EXPECT_EQ(approvals.RevokeRunGrant(run, text, rita, "why").error().kind,
              ErrorKind::kInvalidArgument);
  }
  EXPECT_TRUE(this->store().ListKills()->empty());
  EXPECT_TRUE(this->Audit(audit::kKillSwitch).empty());
  EXPECT_EQ(this->store().GetApproval(id)->state, ApprovalState::kPending);
  // The bound itself, and text in any script, are kept.
  const std::string most(core::kMaxFreeTextBytes - 6, 'x');
  ASSERT_TRUE(kills.Engage("global", "", most + "停止", "root", At(1)).ok());
  EXPECT_EQ(this->store().ListKills()->at(0).reason, most + "停止");
}

// Tests that a pending approval of a call decided for one identity cannot be withdrawn
// under another principal of the same agent (an agent acting for mallory withdraws alice's):
// kPermissionDenied naming mallory, the approval stays pending, the attempt is an approval
// record (withdraw_refused, IDENTITY_MISMATCH) under mallory's name, and alice's own
// withdrawal still works.
TYPED_TEST(ApprovalContract, PendingApprovalOfAliceCannotBeWithdrawnByMallory) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  const std::string mallory = "a (on behalf of mallory)";
  Result<Approval> m = this->store().WithdrawApproval(id, "a", mallory, "gone", At(1));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(m.error().message.find(mallory), std::string::npos) << m.error().message;
  EXPECT_EQ(this->store().GetApproval(id)->state, ApprovalState::kPending);
  EXPECT_EQ(this->store().GetCall(c->call_id)->record.decision.verdict, Verdict::kApprovalRequired);
  int recorded = 0;
  for (const boost::json::object& r : this->Audit(audit::kApproval)) {
    const std::string text = boost::json::serialize(r);
    if (r.at("principal").is_string() && r.at("principal").get_string() == mallory &&
        text.find("withdraw_refused") != std::string::npos &&
        text.find("IDENTITY_MISMATCH") != std::string::npos) {
      ++recorded;
    }
  }
  EXPECT_EQ(recorded, 1);

  Result<Approval> own = this->store().WithdrawApproval(id, "a", "a", "client went away", At(2));
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->state, ApprovalState::kWithdrawn);
}

// Tests that a pending approval times out into a deny at its deadline (not before), and
// that an escalating one escalates instead.
TYPED_TEST(ApprovalContract, DeadlineTimesOutOrEscalates) {
  // Two runs: an identical call in one run would attach to the first's pending approval.
  const std::string run = this->NewRun();
  const std::string run2 = this->NewRun();
  Result<CallRecord> deny = this->Decide(run, Verdict::kApprovalRequired, "a", 1, /*timeout=*/10);
  Result<CallRecord> esc =
      this->Decide(run2, Verdict::kApprovalRequired, "a", 1, /*timeout=*/10, /*escalate=*/true);
  ASSERT_TRUE(deny.ok() && esc.ok());
  ASSERT_TRUE(this->store().ExpireApprovals(At(9))->empty());
  Result<std::vector<core::ApprovalChange>> changes = this->store().ExpireApprovals(At(10));
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ(this->store().GetApproval(core::ApprovalIdForCall(deny->call_id))->state,
            ApprovalState::kTimedOut);
  EXPECT_EQ(this->store().GetCall(deny->call_id)->record.decision.code, Code::kApprovalTimeout);
  Result<Approval> e = this->store().GetApproval(core::ApprovalIdForCall(esc->call_id));
  EXPECT_EQ(e->state, ApprovalState::kPending);
  EXPECT_EQ(e->escalation_level, 1);
  EXPECT_TRUE(this->store().ExpireApprovals(At(10))->empty());  // a timeout fires once
}

// Tests that engaging a kill switch cancels the pending approvals in its scope at once.
TYPED_TEST(ApprovalContract, KillSwitchCancelsPendingApprovals) {
  const std::string run = this->NewRun();
  Result<CallRecord> c = this->Decide(run, Verdict::kApprovalRequired);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(this->store().SetKill({"run", run, true, "stop", "root", At(1)}).ok());
  EXPECT_EQ(this->store().GetApproval(core::ApprovalIdForCall(c->call_id))->state,
            ApprovalState::kCancelled);
  EXPECT_EQ(this->store().GetCall(c->call_id)->record.decision.verdict, Verdict::kDeny);
}

// --- the audit trail --------------------------------------------------------------------

// Tests that every write is in the audit trail as a record (type, principal, data), in
// order, including policy loads and coalesced authentication failures.
TYPED_TEST(StoreContract, EveryWriteIsAnAuditRecordInOrder) {
  const std::string run = this->NewRun();
  ASSERT_TRUE(this->Decide(run, Verdict::kAllow).ok());
  ASSERT_TRUE(this->store().EndRun(run, "a", At(1)).ok());
  core::PolicyLoad load;
  load.sha256 = std::string(64, 'c');
  load.agents = 2;
  load.why = "start";
  load.principal = "daemon";
  load.at = At(2);
  ASSERT_TRUE(this->store().RecordPolicyLoad(load).ok());
  core::AuthFailures fails;
  fails.count = 3;
  fails.reasons["missing token"] = 3;
  fails.first = fails.last = At(3);
  ASSERT_TRUE(this->store().RecordAuthFailures(fails).ok());

  audit::AuditQuery q;
  Result<boost::json::array> all = this->store().QueryAudit(q);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> types;
  int64_t last_seq = 0;
  for (const boost::json::value& v : *all) {
    const boost::json::object& o = v.as_object();
    types.emplace_back(o.at("type").as_string());
    EXPECT_GT(o.at("seq").as_int64(), last_seq);
    last_seq = o.at("seq").as_int64();
  }
  const std::vector<std::string> want = {"run_started", "decision", "run_ended", "policy_loaded",
                                         "auth_failed"};
  EXPECT_EQ(types, want);
  q.filter.after_seq = last_seq - 1;
  Result<boost::json::array> page = this->store().QueryAudit(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ(page->at(0).as_object().at("type").as_string(), "auth_failed");
}

// Tests that sign-ins and sign-outs are audit records naming the person (principal,
// issuer, subject, role, the groups that granted it), and that refused sign-ins whose
// person the provider named are listed in the auth_failed record counting them.
TYPED_TEST(StoreContract, SignInsAreAuditRecords) {
  core::SignIn in;
  in.principal = "oidc:alice@idp.example.com";
  in.issuer = "https://idp.example.com";
  in.subject = "alice";
  in.role = "admin";
  in.groups = {"admins"};
  in.expires_at = At(3600);
  in.at = At(1);
  ASSERT_TRUE(this->store().RecordSignIn(in).ok());
  core::SignIn out = in;
  out.signed_out = true;
  out.at = At(2);
  ASSERT_TRUE(this->store().RecordSignIn(out).ok());
  core::AuthFailures fails;
  fails.count = 2;
  fails.reasons["OIDC_NO_ROLE"] = 1;
  fails.reasons["OIDC_STATE"] = 1;
  fails.first = fails.last = At(3);
  fails.sign_ins.push_back(
      {"OIDC_NO_ROLE", "oidc:mallory@idp.example.com", "https://idp.example.com", At(3)});
  ASSERT_TRUE(this->store().RecordAuthFailures(fails).ok());

  Result<boost::json::array> all = this->store().QueryAudit(audit::AuditQuery{});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  const boost::json::object& a = all->at(0).as_object();
  EXPECT_EQ(a.at("type").as_string(), "signed_in");
  EXPECT_EQ(a.at("principal").as_string(), "oidc:alice@idp.example.com");
  const boost::json::object& d = a.at("data").as_object();
  EXPECT_EQ(d.at("issuer").as_string(), "https://idp.example.com");
  EXPECT_EQ(d.at("subject").as_string(), "alice");
  EXPECT_EQ(d.at("role").as_string(), "admin");
  EXPECT_EQ(boost::json::serialize(d.at("groups")), R"(["admins"])");
  EXPECT_EQ(d.at("expires_at").as_string(), FormatRfc3339(At(3600)));
  const boost::json::object& b = all->at(1).as_object();
  EXPECT_EQ(b.at("type").as_string(), "signed_out");
  EXPECT_EQ(b.at("principal").as_string(), "oidc:alice@idp.example.com");
  EXPECT_FALSE(b.at("data").as_object().contains("role"));
  const boost::json::object& f = all->at(2).as_object().at("data").as_object();
  EXPECT_EQ(f.at("count").as_int64(), 2);
  ASSERT_EQ(f.at("sign_ins").as_array().size(), 1u);
  const boost::json::object& who = f.at("sign_ins").as_array().at(0).as_object();
  EXPECT_EQ(who.at("code").as_string(), "OIDC_NO_ROLE");
  EXPECT_EQ(who.at("principal").as_string(), "oidc:mallory@idp.example.com");
}

// --- reopening --------------------------------------------------------------------------

// Tests that what a store answered survives closing and reopening it: tokens, switches,
// calls with results, approvals and their votes, ended runs and the audit trail.
TYPED_TEST(StoreContract, EverythingAnsweredSurvivesReopen) {
  Result<std::string> token = this->store().CreateToken(Role::kAgent, "", "a", T0());
  ASSERT_TRUE(token.ok());
  const std::string run = this->NewRun();
  Result<CallRecord> allowed = this->Decide(run, Verdict::kAllow);
  ASSERT_TRUE(allowed.ok());
  ASSERT_TRUE(
      this->store().RecordResult(allowed->call_id, "a", "a", core::CallResult{}, T0()).ok());
  Result<CallRecord> pending = this->Decide(run, Verdict::kApprovalRequired, "a", 2);
  ASSERT_TRUE(pending.ok());
  const std::string id = core::ApprovalIdForCall(pending->call_id);
  ASSERT_TRUE(this->Vote(id, "rita", true).ok());
  ASSERT_TRUE(this->store().SetKill({"agent", "z", true, "stop", "root", T0()}).ok());
  const std::string ended = this->NewRun();
  ASSERT_TRUE(this->store().EndRun(ended, "a", T0()).ok());
  const size_t records = this->store().QueryAudit({})->size();

  this->backend_.Reopen();

  EXPECT_TRUE(this->store().Authenticate(*token).ok());
  EXPECT_TRUE(this->store().GetCall(allowed->call_id)->result.has_value());
  EXPECT_EQ(
      this->store().RecordResult(allowed->call_id, "a", "a", core::CallResult{}, T0()).error().kind,
      ErrorKind::kAlreadyExists);
  Result<Approval> a = this->store().GetApproval(id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->state, ApprovalState::kPending);
  ASSERT_EQ(a->votes.size(), 1u);
  EXPECT_EQ(this->Vote(id, "rita", true).error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(this->store().ListKills()->size(), 1u);
  EXPECT_TRUE(this->store().GetRun(ended)->ended);
  EXPECT_EQ(this->store().GetRun(run)->state.steps, 2u);
  EXPECT_EQ(this->store().QueryAudit({})->size(), records);
}

// --- read paths over every backend (issue 14): runs list, a run's calls -------------------
// The backends that have them: SQLite and PostgreSQL (a private cluster, pg_cluster.h;
// PostgresBackend above).

template <class B>
class StoreReadContract : public StoreContract<B> {};

using ReadBackends = ::testing::Types<SqliteBackend, SqliteCallerBackend, PostgresBackend>;
TYPED_TEST_SUITE(StoreReadContract, ReadBackends);

// Tests that the runs list pages newest first with an opaque cursor that cannot be forged
// into another query, and that the agent, state and time filters hold on every backend.
TYPED_TEST(StoreReadContract, RunsListPagesNewestFirstAndFilters) {
  ASSERT_NE(this->backend_.store, nullptr);
  Store& s = this->store();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    Result<core::RunInfo> r = s.CreateRun(i % 2 == 0 ? "a" : "b", "", At(i));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ids.push_back(r->run_id);
  }
  ASSERT_TRUE(s.EndRun(ids[2], "a", At(10)).ok());
  core::RunFilter f;
  f.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    Result<core::RunPage> p = s.ListRuns(f);
    ASSERT_TRUE(p.ok()) << p.error().message;
    for (const core::RunInfo& r : p->runs) seen.push_back(r.run_id);
    if (p->next_cursor.empty()) break;
    f.cursor = p->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  core::RunFilter by_agent;
  by_agent.agent_id = "b";
  Result<core::RunPage> b = s.ListRuns(by_agent);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->runs.size(), 2u);
  EXPECT_EQ(b->runs[0].run_id, ids[3]);
  EXPECT_EQ(b->runs[0].agent_id, "b");

  core::RunFilter ended;
  ended.state = core::RunListState::kEnded;
  Result<core::RunPage> e = s.ListRuns(ended);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->runs.size(), 1u);
  EXPECT_EQ(e->runs[0].run_id, ids[2]);
  EXPECT_TRUE(e->runs[0].ended);

  core::RunFilter window;
  window.agent_id = "a";
  window.started_since = At(1);
  window.started_until = At(4);
  window.state = core::RunListState::kActive;
  Result<core::RunPage> w = s.ListRuns(window);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(w->runs.empty());  // a's runs in [1, 4) are ids[2], which ended

  core::RunFilter forged;
  forged.cursor = "1' OR '1'='1";
  Result<core::RunPage> bad = s.ListRuns(forged);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalidArgument);
}

// Tests that a run's call list holds that run's calls only, oldest first, with the
// verdict, code and reason of each, and at most `limit` (the latest).
TYPED_TEST(StoreReadContract, RunCallsAreThatRunsOnlyOldestFirst) {
  ASSERT_NE(this->backend_.store, nullptr);
  const std::string run = this->NewRun("a");
  const std::string other = this->NewRun("b");
  std::vector<std::string> calls;
  for (Verdict v : {Verdict::kAllow, Verdict::kDeny, Verdict::kAllow}) {
    Result<CallRecord> c = this->Decide(run, v, "a");
    ASSERT_TRUE(c.ok()) << c.error().message;
    calls.push_back(c->call_id);
  }
  ASSERT_TRUE(this->Decide(other, Verdict::kAllow, "b").ok());
  Result<std::vector<core::CallSummary>> list = this->store().ListRunCalls(run, 100);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*list)[i].call_id, calls[i]);
    EXPECT_EQ((*list)[i].tool, "deploy");
  }
  EXPECT_EQ((*list)[1].verdict, "deny");
  EXPECT_EQ((*list)[1].code, "TOOL_NOT_ALLOWED");
  Result<std::vector<core::CallSummary>> last = this->store().ListRunCalls(run, 2);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 2u);
  EXPECT_EQ((*last)[0].call_id, calls[1]);
  Result<std::vector<core::CallSummary>> none = this->store().ListRunCalls("run_missing", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// --- the audit log's read paths over every backend (issue 14) ----------------------------

// The records QueryAudit answers, as (seq, type) pairs.
std::vector<int64_t> Seqs(const boost::json::array& records) {
  std::vector<int64_t> out;
  for (const boost::json::value& v : records) out.push_back(v.at("seq").to_number<int64_t>());
  return out;
}

// Tests that every filter of the console's audit search selects exactly the records a scan
// of the whole log would, on every backend, and that paging with the cursor (ascending and
// newest first, windowed or not) visits each of them once.
TYPED_TEST(StoreReadContract, AuditSearchFiltersAndPagesAlike) {
  ASSERT_NE(this->backend_.store, nullptr);
  const std::string run_a = this->NewRun("a");
  const std::string run_b = this->NewRun("b");
  ASSERT_TRUE(this->Decide(run_a, Verdict::kAllow, "a", 1, 0, false, "deploy", At(1)).ok());
  ASSERT_TRUE(this->Decide(run_a, Verdict::kDeny, "a", 1, 0, false, "drop_db", At(2)).ok());
  ASSERT_TRUE(
      this->Decide(run_b, Verdict::kApprovalRequired, "b", 1, 0, false, "deploy", At(3)).ok());
  ASSERT_TRUE(this->Decide(run_b, Verdict::kAllow, "b", 1, 0, false, "read_10%_of_it", At(4)).ok());
  ASSERT_TRUE(this->store().EndRun(run_a, "a", At(5)).ok());
  audit::AuditQuery all_q;
  all_q.limit = audit::kMaxAuditQueryLimit;
  Result<boost::json::array> all = this->store().QueryAudit(all_q);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_GE(all->size(), 8u);
  auto expect = [&](const std::function<bool(const boost::json::object&)>& keep) {
    std::vector<int64_t> out;
    for (const boost::json::value& v : *all) {
      if (keep(v.as_object())) out.push_back(v.at("seq").to_number<int64_t>());
    }
    return out;
  };
  auto str = [](const boost::json::object& o, std::initializer_list<const char*> path) {
    const boost::json::value* v = nullptr;
    const boost::json::object* at = &o;
    for (const char* k : path) {
      if (at == nullptr || (v = at->if_contains(k)) == nullptr) return std::string();
      at = v->if_object();
    }
    return v->is_string() ? std::string(v->get_string()) : std::string();
  };
  // Every page of `f` (limit 2), ascending or newest first, through the cursor.
  auto paged = [&](audit::AuditFilter f, bool descending) {
    std::vector<int64_t> out;
    f.descending = descending;
    for (int i = 0; i < 50; ++i) {
      audit::AuditQuery q;
      q.filter = f;
      q.limit = 2;
      Result<audit::AuditPage> p = this->store().QueryAuditPage(q);
      EXPECT_TRUE(p.ok()) << p.error().message;
      if (!p.ok()) break;
      for (int64_t seq : Seqs(p->records)) out.push_back(seq);
      if (!p->more) break;
      (descending ? f.before_seq : f.after_seq) = p->next_cursor;
    }
    if (descending) std::reverse(out.begin(), out.end());
    return out;
  };
  struct Case {
    const char* what;
    audit::AuditFilter filter;
    std::function<bool(const boost::json::object&)> keep;
  };
  std::vector<Case> cases;
  cases.push_back({"everything", {}, [](const boost::json::object&) { return true; }});
  {
    audit::AuditFilter f;
    f.agent_id = "b";
    cases.push_back({"agent", f, [&](const auto& o) { return str(o, {"agent_id"}) == "b"; }});
  }
  {
    audit::AuditFilter f;
    f.run_id = run_a;
    cases.push_back({"run", f, [&](const auto& o) { return str(o, {"run_id"}) == run_a; }});
  }
  {
    audit::AuditFilter f;
    f.type = "decision";
    cases.push_back({"type", f, [&](const auto& o) { return str(o, {"type"}) == "decision"; }});
  }
  {
    audit::AuditFilter f;
    f.tool = "deploy";
    // Any record naming the tool: its decisions and its approval records.
    cases.push_back({"tool", f, [&](const auto& o) {
                       return str(o, {"data", "tool"}) == "deploy";
                     }});
  }
  {
    audit::AuditFilter f;
    f.code = "APPROVAL_REQUIRED";
    cases.push_back({"code", f, [&](const auto& o) {
                       return str(o, {"data", "decision", "code"}) == "APPROVAL_REQUIRED";
                     }});
  }
  {
    audit::AuditFilter f;
    f.text = "10%_of";  // LIKE metacharacters are plain text
    cases.push_back({"text", f, [&](const auto& o) {
                       return boost::json::serialize(o).find("10%_of") != std::string::npos;
                     }});
  }
  {
    audit::AuditFilter f;
    f.agent_id = "a' OR '1'='1";  // an injection attempt selects nothing
    cases.push_back({"agent injection", f, [](const auto&) { return false; }});
  }
  for (const Case& c : cases) {
    const std::vector<int64_t> want = expect(c.keep);
    audit::AuditQuery q;
    q.filter = c.filter;
    q.limit = audit::kMaxAuditQueryLimit;
    Result<boost::json::array> got = this->store().QueryAudit(q);
    ASSERT_TRUE(got.ok()) << c.what << ": " << got.error().message;
    EXPECT_EQ(Seqs(*got), want) << c.what;
    EXPECT_EQ(paged(c.filter, false), want) << c.what << " ascending";
    EXPECT_EQ(paged(c.filter, true), want) << c.what << " newest first";
  }
  // Every answer carries the record's hash.
  for (const boost::json::value& v : *all) EXPECT_EQ(v.at("hash").as_string().size(), 64u);
}

// Tests that a run is replayed from its audit records alone on every backend: its calls in
// order with their decisions, its end, no tampered record; an unknown run is NotFound.
TYPED_TEST(StoreReadContract, ReplayRebuildsTheRunFromItsRecords) {
  ASSERT_NE(this->backend_.store, nullptr);
  const std::string run = this->NewRun("a");
  Result<CallRecord> first = this->Decide(run, Verdict::kAllow, "a");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(this->Decide(run, Verdict::kDeny, "a", 1, 0, false, "drop_db").ok());
  ASSERT_TRUE(this->store().RecordResult(first->call_id, "a", "a", core::CallResult{}, At(1)).ok());
  ASSERT_TRUE(this->store().EndRun(run, "a", At(2)).ok());
  ASSERT_TRUE(this->Decide(this->NewRun("b"), Verdict::kAllow, "b").ok());
  Result<boost::json::object> r = this->store().ReplayRun(run);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at("run_id").as_string(), run);
  EXPECT_EQ(r->at("agent_id").as_string(), "a");
  EXPECT_EQ(r->at("status").as_string(), "ended");
  EXPECT_EQ(r->at("tampered_records").to_number<int64_t>(), 0);
  const boost::json::array& calls = r->at("calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].at("tool").as_string(), "deploy");
  EXPECT_EQ(calls[1].at("code").as_string(), "TOOL_NOT_ALLOWED");
  EXPECT_TRUE(calls[0].as_object().contains("result"));
  EXPECT_EQ(this->store().ReplayRun("run_missing").error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(this->store().ReplayRun("").error().kind, ErrorKind::kInvalidArgument);
}

// Tests that governance's history streams exactly the matching records in seq order on
// every backend (types, agent, since), that LastSeq is the newest record, and that a read
// told to stop ends with kUnavailable.
TYPED_TEST(StoreReadContract, HistoryStreamsMatchingRecordsInSeqOrder) {
  ASSERT_NE(this->backend_.store, nullptr);
  const std::string run_a = this->NewRun("a");
  const std::string run_b = this->NewRun("b");
  for (int i = 0; i < 7; ++i) {
    Result<CallRecord> c = this->Decide(i % 2 ? run_a : run_b, Verdict::kAllow, i % 2 ? "a" : "b",
                                        1, 0, false, "deploy", At(i));
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(this->store()
                    .RecordResult(c->call_id, i % 2 ? "a" : "b", i % 2 ? "a" : "b",
                                  core::CallResult{}, At(i))
                    .ok());
  }
  audit::AuditQuery q;
  q.limit = audit::kMaxAuditQueryLimit;
  const boost::json::array all = *this->store().QueryAudit(q);
  Result<int64_t> last = this->store().LastSeq();
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(*last, all.back().at("seq").to_number<int64_t>());
  core::HistoryFilter f;
  f.types = {"decision", "result"};
  f.agent_id = "a";
  f.since_ms = ToUnixMillis(At(2));
  std::vector<int64_t> want;
  for (const boost::json::value& v : all) {
    const std::string type(v.at("type").as_string());
    if ((type == "decision" || type == "result") && v.at("agent_id").as_string() == "a" &&
        ParseRfc3339(std::string(v.at("time").as_string()))->time_since_epoch() >=
            At(2).time_since_epoch()) {
      want.push_back(v.at("seq").to_number<int64_t>());
    }
  }
  std::vector<int64_t> got;
  std::string data;
  ASSERT_TRUE(this->store()
                  .ForEachRecord(f,
                                 [&](const core::HistoryRecord& h) {
                                   got.push_back(h.seq);
                                   if (data.empty() && h.type == "decision") data = h.data;
                                 })
                  .ok());
  EXPECT_EQ(got, want);
  EXPECT_NE(data.find("\"tool\":\"deploy\""), std::string::npos) << data;
  std::atomic<bool> stop{true};
  core::HistoryFilter stopped;
  stopped.stop = &stop;
  // A read told to stop ends early (the SQLite reader looks every 1024 rows: a log this
  // small may finish first, which is also correct).
  Status s = this->store().ForEachRecord(stopped, [](const core::HistoryRecord&) {});
  EXPECT_TRUE(s.ok() || s.error().kind == ErrorKind::kUnavailable);
}

// Tests call-row retention on every backend: calls older than the cutoff go, newer ones
// and a call whose approval is still pending stay; decided approvals before the cutoff go.
TYPED_TEST(StoreReadContract, PruneCallsKeepsPendingApprovalsAndNewerCalls) {
  ASSERT_NE(this->backend_.store, nullptr);
  const std::string run = this->NewRun("a");
  Result<CallRecord> old_call =
      this->Decide(run, Verdict::kAllow, "a", 1, 0, false, "deploy", T0());
  Result<CallRecord> pending =
      this->Decide(run, Verdict::kApprovalRequired, "a", 1, 3600, false, "deploy", T0());
  Result<CallRecord> fresh =
      this->Decide(run, Verdict::kAllow, "a", 1, 0, false, "deploy", At(7200));
  ASSERT_TRUE(old_call.ok() && pending.ok() && fresh.ok());
  Result<int64_t> n = this->store().PruneCalls(At(3600), 100);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(this->store().GetCall(old_call->call_id).error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(this->store().GetCall(pending->call_id).ok());
  EXPECT_TRUE(this->store().GetCall(fresh->call_id).ok());
  EXPECT_TRUE(this->store().GetApproval(core::ApprovalIdForCall(pending->call_id)).ok());
}

// Tests that call-row retention takes the chat messages of the approvals it prunes with
// them (the table grew without end before), and keeps those of a pending approval.
TYPED_TEST(StoreReadContract, PruneCallsTakesTheChatMessagesOfPrunedApprovals) {
  ASSERT_NE(this->backend_.store, nullptr);
  const std::string run = this->NewRun("a");
  Result<CallRecord> decided =
      this->Decide(run, Verdict::kApprovalRequired, "a", 1, 3600, false, "deploy", T0());
  Result<CallRecord> pending =
      this->Decide(run, Verdict::kApprovalRequired, "a", 1, 3600, false, "migrate", T0());
  ASSERT_TRUE(decided.ok() && pending.ok());
  const std::string decided_id = core::ApprovalIdForCall(decided->call_id);
  const std::string pending_id = core::ApprovalIdForCall(pending->call_id);
  ASSERT_TRUE(this->Vote(decided_id, "rita", false).ok());
  core::Store& s = this->store();
  ASSERT_TRUE(s.PutApprovalMessage({decided_id, "slack", "C1", "1.1", true, At(2)}, false).ok());
  ASSERT_TRUE(s.PutApprovalMessage({pending_id, "slack", "C1", "1.2", false, At(2)}, false).ok());
  Result<int64_t> n = s.PruneCalls(At(3600), 100);
  ASSERT_TRUE(n.ok()) << n.error().message;
  Result<std::optional<core::ApprovalMessage>> gone = s.GetApprovalMessage(decided_id, "slack");
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_FALSE(gone->has_value());
  Result<std::optional<core::ApprovalMessage>> kept = s.GetApprovalMessage(pending_id, "slack");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->ts, "1.2");
}

// --- the audit chain's checkpoints, anchors, tail check and retention (issue 14) ---------
// The same rules (audit/checkpoint.h, tail.h, retention.h) over every backend: the
// checkpoints live in a file (SQLite) or in the database's table plus the file
// (PostgreSQL, store/postgres_audit.h).

template <class B>
class AuditChainContract : public StoreContract<B> {
 protected:
  void SetUp() override {
    ASSERT_NE(this->backend_.store, nullptr);
    keys_.emplace(audit::LoadOrCreateAuditKeys(this->dir_.File("keys")).value());
    this->backend_.anchoring.key = &keys_->signing_key;
    this->backend_.anchoring.file = this->dir_.File("checkpoints.jsonl");
    this->backend_.Reopen();
  }

  // A run with `calls` allowed calls (two records each), made at `at`.
  void Traffic(int calls, TimePoint at = T0()) {
    Result<core::RunInfo> run = this->store().CreateRun("a", "", at);
    ASSERT_TRUE(run.ok());
    for (int i = 0; i < calls; ++i) {
      ASSERT_TRUE(this->Decide(run->run_id, Verdict::kAllow, "a", 1, 0, false, "deploy", at).ok());
    }
  }

  int64_t Head() { return this->store().LastSeq().value(); }

  std::vector<audit::Checkpoint> Checkpoints() {
    return this->backend_.Checkpoints()->List().value();
  }

  Result<audit::VerifyReport> Verify(bool deep = false) {
    // As `audit verify --pubkey`: the backend's own checkpoints and the file's.
    std::unique_ptr<audit::RecordSource> source = this->backend_.Source();
    std::vector<audit::Checkpoint> cps = source->StoredCheckpoints().value();
    if (Result<std::vector<audit::Checkpoint>> file =
            audit::ReadCheckpoints(this->backend_.anchoring.file);
        file.ok()) {
      cps.insert(cps.end(), file->begin(), file->end());
    }
    audit::VerifyOptions o;
    o.deep = deep;
    o.checkpoints = cps;
    o.public_key = &keys_->public_key;
    return audit::VerifyAuditLog(*source, o);
  }

  Result<audit::TailReport> Tail() {
    std::vector<audit::Checkpoint> cps = Checkpoints();
    return audit::CheckAuditTail(*this->backend_.Source(),
                                 {.checkpoints = cps, .public_key = &keys_->public_key});
  }

  // Deletes the records after `keep` and rewinds every head row onto it: what someone who
  // can write the database does to hide the tail.
  void CutTailAndRewindHead(int64_t keep) {
    const std::string k = std::to_string(keep);
    this->backend_.Sql("DELETE FROM audit_log WHERE seq > " + k + "; UPDATE audit_head SET seq = " +
                       k + ", hash = (SELECT hash FROM audit_log WHERE seq = " + k +
                       ") WHERE id = 1;" + this->backend_.RewindRunHeads(keep));
  }

  std::optional<audit::AuditKeys> keys_;
};

using AuditChainBackends = ::testing::Types<SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(AuditChainContract, AuditChainBackends);

// Tests that a signed checkpoint of the head catches a tail cut together with its head
// rows, in verify and in the tail check, where the head rows alone see nothing.
// Tests that records whose texts hold what every encoding on the way must carry exactly
// (quotes, a backslash, an apostrophe, non-ASCII, a line separator, an empty string) are
// stored byte for byte: the chain verifies and the search reads the tool back as written.
// (PostgreSQL receives the records as binary array parameters; SQLite as bound text.)
TYPED_TEST(AuditChainContract, RecordsWithQuotesBackslashesAndUnicodeVerifyExactly) {
  const std::string tool = "d\xc3\xa9\"p\\l'oy \xe2\x9c\x93\xe2\x80\xa8{}[],";
  Result<core::RunInfo> run = this->store().CreateRun("a", "", T0());
  ASSERT_TRUE(run.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(this->Decide(run->run_id, Verdict::kAllow, "a", 1, 0, false, tool).ok());
  }
  ASSERT_TRUE(this->Decide(run->run_id, Verdict::kAllow, "a", 1, 0, false, "").ok());
  Result<audit::VerifyReport> v = this->Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->head_seq, this->Head());
  std::vector<boost::json::object> decisions = this->Audit(audit::kDecision);
  ASSERT_EQ(decisions.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(decisions[i].at("data").at("tool").as_string(), tool);
  }
}

// Tests that the records of a call with kDeepArguments pass the deep verify (which once
// called them too deep: a false alarm of tampering) and replay with the arguments exact.
TYPED_TEST(AuditChainContract, DeepArgumentsVerifyDeeplyAndReplayExactly) {
  Result<core::RunInfo> run = this->store().CreateRun("a", "", T0());
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(this->DecideWithArgs(run->run_id, kDeepArguments).ok());
  Result<audit::VerifyReport> v = this->Verify(/*deep=*/true);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->ok) << audit::VerifySummary(*v);
  Result<boost::json::object> r = this->store().ReplayRun(run->run_id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const boost::json::array& calls = r->at("calls").as_array();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(CanonicalJson(calls[0].at("args")), CanonicalJson(*ParseJsonStrict(kDeepArguments)));
}

TYPED_TEST(AuditChainContract, CutTailAndRewoundHeadIsCaughtByTheCheckpoint) {
  this->Traffic(5);
  Result<audit::Checkpoint> cp =
      audit::WriteCheckpointNow(*this->backend_.Checkpoints(), this->keys_->signing_key, At(10));
  ASSERT_TRUE(cp.ok()) << cp.error().message;
  const int64_t head = this->Head();
  EXPECT_EQ(cp->seq, head);
  ASSERT_TRUE(this->Verify()->ok) << audit::VerifySummary(*this->Verify());
  ASSERT_TRUE(this->Tail()->ok) << this->Tail()->problem;

  this->CutTailAndRewindHead(head - 3);
  Result<audit::VerifyReport> v = this->Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->bad_seq, head - 2) << audit::VerifySummary(*v);
  Result<audit::TailReport> t = this->Tail();
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->ok);
  EXPECT_EQ(t->bad_seq, head - 2);
  EXPECT_NE(t->problem.find("truncated from the tail"), std::string::npos) << t->problem;
}

// Tests that a record rewritten under a checkpoint (body and hash recomputed, so the chain
// itself is consistent from there on) is caught by the tail check.
TYPED_TEST(AuditChainContract, RewrittenRecordUnderACheckpointIsCaught) {
  this->Traffic(3);
  ASSERT_TRUE(
      audit::WriteCheckpointNow(*this->backend_.Checkpoints(), this->keys_->signing_key, At(10))
          .ok());
  const int64_t head = this->Head();
  this->backend_.Sql("UPDATE audit_log SET hash = '" + std::string(64, 'b') +
                     "' WHERE seq = " + std::to_string(head) + "; UPDATE audit_head SET hash = '" +
                     std::string(64, 'b') + "' WHERE id = 1;");
  Result<audit::TailReport> t = this->Tail();
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->ok);
  EXPECT_NE(t->problem.find("rewritten after the checkpoint"), std::string::npos) << t->problem;
}

// Tests that a kill switch, a token and a policy load are each anchored by a signed
// checkpoint of their own record, kept where the audit tools read it.
TYPED_TEST(AuditChainContract, SecurityRecordsAreAnchored) {
  this->Traffic(1);
  core::KillEntry kill{"global", "", true, "incident", "ops", At(1)};
  ASSERT_TRUE(this->store().SetKill(kill).ok());
  const int64_t kill_seq = this->Head();
  ASSERT_TRUE(this->store().CreateToken(Role::kAdmin, "ada", "", At(2)).ok());
  const int64_t token_seq = this->Head();
  core::PolicyLoad load;
  load.sha256 = std::string(64, 'c');
  load.why = "start";
  load.principal = "daemon";
  load.at = At(3);
  ASSERT_TRUE(this->store().RecordPolicyLoad(load).ok());
  const int64_t policy_seq = this->Head();
  std::set<int64_t> anchored;
  for (const audit::Checkpoint& cp : this->Checkpoints()) {
    EXPECT_TRUE(audit::VerifyCheckpoint(this->keys_->public_key, cp));
    anchored.insert(cp.seq);
  }
  EXPECT_TRUE(anchored.contains(kill_seq));
  EXPECT_TRUE(anchored.contains(token_seq));
  EXPECT_TRUE(anchored.contains(policy_seq));
  Result<audit::VerifyReport> v = this->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << audit::VerifySummary(*v);
  EXPECT_GE(v->checkpoints_verified, 3);
}

// Tests that a token is never created when its anchor cannot be written (it would widen
// access unanchored), while an engaged kill switch commits anyway (never held up).
TYPED_TEST(AuditChainContract, FailedAnchorRefusesATokenButNeverAnEngagement) {
  this->backend_.anchoring.fail = true;
  this->backend_.Reopen();
  const int64_t before = this->Head();
  Result<std::string> token = this->store().CreateToken(Role::kAdmin, "ada", "", At(2));
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().message.find("anchored"), std::string::npos) << token.error().message;
  EXPECT_EQ(this->Head(), before);
  EXPECT_TRUE(this->store().ListTokens()->empty());
  core::KillEntry kill{"global", "", true, "incident", "ops", At(1)};
  ASSERT_TRUE(this->store().SetKill(kill).ok());
  EXPECT_EQ(this->store().ListKills()->size(), 1u);
}

// Tests that a prune deletes the records older than the retention in chunks, each after
// its signed anchor, and leaves a log that verifies (anchored) and passes the tail check.
TYPED_TEST(AuditChainContract, PruneKeepsTheChainVerifiable) {
  this->Traffic(6, T0());  // old
  const int64_t old = this->Head();
  this->Traffic(2, T0() + std::chrono::hours(24 * 30));  // recent
  const int64_t head = this->Head();
  audit::PruneOptions o;
  o.days = 7;
  o.now = T0() + std::chrono::hours(24 * 31);
  o.checkpoint_file = this->backend_.anchoring.file;
  o.chunk_records = 4;
  std::unique_ptr<audit::PruneTarget> target = this->backend_.PruneTarget();
  Result<audit::PruneReport> r =
      audit::PruneAuditLog(*target, *this->backend_.Checkpoints(), this->keys_->signing_key, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first_kept_seq, old + 1);
  EXPECT_EQ(r->deleted, old);
  EXPECT_EQ(r->chunks, (old + 3) / 4);
  EXPECT_EQ(r->anchor.seq, old);
  target.reset();
  Result<audit::VerifyReport> v = this->Verify();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->ok) << audit::VerifySummary(*v);
  EXPECT_TRUE(v->anchored);
  EXPECT_EQ(v->first_seq, old + 1);
  EXPECT_EQ(v->head_seq, head);
  Result<audit::TailReport> t = this->Tail();
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->ok) << t->problem;
  // Decisions go on after a prune, on the same chain.
  this->Traffic(1, T0() + std::chrono::hours(24 * 31));
  EXPECT_TRUE(this->Verify()->ok);
}

// Tests that a log that fails verification is never pruned (a tampered record is neither
// anchored nor destroyed).
TYPED_TEST(AuditChainContract, TamperedLogIsNotPruned) {
  this->Traffic(4, T0());
  this->Traffic(1, T0() + std::chrono::hours(24 * 30));
  this->backend_.Sql(TypeParam::EditRecord(3, "'deploy'", "'deplox'"));
  audit::PruneOptions o;
  o.days = 7;
  o.now = T0() + std::chrono::hours(24 * 31);
  o.checkpoint_file = this->backend_.anchoring.file;
  std::unique_ptr<audit::PruneTarget> target = this->backend_.PruneTarget();
  Result<audit::PruneReport> r =
      audit::PruneAuditLog(*target, *this->backend_.Checkpoints(), this->keys_->signing_key, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("fails verification"), std::string::npos) << r.error().message;
  EXPECT_EQ(this->Checkpoints().size(), 0u);
}

// Tests that one process of a fleet prunes at a time: while one holds the prune lock,
// another is told so (kAlreadyExists) and deletes nothing; once it is done, the next may.
TEST(PostgresPruneLock, OnlyOnePrunerAtATime) {
  TempDir dir;
  PostgresBackend pg(dir);
  ASSERT_NE(pg.store, nullptr);
  std::unique_ptr<audit::PruneTarget> first = pg.PruneTarget();
  Result<std::unique_ptr<audit::PruneTarget>> second = store::OpenPostgresPruneTarget(pg.uri);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_NE(second.error().message.find("another process"), std::string::npos);
  first.reset();
  EXPECT_TRUE(store::OpenPostgresPruneTarget(pg.uri).ok());
}

// --- operator records and MCP tool pins -------------------------------------------------

// Tests that an operator record (an incident) joins the one audit chain after the
// decisions, and that the call's decision record is found by call id (kNotFound for an
// unknown call).
TYPED_TEST(StoreContract, OperatorRecordsJoinTheChainAndDecisionsAreFoundByCall) {
  const std::string run = this->NewRun("a");
  Result<CallRecord> call = this->Decide(run, Verdict::kAllow);
  ASSERT_TRUE(call.ok()) << call.error().message;
  Result<core::CallAuditRecord> d = this->store().FindCallRecord(audit::kDecision, call->call_id);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->run_id, run);
  EXPECT_EQ(d->agent_id, "a");
  EXPECT_NE(d->body.find("\"tool\":\"deploy\""), std::string::npos) << d->body;
  EXPECT_EQ(this->store().FindCallRecord(audit::kDecision, "call_nope").error().kind,
            ErrorKind::kNotFound);
  std::vector<audit::AuditEvent> events;
  events.push_back(audit::AuditEvent{audit::kIncident, At(5), run, call->call_id, "a", "rita",
                                     boost::json::object{{"reason", "wrong customer"}}});
  ASSERT_TRUE(this->store().AppendRecords(std::move(events)).ok());
  std::vector<boost::json::object> incidents = this->Audit(audit::kIncident);
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].at("principal"), "rita");
  EXPECT_GT(incidents[0].at("seq").to_number<int64_t>(), d->seq);
  // The record's prev is the hash of the record before it: one chain.
  audit::AuditQuery q;
  q.limit = audit::kMaxAuditQueryLimit;
  Result<boost::json::array> all = this->store().QueryAudit(q);
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->size(), 2u);
  const boost::json::object& last = all->back().as_object();
  const boost::json::object& before = (*all)[all->size() - 2].as_object();
  EXPECT_EQ(last.at("type"), "incident");
  EXPECT_EQ(last.at("prev"), before.at("hash"));
}

core::PinRow Pin(const std::string& agent, const std::string& tool, const std::string& sha,
                 const std::string& changed = "") {
  core::PinRow r{agent,   tool, sha, "2026-11-24T00:00:00Z", "{\"name\":\"" + tool + "\"}",
                 changed, "",   ""};
  if (!changed.empty()) {
    r.changed_at = "2026-11-24T01:00:00Z";
    r.changed_definition = "{\"name\":\"" + tool + "\",\"description\":\"new\"}";
  }
  return r;
}

bool SameRow(const core::PinRow& a, const core::PinRow& b) {
  return a.agent_id == b.agent_id && a.tool == b.tool && a.sha256 == b.sha256 &&
         a.first_seen == b.first_seen && a.definition == b.definition &&
         a.changed_sha256 == b.changed_sha256 && a.changed_at == b.changed_at &&
         a.changed_definition == b.changed_definition;
}

// Tests the pin rows on every backend: an update writes its rows and its audit records
// together, rows read back exactly (an empty changed_* stays empty), Get is exact, and
// List is ordered by agent and tool.
TYPED_TEST(StoreContract, PinRowsUpdateWritesRowsAndRecordsTogether) {
  Result<std::unique_ptr<core::PinRows>> pins = this->store().OpenPinRows();
  ASSERT_TRUE(pins.ok()) << pins.error().message;
  const core::PinRow b = Pin("b", "notes", "h1"), a = Pin("a", "notes", "h2", "h3");
  ASSERT_TRUE((*pins)
                  ->Update(core::PinSelect{"b", "notes", false},
                           [&](const std::vector<core::PinRow>& rows) -> Result<core::PinWrite> {
                             EXPECT_TRUE(rows.empty());
                             core::PinWrite w;
                             w.rows = {b, a};
                             w.events.push_back(
                                 audit::AuditEvent{"pin_accepted", At(1), "", "", "b", "ops",
                                                   boost::json::object{{"tool", "notes"}}});
                             return w;
                           })
                  .ok());
  Result<std::optional<core::PinRow>> got = (*pins)->Get("b", "notes");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(SameRow(**got, b));
  EXPECT_FALSE((*pins)->Get("b", "other").value().has_value());
  EXPECT_FALSE((*pins)->Get("", "notes").value().has_value());
  Result<std::vector<core::PinRow>> all = (*pins)->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE(SameRow((*all)[0], a));
  EXPECT_TRUE(SameRow((*all)[1], b));
  EXPECT_EQ(this->Audit("pin_accepted").size(), 1u);
}

// Tests that a transaction function that fails writes nothing (no row, no record) and its
// error is returned, on every backend.
TYPED_TEST(StoreContract, PinRowsFailedFunctionWritesNothing) {
  Result<std::unique_ptr<core::PinRows>> pins = this->store().OpenPinRows();
  ASSERT_TRUE(pins.ok()) << pins.error().message;
  Status s = (*pins)->Update(core::PinSelect{"a", "notes", false},
                             [](const std::vector<core::PinRow>&) -> Result<core::PinWrite> {
                               return Error::Invalid("refused by the rule");
                             });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_TRUE((*pins)->List().value().empty());
  EXPECT_TRUE(this->Audit("pin_accepted").empty());
}

// Tests that a selection of changed rows hands the function only the rows with a changed
// definition pending, of the named tool (every agent), and that the rows it rewrites
// replace them.
TYPED_TEST(StoreContract, PinRowsSelectChangedRowsOfATool) {
  Result<std::unique_ptr<core::PinRows>> pins = this->store().OpenPinRows();
  ASSERT_TRUE(pins.ok()) << pins.error().message;
  ASSERT_TRUE((*pins)
                  ->Update(core::PinSelect{},
                           [](const std::vector<core::PinRow>&) -> Result<core::PinWrite> {
                             core::PinWrite w;
                             w.rows = {Pin("a", "notes", "h1", "h2"), Pin("b", "notes", "h1"),
                                       Pin("c", "notes", "h1", "h4"), Pin("a", "mail", "h5", "h6")};
                             return w;
                           })
                  .ok());
  std::vector<std::string> seen;
  ASSERT_TRUE((*pins)
                  ->Update(core::PinSelect{"", "notes", true},
                           [&](const std::vector<core::PinRow>& rows) -> Result<core::PinWrite> {
                             seen.clear();
                             core::PinWrite w;
                             for (core::PinRow r : rows) {
                               seen.push_back(r.agent_id + "/" + r.tool);
                               r.sha256 = r.changed_sha256;
                               r.changed_sha256.clear();
                               r.changed_at.clear();
                               r.changed_definition.clear();
                               w.rows.push_back(std::move(r));
                             }
                             return w;
                           })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/notes", "c/notes"}));
  EXPECT_EQ((*pins)->Get("a", "notes").value()->sha256, "h2");
  EXPECT_EQ((*pins)->Get("a", "notes").value()->changed_sha256, "");
  EXPECT_EQ((*pins)->Get("c", "notes").value()->sha256, "h4");
  EXPECT_EQ((*pins)->Get("a", "mail").value()->changed_sha256, "h6");
}

}  // namespace store_contract_test
}  // namespace interlock
