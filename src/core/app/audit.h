// AuditTrail: the audit log as the doors see it: one page of the console's search, a run
// replayed from its records, the history the governance reports read, and the records a
// door itself writes (a reviewer signing in or out). A core facade over the store's port
// (core/ports/store.h), so a door holds this instead of the store.
//
// Errors are values: kNotFound (no record names the run), kInvalidArgument (a bad query),
// kUnavailable (the store cannot answer). The caller authorises (admin or reviewer only).
// Thread-safety: every method may block on the store (call it off a network thread) and
// may be called from any thread. The store must outlive the facade.
#ifndef INTERLOCK_CORE_APP_AUDIT_H_
#define INTERLOCK_CORE_APP_AUDIT_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include <boost/json/object.hpp>

#include "audit/audit_query.h"
#include "core/ports/history_source.h"
#include "core/ports/store.h"
#include "interlock/result.h"

namespace interlock::core {

class AuditTrail {
 public:
  explicit AuditTrail(Store* store) : store_(store) {}

  // One page of the console's audit search (Store::QueryAuditPage).
  Result<audit::AuditPage> Page(const audit::AuditQuery& query);
  // The run as the audit log alone tells it, each record's hash re-checked
  // (Store::ReplayRun).
  Result<boost::json::object> ReplayRun(std::string_view run_id);
  // The governance reports' read side, ending early once `stop` is set (a report
  // abandoned by its cache).
  StoppableSource History(const std::atomic<bool>* stop) const;
  // The seq of the newest record (HistorySource::LastSeq): a report computed at it is
  // current until it changes.
  Result<int64_t> LastSeq() const;
  // Records a sign-in or sign-out, committed when it returns: a sign-in that cannot be
  // recorded is refused by the caller.
  Status RecordSignIn(const SignIn& s);

 private:
  Store* store_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_AUDIT_H_
