// Test helpers: temporary directories and audit logs built with AppendAuditEvents.
#ifndef INTERLOCK_TESTS_UNIT_AUDIT_AUDIT_TEST_UTIL_H_
#define INTERLOCK_TESTS_UNIT_AUDIT_AUDIT_TEST_UTIL_H_

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "audit/redact.h"
#include "common/time.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_util.h"
#include "temp_dir.h"

namespace interlock::audit::testing {

using ::interlock::testing::TempDir;

inline SqliteDb OpenRw(const std::string& path) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
      SQLITE_OK);
  SqliteDb db(raw);
  EXPECT_TRUE(EnsureAuditSchema(db.get()).ok());
  return db;
}

inline void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  sqlite3_free(err);
}

// The first column of the first row of `sql` as text ("" when there is no row).
inline std::string QueryText(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  std::string out;
  if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    if (t != nullptr) out = reinterpret_cast<const char*>(t);
  }
  sqlite3_finalize(st);
  return out;
}

inline TimePoint T0() { return ParseRfc3339("2026-11-22T10:00:00Z").value(); }

// A generic event of `type` at `t`.
inline AuditEvent Event(std::string_view type, TimePoint t, std::string run = "run-1",
                        std::string call = "", boost::json::object data = {}) {
  AuditEvent e;
  e.type = type;
  e.time = t;
  e.run_id = std::move(run);
  e.call_id = std::move(call);
  e.agent_id = "billing-agent";
  e.principal = "billing-agent";
  e.data = std::move(data);
  return e;
}

inline void Append(sqlite3* db, const std::vector<AuditEvent>& events) {
  Exec(db, "BEGIN IMMEDIATE");
  Result<AuditHead> h = AppendAuditEvents(db, events);
  ASSERT_TRUE(h.ok()) << h.error().message;
  Exec(db, "COMMIT");
}

// Appends n simple decision records, one second apart from `start`.
inline void AppendDecisions(sqlite3* db, int n, TimePoint start = T0(), std::string run = "run-1") {
  std::vector<AuditEvent> ev;
  for (int i = 0; i < n; ++i) {
    boost::json::object data{
        {"tool", "http.get"},
        {"args", {{"url", "https://example.com/" + std::to_string(i)}}},
        {"decision",
         {{"decision", "allow"}, {"code", "ALLOWED"}, {"rule", "r1"}, {"reason", "ok"}}},
        {"state_after", {{"steps", i + 1}, {"tokens", 10 * (i + 1)}}}};
    ev.push_back(Event(kDecision, start + std::chrono::seconds(i), run, "call-" + std::to_string(i),
                       std::move(data)));
  }
  Append(db, ev);
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace interlock::audit::testing

#endif  // INTERLOCK_TESTS_UNIT_AUDIT_AUDIT_TEST_UTIL_H_
