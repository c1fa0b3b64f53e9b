// HttpServer: the async HTTP/1.1 listener (Boost.Beast) the daemon's API is served on.
//
// One io_context run by N threads; each connection lives on its own strand. The server
// owns transport concerns only (keep-alive, TLS, limits, timeouts, connection cap,
// graceful shutdown) and hands every complete request to a RequestHandler. Hostile
// clients get answers instead of resources: 413 for a body over max_body_bytes, 431 for
// headers over max_header_bytes, 408 and close for a request not complete within
// read_timeout (slowloris), 503 and close beyond max_connections.
//
// Threading: Handle() is called on the connection's strand and must not block; a
// Responder may be used from any thread, exactly once, and posts the write back to the
// strand. Start() and Shutdown() are called from a non-io thread (main).
#ifndef INTERLOCK_SERVER_HTTP_SERVER_H_
#define INTERLOCK_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "interlock/result.h"
#include "server/metrics.h"

namespace interlock::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

struct ServerLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 8 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // whole request, first byte to last
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait between requests
  std::chrono::milliseconds write_timeout{10'000};
  int max_connections = 4096;
  std::chrono::milliseconds shutdown_grace{10'000};  // in-flight requests at SIGTERM
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8181;  // 0: any free port (tests)
  int threads = 0;       // 0: hardware concurrency
  ServerLimits limits;
  std::string tls_cert_file;  // PEM; TLS is on when both are set
  std::string tls_key_file;
};

// Sends the response to one request. Copyable; the first Send() wins, later ones are
// ignored. Safe from any thread.
class Responder {
 public:
  Responder(boost::asio::any_io_executor executor, std::function<void(HttpResponse)> send)
      : executor_(std::move(executor)), send_(std::move(send)) {}
  void Send(HttpResponse res) const { send_(std::move(res)); }
  // The connection's strand: timers for long polls live here.
  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  boost::asio::any_io_executor executor_;
  std::function<void(HttpResponse)> send_;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void Handle(HttpRequest request, Responder responder) = 0;
};

// A JSON error body {"code": ..., "reason": ...} with the given status.
HttpResponse JsonError(unsigned status, std::string_view code, std::string_view reason,
                       unsigned version = 11);

class HttpServer {
 public:
  // `handler` and `metrics` must outlive the server.
  HttpServer(HttpServerOptions options, RequestHandler* handler, Metrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS material, binds, listens and starts the io threads.
  Status Start();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return endpoint_; }
  boost::asio::io_context& io_context() { return ioc_; }
  bool tls() const { return !options_.tls_cert_file.empty(); }

  // Stops accepting, closes idle connections, lets in-flight requests finish for up to
  // shutdown_grace, then stops the io threads. Idempotent; never call from an io thread.
  void Shutdown();

  struct Shared;  // state shared with connections (defined in the .cc)

 private:
  HttpServerOptions options_;
  boost::asio::io_context ioc_;
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::vector<std::thread> threads_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace interlock::server

#endif  // INTERLOCK_SERVER_HTTP_SERVER_H_
