#include "doors/http_api/api.h"

#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

// The Authenticator's executor: failure records are written on the blocking pool, and the
// held-back ones by a timer on it (cancelled at Shutdown so the pool can join).
class Api::AuthnExec final : public core::AuthnExecutor {
 public:
  explicit AuthnExec(Api* api) : api_(api), timer_(api->pool_.get_executor()) {}
  void Post(std::function<void()> fn) override { net::post(api_->pool_, std::move(fn)); }
  void ArmFlush(std::chrono::milliseconds delay) override {
    timer_.expires_after(delay);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec != net::error::operation_aborted) api_->authn_->FlushFailures();
    });
  }
  void CancelFlush() override { timer_.cancel(); }

 private:
  Api* api_;
  boost::asio::steady_timer timer_;
};

Api::Api(ApiOptions options, core::Guard* guard, core::Store* store,
         const core::PolicySource* policies, const Clock* clock, core::DoorMetrics* metrics)
    : options_(options),
      guard_(guard),
      policies_(policies),
      clock_(clock),
      metrics_(metrics),
      calls_(store, policies, clock),
      kills_(*store),
      drills_(store, &calls_, &kills_, clock),
      audit_(store),
      pool_(static_cast<size_t>(std::max(1, options.blocking_threads))),
      public_url_(options.public_url),
      tokens_(core::StoreTokenTable(store)),
      authn_exec_(std::make_unique<AuthnExec>(this)) {
  core::AuthnOptions authn = options_.authn;
  authn.count_failure = [metrics] { metrics->RecordAuthFailure(); };
  authn_ = std::make_unique<core::Authenticator>(std::move(authn), tokens_.get(), policies, clock,
                                                 authn_exec_.get());
}

Api::~Api() { Shutdown(); }

std::string Api::ApprovalUrl(std::string_view approval_id) const {
  std::lock_guard lock(url_mu_);
  if (public_url_.empty()) return "";
  return core::ApprovalLink(public_url_, approval_id);
}

void Api::SetPublicUrl(std::string url) {
  std::lock_guard lock(url_mu_);
  public_url_ = std::move(url);
}

void Api::Shutdown() {
  if (shut_down_.exchange(true)) return;
  waiters_.ShutDown();
  drill_pool_.join();  // a drill's probes are bounded; its requests use pool_
  authn_->Shutdown();  // writes what the timer would have written
  pool_.join();
}

HttpResponse Api::StoreError(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kNotFound:
      return JsonError(404, "NOT_FOUND", e.message);
    case ErrorKind::kPermissionDenied:
      return Forbidden(e.message);
    case ErrorKind::kInvalidArgument:
      return InvalidRequest(e.message);
    case ErrorKind::kAlreadyExists:
      return JsonError(409, "CONFLICT", e.message);
    case ErrorKind::kUnavailable:
    case ErrorKind::kTimeout:
      metrics_->RecordStoreError();
      return JsonError(503, "STORE_UNAVAILABLE", e.message);
    default:
      metrics_->RecordStoreError();
      return JsonError(500, "INTERNAL", e.message);
  }
}
}  // namespace interlock::server
