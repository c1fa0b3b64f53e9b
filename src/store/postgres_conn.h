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

#include <chrono>
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
  // One statement with binary parameters (`types`: each one's type OID, `values`: its
  // binary form; one value per type, none NULL), text results.
  Result<PgResult> ExecBinary(const std::string& sql, const std::vector<unsigned>& types,
                              const std::vector<std::string>& values,
                              std::string* sqlstate = nullptr);
  // SQL text with several statements, one round trip; every result in order. Stops at
  // the first failing statement (the server skips the rest).
  //
  // `limit` (0: none) bounds the whole round trip on the client, for the waits no server
  // timeout ends: a COMMIT waiting for a synchronous standby ignores statement_timeout.
  // Past the limit the statement is cancelled (PQcancel; a cancelled COMMIT wait reports
  // success with a WARNING, see TakeWarning) and, when the server does not answer within
  // one more second, the connection is given up (Broken() is true from then on).
  Result<std::vector<PgResult>> ExecScript(const std::string& sql, std::string* sqlstate = nullptr,
                                           std::chrono::milliseconds limit = {});

  bool Broken() const;

  // The first WARNING the server sent since the last call ("" if none), and forgets it.
  // A COMMIT that succeeded with a WARNING may not be what it seems: when
  // statement_timeout (or a cancel) ends a COMMIT's wait for a synchronous standby, the
  // server reports it committed, with the WARNING "canceling wait for synchronous
  // replication", although the transaction may never reach the standby.
  std::string TakeWarning();

  // LISTEN/NOTIFY: the connection's socket (to poll for input; -1 when broken), and the
  // payloads of the notifications on `channel` that have arrived (reads what the socket
  // has; never blocks). kUnavailable when the connection is lost.
  int Socket() const;
  Result<std::vector<std::string>> TakeNotifications(std::string_view channel);

 private:
  PgConn(const Libpq* pq, pg_conn* c) : pq_(pq), c_(c) {}
  Error FailureFrom(pg_result* r, std::string_view what, std::string* sqlstate) const;
  // One statement's result: itself when it succeeded, else its error (the result freed).
  Result<PgResult> Answer(pg_result* r, std::string* sqlstate) const;
  const Libpq* pq_;
  pg_conn* c_ = nullptr;
  // Waits until a result is ready or `deadline`; false when the deadline passed or the
  // connection failed.
  bool WaitReadable(std::chrono::steady_clock::time_point deadline);
  std::string warning_;     // set by the notice receiver, on the thread using the connection
  bool abandoned_ = false;  // a round trip overran its limit and its cancel
};

// `s` as an SQL string literal ('...' with quotes doubled; standard_conforming_strings is
// on for every connection). Strings with a NUL byte are refused by the server.
void AppendLiteral(std::string* out, std::string_view s);

}  // namespace interlock::store::pg

#endif  // INTERLOCK_STORE_POSTGRES_CONN_H_
