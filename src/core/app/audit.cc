#include "core/app/audit.h"

namespace interlock::core {

Result<audit::AuditPage> AuditTrail::Page(const audit::AuditQuery& query) {
  return store_->QueryAuditPage(query);
}

Result<boost::json::object> AuditTrail::ReplayRun(std::string_view run_id) {
  return store_->ReplayRun(run_id);
}

StoppableSource AuditTrail::History(const std::atomic<bool>* stop) const {
  return StoppableSource(store_, stop);
}

Result<int64_t> AuditTrail::LastSeq() const { return store_->LastSeq(); }

Status AuditTrail::RecordSignIn(const SignIn& s) { return store_->RecordSignIn(s); }

}  // namespace interlock::core
