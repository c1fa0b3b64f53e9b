// Times one page of each query the console makes (GET /v1/audit filters, the run timeline)
// over a large log: the target is < 200 ms a page with 1,000,000 audit records.
//
// Usage: console_pages_benchmark [RECORDS] [DB_PATH]
// Builds the log once with AppendAuditEvents (decision records of ~600 bytes: 10 agents,
// 20 tools, 97% ALLOWED, 2% TOOL_BLOCKED, 1% APPROVAL_REQUIRED, one KILL_SWITCH in 10,000,
// a kill switch record in 50,000), then runs each query 15 times on a fresh read
// connection and prints the median and the worst, in ms. Pages are 50 records, newest
// first, as the console asks; "deep" pages start from a cursor in the middle of the log.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "audit/query.h"
#include "audit/replay.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"

namespace audit = interlock::audit;
using Clock = std::chrono::steady_clock;

namespace {

const char* CodeFor(long i) {
  if (i % 10000 == 7) return "KILL_SWITCH";
  if (i % 100 < 2) return "TOOL_BLOCKED";
  if (i % 100 == 2) return "APPROVAL_REQUIRED";
  return "ALLOWED";
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  std::string path = argc > 2 ? argv[2] : "";
  const bool temp = path.empty();
  if (temp) path = "/tmp/interlock-console-bench-" + std::to_string(::getpid()) + ".db";
  // REUSE=1 with a DB_PATH from an earlier run: time the queries only.
  const bool reuse = !temp && std::getenv("REUSE") != nullptr && ::access(path.c_str(), R_OK) == 0;
  if (!reuse) ::unlink(path.c_str());

  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) return 1;
  audit::SqliteDb db(raw);
  sqlite3_exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
  if (!audit::EnsureAuditSchema(raw).ok()) return 1;

  const auto t0 = Clock::now();
  interlock::TimePoint start = std::chrono::system_clock::now() - std::chrono::hours(24);
  if (reuse) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, "SELECT MIN(time_ms) FROM audit_log", -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW)
      start = interlock::FromUnixMillis(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
  }
  // No ANALYZE statistics: the daemon never runs ANALYZE, so plan as it does.
  // (STATS=1 with REUSE=1 keeps statistics an earlier `sqlite3 DB ANALYZE` wrote: plans
  // must stay fast with them too, for an operator who runs it.)
  if (reuse && std::getenv("STATS") == nullptr) {
    sqlite3_exec(raw, "DROP TABLE IF EXISTS sqlite_stat1", nullptr, nullptr, nullptr);
  }
  if (!reuse) sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr);
  std::vector<audit::AuditEvent> batch;
  for (long i = 0; i < (reuse ? 0 : n);) {
    batch.clear();
    for (int j = 0; j < 1000 && i < n; ++j, ++i) {
      audit::AuditEvent e;
      e.time = start + std::chrono::milliseconds(i * 80);
      e.run_id = "run-" + std::to_string(i / 50);
      e.agent_id = "agent-" + std::to_string((i / 50) % 10);
      e.principal = e.agent_id;
      if (i % 50000 == 25000) {
        e.type = audit::kKillSwitch;
        e.principal = "ada";
        e.data = {{"scope", "agent"},
                  {"target", e.agent_id},
                  {"engaged", i % 100000 == 25000},
                  {"reason", "drill " + std::to_string(i)}};
        batch.push_back(std::move(e));
        continue;
      }
      const std::string tool = "tool_" + std::to_string(i % 20);
      const char* code = CodeFor(i);
      e.type = audit::kDecision;
      e.call_id = "call-" + std::to_string(i);
      e.data = {{"tool", tool},
                {"args",
                 {{"path", "/srv/data/file-" + std::to_string(i) + ".txt"},
                  {"api_key", "hmac-sha256:" + std::string(64, 'a')}}},
                {"decision",
                 {{"decision", std::string(code) == "ALLOWED" ? "allow" : "deny"},
                  {"code", code},
                  {"rule", "tools.allowed[\"" + tool + "\"]"},
                  {"reason", "decided"},
                  {"agent", e.agent_id},
                  {"tool", tool}}},
                {"policy_sha256", std::string(64, 'p')},
                {"state_after", {{"steps", i % 50 + 1}, {"tokens", 120 * (i % 50 + 1)}}}};
      batch.push_back(std::move(e));
    }
    auto h = audit::AppendAuditEvents(raw, batch);
    if (!h.ok()) {
      std::fprintf(stderr, "append: %s\n", h.error().message.c_str());
      return 1;
    }
  }
  if (!reuse) {
    sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
    std::printf("built %ld records in %.1f s (%s)\n", n,
                std::chrono::duration<double>(Clock::now() - t0).count(), path.c_str());
  }
  std::fflush(stdout);

  // A fresh read connection, as the store's readers have.
  sqlite3* rd = nullptr;
  if (sqlite3_open_v2(path.c_str(), &rd, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return 1;
  audit::SqliteDb reader(rd);

  struct Case {
    const char* name;
    std::function<void(audit::AuditQuery&)> set;
  };
  const int64_t mid = n / 2;
  const std::vector<Case> cases = {
      {"newest page, no filter", [](audit::AuditQuery&) {}},
      {"deep page (cursor mid-log)", [&](audit::AuditQuery& q) { q.filter.before_seq = mid; }},
      {"agent", [](audit::AuditQuery& q) { q.filter.agent_id = "agent-3"; }},
      {"tool", [](audit::AuditQuery& q) { q.filter.tool = "tool_7"; }},
      {"code (2%)", [](audit::AuditQuery& q) { q.filter.code = "TOOL_BLOCKED"; }},
      {"code (0.01%)", [](audit::AuditQuery& q) { q.filter.code = "KILL_SWITCH"; }},
      {"tool + code",
       [](audit::AuditQuery& q) {
         q.filter.tool = "tool_1";
         q.filter.code = "TOOL_BLOCKED";
       }},
      {"agent + tool + code, deep",
       [&](audit::AuditQuery& q) {
         q.filter.agent_id = "agent-2";
         q.filter.tool = "tool_0";
         q.filter.code = "TOOL_BLOCKED";
         q.filter.before_seq = mid;
       }},
      {"time range (1 hour)",
       [&](audit::AuditQuery& q) {
         q.filter.since = start + std::chrono::milliseconds(mid * 80);
         q.filter.until = *q.filter.since + std::chrono::hours(1);
       }},
      {"type kill_switch (history)", [](audit::AuditQuery& q) { q.filter.type = "kill_switch"; }},
      {"run_id", [](audit::AuditQuery& q) { q.filter.run_id = "run-12345"; }},
      {"text (rare)", [](audit::AuditQuery& q) { q.filter.text = "file-777777.txt"; }},
      {"text + code",
       [](audit::AuditQuery& q) {
         q.filter.text = "file-9";
         q.filter.code = "TOOL_BLOCKED";
       }},
  };
  std::printf("%-30s %9s %9s %8s\n", "query (50 a page, newest first)", "median", "worst", "rows");
  bool all_under = true;
  for (const Case& c : cases) {
    std::vector<double> ms;
    size_t rows = 0;
    for (int k = 0; k < 15; ++k) {
      audit::AuditQuery q;
      q.limit = 50;
      q.filter.descending = true;
      c.set(q);
      const auto s = Clock::now();
      auto page = audit::QueryAuditPage(rd, q);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      if (!page.ok()) {
        std::fprintf(stderr, "%s: %s\n", c.name, page.error().message.c_str());
        return 1;
      }
      rows = page->records.size();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-30s %7.2f ms %7.2f ms %8zu\n", c.name, ms[ms.size() / 2], ms.back(), rows);
    all_under = all_under && ms.back() < 200;
  }
  {
    std::vector<double> ms;
    for (int k = 0; k < 15; ++k) {
      const auto s = Clock::now();
      auto r = audit::ReplayRun(rd, "run-" + std::to_string(n / 50 / 2));
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      if (!r.ok()) {
        std::fprintf(stderr, "replay: %s\n", r.error().message.c_str());
        return 1;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-30s %7.2f ms %7.2f ms %8d\n", "run timeline (replay, 50)", ms[ms.size() / 2],
                ms.back(), 50);
    all_under = all_under && ms.back() < 200;
  }
  std::printf("%s\n", all_under ? "every page < 200 ms" : "SOME PAGE >= 200 ms");
  reader.reset();
  db.reset();
  if (temp) {
    ::unlink(path.c_str());
    ::unlink((path + "-wal").c_str());
    ::unlink((path + "-shm").c_str());
  }
  return all_under ? 0 : 1;
}
