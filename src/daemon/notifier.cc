#include "daemon/notifier.h"

#include <iostream>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include "common/json.h"
#include "common/time.h"
#include "common/url_text.h"
#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"
#include "outbound/tls_client.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;
namespace ssl = boost::asio::ssl;

Result<WebhookTarget> ParseWebhookUrl(std::string_view url) {
  // Never the URL's userinfo in an error: it is refused because it holds credentials.
  const std::string what = "webhook URL '" + UrlForLog(url) + "'";
  Result<outbound::HttpEndpoint> e = outbound::ParseHttpEndpoint(url);
  if (!e.ok()) return Error::Invalid(what + ": " + e.error().message);
  if (e->has_userinfo) {
    return Error::Invalid(what + " has credentials in it; put a token in the path or query");
  }
  if (e->has_fragment) return Error::Invalid(what + " has a fragment");
  WebhookTarget t;
  t.tls = e->tls;
  t.host = e->host;
  t.port = e->port;
  t.target = e->path.empty() ? "/" : e->path;
  if (e->has_query) t.target += "?" + e->query;
  return t;
}

json::object WebhookNotifier::Body(const Notification& n, const core::CallRecord& c) {
  json::array contacts;
  for (const std::string& s : n.contacts) contacts.push_back(json::string(s));
  const char* kind = n.kind == Notification::Kind::kEscalation ? "escalation" : "flagged";
  json::object body{{"text", n.text},
                    {"event", n.event.empty() ? kind : n.event},
                    {"kind", kind},
                    {"channel", n.channel},
                    {"contacts", std::move(contacts)},
                    {"agent_id", c.agent_id},
                    {"run_id", c.run_id},
                    {"call_id", c.call_id},
                    {"tool", c.call.tool},
                    {"args", c.call.args},  // as stored: redacted values are hmac-sha256:...
                    {"code", CodeName(c.decision.code)},
                    {"reason", c.decision.reason},
                    {"rule", c.decision.rule},
                    {"at", FormatRfc3339(c.at)}};
  // Approval notices carry the approval and its reviewer page as fields of their own (the
  // text has the link too, for Slack); the page needs a signed-in reviewer, so a link
  // forwarded to the wrong channel approves nothing.
  if (!n.approval_id.empty()) body["approval_id"] = n.approval_id;
  if (!n.approval_url.empty()) body["approval_url"] = n.approval_url;
  return body;
}

Result<std::unique_ptr<WebhookNotifier>> WebhookNotifier::Create(NotifierOptions options) {
  std::map<std::string, WebhookTarget> targets;
  bool any_tls = false;
  for (const auto& [channel, url] : options.webhooks) {
    auto t = ParseWebhookUrl(url);
    if (!t.ok()) return Error::Invalid("webhooks[\"" + channel + "\"]: " + t.error().message);
    any_tls = any_tls || t->tls;
    targets.emplace(channel, std::move(*t));
  }
  std::unique_ptr<ssl::context> tls;
  if (any_tls) {
    auto ctx = outbound::MakeTlsClientContext(options.ca_file);
    if (!ctx.ok()) return Error::Invalid("notifier.ca_file: " + ctx.error().message);
    tls = std::move(*ctx);
  }
  return std::unique_ptr<WebhookNotifier>(
      new WebhookNotifier(std::move(options), std::move(targets), std::move(tls)));
}

WebhookNotifier::WebhookNotifier(NotifierOptions options,
                                 std::map<std::string, WebhookTarget> targets,
                                 std::unique_ptr<ssl::context> tls)
    : options_(std::move(options)),
      targets_(std::move(targets)),
      tls_(std::move(tls)),
      thread_([this] { Run(); }) {}

WebhookNotifier::~WebhookNotifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
  }
  cv_.notify_all();
  thread_.join();
}

void WebhookNotifier::Notify(const Notification& n, const core::CallRecord& context) {
  Item item{n.channel, ToJsonText(Body(n, context))};
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queue || stopping_) {
      dropped_.fetch_add(1);
      std::cerr << "interlock: notifier queue full; dropped notice for " << n.channel << '\n';
      return;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void WebhookNotifier::Run() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline_) {
        dropped_.fetch_add(queue_.size());
        return;
      }
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    std::cerr << "interlock: notify " << item.channel << ": " << item.body << '\n';
    auto it = targets_.find(item.channel);
    if (it == targets_.end()) continue;  // the log is the delivery
    auto backoff = options_.initial_backoff;
    bool ok = false;
    for (int attempt = 1; attempt <= options_.max_attempts && !ok; ++attempt) {
      ok = Post(it->second, item.body);
      if (ok || attempt == options_.max_attempts) break;
      std::unique_lock lock(mu_);
      // Sleep for the backoff, but give up waiting once shutdown's drain time is over.
      cv_.wait_for(lock, backoff, [this] {
        return stopping_ && std::chrono::steady_clock::now() >= drain_deadline_;
      });
      if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline_) break;
      backoff *= 2;
    }
    if (ok) {
      delivered_.fetch_add(1);
    } else {
      failed_.fetch_add(1);
      std::cerr << "interlock: webhook for " << item.channel << " failed after retries\n";
    }
  }
}

bool WebhookNotifier::Post(const WebhookTarget& t, const std::string& body) {
  http::request<http::string_body> req{http::verb::post, t.target, 11};
  req.set(http::field::host, outbound::HostHeader(t.host, t.port, t.tls ? "443" : "80"));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "interlock-notifier");
  req.set(http::field::connection, "close");
  req.body() = body;
  req.prepare_payload();
  outbound::ExchangeOptions o;
  o.peer = "the webhook";
  o.connect_timeout = options_.request_timeout;
  o.timeout = options_.request_timeout;
  o.max_reply_bytes = 1 << 20;                 // only the status matters; any sane reply fits
  if (t.tls && tls_ == nullptr) return false;  // not reached: Create builds it for https
  auto r = outbound::HttpExchange(t.host, t.port, t.tls ? tls_.get() : nullptr, req, o);
  if (!r.ok()) {
    std::cerr << "interlock: webhook " << t.host << ": " << r.error().message << '\n';
    return false;
  }
  return r->status >= 200 && r->status < 300;
}

}  // namespace interlock::server
