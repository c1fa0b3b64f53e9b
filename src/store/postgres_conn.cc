#include "store/postgres_conn.h"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <utility>

#include "store/libpq.h"

namespace interlock::store::pg {

namespace {

// libpq's messages span several lines, indented with tabs: one line for logs and reasons.
std::string OneLine(std::string_view raw) {
  std::string msg;
  for (char ch : raw) {
    if (ch == '\n' || ch == '\t') {
      if (!msg.empty() && msg.back() != ' ') msg.push_back(' ');
    } else {
      msg.push_back(ch);
    }
  }
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  return msg;
}

}  // namespace

PgResult::~PgResult() {
  if (r_ != nullptr) pq_->clear(r_);
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_ != nullptr) pq_->clear(r_);
    pq_ = o.pq_;  // a default-constructed result has none
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

int PgResult::rows() const { return r_ == nullptr ? 0 : pq_->ntuples(r_); }

bool PgResult::IsNull(int row, int col) const { return pq_->getisnull(r_, row, col) != 0; }

std::string_view PgResult::Text(int row, int col) const {
  return std::string_view(pq_->getvalue(r_, row, col),
                          static_cast<size_t>(pq_->getlength(r_, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  const std::string_view t = Text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

int64_t PgResult::Affected() const {
  const char* n = r_ == nullptr ? "" : pq_->cmd_tuples(r_);
  int64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& uri, const PgLimits& limits) {
  const std::string connect_timeout = std::to_string(limits.connect_timeout_s);
  const std::string tcp_user_timeout = std::to_string(limits.tcp_user_timeout_ms);
  // Keywords before dbname are defaults the URI may override; those after it are ours.
  const char* keys[] = {
      "connect_timeout",  "tcp_user_timeout", "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* values[] = {connect_timeout.c_str(),
                          tcp_user_timeout.c_str(),
                          "5",
                          "2",
                          "2",
                          "interlock",
                          uri.c_str(),
                          nullptr};
  Result<const Libpq*> pq = LoadLibpq();
  if (!pq.ok()) return pq.error();
  pg_conn* c = (*pq)->connectdb_params(keys, values, /*expand_dbname=*/1);
  if (c == nullptr) return Error::Unavailable("store: postgresql: out of memory");
  std::unique_ptr<PgConn> conn(new PgConn(*pq, c));
  // Server notices are not errors (a shutdown's "terminating connection" reaches the caller
  // as the failure it announces), but a WARNING is kept for TakeWarning().
  conn->pq_->set_notice_receiver(
      c,
      [](void* self, const PGresult* r) {
        auto* conn = static_cast<PgConn*>(self);
        const char* severity = conn->pq_->result_error_field(r, PG_DIAG_SEVERITY_NONLOCALIZED);
        if (severity == nullptr || std::string_view(severity) != "WARNING") return;
        if (!conn->warning_.empty()) return;  // the first one says what happened
        const char* msg = conn->pq_->result_error_field(r, PG_DIAG_MESSAGE_PRIMARY);
        conn->warning_ = OneLine(msg != nullptr ? msg : "WARNING");
      },
      conn.get());
  if (conn->pq_->status(c) != CONNECTION_OK) {
    const std::string msg = OneLine(conn->pq_->error_message(c));
    return Error::Unavailable("store: cannot connect to postgresql: " + msg);
  }
  Result<std::vector<PgResult>> set =
      conn->ExecScript("SET statement_timeout = " + std::to_string(limits.statement_timeout_ms) +
                       "; SET lock_timeout = " + std::to_string(limits.lock_timeout_ms) +
                       "; SET idle_in_transaction_session_timeout = 60000"
                       "; SET standard_conforming_strings = on; SET client_encoding = 'UTF8'"
                       "; SET client_min_messages = warning");
  if (!set.ok()) return set.error();
  return conn;
}

PgConn::~PgConn() {
  if (c_ != nullptr) pq_->finish(c_);
}

bool PgConn::Broken() const { return abandoned_ || pq_->status(c_) != CONNECTION_OK; }

Error PgConn::FailureFrom(pg_result* r, std::string_view what, std::string* sqlstate) const {
  std::string raw = r != nullptr ? pq_->result_error_message(r) : "";
  if (raw.empty()) raw = pq_->error_message(c_);
  const std::string msg = OneLine(raw);
  const char* state = r != nullptr ? pq_->result_error_field(r, PG_DIAG_SQLSTATE) : nullptr;
  if (sqlstate != nullptr) *sqlstate = state != nullptr ? state : "";
  return Error::Unavailable("store: postgresql " + std::string(what) + ": " + msg);
}

Result<PgResult> PgConn::Answer(pg_result* r, std::string* sqlstate) const {
  const ExecStatusType st = r != nullptr ? pq_->result_status(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Error e = FailureFrom(r, "query", sqlstate);
    if (r != nullptr) pq_->clear(r);
    return e;
  }
  return PgResult(pq_, r);
}

Result<PgResult> PgConn::Exec(const std::string& sql,
                              const std::vector<std::optional<std::string>>& params,
                              std::string* sqlstate) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  pg_result* r = pq_->exec_params(c_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                  values.data(), nullptr, nullptr, 0);
  return Answer(r, sqlstate);
}

Result<PgResult> PgConn::ExecBinary(const std::string& sql, const std::vector<unsigned>& types,
                                    const std::vector<std::string>& values, std::string* sqlstate) {
  if (types.size() != values.size()) {
    return Error::Invalid("store: a binary statement with " + std::to_string(values.size()) +
                          " values for " + std::to_string(types.size()) + " types");
  }
  std::vector<const char*> v;
  std::vector<int> lengths, formats(values.size(), 1);
  for (const std::string& s : values) {
    v.push_back(s.data());
    lengths.push_back(static_cast<int>(s.size()));
  }
  pg_result* r = pq_->exec_params(c_, sql.c_str(), static_cast<int>(values.size()), types.data(),
                                  v.data(), lengths.data(), formats.data(), 0);
  return Answer(r, sqlstate);
}

bool PgConn::WaitReadable(std::chrono::steady_clock::time_point deadline) {
  while (pq_->is_busy(c_) != 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{pq_->socket(c_), POLLIN, 0};
    if (p.fd < 0) return false;
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return false;
    if (ready > 0 && pq_->consume_input(c_) == 0) return false;
  }
  return true;
}

Result<std::vector<PgResult>> PgConn::ExecScript(const std::string& sql, std::string* sqlstate,
                                                 std::chrono::milliseconds limit) {
  if (abandoned_) return Error::Unavailable("store: postgresql connection given up");
  if (pq_->send_query(c_, sql.c_str()) == 0) return FailureFrom(nullptr, "send", sqlstate);
  if (limit.count() > 0 && !WaitReadable(std::chrono::steady_clock::now() + limit) &&
      pq_->status(c_) == CONNECTION_OK) {
    // Overran: cancel (the server answers the statement at once, an ERROR or, for a
    // COMMIT waiting for a synchronous standby, success with a WARNING), then read on.
    if (PGcancel* cancel = pq_->get_cancel(c_)) {
      char err[256];
      pq_->cancel(cancel, err, sizeof err);
      pq_->free_cancel(cancel);
    }
    if (!WaitReadable(std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
      abandoned_ = true;
      if (sqlstate != nullptr) sqlstate->clear();
      return Error::Unavailable("store: postgresql did not answer within " +
                                std::to_string(limit.count()) + " ms, nor to a cancel");
    }
  }
  std::vector<PgResult> out;
  std::optional<Error> failure;
  // Every result must be read, even after a failure, before the connection is usable.
  while (pg_result* r = pq_->get_result(c_)) {
    const ExecStatusType st = pq_->result_status(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      if (!failure) failure = FailureFrom(r, "query", sqlstate);
      pq_->clear(r);
      continue;
    }
    out.emplace_back(pq_, r);
  }
  if (failure) return *failure;
  if (pq_->status(c_) != CONNECTION_OK) return FailureFrom(nullptr, "connection", sqlstate);
  return out;
}

std::string PgConn::TakeWarning() { return std::exchange(warning_, std::string()); }

int PgConn::Socket() const { return pq_->socket(c_); }

Result<std::vector<std::string>> PgConn::TakeNotifications(std::string_view channel) {
  if (pq_->consume_input(c_) == 0 || Broken()) {
    return Error::Unavailable("store: postgresql listen: " + OneLine(pq_->error_message(c_)));
  }
  std::vector<std::string> out;
  while (PGnotify* n = pq_->notifies(c_)) {
    if (n->relname != nullptr && channel == n->relname && n->extra != nullptr) {
      out.emplace_back(n->extra);
    }
    pq_->freemem(n);
  }
  return out;
}

void AppendLiteral(std::string* out, std::string_view s) {
  out->push_back('\'');
  for (char ch : s) {
    if (ch == '\'') out->push_back('\'');
    out->push_back(ch);
  }
  out->push_back('\'');
}

}  // namespace interlock::store::pg
