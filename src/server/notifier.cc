#include "server/notifier.h"

#include <iostream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include "common/time.h"

namespace interlock::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

Result<WebhookTarget> ParseWebhookUrl(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return Error::Invalid("webhook URL '" + std::string(url) + "' is not a URL");
  if (u->scheme() != "http") {
    return Error::Invalid("webhook URL '" + std::string(url) +
                          "' must be http:// (put a relay in front of https targets)");
  }
  if (u->host().empty())
    return Error::Invalid("webhook URL '" + std::string(url) + "' has no host");
  WebhookTarget t;
  t.host = std::string(u->host());
  t.port = u->has_port() ? std::string(u->port()) : "80";
  t.target = std::string(u->encoded_path());
  if (t.target.empty()) t.target = "/";
  if (u->has_query()) t.target += "?" + std::string(u->encoded_query());
  return t;
}

json::object WebhookNotifier::Body(const Notification& n, const core::CallRecord& c) {
  json::array contacts;
  for (const std::string& s : n.contacts) contacts.push_back(json::string(s));
  return {{"text", n.text},
          {"kind", n.kind == Notification::Kind::kEscalation ? "escalation" : "flagged"},
          {"channel", n.channel},
          {"contacts", std::move(contacts)},
          {"agent_id", c.agent_id},
          {"run_id", c.run_id},
          {"call_id", c.call_id},
          {"tool", c.call.tool},
          {"code", CodeName(c.decision.code)},
          {"reason", c.decision.reason},
          {"rule", c.decision.rule},
          {"at", FormatRfc3339(c.at)}};
}

Result<std::unique_ptr<WebhookNotifier>> WebhookNotifier::Create(NotifierOptions options) {
  std::map<std::string, WebhookTarget> targets;
  for (const auto& [channel, url] : options.webhooks) {
    auto t = ParseWebhookUrl(url);
    if (!t.ok()) return Error::Invalid("webhooks[\"" + channel + "\"]: " + t.error().message);
    targets.emplace(channel, std::move(*t));
  }
  return std::unique_ptr<WebhookNotifier>(
      new WebhookNotifier(std::move(options), std::move(targets)));
}

WebhookNotifier::WebhookNotifier(NotifierOptions options,
                                 std::map<std::string, WebhookTarget> targets)
    : options_(std::move(options)), targets_(std::move(targets)), thread_([this] { Run(); }) {}

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
  Item item{n.channel, json::serialize(Body(n, context))};
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
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  bool ok = false;
  http::request<http::string_body> req{http::verb::post, t.target, 11};
  req.set(http::field::host, t.host);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "interlock-notifier");
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  tcp::resolver resolver(ioc);
  stream.expires_after(options_.request_timeout);
  resolver.async_resolve(
      t.host, t.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return;
        stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
          if (ec2) return;
          http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
            if (ec3) return;
            http::async_read(stream, buffer, res, [&](beast::error_code ec4, std::size_t) {
              if (ec4) return;
              ok = res.result_int() >= 200 && res.result_int() < 300;
            });
          });
        });
      });
  ioc.run_for(options_.request_timeout + std::chrono::seconds(1));
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return ok;
}

}  // namespace interlock::server
