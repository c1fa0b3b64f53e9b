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
    Result<boost::json::value> v = ParseJsonStrict(st.Text(1), {.max_bytes = 64 << 20});
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

}  // namespace interlock::audit
