// WebhookNotifier: delivers escalations and flagged-call notices without blocking a
// decision.
//
// Notify() only enqueues (bounded; when full the notice is dropped, logged and counted).
// One delivery thread writes each notice to the log and, when its channel has a webhook
// in the config, POSTs a Slack-compatible JSON body ({"text": ...} plus structured
// fields) to it, retrying with exponential backoff on connection errors and non-2xx
// answers. Targets are http:// or https:// (the certificate and its name verified against
// the system CAs or `ca_file`; never a fallback to plain HTTP).
// Thread-safety: Notify() from any thread; the destructor drains for at most
// `drain_timeout` and joins the delivery thread.
#ifndef INTERLOCK_DAEMON_NOTIFIER_H_
#define INTERLOCK_DAEMON_NOTIFIER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/ssl/context.hpp>
#include <boost/json/object.hpp>

#include "core/guard.h"
#include "interlock/result.h"

namespace interlock::server {

struct WebhookTarget {
  bool tls = false;  // https://
  std::string host;
  std::string port;
  std::string target;  // path and query
};

// Parses "http(s)://host[:port]/path[?query]". Credentials in the URL, fragments and other
// schemes are errors.
Result<WebhookTarget> ParseWebhookUrl(std::string_view url);

struct NotifierOptions {
  std::map<std::string, std::string> webhooks;  // channel name -> http(s):// URL
  std::string ca_file;  // https targets: PEM CA bundle ("" = the system CAs)
  size_t max_queue = 1024;
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds drain_timeout{2000};
};

class WebhookNotifier final : public core::Notifier {
 public:
  // Fails when a webhook URL is invalid.
  static Result<std::unique_ptr<WebhookNotifier>> Create(NotifierOptions options);
  ~WebhookNotifier() override;

  void Notify(const Notification& n, const core::CallRecord& context) override;

  uint64_t delivered() const { return delivered_.load(); }
  uint64_t failed() const { return failed_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

  // The webhook body for a notice (exposed for tests).
  static boost::json::object Body(const Notification& n, const core::CallRecord& context);

 private:
  WebhookNotifier(NotifierOptions options, std::map<std::string, WebhookTarget> targets,
                  std::unique_ptr<boost::asio::ssl::context> tls);
  void Run();
  bool Post(const WebhookTarget& t, const std::string& body);

  struct Item {
    std::string channel;
    std::string body;
  };

  NotifierOptions options_;
  std::map<std::string, WebhookTarget> targets_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null when no target is https
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_NOTIFIER_H_
