// Tests for reading the log back: export, query, replay, redaction and retention.
#include <sstream>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "audit/checkpoint.h"
#include "audit/export.h"
#include "audit/keys.h"
#include "audit/query.h"
#include "audit/redact.h"
#include "audit/replay.h"
#include "audit/retention.h"
#include "audit/verify.h"
#include "audit_test_util.h"
#include "common/json.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_retention.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

using testing::Append;
using testing::Event;
using testing::TempDir;
namespace json = boost::json;

constexpr std::string_view kSecret = "sk-live-SECRET-4242";

// A store (DIR/store.db) and its audit keys (DIR/keys), for the suites of this file.
class KeyedStoreTest : public ::testing::Test {
 protected:
  // Makes the keys and opens the store; fails (fatally) when the keys cannot be made.
  void OpenKeyedStore() {
    auto keys = LoadOrCreateAuditKeys(dir_.File("keys"));
    ASSERT_TRUE(keys.ok());
    keys_ = std::make_unique<AuditKeys>(std::move(keys).value());
    db_ = testing::OpenRw(dir_.File("store.db"));
  }

  TempDir dir_;
  std::unique_ptr<AuditKeys> keys_;
  SqliteDb db_;
};

// A realistic run: started, a redacted call allowed and executed, a call needing
// approval then granted, a denied call, usage, a halt with escalation, a kill switch
// and the end; plus another agent's run interleaved.
class RunLogTest : public KeyedStoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenKeyedStore());
    Redactor red(keys_->hmac_key);
    const TimePoint t = testing::T0();
    auto at = [&](int s) { return t + std::chrono::seconds(s); };
    json::object args1 = red.RedactArgs(
        {{"url", "https://api.example.com/charge"}, {"api_key", std::string(kSecret)}},
        {"api_key"});
    stored_hash_ = std::string(args1.at("api_key").get_string());
    auto decision = [&](std::string tool, json::object args, std::string verdict, std::string code,
                        std::string rule, int steps) {
      return json::object{{"tool", tool},
                          {"args", args},
                          {"decision",
                           {{"decision", verdict},
                            {"code", code},
                            {"rule", rule},
                            {"reason", "because " + rule},
                            {"agent", "billing-agent"},
                            {"tool", tool}}},
                          {"policy_sha256", std::string(64, 'p')},
                          {"usage", {{"tokens", 100}, {"cost_usd", 0.01}}},
                          {"state_after",
                           {{"steps", steps},
                            {"tokens", 100 * steps},
                            {"cost_usd", 0.01 * steps},
                            {"elapsed_s", steps},
                            {"halted", false}}}};
    };
    std::vector<AuditEvent> ev;
    ev.push_back(Event(kRunStarted, at(0), "run-1", "", {{"agent", "billing-agent"}}));
    ev.push_back(Event(kDecision, at(1), "run-1", "c1",
                       decision("payments.charge", args1, "allow", "ALLOWED", "charge-small", 1)));
    ev.push_back(Event(kResult, at(2), "run-1", "c1",
                       {{"ok", true}, {"output", {{"charge_id", "ch_1"}}}, {"error", ""}}));
    ev.push_back(Event(kDecision, at(3), "run-1", "c2",
                       decision("payments.refund", {{"amount", 900}}, "approval_required",
                                "APPROVAL_REQUIRED", "refund-review", 2)));
    ev.push_back(
        Event(kApproval, at(4), "run-1", "c2", {{"event", "requested"}, {"approval_id", "ap-1"}}));
    AuditEvent granted = Event(kApproval, at(5), "run-1", "c2",
                               {{"event", "granted"},
                                {"reviewer", "alice"},
                                {"comment", "customer verified"},
                                {"approval_id", "ap-1"}});
    granted.principal = "alice";
    ev.push_back(granted);
    ev.push_back(Event(kDecision, at(6), "run-2", "x1",
                       decision("shell.exec", {{"cmd", "ls"}}, "allow", "ALLOWED", "r", 1)));
    ev.back().agent_id = "ops-agent";
    ev.push_back(
        Event(kDecision, at(7), "run-1", "c3",
              decision("db.drop", {{"table", "users"}}, "deny", "TOOL_BLOCKED", "no-drop", 3)));
    ev.push_back(Event(kUsage, at(8), "run-1", "", {{"tokens", 5000}}));
    ev.push_back(Event(kRunHalted, at(9), "run-1", "", {{"reason", "budget tokens exceeded"}}));
    ev.push_back(Event(kEscalation, at(9), "run-1", "", {{"channel", "oncall"}}));
    AuditEvent kill = Event(kKillSwitch, at(10), "", "",
                            {{"scope", "agent"},
                             {"target", "billing-agent"},
                             {"engaged", true},
                             {"reason", "incident 7"}});
    kill.principal = "admin-bob";
    ev.push_back(kill);
    ev.push_back(Event(kRunEnded, at(11), "run-1", "", {}));
    Append(db_.get(), ev);
  }

  std::string stored_hash_;
};

// Tests that no secret appears in the store's bytes, and `audit hash` finds it.
TEST_F(RunLogTest, SecretNeverStoredButHashMatches) {
  testing::Exec(db_.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::string bytes = testing::ReadAll(dir_.File("store.db"));
  EXPECT_EQ(bytes.find(kSecret), std::string::npos);
  EXPECT_NE(bytes.find(stored_hash_), std::string::npos);
  EXPECT_EQ(Redactor(keys_->hmac_key).Hash(json::string(kSecret)), stored_hash_);
  EXPECT_NE(Redactor(std::string(32, 'k')).Hash(json::string(kSecret)), stored_hash_);
}

// Tests that every export line re-verifies as a chain, with no secret in the output.
TEST_F(RunLogTest, ExportIsSelfVerifying) {
  std::ostringstream out;
  auto st = ExportJsonl(db_.get(), {}, out);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->records, 13);
  EXPECT_EQ(out.str().find(kSecret), std::string::npos);
  std::istringstream in(out.str());
  std::string line, prev(kGenesisHash);
  int n = 0;
  while (std::getline(in, line)) {
    auto v = ParseJsonStrict(line);
    ASSERT_TRUE(v.ok()) << line;
    EXPECT_EQ(CanonicalJson(*v), line);  // lines are canonical
    json::object o = v->get_object();
    const std::string hash(o.at("hash").get_string());
    EXPECT_EQ(o.at("prev").get_string(), prev);
    o.erase("hash");
    EXPECT_EQ(AuditRecordHash(prev, CanonicalJson(o)), hash);
    prev = hash;
    ++n;
  }
  EXPECT_EQ(n, 13);
}

// Tests the export filters: agent, since and until.
TEST_F(RunLogTest, ExportFilters) {
  AuditFilter f;
  f.agent_id = "ops-agent";
  std::ostringstream out;
  auto st = ExportJsonl(db_.get(), f, out);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->records, 1);
  AuditFilter g;
  g.since = testing::T0() + std::chrono::seconds(3);
  g.until = testing::T0() + std::chrono::seconds(6);
  std::ostringstream out2;
  auto st2 = ExportJsonl(db_.get(), g, out2);
  ASSERT_TRUE(st2.ok());
  EXPECT_EQ(st2->records, 3);
  EXPECT_EQ(st2->first_seq, 4);
  auto d = ParseDateArg("2026-11-22", true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(FormatRfc3339(*d), "2026-11-23T00:00:00.000Z");
  EXPECT_FALSE(ParseDateArg("yesterday", false).ok());
}

// Tests that a tampered body is still exported, marked, rather than hidden.
TEST_F(RunLogTest, ExportShowsCorruptBody) {
  testing::Exec(db_.get(), "UPDATE audit_log SET body = 'garbage' WHERE seq = 3");
  std::ostringstream out;
  ASSERT_TRUE(ExportJsonl(db_.get(), {}, out).ok());
  EXPECT_NE(out.str().find("\"corrupt_body\":\"garbage\""), std::string::npos);
}

// Tests the API query: by run, limit and cursor.
TEST_F(RunLogTest, QueryByRunWithPaging) {
  AuditQuery q;
  q.filter.run_id = "run-1";
  q.limit = 5;
  auto a = QueryAudit(db_.get(), q);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 5u);
  EXPECT_EQ((*a)[0].at("type").get_string(), "run_started");
  EXPECT_EQ((*a)[0].at("hash").get_string().size(), 64u);
  q.filter.after_seq = (*a)[4].at("seq").get_int64();
  q.limit = 1000;
  auto b = QueryAudit(db_.get(), q);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 6u);  // 11 run-1 records in all
  // Exactly the run's records, in order, as a scan of the whole log finds them.
  std::string pages;
  for (const auto* page : {&*a, &*b}) {
    for (const auto& rec : *page) pages += std::to_string(rec.at("seq").get_int64()) + ",";
  }
  EXPECT_EQ(pages, testing::QueryText(db_.get(),
                                      "SELECT group_concat(seq, ',') || ',' FROM (SELECT seq FROM"
                                      " audit_log WHERE run_id = 'run-1' ORDER BY seq)"));
  EXPECT_NE(testing::QueryText(db_.get(), "SELECT count(DISTINCT run_id) FROM audit_log"), "1");
}

// Tests that the console's search finds the blocked call by tool and code, and only it:
// an incident reviewer looking for "who tried db.drop" gets that record, not a neighbour.
TEST_F(RunLogTest, SearchByToolAndCodeFindsOnlyTheBlockedCall) {
  AuditQuery q;
  q.filter.tool = "db.drop";
  q.filter.code = "TOOL_BLOCKED";
  auto p = QueryAuditPage(db_.get(), q);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->records.size(), 1u);
  EXPECT_EQ(p->records[0].at("call_id").get_string(), "c3");
  EXPECT_FALSE(p->more);
  q.filter.tool = "payments.charge";  // exists, but was allowed
  p = QueryAuditPage(db_.get(), q);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->records.empty());
  AuditQuery k;
  k.filter.type = "kill_switch";
  p = QueryAuditPage(db_.get(), k);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->records.size(), 1u);
  EXPECT_EQ(p->records[0].at("principal").get_string(), "admin-bob");
}

// Tests that newest-first pages with before_seq walk every record once, in order, with no
// record skipped between pages (a reviewer paging back through an incident sees it all).
TEST_F(RunLogTest, DescendingPagesCoverEveryRecordOnce) {
  AuditQuery q;
  q.filter.descending = true;
  q.limit = 3;
  std::vector<int64_t> seen;
  for (int i = 0; i < 10; ++i) {
    auto p = QueryAuditPage(db_.get(), q);
    ASSERT_TRUE(p.ok());
    for (const auto& r : p->records) seen.push_back(r.at("seq").get_int64());
    if (!p->more) break;
    q.filter.before_seq = p->next_cursor;
  }
  ASSERT_EQ(seen.size(), 13u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 13 - static_cast<int64_t>(i));
}

// Tests that a text search finds a substring, and that it never matches a redacted secret
// (only its hmac is stored), so the search box cannot be used to confirm a guessed secret.
TEST_F(RunLogTest, TextSearchFindsSubstringButNeverTheRedactedSecret) {
  AuditQuery q;
  q.filter.text = "customer verified";
  auto p = QueryAuditPage(db_.get(), q);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->records.size(), 1u);
  EXPECT_EQ(p->records[0].at("type").get_string(), "approval");
  q.filter.text = std::string(kSecret);
  p = QueryAuditPage(db_.get(), q);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->records.empty());
  EXPECT_FALSE(p->more);
}

// Tests that every console filter but text is answered from an index (EXPLAIN QUERY PLAN
// names it; no full scan of audit_log), so a page stays fast with a million records.
TEST_F(RunLogTest, SearchFiltersUseTheirIndexes) {
  struct Case {
    std::string where;
    std::string index;
  };
  const std::vector<Case> cases = {
      {std::string(kAuditToolExpr) + " = 'db.drop'", "audit_log_tool"},
      {std::string(kAuditCodeExpr) + " = 'TOOL_BLOCKED'", "audit_log_code"},
      {"a.agent_id = 'ops-agent'", "audit_log_agent"},
      {"a.type = 'kill_switch'", "audit_log_type"},
  };
  for (const Case& c : cases) {
    sqlite3_stmt* st = nullptr;
    const std::string sql =
        "EXPLAIN QUERY PLAN SELECT a.seq FROM audit_log a WHERE a.seq > 0 AND " + c.where +
        " ORDER BY a.seq DESC LIMIT 50";
    ASSERT_EQ(sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string detail;
    while (sqlite3_step(st) == SQLITE_ROW) {
      detail += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
      detail += " | ";
    }
    sqlite3_finalize(st);
    EXPECT_NE(detail.find(c.index), std::string::npos) << c.where << ": " << detail;
    EXPECT_EQ(detail.find("SCAN a"), std::string::npos) << c.where << ": " << detail;
  }
}

// Tests that replay reconstructs calls, decisions, results, approvals and budgets.
TEST_F(RunLogTest, ReplayReconstructsTheRun) {
  auto r = ReplayRun(db_.get(), "run-1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->agent_id, "billing-agent");
  EXPECT_EQ(r->status, "halted");
  ASSERT_EQ(r->calls.size(), 3u);
  EXPECT_EQ(r->calls[0].tool, "payments.charge");
  EXPECT_EQ(r->calls[0].code, "ALLOWED");
  EXPECT_EQ(r->calls[0].rule, "charge-small");
  ASSERT_TRUE(r->calls[0].result.has_value());
  EXPECT_EQ(r->calls[0].args.at("api_key").get_string(), stored_hash_);
  ASSERT_EQ(r->calls[1].approvals.size(), 2u);
  EXPECT_EQ(r->calls[1].approvals[1].at("reviewer").get_string(), "alice");
  EXPECT_EQ(r->calls[2].code, "TOOL_BLOCKED");
  EXPECT_EQ(r->calls[2].state_after.at("steps").as_int64(), 3);
  EXPECT_EQ(r->timeline.size(), 12u);  // 11 run records + the agent kill switch
  EXPECT_EQ(r->tampered, 0);

  const std::string text = ReplayToText(*r);
  for (const char* want :
       {"payments.refund", "APPROVAL_REQUIRED", "reviewer alice", "customer verified",
        "TOOL_BLOCKED", "steps=3", "ENGAGED", "budget tokens exceeded", "run_halted"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  const std::string js = json::serialize(ReplayToJson(*r));
  EXPECT_EQ(js.find(kSecret), std::string::npos);
  EXPECT_NE(js.find(stored_hash_), std::string::npos);
  EXPECT_EQ(ReplayRun(db_.get(), "no-such-run").error().kind, ErrorKind::kNotFound);
}

// Tests that replay flags a record whose body no longer matches its hash.
TEST_F(RunLogTest, ReplayFlagsTamperedRecord) {
  testing::Exec(db_.get(),
                "UPDATE audit_log SET body = replace(body, 'no-drop', 'no-dr0p') "
                "WHERE seq = 8");
  auto r = ReplayRun(db_.get(), "run-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tampered, 1);
  EXPECT_NE(ReplayToText(*r).find("WARNING"), std::string::npos);
}

// The lines of the replay table: from the header (starting "SEQ") to the blank line.
std::vector<std::string> TableLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("SEQ", 0) == 0) in_table = true;
    if (in_table && line.empty()) break;
    if (in_table) lines.push_back(line);
  }
  return lines;
}

// Tests that the replay table shows call ids whole (a 36-character UUID was cut to 13),
// keeps every column aligned under its header whatever the cell widths, and prints
// elapsed seconds with three fixed decimals.
TEST(ReplayTextTest, FullCallIdsAlignedColumnsFixedSeconds) {
  RunReplay r;
  r.run_id = "run-1";
  r.agent_id = "a";
  const std::string long_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const std::string long_tool = "warehouse.inventory.adjust_stock_levels_for_region";
  ReplayEvent a;
  a.seq = 9;
  a.time = "2026-11-22T09:00:00.000Z";
  a.type = "decision";
  a.call_id = long_id;
  a.data =
      json::parse(R"({"tool":")" + long_tool +
                  R"(","decision":{"code":"ALLOWED","rule":"r"},)"
                  R"("state_after":{"steps":1,"tokens":5,"cost_usd":0.5,"elapsed_s":12.3456}})")
          .as_object();
  ReplayEvent b;
  b.seq = 10;
  b.time = "2026-11-22T09:00:01.000Z";
  b.type = "result";
  b.call_id = "c2";
  b.data =
      json::parse(R"({"ok":true,"state_after":{"steps":2,"tokens":9,"cost_usd":1,"elapsed_s":3}})")
          .as_object();
  r.timeline = {a, b};
  const std::vector<std::string> lines = TableLines(ReplayToText(r));
  ASSERT_EQ(lines.size(), 3u) << ReplayToText(r);
  EXPECT_NE(lines[1].find(long_id), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(long_tool), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("t=12.346s"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("t=3.000s"), std::string::npos) << lines[2];
  // Each header starts its column: in every row the cell below it starts there too.
  for (const char* header : {"TIME", "EVENT", "CALL", "TOOL", "OUTCOME", "RULE", "DETAIL"}) {
    const size_t col = lines[0].find(header);
    ASSERT_NE(col, std::string::npos) << header;
    for (size_t i = 1; i < lines.size(); ++i) {
      ASSERT_GT(lines[i].size(), col) << header << "\n" << lines[i];
      EXPECT_EQ(lines[i][col - 1], ' ') << header << " in row " << i << "\n"
                                        << lines[0] << "\n"
                                        << lines[i];
      EXPECT_NE(lines[i][col], ' ') << header << " in row " << i << "\n"
                                    << lines[0] << "\n"
                                    << lines[i];
    }
  }
}

class RetentionTest : public KeyedStoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenKeyedStore());
    // 10 records 120 days old, 10 records 100 days old, 10 records 1 day old.
    testing::AppendDecisions(db_.get(), 10, now_ - std::chrono::hours(24 * 120));
    testing::AppendDecisions(db_.get(), 10, now_ - std::chrono::hours(24 * 100));
    testing::AppendDecisions(db_.get(), 10, now_ - std::chrono::hours(24));
  }

  Result<VerifyReport> Verify(bool with_checkpoints) {
    VerifyOptions opt;
    std::vector<audit::Checkpoint> cps;
    if (with_checkpoints) {
      auto read = ReadCheckpoints(cp_file());
      EXPECT_TRUE(read.ok());
      if (read.ok()) cps = *read;
      opt.checkpoints = cps;
      opt.public_key = &keys_->public_key;
    }
    return VerifyAuditLog(db_.get(), opt);
  }

  std::string cp_file() const { return dir_.File("cp.jsonl"); }

  TimePoint now_ = testing::T0();
};

// Tests that prune deletes old records, anchors the rest, and verify passes after.
TEST_F(RetentionTest, PruneThenVerifyPasses) {
  PruneOptions opt{.days = 90, .now = now_, .checkpoint_file = cp_file()};
  auto r = PruneAuditLog(db_.get(), keys_->signing_key, opt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted, 20);
  EXPECT_EQ(r->first_kept_seq, 21);
  EXPECT_EQ(r->anchor.seq, 20);
  auto v = Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_TRUE(v->anchored);
  EXPECT_EQ(v->records, 10);
  // New records still chain on after a prune.
  testing::AppendDecisions(db_.get(), 2, now_);
  EXPECT_TRUE(Verify(true)->ok);
  // A second prune with a shorter retention keeps the older anchor valid too.
  PruneOptions again{.days = 1, .now = now_ + std::chrono::hours(1), .checkpoint_file = cp_file()};
  auto r2 = PruneAuditLog(db_.get(), keys_->signing_key, again);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  auto v2 = Verify(true);
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->ok) << v2->problem;
  EXPECT_GE(v2->checkpoints_pruned, 1);
}

// Tests that pruning drops the run heads of runs with no record left, keeps a run whose
// older records were pruned readable (its first kept record links to a pruned one), and
// that the pruned log verifies.
TEST_F(RetentionTest, PruneDropsTheHeadsOfFullyPrunedRuns) {
  db_ = testing::OpenRw(dir_.File("runs.db"));
  testing::AppendDecisions(db_.get(), 5, now_ - std::chrono::hours(24 * 120), "gone-run");
  testing::AppendDecisions(db_.get(), 5, now_ - std::chrono::hours(24 * 110), "long-run");
  testing::AppendDecisions(db_.get(), 5, now_ - std::chrono::hours(24), "long-run");
  PruneOptions opt{.days = 90, .now = now_, .checkpoint_file = cp_file()};
  auto r = PruneAuditLog(db_.get(), keys_->signing_key, opt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted, 10);
  EXPECT_EQ(testing::QueryText(db_.get(),
                               "SELECT group_concat(run_id || ':' || head_seq)"
                               " FROM audit_runs"),
            "long-run:15");
  auto v = Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  auto kept = ReplayRun(db_.get(), "long-run");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->first_seq, 11);
  EXPECT_EQ(kept->timeline.size(), 5u);
  auto gone = ReplayRun(db_.get(), "gone-run");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
}

// Tests that prune deletes in chunks, each anchored before its delete (anchors at 7, 14
// and 20 for chunks of 7 over 20 old records), and that the log verifies after each
// chunk: a crash between chunks leaves an anchored log.
TEST_F(RetentionTest, PruneInChunksAnchorsEveryChunk) {
  PruneOptions opt{.days = 90, .now = now_, .checkpoint_file = cp_file(), .chunk_records = 7};
  auto r = PruneAuditLog(db_.get(), keys_->signing_key, opt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted, 20);
  EXPECT_EQ(r->chunks, 3);
  EXPECT_EQ(r->first_kept_seq, 21);
  EXPECT_EQ(r->anchor.seq, 20);
  auto cps = ReadCheckpoints(cp_file());
  ASSERT_TRUE(cps.ok());
  std::vector<int64_t> seqs;
  for (const audit::Checkpoint& c : *cps) seqs.push_back(c.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{7, 14, 20}));
  auto v = Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
}

// Tests that the state a crash between two chunks leaves (records 8.. and the anchor for
// 7) verifies, and that the next prune finishes the job.
TEST_F(RetentionTest, PruneAfterACrashBetweenChunksFinishes) {
  auto row = testing::QueryText(db_.get(), "SELECT hash FROM audit_log WHERE seq = 7");
  auto anchor = MakeCheckpoint(keys_->signing_key, 7, row, now_);
  ASSERT_TRUE(anchor.ok());
  ASSERT_TRUE(AppendCheckpoint(cp_file(), *anchor).ok());
  testing::Exec(db_.get(), "DELETE FROM audit_log WHERE seq < 8");
  auto v = Verify(true);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  PruneOptions opt{.days = 90, .now = now_, .checkpoint_file = cp_file(), .chunk_records = 7};
  auto r = PruneAuditLog(db_.get(), keys_->signing_key, opt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted, 13);
  EXPECT_EQ(r->first_kept_seq, 21);
  EXPECT_TRUE(Verify(true)->ok);
}

// Tests that a pruned log without its anchor checkpoint fails verification clearly.
TEST_F(RetentionTest, VerifyWithoutAnchorFails) {
  PruneOptions opt{.days = 90, .now = now_, .checkpoint_file = cp_file()};
  ASSERT_TRUE(PruneAuditLog(db_.get(), keys_->signing_key, opt).ok());
  auto v = Verify(false);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->bad_seq, 21);
  EXPECT_NE(v->problem.find("pruned"), std::string::npos) << v->problem;
}

// Tests that prune never removes the newest record, so the head survives.
TEST_F(RetentionTest, PruneKeepsTheHead) {
  PruneOptions opt{
      .days = 1, .now = now_ + std::chrono::hours(24 * 30), .checkpoint_file = cp_file()};
  auto r = PruneAuditLog(db_.get(), keys_->signing_key, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first_kept_seq, 30);
  auto head = ReadAuditHead(db_.get());
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 30);
  EXPECT_TRUE(Verify(true)->ok);
}

// Tests that prune refuses to anchor (and destroy) a tampered log.
TEST_F(RetentionTest, PruneRefusesTamperedLog) {
  testing::Exec(db_.get(),
                "UPDATE audit_log SET body = replace(body, 'allow', 'deny') "
                "WHERE seq = 5");
  PruneOptions opt{.days = 90, .now = now_, .checkpoint_file = cp_file()};
  auto r = PruneAuditLog(db_.get(), keys_->signing_key, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("seq 5"), std::string::npos) << r.error().message;
  auto head = ReadAuditHead(db_.get());
  EXPECT_EQ(head->seq, 30);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
