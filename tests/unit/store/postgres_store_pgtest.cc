// PostgresStore beyond the RunStore contract (run_store_contract_test.cc): migrations,
// several stores (daemons) on one database, the audit chain, and failing closed while the
// database is away. A private cluster per test binary (tests/support/pg_cluster.h).
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/verify.h"
#include "pg_cluster.h"
#include "run_store_backends.h"
#include "store/postgres_audit.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"
#include "wait.h"

namespace interlock::store {
namespace INTERLOCK_TEST_NS {

using core::CallRecord;
using core::DecideRequest;
using testing::WaitUntil;

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }

// The audit log's rows as stored (every column, both stored forms), as one fingerprint
// and their count: "md5|count".
constexpr const char* kAuditRowsFingerprint =
    "SELECT md5(string_agg(a::text, E'\\n' ORDER BY seq)), count(*) FROM audit_log a";

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    uri_ = testing::PgTestEnvironment::Instance()->NewDatabase(&error, &cluster_);
    ASSERT_FALSE(uri_.empty()) << error;
    db_ = uri_.substr(uri_.rfind('/') + 1);
  }

  std::unique_ptr<PostgresStore> Open() {
    PostgresOptions o;
    o.uri = uri_;
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Open() with run r1 of "agent" and `decisions` allowed decisions in it: 1 + decisions
  // records. nullptr (the failure reported) when a step fails.
  std::unique_ptr<PostgresStore> OpenWithDecisions(int decisions) {
    std::unique_ptr<PostgresStore> s = Open();
    if (!s) return nullptr;
    if (Result<core::RunInfo> run = s->CreateRun("agent", "r1", T0()); !run.ok()) {
      ADD_FAILURE() << run.error().message;
      return nullptr;
    }
    for (int i = 0; i < decisions; ++i) {
      if (Result<CallRecord> r = s->Decide(Request("r1", "agent"), Allow); !r.ok()) {
        ADD_FAILURE() << r.error().message;
        return nullptr;
      }
    }
    return s;
  }

  std::string Sql(const std::string& sql) {
    std::string error;
    std::string out = cluster_->Psql(db_, sql, &error);
    EXPECT_EQ(error, "");
    return out;
  }

  // The audit chain as stored, recomputed record by record: seqs 1..n in order, each
  // prev_hash the previous hash, each hash that of its body (as audit_records gives it,
  // whichever form the row is stored in). The bodies in seq order (read
  // hex-encoded: they may hold newlines); *head: the last hash.
  std::vector<std::string> CheckChain(std::string* head) {
    const std::string rows =
        Sql("SELECT seq, prev_hash, hash, encode(convert_to(body, 'UTF8'), 'hex')"
            " FROM audit_records ORDER BY seq");
    std::istringstream in(rows);
    std::string line;
    std::vector<std::string> bodies;
    std::string prev(audit::kGenesisHash);
    while (std::getline(in, line)) {
      const size_t p1 = line.find('|'), p2 = line.find('|', p1 + 1), p3 = line.find('|', p2 + 1);
      EXPECT_NE(p3, std::string::npos) << line;
      if (p3 == std::string::npos) break;
      EXPECT_EQ(std::stoll(line.substr(0, p1)), static_cast<int64_t>(bodies.size() + 1));
      EXPECT_EQ(line.substr(p1 + 1, p2 - p1 - 1), prev);
      const std::string hex = line.substr(p3 + 1);
      std::string body;
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        body.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      }
      const std::string hash = line.substr(p2 + 1, p3 - p2 - 1);
      EXPECT_EQ(audit::AuditRecordHash(prev, body), hash) << "seq " << bodies.size() + 1;
      prev = hash;
      bodies.push_back(std::move(body));
    }
    *head = prev;
    return bodies;
  }

  static DecideRequest Request(const std::string& run_id, const std::string& agent) {
    DecideRequest rq;
    rq.run_id = run_id;
    rq.agent_id = agent;
    rq.principal = agent;
    rq.policy_sha256 = "sha";
    rq.now = T0();
    rq.call.tool = "read";
    return rq;
  }

  static engine::Evaluation Allow(const ToolCall& call, const RunState&,
                                  const std::optional<engine::KillSwitch>& kill,
                                  const std::optional<engine::AgentUsage>&) {
    engine::Evaluation ev;
    if (kill) {
      ev.decision = DenyDecision(Code::kKillSwitch, kill->reason);
      return ev;
    }
    ev.decision.verdict = Verdict::kAllow;
    ev.decision.code = Code::kAllowed;
    ev.decision.tool = call.tool;
    return ev;
  }

  // A private primary (WAL senders on: standbys can stream, synchronous_standby_names
  // takes effect) with a fresh database, which the fixture's Open() and Sql() then use.
  void StartPrimary(std::unique_ptr<testing::PgCluster>* primary) {
    testing::PgCluster::Options options;
    options.replication = true;
    std::string error;
    *primary = testing::PgCluster::Start(options, &error);
    ASSERT_NE(*primary, nullptr) << error;
    uri_ = (*primary)->NewDatabase(&error);
    ASSERT_FALSE(uri_.empty()) << error;
    cluster_ = primary->get();
    db_ = uri_.substr(uri_.rfind('/') + 1);
  }

  // A private primary (WAL senders on) with a database, an open store, run r1 and one
  // allowed call; then synchronous_standby_names names a standby that does not exist, so
  // every COMMIT from now on waits (checked with a probe whose wait is cancelled).
  void StartWaitingForAnAbsentStandby(std::unique_ptr<testing::PgCluster>* primary,
                                      std::unique_ptr<PostgresStore>* s) {
    ASSERT_NO_FATAL_FAILURE(StartPrimary(primary));
    *s = Open();
    ASSERT_TRUE(*s);
    ASSERT_TRUE((*s)->CreateRun("agent", "r1", T0()).ok());
    ASSERT_EQ((*s)->Decide(Request("r1", "agent"), Allow)->decision.verdict, Verdict::kAllow);
    Result<std::unique_ptr<pg::PgConn>> probe = pg::PgConn::Connect(uri_, pg::PgLimits{});
    ASSERT_TRUE(probe.ok()) << probe.error().message;
    ASSERT_TRUE((*probe)->ExecScript("CREATE TABLE probe(i INTEGER)").ok());
    Sql("ALTER SYSTEM SET synchronous_standby_names = 'absent_standby'");
    Sql("SELECT pg_reload_conf()");
    bool committed = true;
    const bool waiting = WaitUntil(  // the reload spreads
        [&] {
          std::string sqlstate;
          committed = (*probe)
                          ->ExecScript("BEGIN; INSERT INTO probe VALUES (1); COMMIT", &sqlstate,
                                       std::chrono::milliseconds(300))
                          .ok();
          return !committed ||
                 (*probe)->TakeWarning().find("synchronous replication") != std::string::npos;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(50));
    ASSERT_TRUE(committed);
    ASSERT_TRUE(waiting) << "COMMIT never waited for the synchronous standby";
  }

  // Cancels the store's COMMIT waiting for the standby (within the store's own 6 s bound).
  void CancelTheStandbyWait() {
    std::string cancelled;
    WaitUntil(
        [&] {
          cancelled =
              Sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                  " WHERE wait_event = 'SyncRep' AND query NOT LIKE '%probe%'");
          return cancelled == "t\n";
        },
        std::chrono::seconds(2));
    ASSERT_EQ(cancelled, "t\n");
  }

  void StopWaitingForTheStandby() {
    Sql("ALTER SYSTEM RESET synchronous_standby_names");
    Sql("SELECT pg_reload_conf()");
  }

  // `audit verify --deep` over the database.
  audit::VerifyReport VerifyDeep() {
    Result<std::unique_ptr<audit::RecordSource>> source = OpenPostgresRecordSource(uri_);
    EXPECT_TRUE(source.ok()) << source.error().message;
    if (!source.ok()) return {};
    audit::VerifyOptions verify;
    verify.deep = true;
    Result<audit::VerifyReport> verified = audit::VerifyAuditLog(**source, verify);
    EXPECT_TRUE(verified.ok()) << verified.error().message;
    return verified.ok() ? *verified : audit::VerifyReport{};
  }

  // `audit verify --deep` passes over exactly `records` records.
  void ExpectVerifies(int64_t records) {
    const audit::VerifyReport verified = VerifyDeep();
    EXPECT_TRUE(verified.ok) << audit::VerifySummary(verified);
    EXPECT_EQ(verified.records, records);
  }

  testing::PgCluster* cluster_ = nullptr;
  std::string uri_;
  std::string db_;
};

// Tests that daemons starting together on an empty database migrate it once: every one
// opens, and the schema is at the binary's version exactly once.
TEST_F(PostgresStoreTest, DaemonsStartingTogetherMigrateOnce) {
  constexpr int kStores = 4;
  std::vector<std::unique_ptr<PostgresStore>> stores(kStores);
  std::vector<std::string> errors(kStores);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStores; ++i) {
    threads.emplace_back([&, i] {
      PostgresOptions o;
      o.uri = uri_;
      Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
      if (s.ok()) {
        stores[i] = std::move(s).value();
      } else {
        errors[i] = s.error().message;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kStores; ++i) EXPECT_NE(stores[i], nullptr) << errors[i];
  EXPECT_EQ(Sql("SELECT version FROM interlock_schema_version"),
            std::to_string(PostgresStore::kSchemaVersion) + "\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_head"), "1\n");
}

// Tests that an older binary refuses a database a newer one migrated, with a message
// that says so, instead of writing rows it does not understand.
TEST_F(PostgresStoreTest, NewerSchemaIsRefusedWithAClearMessage) {
  ASSERT_NE(Open(), nullptr);
  Sql("UPDATE interlock_schema_version SET version = 99");
  PostgresOptions o;
  o.uri = uri_;
  Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(s.error().message.find("schema version 99, newer than this interlock"),
            std::string::npos)
      << s.error().message;
}

// Tests that a record stored in the compact form (its data only; the ids, seq, time, type
// and prev from the row's columns) gives back the body it was hashed over byte for byte at
// the edges of its time range, and that a record the view could not rebuild exactly (an
// envelope string that JSON escapes, a time outside [1970, 2100)) keeps its whole body.
TEST_F(PostgresStoreTest, CompactRecordsGiveBackTheBodyTheyWereHashedOver) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", FromUnixMillis(0)).ok());
  const int64_t compact_ms[] = {0, 999,
                                951'782'400'000,     // 2000-02-29T00:00:00.000Z
                                1'709'251'199'999,   // 2024-02-29T23:59:59.999Z
                                4'102'444'799'999};  // 2099-12-31T23:59:59.999Z
  for (int64_t ms : compact_ms) {
    DecideRequest rq = Request("r1", "agent");
    rq.now = FromUnixMillis(ms);
    ASSERT_TRUE(s->Decide(rq, Allow).ok());
  }
  for (int64_t ms : {int64_t{-1}, int64_t{4'102'444'800'000}}) {  // 1969, 2100
    DecideRequest rq = Request("r1", "agent");
    rq.now = FromUnixMillis(ms);
    ASSERT_TRUE(s->Decide(rq, Allow).ok());
  }
  DecideRequest quoted = Request("r1", "agent");
  quoted.principal = "a \"quoted\" principal";
  ASSERT_TRUE(s->Decide(quoted, Allow).ok());
  std::string head;
  const std::vector<std::string> bodies = CheckChain(&head);
  ASSERT_EQ(bodies.size(), 1u + 5 + 2 + 1);
  EXPECT_NE(bodies[5].find("\"time\":\"2099-12-31T23:59:59.999Z\""), std::string::npos)
      << bodies[5];
  // run_started and the five in range compact; the three others whole.
  EXPECT_EQ(Sql("SELECT seq FROM audit_log WHERE body IS NULL AND data IS NOT NULL ORDER BY seq"),
            "1\n2\n3\n4\n5\n6\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_log WHERE body IS NOT NULL AND data IS NULL"), "3\n");
  ExpectVerifies(9);
}

// Tests that an edit of a compact record's stored data, or of a column its body is rebuilt
// from, breaks the chain at that record (the attack: rewrite a decision where the body is
// no longer stored whole).
TEST_F(PostgresStoreTest, EditedCompactRecordBreaksTheChain) {
  std::unique_ptr<PostgresStore> s = OpenWithDecisions(3);
  ASSERT_TRUE(s);
  ASSERT_EQ(Sql("SELECT count(*) FROM audit_log WHERE body IS NULL"), "4\n");
  ASSERT_TRUE(VerifyDeep().ok);
  const struct {
    const char* edit;
    const char* undo;
  } edits[] = {
      {"UPDATE audit_log SET data = replace(data, '\"allow\"', '\"deny\"') WHERE seq = 2",
       "UPDATE audit_log SET data = replace(data, '\"deny\"', '\"allow\"') WHERE seq = 2"},
      {"UPDATE audit_log SET principal = 'mallory' WHERE seq = 2",
       "UPDATE audit_log SET principal = 'agent' WHERE seq = 2"},
      {"UPDATE audit_log SET time_ms = time_ms + 1 WHERE seq = 2",
       "UPDATE audit_log SET time_ms = time_ms - 1 WHERE seq = 2"},
      {"UPDATE audit_log SET type = 'result' WHERE seq = 2",
       "UPDATE audit_log SET type = 'decision' WHERE seq = 2"},
  };
  for (const auto& e : edits) {
    SCOPED_TRACE(e.edit);
    Sql(e.edit);
    const audit::VerifyReport edited = VerifyDeep();
    EXPECT_FALSE(edited.ok);
    EXPECT_EQ(edited.bad_seq, 2) << audit::VerifySummary(edited);
    Sql(e.undo);
    EXPECT_TRUE(VerifyDeep().ok);
  }
}

// Tests that a database written before the compact form (schema 8: every body whole)
// migrates in place, and that its old records and the compact ones appended after them
// verify as one chain, read back through replay.
TEST_F(PostgresStoreTest, StoreWrittenBeforeTheCompactFormMigratesAndVerifies) {
  ASSERT_TRUE(OpenWithDecisions(3));
  // Back to schema 8 as that version wrote it: the whole body in every row, the
  // arguments and decision in every call row, the audit log logged and without batches.
  Sql(std::string(
          "DROP TRIGGER audit_log_needs_batches ON audit_log;"
          "DROP FUNCTION interlock_audit_log_guard(), interlock_rebuild_audit_log(bigint, bigint);"
          "DROP TABLE audit_log_built, audit_batches; ALTER TABLE audit_log SET LOGGED;"
          "UPDATE calls c SET args_json = ") +
      internal::kPgCallArgsJson + ", decision_json = " + internal::kPgCallDecisionJson +
      ", policy_sha256 = " + internal::kPgCallPolicySha256 +
      ";"
      "ALTER TABLE calls DROP COLUMN decision_seq, DROP COLUMN args_len,"
      " DROP COLUMN decision_len, ALTER COLUMN args_json SET NOT NULL,"
      " ALTER COLUMN decision_json SET NOT NULL, ALTER COLUMN policy_sha256 SET NOT NULL;"
      "UPDATE audit_log a SET body = r.body, data = NULL FROM audit_records r"
      " WHERE r.seq = a.seq;"
      "DROP VIEW audit_records; ALTER TABLE audit_log DROP COLUMN data;"
      "ALTER TABLE audit_log ALTER COLUMN body SET NOT NULL;"
      "ALTER TABLE tokens DROP COLUMN workspace_roots;"
      "DROP INDEX runs_parent; ALTER TABLE runs DROP COLUMN parent_run_id, DROP COLUMN role,"
      " DROP COLUMN depth;"
      "DROP TABLE approval_messages;"
      "UPDATE interlock_schema_version SET version = 8");
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(Sql("SELECT version FROM interlock_schema_version"),
            std::to_string(PostgresStore::kSchemaVersion) + "\n");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->Decide(Request("r1", "agent"), Allow).ok());
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE body IS NULL), count(*) FROM audit_log"), "3|7\n");
  std::string head;
  EXPECT_EQ(CheckChain(&head).size(), 7u);
  ExpectVerifies(7);
  Result<boost::json::object> replay = s->ReplayRun("r1");
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  EXPECT_EQ(replay->at("calls").as_array().size(), 6u);
  EXPECT_EQ(replay->at("totals").at("steps"), 6);
  // Old call rows keep their copies, new ones refer to their records; all read back.
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE args_json IS NULL), count(*) FROM calls"), "3|6\n");
  Result<std::vector<core::CallSummary>> calls = s->ListRunCalls("r1", 10);
  ASSERT_TRUE(calls.ok()) << calls.error().message;
  ASSERT_EQ(calls->size(), 6u);
  for (const core::CallSummary& c : *calls) {
    Result<core::StoredCall> got = s->GetCall(c.call_id);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->record.decision.verdict, Verdict::kAllow);
    EXPECT_EQ(got->record.decision.tool, "read");
  }
  // The migrated records are batches too: a crash of the server loses none of them.
  const std::string rows = Sql(kAuditRowsFingerprint);
  s.reset();
  std::string error;
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(Sql(kAuditRowsFingerprint), rows);
  EXPECT_TRUE(VerifyDeep().ok);
}

// Tests that a call row keeps its arguments and decision by reference to its decision
// record, and gives them back byte for byte (multi-byte UTF-8 and escapes included) to
// every reader: the call, the run's call list, a result's check, an approval's decision.
TEST_F(PostgresStoreTest, CallRowsReferToTheirDecisionRecordAndReadBackWhole) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  DecideRequest rq = Request("r1", "agent");
  rq.call.args["path"] = "/d\u00e9j\u00e0/\u2603 \"q\" \\ \n";
  rq.call.args["n"] = 7;
  Result<CallRecord> call = s->Decide(rq, Allow);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(Sql("SELECT args_json IS NULL, decision_json IS NULL, policy_sha256 IS NULL,"
                " decision_seq FROM calls"),
            "t|t|t|2\n");
  Result<core::StoredCall> got = s->GetCall(call->call_id);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->record.call.args, rq.call.args);
  EXPECT_EQ(got->record.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(got->record.decision.tool, "read");
  EXPECT_EQ(got->record.policy_sha256, "sha");
  Result<std::vector<core::CallSummary>> calls = s->ListRunCalls("r1", 10);
  ASSERT_TRUE(calls.ok()) << calls.error().message;
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ((*calls)[0].verdict, "allow");
  core::CallResult res;
  res.output_json = "{\"x\":1}";
  ASSERT_TRUE(s->RecordResult(call->call_id, "agent", "agent", res, T0()).ok());
  EXPECT_EQ(Sql("SELECT result_json IS NOT NULL FROM calls"), "t\n");
  // A caller with a JWT: the identity sits between the decision and the policy's hash in
  // the record, so the row keeps its own copy of the hash (and refers for the rest).
  DecideRequest jwt = Request("r1", "agent");
  jwt.identity.issuer = "https://idp.test";
  jwt.identity.subject = "svc";
  jwt.policy_sha256 = "sha-2";
  Result<CallRecord> second = s->Decide(jwt, Allow);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(Sql("SELECT args_json IS NULL, policy_sha256 FROM calls WHERE call_id = '" +
                second->call_id + "'"),
            "t|sha-2\n");
  Result<core::StoredCall> got2 = s->GetCall(second->call_id);
  ASSERT_TRUE(got2.ok()) << got2.error().message;
  EXPECT_EQ(got2->record.policy_sha256, "sha-2");
}

// Tests that an audit prune gives call rows that refer to the records it deletes their
// texts back first (the attack surface: a retention run making a pending approval's call
// unreadable, which would fail every later read of it closed).
TEST_F(PostgresStoreTest, AuditPruneKeepsTheCallsItsRecordsHeld) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    DecideRequest rq = Request("r1", "agent");
    rq.call.args["i"] = i;
    Result<CallRecord> call = s->Decide(rq, Allow);
    ASSERT_TRUE(call.ok()) << call.error().message;
    ids.push_back(call->call_id);
  }
  ASSERT_EQ(Sql("SELECT count(*) FROM calls WHERE args_json IS NULL"), "4\n");
  Result<std::unique_ptr<audit::PruneTarget>> target = OpenPostgresPruneTarget(uri_);
  ASSERT_TRUE(target.ok()) << target.error().message;
  Result<std::string> anchor = (*target)->RecordHash(3);
  ASSERT_TRUE(anchor.ok()) << anchor.error().message;
  Result<int64_t> deleted = (*target)->DeleteBefore(4, *anchor);  // seqs 1..3: two decisions
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 3);
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE args_json IS NOT NULL AND decision_seq IS NULL),"
                " count(*) FILTER (WHERE args_json IS NULL) FROM calls"),
            "2|2\n");
  for (int i = 0; i < 4; ++i) {
    Result<core::StoredCall> got = s->GetCall(ids[i]);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->record.call.args.at("i"), i);
    EXPECT_EQ(got->record.decision.verdict, Verdict::kAllow);
    EXPECT_EQ(got->record.policy_sha256, "sha");
  }
}

// Tests that two daemons on one database never both spend the last step of a budget.
TEST_F(PostgresStoreTest, TwoDaemonsNeverBothSpendTheLastStep) {
  std::unique_ptr<PostgresStore> a = Open(), b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateRun("agent", "r1", T0()).ok());
  constexpr uint64_t kCap = 40;
  const core::DecideFn capped = testing::AllowFewerStepsThan(kCap);
  std::atomic<int> allowed{0}, answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    PostgresStore* s = t % 2 == 0 ? a.get() : b.get();
    threads.emplace_back([&, s] {
      for (int i = 0; i < 10; ++i) {
        Result<CallRecord> r = s->Decide(Request("r1", "agent"), capped);
        ASSERT_TRUE(r.ok()) << r.error().message;
        ++answered;
        if (r->decision.verdict == Verdict::kAllow) ++allowed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(answered.load(), 160);
  EXPECT_EQ(allowed.load(), static_cast<int>(kCap));
  EXPECT_EQ(b->GetRun("r1")->state.steps, 160u);
}

// Tests that a kill switch engaged through one daemon (or store-direct) denies the very
// next decision on another: switches are read inside every batch transaction.
TEST_F(PostgresStoreTest, KillSwitchFromAnotherDaemonAppliesToTheNextDecision) {
  std::unique_ptr<PostgresStore> a = Open(), b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateRun("agent", "r1", T0()).ok());
  ASSERT_EQ(b->Decide(Request("r1", "agent"), Allow)->decision.verdict, Verdict::kAllow);
  ASSERT_TRUE(a->SetKill(core::KillEntry{"agent", "agent", true, "stop now", "admin", T0()}).ok());
  Result<CallRecord> r = b->Decide(Request("r1", "agent"), Allow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->decision.code, Code::kKillSwitch);
  EXPECT_EQ(r->decision.reason, "stop now");
  ASSERT_TRUE(a->SetKill(core::KillEntry{"agent", "agent", false, "", "admin", T0()}).ok());
  EXPECT_EQ(b->Decide(Request("r1", "agent"), Allow)->decision.verdict, Verdict::kAllow);
  Result<std::vector<core::KillEntry>> kills = b->ListKills();
  ASSERT_TRUE(kills.ok());
  ASSERT_EQ(kills->size(), 1u);
  EXPECT_FALSE((*kills)[0].engaged);
}

// Tests that the records two daemons write form one hash chain: consecutive seqs, each
// record's prev_hash the previous record's hash, each hash recomputed from its body, and
// the head row naming the last record. (The full verifier over PostgreSQL is issue 14,
// section 3.)
TEST_F(PostgresStoreTest, TwoDaemonsWriteOneAuditChain) {
  std::unique_ptr<PostgresStore> a = Open(), b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateRun("agent", "r1", T0()).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    PostgresStore* s = t % 2 == 0 ? a.get() : b.get();
    threads.emplace_back([s] {
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(s->Decide(Request("r1", "agent"), Allow).ok());
    });
  }
  for (std::thread& t : threads) t.join();
  std::string head;
  const std::vector<std::string> bodies = CheckChain(&head);
  EXPECT_EQ(bodies.size(), 1u + 80);  // run_started and 80 decisions
  EXPECT_EQ(Sql("SELECT seq, hash FROM audit_head"),
            std::to_string(bodies.size()) + "|" + head + "\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM calls"), "80\n");
}

// Tests that texts with the characters of SQL and array literals (quotes, backslashes,
// braces, commas, "NULL", whitespace, non-ASCII) are recorded byte for byte in the runs,
// calls and audit rows a batch writes as SQL text, and that the chain over them verifies.
TEST_F(PostgresStoreTest, TextsWithLiteralMetacharactersAreRecordedByteForByte) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  const std::string nasty = "a'b\"c\\d{e,f}g NULL \t\n h\xc3\xa9 '' \\\" {} ,";
  ASSERT_TRUE(s->CreateRun(nasty, "r'1\"", T0()).ok());
  std::vector<std::promise<Result<CallRecord>>> done(4);
  for (int i = 0; i < 4; ++i) {
    DecideRequest rq = Request("r'1\"", nasty);
    rq.principal = "NULL";
    rq.call.tool = nasty + std::to_string(i);
    rq.call.args[nasty] = nasty;
    rq.call.args["n"] = "NULL";
    rq.call.args["e"] = "";
    s->DecideAsync(rq, Allow,
                   [&done, i](Result<CallRecord> r) { done[i].set_value(std::move(r)); });
  }
  for (int i = 0; i < 4; ++i) {
    Result<CallRecord> r = done[i].get_future().get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    Result<core::StoredCall> got = s->GetCall(r->call_id);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->record.run_id, "r'1\"");
    EXPECT_EQ(got->record.agent_id, nasty);
    EXPECT_EQ(got->record.principal, "NULL");
    EXPECT_EQ(got->record.call.tool, nasty + std::to_string(i));
    EXPECT_EQ(got->record.call.args.at(nasty).as_string(), nasty);
    EXPECT_EQ(got->record.call.args.at("n").as_string(), "NULL");
    EXPECT_EQ(got->record.call.args.at("e").as_string(), "");
  }
  Result<core::RunInfo> run = s->GetRun("r'1\"");
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->agent_id, nasty);
  EXPECT_EQ(run->state.steps, 4u);
  // The chain, recomputed from the stored rows; every decision's body holds the run id.
  std::string head;
  const std::vector<std::string> bodies = CheckChain(&head);
  ASSERT_EQ(bodies.size(), 1u + 4);  // run_started and 4 decisions
  for (const std::string& body : bodies) {
    EXPECT_NE(body.find("r'1\\\""), std::string::npos) << body;  // JSON-escaped run id
  }
}

// Tests the log-structured durability point (schema 11): audit_log is UNLOGGED and every
// batch's records are one logged audit_batches row; a crash of the server (immediate
// stop: the unlogged table comes back empty) loses no record. The store's next
// connection rebuilds the table from the batches byte for byte (both stored forms: texts
// that need a JSON escape keep their whole body), the chain verifies, and the same store
// object decides on, appending to the one chain.
TEST_F(PostgresStoreTest, ServerCrashEmptiesTheUnloggedLogAndTheBatchesRebuildIt) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(Sql("SELECT relpersistence FROM pg_class WHERE relname IN ('audit_log',"
                " 'audit_log_built', 'audit_batches') ORDER BY relname"),
            "p\nu\nu\n");
  const std::string nasty = "a'b\"c\\d{e,f}g NULL \t\n h\xc3\xa9 \xe2\x80\xa8 ,";
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  ASSERT_TRUE(s->CreateRun(nasty, "r2", T0()).ok());
  std::vector<std::promise<Result<CallRecord>>> done(24);
  for (int i = 0; i < 24; ++i) {
    DecideRequest rq = i % 2 == 0 ? Request("r1", "agent") : Request("r2", nasty);
    rq.call.args[nasty] = nasty + std::to_string(i);
    s->DecideAsync(rq, Allow,
                   [&done, i](Result<CallRecord> r) { done[i].set_value(std::move(r)); });
  }
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());
  const std::string rows = Sql(kAuditRowsFingerprint);
  EXPECT_NE(rows.find("|26\n"), std::string::npos) << rows;
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE body IS NULL) > 0,"
                " count(*) FILTER (WHERE body IS NOT NULL) > 0 FROM audit_log"),
            "t|t\n");  // both stored forms
  EXPECT_EQ(Sql("SELECT sum(last_seq - first_seq + 1), max(last_seq) FROM audit_batches"),
            "26|26\n");
  std::string error;
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  ASSERT_EQ(Sql("SELECT count(*) FROM audit_log"), "0\n");  // what a crash does to it
  Result<CallRecord> r = Error::Unavailable("not yet");
  WaitUntil(
      [&] {
        r = s->Decide(Request("r1", "agent"), Allow);
        return r.ok();
      },
      std::chrono::seconds(5), std::chrono::milliseconds(100));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(Sql("SELECT md5(string_agg(a::text, E'\\n' ORDER BY seq)), count(*)"
                " FROM audit_log a WHERE seq <= 26"),
            rows);
  std::string head;
  EXPECT_EQ(CheckChain(&head).size(), 27u);
  EXPECT_EQ(Sql("SELECT seq, hash FROM audit_head"), "27|" + head + "\n");
  ExpectVerifies(27);
  EXPECT_EQ(s->GetRun("r2")->state.steps, 12u);
}

// Tests that the rebuild reads a batch as jsonb (the usual way: parsed once) and as json
// (a batch too large for jsonb) into the same records, byte for byte: quotes, backslashes,
// control characters, NUL, multi-byte and 4-byte UTF-8, a line separator, an escape's text.
TEST_F(PostgresStoreTest, RebuildReadsBatchesAsJsonbOrJsonIntoTheSameRecords) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  const std::string nasty =
      "a'b\"c\\d \x01\x1f\x7f \t\r\n h\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\xa5 \\u0000 \\ud800 {}[],";
  ASSERT_TRUE(s->CreateRun(nasty, "r1", T0()).ok());
  for (int i = 0; i < 12; ++i) {
    DecideRequest rq = Request("r1", nasty);
    rq.call.args[nasty] = nasty + std::to_string(i);
    rq.call.args["n"] = i;
    rq.call.args["nul"] = std::string("a\0b\x02", 4);  // written as \u0000 and \u0002
    ASSERT_TRUE(s->Decide(rq, Allow).ok());
  }
  s.reset();
  const std::string rows = Sql(kAuditRowsFingerprint);
  EXPECT_NE(rows.find("|13\n"), std::string::npos) << rows;
  EXPECT_NE(Sql("SELECT count(*) FROM audit_batches WHERE records LIKE '%\\\\u0000%'"), "0\n");
  // The batches' median size: below it jsonb, from it json, in one rebuild.
  const std::string median =
      Sql("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY octet_length(records))"
          " FROM audit_batches");
  for (const std::string& jsonb_below :
       std::vector<std::string>{"0", "134217728", median.substr(0, median.size() - 1)}) {
    SCOPED_TRACE("jsonb_below " + jsonb_below);
    EXPECT_EQ(Sql("SET interlock.audit_batches = on; DELETE FROM audit_log_built;"
                  " SELECT interlock_rebuild_audit_log(1, " +
                  jsonb_below + ")"),
              "13\n");
    EXPECT_EQ(Sql(kAuditRowsFingerprint), rows);
  }
  std::string head;
  EXPECT_EQ(CheckChain(&head).size(), 13u);
  ExpectVerifies(13);
}

// Tests the attacks on the batches, the log's durable copy: a batch that no longer parses
// stops the rebuild, so nothing is decided on a partial log (every store open fails,
// saying why) until it is repaired; a batch edited into other valid records is rebuilt
// as written and the chain breaks at the edited record, as an edit of audit_log does.
TEST_F(PostgresStoreTest, TamperedBatchStopsTheRebuildOrBreaksTheChain) {
  ASSERT_TRUE(OpenWithDecisions(3));
  const std::string rows = Sql(kAuditRowsFingerprint);
  Sql("CREATE TABLE saved AS SELECT * FROM audit_batches");
  std::string error;
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  Sql("UPDATE audit_batches SET records = left(records, length(records) - 2)"
      " WHERE first_seq = (SELECT max(first_seq) FROM audit_batches)");
  PostgresOptions o;
  o.uri = uri_;
  Result<std::unique_ptr<PostgresStore>> refused = PostgresStore::Open(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("rebuilding the audit log from its batches failed"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_log"), "0\n");
  // Repaired (from a backup): the rebuild goes through, every record as it was.
  Sql("UPDATE audit_batches b SET records = s.records FROM saved s"
      " WHERE s.first_seq = b.first_seq");
  ASSERT_TRUE(Open());
  EXPECT_EQ(Sql(kAuditRowsFingerprint), rows);
  // Records edited inside a batch, still valid JSON: rebuilt as written, caught by verify.
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  Sql("UPDATE audit_batches SET records = replace(records, 'read', 'wipe')");  // the tool
  ASSERT_TRUE(Open());
  EXPECT_NE(Sql(kAuditRowsFingerprint), rows);
  EXPECT_FALSE(VerifyDeep().ok);
}

// Tests that a schema-11 database without the rebuild's marker table (dropped by hand or by
// an attacker) is refused, not taken for one from before schema 11 whose check is skipped:
// after a crash the log could then be served empty.
TEST_F(PostgresStoreTest, DroppedRebuildMarkerIsRefusedNotSkipped) {
  ASSERT_TRUE(Open());
  Sql("DROP TABLE audit_log_built");
  PostgresOptions o;
  o.uri = uri_;
  Result<std::unique_ptr<PostgresStore>> refused = PostgresStore::Open(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("no audit_log_built"), std::string::npos)
      << refused.error().message;
}

// Tests that a writer that does not write the batches (an interlock older than schema 11,
// still running during an upgrade) has its records refused rather than kept only where a
// crash of the server loses them.
TEST_F(PostgresStoreTest, AnOlderWriterWithoutBatchesHasItsRecordsRefused) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  std::string error;
  cluster_->Psql(db_,
                 "INSERT INTO audit_log(seq, time_ms, type, body, prev_hash, hash)"
                 " VALUES (100, 0, 'decision', '{}', 'p', 'h')",
                 &error);
  EXPECT_NE(error.find("does not write audit_batches"), std::string::npos) << error;
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_log WHERE seq = 100"), "0\n");
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());  // this version's writer does
}

// Tests that reading the log on a hot standby (which cannot read the UNLOGGED audit_log)
// is refused with what to do, and that once the standby is promoted the same read
// rebuilds the log from the batches it received and verifies every record.
TEST_F(PostgresStoreTest, ReadingTheLogOnAStandbySaysConnectToThePrimary) {
  std::unique_ptr<testing::PgCluster> primary;
  ASSERT_NO_FATAL_FAILURE(StartPrimary(&primary));
  std::string error;
  ASSERT_TRUE(OpenWithDecisions(5));
  std::unique_ptr<testing::PgCluster> standby = primary->StartStandby("s1", &error);
  ASSERT_NE(standby, nullptr) << error;
  ASSERT_TRUE(primary->WaitForStandby("s1", std::chrono::seconds(15), &error)) << error;
  const std::string standby_uri = standby->Uri(db_);
  Result<std::unique_ptr<audit::RecordSource>> on_standby = OpenPostgresRecordSource(standby_uri);
  ASSERT_FALSE(on_standby.ok());
  EXPECT_NE(on_standby.error().message.find("standby, which cannot read the audit log"),
            std::string::npos)
      << on_standby.error().message;
  primary->Stop();
  ASSERT_TRUE(standby->Promote(std::chrono::seconds(15), &error)) << error;
  uri_ = standby_uri;
  ExpectVerifies(6);
}

// Tests that daemons finding the log lost at once (a fleet reconnecting after the
// server's crash) rebuild it once: every store opens, no record is doubled or missing.
TEST_F(PostgresStoreTest, DaemonsFindingTheLogLostTogetherRebuildItOnce) {
  ASSERT_TRUE(OpenWithDecisions(40));
  const std::string rows = Sql(kAuditRowsFingerprint);
  std::string error;
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  std::vector<std::unique_ptr<PostgresStore>> stores(4);
  std::vector<std::thread> threads;
  for (auto& store : stores) threads.emplace_back([&] { store = Open(); });
  for (std::thread& t : threads) t.join();
  for (const auto& store : stores) ASSERT_TRUE(store);
  EXPECT_EQ(Sql(kAuditRowsFingerprint), rows);
  ASSERT_TRUE(stores[0]->Decide(Request("r1", "agent"), Allow).ok());
  std::string head;
  EXPECT_EQ(CheckChain(&head).size(), 42u);
}

// Tests that a prune takes the pruned records out of the batches too, a batch across the
// cut keeping its retained records only: a crash after it brings back no pruned record.
TEST_F(PostgresStoreTest, PruneThenServerCrashBringsBackNoPrunedRecord) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  std::vector<std::promise<Result<CallRecord>>> done(8);
  for (int i = 0; i < 8; ++i) {  // one batch (or a few) across the cut
    s->DecideAsync(Request("r1", "agent"), Allow,
                   [&done, i](Result<CallRecord> r) { done[i].set_value(std::move(r)); });
  }
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());
  {
    Result<std::unique_ptr<audit::PruneTarget>> target = OpenPostgresPruneTarget(uri_);
    ASSERT_TRUE(target.ok()) << target.error().message;
    Result<std::string> anchor = (*target)->RecordHash(4);
    ASSERT_TRUE(anchor.ok()) << anchor.error().message;
    Result<int64_t> deleted = (*target)->DeleteBefore(5, *anchor);
    ASSERT_TRUE(deleted.ok()) << deleted.error().message;
    EXPECT_EQ(*deleted, 4);
  }
  EXPECT_EQ(Sql("SELECT min(first_seq), sum(last_seq - first_seq + 1) FROM audit_batches"),
            "5|5\n");
  const std::string rows = Sql(kAuditRowsFingerprint);
  EXPECT_NE(rows.find("|5\n"), std::string::npos) << rows;
  std::string error;
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  std::unique_ptr<PostgresStore> again = Open();
  ASSERT_TRUE(again);
  EXPECT_EQ(Sql(kAuditRowsFingerprint), rows);
  EXPECT_EQ(Sql("SELECT min(seq) FROM audit_log"), "5\n");
}

// Tests that an operation the database refuses (a tool name that is not UTF-8) fails
// alone: the decisions batched with it are still recorded.
TEST_F(PostgresStoreTest, AnOperationTheDatabaseRefusesFailsAlone) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  std::vector<std::promise<Result<CallRecord>>> done(9);
  for (int i = 0; i < 9; ++i) {
    DecideRequest rq = Request("r1", "agent");
    if (i == 4) rq.call.tool = "bad\xff\xfe";
    s->DecideAsync(rq, Allow,
                   [&done, i](Result<CallRecord> r) { done[i].set_value(std::move(r)); });
  }
  for (int i = 0; i < 9; ++i) {
    Result<CallRecord> r = done[i].get_future().get();
    if (i == 4) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
    } else {
      EXPECT_TRUE(r.ok()) << i << ": " << r.error().message;
    }
  }
  EXPECT_EQ(s->GetRun("r1")->state.steps, 8u);
}

// Tests that while the database is down decisions fail with kUnavailable (the Guard's
// STORE_UNAVAILABLE deny) within a bounded time, never allow, and that the same store
// serves again once the database is back, without a restart.
TEST_F(PostgresStoreTest, DatabaseDownIsUnavailableInBoundedTimeThenRecovers) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  ASSERT_TRUE(s->Decide(Request("r1", "agent"), Allow).ok());
  cluster_->Stop();
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Result<CallRecord> r = s->Decide(Request("r1", "agent"), Allow);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable) << r.error().message;
    EXPECT_LT(took, std::chrono::seconds(5));
    Result<core::RunInfo> g = s->GetRun("r1");
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().kind, ErrorKind::kUnavailable);
  }
  std::string error;
  ASSERT_TRUE(cluster_->Restart(&error)) << error;
  Result<CallRecord> r = Error::Unavailable("not yet");
  WaitUntil(
      [&] {
        r = s->Decide(Request("r1", "agent"), Allow);
        return r.ok();
      },
      std::chrono::seconds(5), std::chrono::milliseconds(100));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->decision.verdict, Verdict::kAllow);
  EXPECT_EQ(s->GetRun("r1")->state.steps, 2u);
}

// Tests that a token revoked through one daemon is refused at once by that daemon and
// within the token cache's lifetime (1 s) by another, and that revoking twice is a no-op.
TEST_F(PostgresStoreTest, TokenRevokedOnOneDaemonIsRefusedByAnother) {
  std::unique_ptr<PostgresStore> a = Open(), b = Open();
  ASSERT_TRUE(a && b);
  Result<std::string> token = a->CreateToken(core::Role::kAgent, "", "agent", T0());
  ASSERT_TRUE(token.ok()) << token.error().message;
  Result<core::Principal> p = b->Authenticate(*token);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->agent_id, "agent");
  EXPECT_EQ(b->Authenticate(*token + "x").error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(a->Authenticate(*token).ok());  // cached by a too
  const auto revoked_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->RevokeToken(p->token_id, "admin", T0()).ok());
  ASSERT_TRUE(a->RevokeToken(p->token_id, "admin", T0()).ok());
  Result<core::Principal> here = a->Authenticate(*token);
  ASSERT_FALSE(here.ok());
  EXPECT_EQ(here.error().kind, ErrorKind::kPermissionDenied);
  Result<core::Principal> again = b->Authenticate(*token);
  WaitUntil(
      [&] {
        again = b->Authenticate(*token);
        return !again.ok();
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::seconds(3) - (std::chrono::steady_clock::now() - revoked_at)),
      std::chrono::milliseconds(50));
  EXPECT_LT(std::chrono::steady_clock::now() - revoked_at, std::chrono::milliseconds(1500));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(a->RevokeToken("tok_nope", "admin", T0()).error().kind, ErrorKind::kNotFound);
  Result<std::vector<core::TokenInfo>> list = b->ListTokens();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].revoked);
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_log WHERE type = 'token_revoked'"), "1\n");
}

// Tests that a result is recorded once, only for an allowed call of the caller's own, and
// adds its usage to the run; an ended run takes no more decisions.
TEST_F(PostgresStoreTest, ResultsOnceForOwnAllowedCallsAndEndedRunsRefuse) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  Result<CallRecord> call = s->Decide(Request("r1", "agent"), Allow);
  ASSERT_TRUE(call.ok());
  core::CallResult res;
  res.output_json = "{\"x\":1}";
  res.usage = Usage{7, 9};
  EXPECT_EQ(s->RecordResult(call->call_id, "other", "other", res, T0()).error().kind,
            ErrorKind::kPermissionDenied);
  EXPECT_EQ(s->RecordResult("call_nope", "agent", "agent", res, T0()).error().kind,
            ErrorKind::kNotFound);
  ASSERT_TRUE(s->RecordResult(call->call_id, "agent", "agent", res, T0()).ok());
  EXPECT_EQ(s->RecordResult(call->call_id, "agent", "agent", res, T0()).error().kind,
            ErrorKind::kAlreadyExists);
  EXPECT_EQ(s->GetRun("r1")->state.tokens, 7u);
  EXPECT_EQ(s->EndRun("r1", "other", T0()).error().kind, ErrorKind::kPermissionDenied);
  ASSERT_TRUE(s->EndRun("r1", "agent", T0()).ok());
  ASSERT_TRUE(s->EndRun("r1", "agent", T0()).ok());
  EXPECT_TRUE(s->GetRun("r1")->ended);
  Result<CallRecord> late = s->Decide(Request("r1", "agent"), Allow);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().kind, ErrorKind::kInvalidArgument);
}

// Tests that a call the policy sends for approval is recorded with one pending approval
// row (migration 4), never as an allow.
TEST_F(PostgresStoreTest, ApprovalRequiredQueuesOnePendingApproval) {
  std::unique_ptr<PostgresStore> s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateRun("agent", "r1", T0()).ok());
  Result<CallRecord> r =
      s->Decide(Request("r1", "agent"),
                [](const ToolCall& call, const RunState&, const std::optional<engine::KillSwitch>&,
                   const std::optional<engine::AgentUsage>&) {
                  engine::Evaluation ev;
                  ev.decision.verdict = Verdict::kApprovalRequired;
                  ev.decision.code = Code::kApprovalRequired;
                  ev.decision.tool = call.tool;
                  return ev;
                });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->decision.verdict, Verdict::kApprovalRequired);
  EXPECT_EQ(Sql("SELECT count(*) FROM calls WHERE code = 'APPROVAL_REQUIRED'"), "1\n");
  EXPECT_EQ(Sql("SELECT state FROM approvals"), "pending\n");
  EXPECT_EQ(s->GetApproval(core::ApprovalIdForCall(r->call_id))->call_id, r->call_id);
}

// Tests the client-side bound of a round trip (what ends a COMMIT stuck waiting for a
// synchronous standby, which ignores statement_timeout): past its limit the statement is
// cancelled and fails at once, and the connection stays usable.
TEST_F(PostgresStoreTest, RoundTripPastItsLimitIsCancelledNotWaitedFor) {
  Result<std::unique_ptr<pg::PgConn>> c = pg::PgConn::Connect(uri_, pg::PgLimits{});
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto start = std::chrono::steady_clock::now();
  std::string sqlstate;
  Result<std::vector<pg::PgResult>> r =
      (*c)->ExecScript("SELECT pg_sleep(3)", &sqlstate, std::chrono::milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(sqlstate, "57014");  // query_canceled
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE((*c)->Broken());
  EXPECT_TRUE((*c)->ExecScript("SELECT 1").ok());
}

// Tests that a WARNING the server sends (how it reports a COMMIT whose wait for a
// synchronous standby was cancelled) is kept for TakeWarning, once, and that other
// statements leave none.
TEST_F(PostgresStoreTest, ServerWarningIsKeptForTheCaller) {
  Result<std::unique_ptr<pg::PgConn>> c = pg::PgConn::Connect(uri_, pg::PgLimits{});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((*c)->TakeWarning(), "");
  ASSERT_TRUE((*c)->ExecScript("ROLLBACK").ok());  // WARNING: no transaction in progress
  EXPECT_NE((*c)->TakeWarning().find("no transaction in progress"), std::string::npos);
  EXPECT_EQ((*c)->TakeWarning(), "");
  ASSERT_TRUE((*c)->ExecScript("BEGIN; SELECT 1; COMMIT").ok());
  EXPECT_EQ((*c)->TakeWarning(), "");
}

// Tests that a COMMIT the server reports done with a WARNING (its wait for the synchronous
// standby cancelled with pg_cancel_backend) leaves, after the allow it recorded, records in
// the same chain saying the agent was told deny STORE_UNAVAILABLE, the call row that deny,
// and the run's budget given back, so replay, the call and the budget agree with the answer.
TEST_F(PostgresStoreTest, CommitWarnedByCancelledSyncReplicationIsReconciledInTheTrail) {
  std::unique_ptr<testing::PgCluster> primary;
  std::unique_ptr<PostgresStore> s;
  ASSERT_NO_FATAL_FAILURE(StartWaitingForAnAbsentStandby(&primary, &s));

  auto decided = std::async(std::launch::async, [&] {
    DecideRequest rq = Request("r1", "agent");
    rq.idempotency = core::IdempotencyKey{"key-1", "sha-1"};
    return s->Decide(rq, Allow);
  });
  ASSERT_NO_FATAL_FAILURE(CancelTheStandbyWait());
  ASSERT_EQ(decided.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Result<CallRecord> r = decided.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message.find("not confirmed"), std::string::npos) << r.error().message;
  StopWaitingForTheStandby();

  // The trail: run_started, the first allow, the unconfirmed allow, then what was told.
  std::string head;
  const std::vector<std::string> bodies = CheckChain(&head);
  EXPECT_EQ(Sql("SELECT string_agg(type, ',' ORDER BY seq) FROM audit_log"),
            "run_started,decision,decision,commit_unconfirmed,decision_reconciled\n");
  const std::string call_id = Sql("SELECT call_id FROM audit_log WHERE seq = 3");
  EXPECT_EQ(Sql("SELECT call_id FROM audit_log WHERE seq = 5"), call_id);
  ASSERT_EQ(bodies.size(), 5u);
  EXPECT_NE(bodies[3].find("\"first_seq\":3"), std::string::npos) << bodies[3];
  EXPECT_NE(bodies[3].find("\"last_seq\":3"), std::string::npos) << bodies[3];
  for (const char* want : {"\"recorded_seq\":3", "\"budget_restored\":true", "STORE_UNAVAILABLE",
                           "\"code\":\"ALLOWED\"", "canceling wait for synchronous"}) {
    EXPECT_NE(bodies[4].find(want), std::string::npos) << want << " in " << bodies[4];
  }
  // The call row says what the agent was told; the run spent one step (the first call's),
  // and the Idempotency-Key is free again.
  EXPECT_EQ(Sql("SELECT c.verdict, c.code FROM calls c JOIN audit_log a ON a.call_id = c.call_id"
                " AND a.type = 'decision' ORDER BY a.seq"),
            "allow|ALLOWED\ndeny|STORE_UNAVAILABLE\n");
  EXPECT_EQ(s->GetRun("r1")->state.steps, 1u);
  EXPECT_EQ(Sql("SELECT count(*) FROM idempotency_keys"), "0\n");
  // `audit verify --deep` over the database: an ordinary chain.
  Result<std::unique_ptr<audit::RecordSource>> source = OpenPostgresRecordSource(uri_);
  ASSERT_TRUE(source.ok()) << source.error().message;
  audit::VerifyOptions verify;
  verify.deep = true;
  Result<audit::VerifyReport> verified = audit::VerifyAuditLog(**source, verify);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_TRUE(verified->ok) << audit::VerifySummary(*verified);
  EXPECT_EQ(verified->records, 5);
  // Replay shows the call as the agent was told it.
  Result<boost::json::object> replay = s->ReplayRun("r1");
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  const boost::json::array& calls = replay->at("calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].at("decision"), "deny");
  EXPECT_EQ(calls[1].at("code"), "STORE_UNAVAILABLE");
  EXPECT_TRUE(calls[1].as_object().contains("reconciled"));
  EXPECT_EQ(replay->at("totals").at("steps"), 1);
  // The store goes on: the next decision commits (the standby requirement lifted).
  Result<CallRecord> next = s->Decide(Request("r1", "agent"), Allow);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->state_after.steps, 2u);
}

// Tests that a writer batch with nothing to write (the approval sweep's, every 250 ms, with
// no approval due) does not COMMIT: with the synchronous standby gone it answers at once,
// where a COMMIT would wait for the standby while holding the audit head's lock, which
// every daemon's next call then waited on (FleetFailoverTest's flake: a call denied on
// "lock timeout" instead of an unconfirmed COMMIT). A batch that writes still waits.
TEST_F(PostgresStoreTest, ABatchWithNothingToWriteNeverWaitsForTheStandby) {
  std::unique_ptr<testing::PgCluster> primary;
  std::unique_ptr<PostgresStore> s;
  ASSERT_NO_FATAL_FAILURE(StartWaitingForAnAbsentStandby(&primary, &s));
  for (int i = 0; i < 3; ++i) {
    Result<std::vector<core::ApprovalChange>> swept = s->ExpireApprovals(T0());
    ASSERT_TRUE(swept.ok()) << swept.error().message;
    EXPECT_TRUE(swept->empty());
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
                " AND query NOT LIKE '%probe%'"),
            "0\n");
  auto decided =
      std::async(std::launch::async, [&] { return s->Decide(Request("r1", "agent"), Allow); });
  ASSERT_NO_FATAL_FAILURE(CancelTheStandbyWait());  // the decision's COMMIT does wait
  ASSERT_EQ(decided.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(decided.get().ok());
  StopWaitingForTheStandby();
}

// Tests that when another writer holds what the reconciliation needs right after a warned
// COMMIT (in a fleet, another daemon's batch waiting for the same standby holds the audit
// head), the caller is not kept waiting for it: the answer comes after the short lock
// wait, and the reconciliation is written before the store's next batch.
TEST_F(PostgresStoreTest, ReconciliationTheHeadLockDelaysIsWrittenBeforeTheNextBatch) {
  std::unique_ptr<testing::PgCluster> primary;
  std::unique_ptr<PostgresStore> s;
  ASSERT_NO_FATAL_FAILURE(StartWaitingForAnAbsentStandby(&primary, &s));
  auto decided =
      std::async(std::launch::async, [&] { return s->Decide(Request("r1", "agent"), Allow); });
  // Another session queues for the audit table behind the waiting batch: the lock manager
  // grants it when the batch's COMMIT ends, before the reconciliation can append.
  Result<std::unique_ptr<pg::PgConn>> other = pg::PgConn::Connect(uri_, pg::PgLimits{});
  ASSERT_TRUE(other.ok()) << other.error().message;
  std::string busy;
  WaitUntil(
      [&] {
        busy =
            Sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
                " AND query NOT LIKE '%probe%'");
        return busy == "1\n";
      },
      std::chrono::seconds(2));
  ASSERT_EQ(busy, "1\n");
  auto locked = std::async(std::launch::async, [&] {
    return (*other)->ExecScript("BEGIN; LOCK TABLE audit_log IN EXCLUSIVE MODE");
  });
  std::string queued;
  WaitUntil(
      [&] {
        queued = Sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
        return queued == "1\n";
      },
      std::chrono::seconds(2));
  ASSERT_EQ(queued, "1\n");
  ASSERT_NO_FATAL_FAILURE(CancelTheStandbyWait());
  ASSERT_EQ(locked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_TRUE(locked.get().ok());
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_EQ(decided.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Result<CallRecord> r = decided.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(2));
  EXPECT_EQ(Sql("SELECT string_agg(type, ',' ORDER BY seq) FROM audit_log"),
            "run_started,decision,decision\n");  // not yet: the lock is held
  ASSERT_TRUE((*other)->ExecScript("ROLLBACK").ok());
  StopWaitingForTheStandby();
  // The next batch writes what is owed first, then its own decision.
  Result<CallRecord> next = s->Decide(Request("r1", "agent"), Allow);
  ASSERT_TRUE(next.ok()) << next.error().message;
  const std::string types = Sql("SELECT string_agg(type, ',' ORDER BY seq) FROM audit_log");
  EXPECT_EQ(types.rfind("run_started,decision,decision,commit_unconfirmed,decision_reconciled,", 0),
            0u)
      << types;
  EXPECT_EQ(Sql("SELECT count(*) FROM calls WHERE code = 'STORE_UNAVAILABLE'"), "1\n");
  std::string head;
  CheckChain(&head);
}

// Tests that a store pointed at a port nobody listens on fails to open with kUnavailable
// within the connect timeout.
TEST(PostgresStoreOpen, UnreachableDatabaseIsUnavailable) {
  PostgresOptions o;
  o.uri = "postgresql://postgres@127.0.0.1:1/none";
  const auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

// Tests that only postgres URIs select the PostgreSQL backend; paths stay SQLite.
TEST(PostgresStoreOpen, OnlyPostgresUrisArePostgres) {
  EXPECT_TRUE(IsPostgresUri("postgresql://u@h:5432/db?target_session_attrs=read-write"));
  EXPECT_TRUE(IsPostgresUri("postgres://h/db"));
  EXPECT_FALSE(IsPostgresUri("/var/lib/interlock/state.db"));
  EXPECT_FALSE(IsPostgresUri("postgresql.db"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::store
