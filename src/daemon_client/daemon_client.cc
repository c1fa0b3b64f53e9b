#include "daemon_client/daemon_client.h"

#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>

#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"
#include "outbound/tls_client.h"

namespace interlock::daemon_client {
namespace {

namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;

constexpr size_t kMaxDaemonReplyBytes = 8 << 20;

class HttpDaemonChannel final : public core::DaemonChannel {
 public:
  HttpDaemonChannel(core::DaemonAddress address, std::string host, std::string port,
                    std::string prefix, std::unique_ptr<ssl::context> tls)
      : address_(std::move(address)),
        host_(std::move(host)),
        port_(std::move(port)),
        prefix_(std::move(prefix)),
        tls_(std::move(tls)) {}

  Result<core::DaemonReply> Exchange(std::string_view method, std::string_view target,
                                     std::string body, std::chrono::milliseconds timeout,
                                     const std::function<bool()>& keep_going,
                                     std::string_view traceparent,
                                     std::string_view idempotency_key) const override;

  const std::string& url() const override { return address_.url; }

 private:
  const core::DaemonAddress address_;
  const std::string host_;
  const std::string port_;
  const std::string prefix_;                 // path prefix without a trailing slash ("" for none)
  const std::unique_ptr<ssl::context> tls_;  // null for http://
};

Result<core::DaemonReply> HttpDaemonChannel::Exchange(std::string_view method,
                                                      std::string_view target, std::string body,
                                                      std::chrono::milliseconds timeout,
                                                      const std::function<bool()>& keep_going,
                                                      std::string_view traceparent,
                                                      std::string_view idempotency_key) const {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(prefix_ + std::string(target));
  req.version(11);
  req.set(http::field::host, outbound::HostHeader(host_, port_, tls_ ? "443" : "80"));
  req.set(http::field::authorization, "Bearer " + address_.token);
  req.set(http::field::user_agent, address_.user_agent);
  req.set(http::field::connection, "close");
  // The daemon parents its decision span on it and records it (docs/telemetry.md) after
  // its own check. Untrusted (an MCP client's _meta): only hex and dashes ever become a
  // header, so no value can inject a line into the request.
  if (!traceparent.empty() && traceparent.size() <= 128 &&
      traceparent.find_first_not_of("0123456789abcdef-") == std::string_view::npos) {
    req.set("traceparent", traceparent);
  }
  if (!idempotency_key.empty() && idempotency_key.size() <= 255 &&
      std::all_of(idempotency_key.begin(), idempotency_key.end(),
                  [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    req.set("Idempotency-Key", idempotency_key);
  }
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();
  outbound::ExchangeOptions o;
  o.peer = "the daemon";
  o.connect_timeout = address_.connect_timeout;
  o.timeout = timeout;
  o.max_reply_bytes = kMaxDaemonReplyBytes;
  o.keep_going = keep_going;
  o.poll_interval = address_.poll_interval;
  auto r = outbound::HttpExchange(host_, port_, tls_.get(), req, o);
  if (!r.ok()) {
    Error e = r.error();
    if (e.message != "cancelled") e.message += " (daemon " + address_.url + ")";
    return e;
  }
  return core::DaemonReply{r->status, std::move(r->body)};
}

}  // namespace

Result<std::unique_ptr<core::DaemonChannel>> HttpDaemonConnector::Connect(
    core::DaemonAddress address) const {
  Result<outbound::HttpEndpoint> e = outbound::ParseHttpEndpoint(address.url);
  if (!e.ok()) return Error::Invalid("--daemon " + address.url + ": " + e.error().message);
  if (e->has_userinfo || e->has_query || e->has_fragment) {
    return Error::Invalid("--daemon " + address.url +
                          ": credentials, query and fragment are not allowed (the token comes "
                          "from --token-env)");
  }
  std::string prefix = std::move(e->path);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (address.token.empty()) return Error::Invalid("the daemon token is empty");
  std::unique_ptr<ssl::context> tls;
  if (e->tls) {
    // Verify the daemon's certificate chain (the system's CAs, or --daemon-ca) and its
    // name (host name or IP address in the certificate, set per connection).
    auto ctx = outbound::MakeTlsClientContext(address.ca_file);
    if (!ctx.ok()) return Error::Invalid("--daemon " + address.url + ": " + ctx.error().message);
    tls = std::move(ctx).value();
  } else if (!address.ca_file.empty()) {
    return Error::Invalid("--daemon-ca applies to https:// daemons only");
  }
  return std::unique_ptr<core::DaemonChannel>(
      std::make_unique<HttpDaemonChannel>(std::move(address), std::move(e->host),
                                          std::move(e->port), std::move(prefix), std::move(tls)));
}

const core::DaemonConnector& DefaultConnector() {
  static const HttpDaemonConnector connector;
  return connector;
}

}  // namespace interlock::daemon_client
