// StartSessionEgress (proxy.h): one sandboxed MCP session's proxy, its decider and its
// receipts, owned together so that the proxy stops before what it reports to.
#include <memory>
#include <utility>

#include "doors/egress/decider.h"
#include "doors/egress/proxy.h"
#include "doors/egress/receipts.h"

namespace interlock::egress {

namespace {

class SessionProxy final : public core::SessionEgress {
 public:
  explicit SessionProxy(std::unique_ptr<EgressDecider> decider)
      : decider_(std::move(decider)),
        proxy_(
            decider_.get(), ProxyOptions{},
            [book = &receipts_](const EgressOutcome& o) { book->Observe(o); },
            [book = &receipts_](const EgressOutcome& o) { book->Observe(o); }) {}
  Status Listen(const std::string& path) { return proxy_.ListenUnix(path); }
  void Start() { proxy_.Start(); }
  std::string TakeReceiptsJson(const std::string& call_id) override {
    return receipts_.TakeJson(call_id);
  }

 private:
  std::unique_ptr<EgressDecider> decider_;
  ReceiptBook receipts_;
  EgressProxy proxy_;  // declared last: stopped first, before what it decides and reports to
};

}  // namespace

Result<std::unique_ptr<core::SessionEgress>> StartSessionEgress(
    std::unique_ptr<EgressDecider> decider, const std::string& socket_path) {
  auto proxy = std::make_unique<SessionProxy>(std::move(decider));
  if (Status s = proxy->Listen(socket_path); !s.ok()) return s.error();
  proxy->Start();
  return std::unique_ptr<core::SessionEgress>(std::move(proxy));
}

Result<std::unique_ptr<core::SessionEgress>> StartSessionEgress(
    core::Guard* guard, core::Store* store, const Clock* clock,
    core::SessionEgressRequest request) {
  return StartSessionEgress(std::make_unique<GuardEgressDecider>(
                                guard, store, clock, std::move(request.agent_id),
                                std::move(request.run_id), std::move(request.call_in_flight)),
                            request.socket_path);
}

}  // namespace interlock::egress
