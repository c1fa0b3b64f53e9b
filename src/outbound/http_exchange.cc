#include "outbound/http_exchange.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "outbound/http_endpoint.h"
#include "outbound/tls_client.h"

namespace interlock::outbound {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// The exchange on `stream` (plain or TLS over `lowest`); `handshake(next)` runs after
// connecting (a no-op for plain TCP).
template <class Stream, class Handshake>
Result<HttpReply> Run(net::io_context& ioc, Stream& stream, beast::tcp_stream& lowest,
                      const std::string& host, const std::string& port,
                      const http::request<http::string_body>& req, const ExchangeOptions& o,
                      Handshake handshake) {
  tcp::resolver resolver(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_reply_bytes);
  std::string failure;  // set by the first failing step
  bool done = false;
  auto fail = [&](const std::string& step, const beast::error_code& ec) {
    failure = ec == beast::error::timeout ? step + " timed out" : step + " failed: " + ec.message();
  };
  lowest.expires_after(o.connect_timeout);
  resolver.async_resolve(host, port, [&](beast::error_code ec, tcp::resolver::results_type rs) {
    if (ec) return fail("resolving the host of " + o.peer, ec);
    lowest.async_connect(rs, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return fail("connecting to " + o.peer, ec);
      handshake([&](beast::error_code ec) {
        if (ec) return fail("the TLS handshake with " + o.peer, ec);
        lowest.expires_after(o.timeout);
        http::async_write(stream, req, [&](beast::error_code ec, size_t) {
          if (ec) return fail("sending the request", ec);
          http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
            if (ec) return fail("reading the reply of " + o.peer, ec);
            done = true;
          });
        });
      });
    });
  });
  if (!o.keep_going) {
    ioc.run();
  } else {
    for (;;) {
      ioc.run_for(o.poll_interval);
      if (ioc.stopped()) break;
      if (!o.keep_going()) {
        resolver.cancel();
        beast::error_code ignored;
        lowest.socket().close(ignored);
        ioc.run();  // drain the cancelled handlers
        return Error{ErrorKind::kTimeout, "cancelled"};
      }
    }
  }
  if (!done) {
    const ErrorKind kind = failure.find("timed out") != std::string::npos ? ErrorKind::kTimeout
                                                                          : ErrorKind::kUnavailable;
    return Error{kind, failure.empty() ? "no reply from " + o.peer : failure};
  }
  HttpReply r;
  r.status = static_cast<int>(parser.get().result_int());
  r.body = std::move(parser.get().body());
  beast::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return r;
}

}  // namespace

Result<HttpReply> HttpExchange(const std::string& host, const std::string& port, ssl::context* tls,
                               const http::request<http::string_body>& req,
                               const ExchangeOptions& options) {
  net::io_context ioc;
  if (tls == nullptr) {
    beast::tcp_stream stream(ioc);
    return Run(ioc, stream, stream, host, port, req, options,
               [](auto&& next) { next(beast::error_code{}); });
  }
  beast::ssl_stream<beast::tcp_stream> stream(ioc, *tls);
  if (Status s = ExpectPeerName(stream.native_handle(), host); !s.ok()) return s.error();
  return Run(ioc, stream, beast::get_lowest_layer(stream), host, port, req, options,
             [&stream](auto&& next) {
               stream.async_handshake(ssl::stream_base::client,
                                      [next](beast::error_code ec) { next(ec); });
             });
}

Result<HttpReply> HttpsJsonExchange(const std::string& url, const std::string& ca_file,
                                    http::request<http::string_body> req,
                                    const ExchangeOptions& options, std::string_view what) {
  auto ep = ParseHttpEndpoint(url);
  if (!ep.ok()) return Error::Invalid(std::string(what) + " URL: " + ep.error().message);
  if (!ep->tls) return Error::Invalid(std::string(what) + " must be https: " + url);
  auto tls = MakeTlsClientContext(ca_file);
  if (!tls.ok()) return tls.error();
  std::string target = ep->path.empty() ? "/" : ep->path;
  if (ep->has_query) target += "?" + ep->query;
  req.target(target);
  req.version(11);
  req.set(http::field::host, HostHeader(ep->host, ep->port, "443"));
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  req.prepare_payload();
  return HttpExchange(ep->host, ep->port, tls->get(), req, options);
}

}  // namespace interlock::outbound
