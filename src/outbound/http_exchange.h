// One blocking HTTP(S) request/reply on a fresh connection, driven on the calling thread:
// resolve, connect, TLS handshake (chain and peer name verified), write, read. The one way
// Interlock's short-lived clients talk to a server (the gateway and hook to the daemon,
// the reviewers' CLI, webhooks), so they agree on timeouts, TLS and error words.
#ifndef INTERLOCK_OUTBOUND_HTTP_EXCHANGE_H_
#define INTERLOCK_OUTBOUND_HTTP_EXCHANGE_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "interlock/result.h"

namespace interlock::outbound {

struct HttpReply {
  int status = 0;
  std::string body;
};

struct ExchangeOptions {
  // Names the server in errors: "the daemon", "the webhook".
  std::string peer = "the server";
  std::chrono::milliseconds connect_timeout{5000};  // resolve, connect and handshake
  std::chrono::milliseconds timeout{15000};         // write and read, after the handshake
  size_t max_reply_bytes = 8 << 20;
  // When set, polled every `poll_interval`; false cancels the exchange (kTimeout,
  // "cancelled").
  std::function<bool()> keep_going = nullptr;
  std::chrono::milliseconds poll_interval{1000};
};

// `tls` null: plain HTTP. Otherwise the connection is TLS with that (verifying) context and
// the certificate must name `host` (outbound/tls_client.h); nothing falls back to HTTP.
// Errors: kTimeout for a timed out or cancelled step, kUnavailable otherwise, with the step
// that failed ("connecting to the daemon failed: ...").
Result<HttpReply> HttpExchange(
    const std::string& host, const std::string& port, boost::asio::ssl::context* tls,
    const boost::beast::http::request<boost::beast::http::string_body>& req,
    const ExchangeOptions& options);

// One request to an https-only JSON endpoint (an identity provider's discovery, JWKS or
// token endpoint): `url` must parse and be https, verified with the CAs of `ca_file` (empty:
// the system's). Sets the target, version, Host, Accept: application/json, Connection: close
// and the payload length of `req`; the caller sets the method, User-Agent and body. `what`
// names the endpoint in the errors of the URL ("JWKS URL: ...", "JWKS must be https: ...").
Result<HttpReply> HttpsJsonExchange(
    const std::string& url, const std::string& ca_file,
    boost::beast::http::request<boost::beast::http::string_body> req,
    const ExchangeOptions& options, std::string_view what);

}  // namespace interlock::outbound

#endif  // INTERLOCK_OUTBOUND_HTTP_EXCHANGE_H_
