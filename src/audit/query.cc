#include "audit/query.h"

#include <algorithm>

#include "common/json.h"

namespace interlock::audit {

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

}  // namespace interlock::audit
