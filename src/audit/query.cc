#include "audit/query.h"

#include <algorithm>

#include <sqlite3.h>

#include "audit/export_internal.h"
#include "audit/sqlite_util.h"
#include "common/json.h"

namespace interlock::audit {

Result<boost::json::array> QueryAudit(sqlite3* db, const AuditQuery& q) {
  const int64_t limit = std::clamp<int64_t>(q.limit, 1, kMaxAuditQueryLimit);
  Statement st;
  if (Status s = PrepareFilteredSelect(db, q.filter, limit, &st); !s.ok()) return s.error();
  boost::json::array out;
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, "read audit_log");
    const int64_t seq = st.Int64(0);
    Result<boost::json::value> v = ParseOwnJson(st.Text(1));
    if (!v.ok() || !v->is_object()) {
      return Error::Corrupt("audit record " + std::to_string(seq) +
                            " has a corrupt body; run `interlock audit verify`");
    }
    boost::json::object& o = v->get_object();
    o["hash"] = st.Text(2);
    out.push_back(std::move(*v));
  }
  return out;
}

Result<AuditPage> PageOver(
    const AuditQuery& q, bool windowed, const std::function<Result<int64_t>()>& last_seq,
    const std::function<Result<boost::json::array>(const AuditQuery&)>& query) {
  const int64_t limit = std::clamp<int64_t>(q.limit, 1, kMaxAuditQueryLimit);
  AuditQuery bounded = q;
  bounded.limit = limit;
  AuditFilter& f = bounded.filter;
  int64_t head = 0;  // the log's last seq (windowed queries only)
  int64_t edge = 0;  // the window's far end, exclusive on both sides
  if (windowed) {
    Result<int64_t> h = last_seq();
    if (!h.ok()) return h.error();
    head = *h;
    if (f.descending) {
      const int64_t top = f.before_seq > 0 ? f.before_seq : head + 1;
      edge = std::max<int64_t>(0, top - kTextScanWindow - 1);
      f.after_seq = std::max(f.after_seq, edge);
    } else {
      edge = f.after_seq + kTextScanWindow + 1;
      f.before_seq = f.before_seq > 0 ? std::min(f.before_seq, edge) : edge;
    }
  }
  auto records = query(bounded);
  if (!records.ok()) return records.error();
  AuditPage page;
  page.records = std::move(*records);
  if (static_cast<int64_t>(page.records.size()) == limit) {
    page.more = true;
    page.next_cursor = page.records.back().as_object().at("seq").to_number<int64_t>();
  } else if (windowed) {
    // The window ran out before the page filled: go on from its edge while records remain.
    if (q.filter.descending) {
      page.more = edge > q.filter.after_seq;
      page.next_cursor = edge + 1;
    } else {
      const int64_t bound = q.filter.before_seq > 0 ? q.filter.before_seq : head + 1;
      page.more = edge < bound;
      page.next_cursor = edge - 1;
    }
  }
  return page;
}

Result<AuditPage> QueryAuditPage(sqlite3* db, const AuditQuery& q) {
  return PageOver(
      q, !q.filter.text.empty(),
      [db]() -> Result<int64_t> {
        Statement st;
        if (Status s = st.Prepare(db, "SELECT COALESCE(MAX(seq), 0) FROM audit_log"); !s.ok()) {
          return s.error();
        }
        if (sqlite3_step(st.get()) != SQLITE_ROW) return SqliteError(db, "read audit_log head");
        return st.Int64(0);
      },
      [db](const AuditQuery& bounded) { return QueryAudit(db, bounded); });
}

}  // namespace interlock::audit
