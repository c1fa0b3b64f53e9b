// Times VerifyAuditLog over a large log (the target: 1,000,000 records < 10 s).
//
// Usage: audit_verify_benchmark [RECORDS] [DB_PATH]
// Builds the log once with AppendAuditEvents in a single transaction (realistic
// decision records of ~600 bytes), writes a signed checkpoint of the head, then
// verifies with the checkpoint, as `interlock audit verify --checkpoints` does.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/verify.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"

namespace audit = interlock::audit;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  std::string path = argc > 2 ? argv[2] : "";
  const bool temp = path.empty();
  if (temp) path = "/tmp/interlock-audit-bench-" + std::to_string(::getpid()) + ".db";
  ::unlink(path.c_str());

  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    return 1;
  }
  audit::SqliteDb db(raw);
  sqlite3_exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
  if (!audit::EnsureAuditSchema(raw).ok()) return 1;

  const auto t0 = Clock::now();
  sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr);
  const interlock::TimePoint start = std::chrono::system_clock::now() - std::chrono::hours(24);
  std::vector<audit::AuditEvent> batch;
  for (long i = 0; i < n;) {
    batch.clear();
    for (int j = 0; j < 1000 && i < n; ++j, ++i) {
      audit::AuditEvent e;
      e.type = audit::kDecision;
      e.time = start + std::chrono::milliseconds(i);
      e.run_id = "run-" + std::to_string(i / 50);
      e.call_id = "call-" + std::to_string(i);
      e.agent_id = "billing-agent";
      e.principal = "billing-agent";
      e.data = {{"tool", "payments.charge"},
                {"args",
                 {{"amount", i % 1000},
                  {"currency", "EUR"},
                  {"api_key", "hmac-sha256:" + std::string(64, 'a')}}},
                {"decision",
                 {{"decision", "allow"},
                  {"code", "ALLOWED"},
                  {"rule", "charge-small"},
                  {"reason", "amount within limit"},
                  {"agent", "billing-agent"},
                  {"tool", "payments.charge"}}},
                {"policy_sha256", std::string(64, 'p')},
                {"usage", {{"tokens", 120}, {"cost_usd", 0.002}}},
                {"state_after",
                 {{"steps", i % 50 + 1},
                  {"tokens", 120 * (i % 50 + 1)},
                  {"cost_usd", 0.002 * (i % 50 + 1)},
                  {"elapsed_s", 1.5},
                  {"halted", false}}}};
      batch.push_back(std::move(e));
    }
    auto h = audit::AppendAuditEvents(raw, batch);
    if (!h.ok()) {
      std::fprintf(stderr, "append: %s\n", h.error().message.c_str());
      return 1;
    }
  }
  sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  const double build_s = std::chrono::duration<double>(Clock::now() - t0).count();

  auto key = audit::SigningKey::Generate();
  auto pub = key->Public();
  auto head = audit::ReadAuditHead(raw);
  auto cp = audit::MakeCheckpoint(*key, head->seq, head->hash, std::chrono::system_clock::now());
  std::vector<audit::Checkpoint> cps{*cp};
  db.reset();

  // Verify on a fresh read-only connection, as the CLI does (cold page cache aside).
  auto ro = audit::OpenAuditStore(path, true);
  if (!ro.ok()) return 1;
  audit::VerifyOptions opt;
  opt.checkpoints = cps;
  opt.public_key = &*pub;
  const auto t1 = Clock::now();
  auto r = audit::VerifyAuditLog(ro->get(), opt);
  const double verify_s = std::chrono::duration<double>(Clock::now() - t1).count();
  if (!r.ok() || !r->ok) {
    std::fprintf(stderr, "verify failed: %s\n",
                 r.ok() ? r->problem.c_str() : r.error().message.c_str());
    return 1;
  }
  std::printf("records: %ld\nbuild: %.2f s\nverify: %.2f s (%.0f records/s)\n%s\n", n, build_s,
              verify_s, n / verify_s, audit::VerifySummary(*r).c_str());
  ro->reset();
  if (temp) {
    ::unlink(path.c_str());
    ::unlink((path + "-wal").c_str());
    ::unlink((path + "-shm").c_str());
  }
  return 0;
}
