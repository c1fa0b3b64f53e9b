// PgConn: one libpq connection with errors as values (internal to src/store).
//
// Every failure is an Error of kind kUnavailable (the database cannot serve: connection
// lost or refused, timeouts, read-only, recovery, disk full) unless said otherwise, with
// the SQLSTATE kept so the caller can tell a retryable conflict (serialization failure
// 40001, deadlock 40P01) from the rest. The connection is opened with bounded waits
// (connect_timeout, statement_timeout, lock_timeout, tcp_user_timeout), so no call blocks
// for longer than PgLimits says. Not thread-safe: one thread at a time.
#ifndef INTERLOCK_STORE_POSTGRES_CONN_H_
#define INTERLOCK_STORE_POSTGRES_CONN_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/result.h"

struct pg_conn;
struct pg_result;

namespace interlock::store::pg {

struct Libpq;  // store/libpq.h

// Bounds of every wait on the database (docs/operations.md, "PostgreSQL").
struct PgLimits {
  int connect_timeout_s = 3;  // per host of a multi-host URI
  int statement_timeout_ms = 5000;
  int lock_timeout_ms = 3000;
  int tcp_user_timeout_ms = 5000;  // a peer that vanished without a FIN/RST
};

// One result set, freed on destruction.
class PgResult {
 public:
  PgResult() = default;
  PgResult(const Libpq* pq, pg_result* r) : pq_(pq), r_(r) {}
  ~PgResult();
  PgResult(PgResult&& o) noexcept : pq_(o.pq_), r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  bool IsNull(int row, int col) const;
  std::string_view Text(int row, int col) const;
  int64_t Int(int row, int col) const;  // 0 for NULL or non-numbers
  // Rows an INSERT/UPDATE/DELETE touched.
  int64_t Affected() const;

 private:
  const Libpq* pq_ = nullptr;  // set whenever r_ is
  pg_result* r_ = nullptr;
};

// SQLSTATEs the store acts on.
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kUniqueViolation = "23505";

class PgConn {
 public:
  // Connects to a libpq URI or conninfo (multi-host URIs with target_session_attrs
  // included), with the limits added as session settings.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& uri, const PgLimits& limits);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // One statement with text parameters (nullopt: NULL). On failure *sqlstate (if given)
  // gets the error's SQLSTATE ("" for a connection failure).
  Result<PgResult> Exec(const std::string& sql,
                        const std::vector<std::optional<std::string>>& params,
                        std::string* sqlstate = nullptr);
  // SQL text with several statements, one round trip; every result in order. Stops at
  // the first failing statement (the server skips the rest).
  Result<std::vector<PgResult>> ExecScript(const std::string& sql, std::string* sqlstate = nullptr);

  bool Broken() const;

  // LISTEN/NOTIFY: the connection's socket (to poll for input; -1 when broken), and the
  // payloads of the notifications on `channel` that have arrived (reads what the socket
  // has; never blocks). kUnavailable when the connection is lost.
  int Socket() const;
  Result<std::vector<std::string>> TakeNotifications(std::string_view channel);

 private:
  PgConn(const Libpq* pq, pg_conn* c) : pq_(pq), c_(c) {}
  Error FailureFrom(pg_result* r, std::string_view what, std::string* sqlstate) const;
  const Libpq* pq_;
  pg_conn* c_ = nullptr;
};

// `s` as an SQL string literal ('...' with quotes doubled; standard_conforming_strings is
// on for every connection). Strings with a NUL byte are refused by the server.
void AppendLiteral(std::string* out, std::string_view s);

}  // namespace interlock::store::pg

#endif  // INTERLOCK_STORE_POSTGRES_CONN_H_
