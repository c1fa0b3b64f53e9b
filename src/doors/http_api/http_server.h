// HttpServer: the async HTTP/1.1 listener (Boost.Beast) the daemon's API is served on.
//
// N io threads, each running its own io_context (no cross-thread wakeups between them);
// connections are spread round-robin and each lives on its own strand. The server
// owns transport concerns only (keep-alive, TLS, limits, timeouts, connection cap,
// graceful shutdown) and hands every complete request to a RequestHandler. Hostile
// clients get answers instead of resources: 413 for a body over max_body_bytes, 431 for
// headers over max_header_bytes, 408 and close for a request not complete within
// read_timeout (slowloris), 503 and close beyond max_connections.
//
// Streamed responses (Server-Sent Events for MCP): Responder::StartStream writes the
// header at once and returns a ResponseStream; each Write() goes out as one chunk
// (Transfer-Encoding: chunked) as soon as the connection can take it. A live stream has no
// idle or overall timeout (each chunk write still has write_timeout); it ends with End(),
// when the client disconnects (seen at once on plain TCP, at the next write on TLS), on a
// write error or timeout, or at shutdown (Shutdown() ends every stream and lets the last
// chunk out). The stream's on_close callback runs exactly once in every one of these cases.
//
// Threading: Handle() is called on the connection's strand and must not block; a
// Responder may be used from any thread, exactly once (Send or StartStream), and posts the
// write back to the strand. ResponseStream methods are safe from any thread; on_close runs
// on the strand and must not block. Start() and Shutdown() are called from a non-io thread
// (main).
#ifndef INTERLOCK_DOORS_HTTP_API_HTTP_SERVER_H_
#define INTERLOCK_DOORS_HTTP_API_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/app/door_metrics.h"
#include "interlock/result.h"

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

// A streamed response body (see the header comment). Thread-safe handle; holding it does
// not keep the connection open.
class ResponseStream {
 public:
  using WriteFn = std::function<void(std::string)>;
  using EndFn = std::function<void()>;
  ResponseStream(WriteFn write, EndFn end) : write_(std::move(write)), end_(std::move(end)) {}

  // Queues `data` as one chunk. False (and nothing queued) once the stream is over.
  bool Write(std::string data) {
    if (!open_.load()) return false;
    write_(std::move(data));
    return true;
  }
  // Sends the last chunk after everything queued; the connection then serves its next
  // request (keep-alive). Idempotent.
  void End() {
    if (open_.exchange(false)) end_();
  }
  bool open() const { return open_.load(); }
  // Called by the server when the stream is over for any reason.
  void MarkClosed() { open_.store(false); }

 private:
  WriteFn write_;
  EndFn end_;
  std::atomic<bool> open_{true};
};

// Sends the response to one request. Copyable (a copy shares the one Target: one
// reference count); the first Send(), SendFromStrand() or StartStream() wins, later ones
// are ignored. Safe from any thread.
class Responder {
 public:
  // Told, once, whether the answer reached the client: false when the client had closed
  // its side of the connection before the answer was written (a FIN or a reset seen
  // before writing, as nginx's 499), or the write failed; true once it was handed to the
  // connection in full. Runs on the connection's strand and must not block.
  using WrittenFn = std::function<void(bool delivered)>;
  using SendFn = std::function<void(HttpResponse, WrittenFn)>;
  using StartStreamFn = std::function<std::shared_ptr<ResponseStream>(
      HttpResponse head, std::function<void()> on_close)>;

  // Where the answer goes: the connection's side (HttpServer's sessions), shared by every
  // copy of a Responder. Its methods are called at most once in all, from any thread.
  class Target {
   public:
    explicit Target(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
    virtual ~Target() = default;
    virtual void Send(HttpResponse res, WrittenFn written) = 0;
    // Send() by a handler running on the connection's strand, as its last step: a target
    // may start the write there and then instead of posting it to the strand once more.
    virtual void SendFromStrand(HttpResponse res, WrittenFn written) {
      Send(std::move(res), std::move(written));
    }
    virtual std::shared_ptr<ResponseStream> StartStream(HttpResponse head,
                                                        std::function<void()> on_close) = 0;
    const boost::asio::any_io_executor& executor() const { return executor_; }

   private:
    boost::asio::any_io_executor executor_;
  };

  // A Responder over two functions (a StartStream without `start_stream` answers a closed
  // stream).
  Responder(boost::asio::any_io_executor executor, SendFn send, StartStreamFn start_stream = {});
  explicit Responder(std::shared_ptr<Target> target) : target_(std::move(target)) {}

  void Send(HttpResponse res) const { target_->Send(std::move(res), {}); }
  // The same, and `written` learns whether the client got it (see WrittenFn). A second
  // Send is ignored, and so is its `written`.
  void Send(HttpResponse res, WrittenFn written) const {
    target_->Send(std::move(res), std::move(written));
  }
  // Send, only from the connection's strand (executor()) and as the last thing done
  // there: the write may start at once (Target::SendFromStrand).
  void SendFromStrand(HttpResponse res, WrittenFn written = {}) const {
    target_->SendFromStrand(std::move(res), std::move(written));
  }
  // Starts a streamed response: `head` (status and headers; its body is ignored) is
  // written at once with chunked encoding. `on_close` runs exactly once when the stream is
  // over (see the header comment). Returns a closed stream when the responder was already
  // used or the transport cannot stream; on_close then runs at once.
  std::shared_ptr<ResponseStream> StartStream(HttpResponse head,
                                              std::function<void()> on_close) const {
    return target_->StartStream(std::move(head), std::move(on_close));
  }
  // The connection's strand: timers for long polls live here.
  const boost::asio::any_io_executor& executor() const { return target_->executor(); }

 private:
  std::shared_ptr<Target> target_;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void Handle(HttpRequest request, Responder responder) = 0;
};

// Request framing (RFC 9112 section 6): the only transfer coding a request may carry is
// exactly "chunked" (one Transfer-Encoding field; the name compared case-insensitively, as
// transfer-coding names are), never together with Content-Length and never on HTTP/1.0.
// Anything else (`gzip, chunked`, `chunked, identity`, `identity`, a repeated field) leaves
// the body's length to guesswork, the ground request smuggling grows on: the server answers
// 400 with the returned reason and closes the connection (section 6.3). nullopt: framed.
std::optional<std::string> RequestFramingError(const HttpRequest& request);

// Appends `res`'s status line and header fields, with the blank line that ends them: the
// bytes beast::http's serializer writes before the body of a response that is not chunked
// (HttpServerTest.ResponseHeadIsTheSerializersHead). The server writes these and the body.
void AppendResponseHead(const HttpResponse& res, std::string* out);

// A JSON error body {"code": ..., "reason": ...} with the given status.
HttpResponse JsonError(unsigned status, std::string_view code, std::string_view reason,
                       unsigned version = 11);

class HttpServer {
 public:
  // `handler` and `metrics` must outlive the server.
  HttpServer(HttpServerOptions options, RequestHandler* handler, core::DoorMetrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS material, binds, listens and starts the io threads.
  Status Start();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return endpoint_; }
  // The first io thread's context (signals, the acceptor).
  boost::asio::io_context& io_context() { return *iocs_.front(); }
  bool tls() const { return !options_.tls_cert_file.empty(); }

  // Stops accepting, closes idle connections, lets in-flight requests finish for up to
  // shutdown_grace, then stops the io threads. Idempotent; never call from an io thread.
  void Shutdown();

  struct Shared;  // state shared with connections (defined in the .cc)

 private:
  HttpServerOptions options_;
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;  // one per io thread
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::vector<std::thread> threads_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_HTTP_API_HTTP_SERVER_H_
