// The approval queue's tables as both stores create them (internal to src/store): SQLite's
// schema migration 2 is kApprovalsSchema as it stands, PostgreSQL's migration 4 adds an
// index of its own after it. One text, so the two backends' queues hold the same columns.
// A migration's text is fixed once released: never edit it, add a migration.
#ifndef INTERLOCK_STORE_APPROVALS_SCHEMA_H_
#define INTERLOCK_STORE_APPROVALS_SCHEMA_H_

#include <array>
#include <cstddef>

namespace interlock::store::internal {

inline constexpr char kApprovalsSchema[] =
    "CREATE TABLE approvals ("
    "  approval_id TEXT PRIMARY KEY,"
    "  call_id TEXT NOT NULL UNIQUE,"
    "  run_id TEXT NOT NULL,"
    "  agent_id TEXT NOT NULL,"
    "  principal TEXT NOT NULL,"
    "  tool TEXT NOT NULL,"
    "  args_sha256 TEXT NOT NULL,"
    "  required INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  deadline_ms BIGINT NOT NULL,"
    "  hard_deadline_ms BIGINT NOT NULL,"
    "  escalation_level INTEGER NOT NULL DEFAULT 0,"
    "  decided_ms BIGINT NULL,"
    "  timeout_s INTEGER NOT NULL,"
    "  auto_deny INTEGER NOT NULL,"
    "  records BIGINT NOT NULL DEFAULT 0,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  used_ms BIGINT NULL,"
    "  used_call_id TEXT NULL);"
    "CREATE INDEX approvals_state ON approvals(state, deadline_ms);"
    "CREATE INDEX approvals_decided ON approvals(decided_ms);"
    "CREATE TABLE approval_votes ("
    "  approval_id TEXT NOT NULL REFERENCES approvals(approval_id),"
    "  reviewer TEXT NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  comment TEXT NOT NULL,"
    "  time_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (approval_id, reviewer));";

// `head` followed by `tail`, as one NUL-terminated string made at compile time.
template <std::size_t H, std::size_t T>
constexpr std::array<char, H + T - 1> JoinSql(const char (&head)[H], const char (&tail)[T]) {
  std::array<char, H + T - 1> out{};
  for (std::size_t i = 0; i + 1 < H; ++i) out[i] = head[i];
  for (std::size_t i = 0; i < T; ++i) out[H - 1 + i] = tail[i];
  return out;
}

}  // namespace interlock::store::internal

#endif  // INTERLOCK_STORE_APPROVALS_SCHEMA_H_
