// The HTTP exchange both HTTP doors serve with (the API, doors/http_api/, and MCP over
// HTTP, doors/mcp_http/): the request and response types, a Responder that answers one
// request once, and the ResponseStream of a streamed answer (Server-Sent Events for MCP).
// The listener that produces them is doors/http_api/http_server.h (HttpServer); a handler
// written against this header runs behind it without naming it.
//
// Streamed responses: Responder::StartStream writes the header at once and returns a
// ResponseStream; each Write() goes out as one chunk (Transfer-Encoding: chunked) as soon
// as the connection can take it. The stream's on_close callback runs exactly once, however
// the stream ends (End(), the client gone, a write error or timeout, the server's shutdown).
//
// Threading: a Responder may be used from any thread, exactly once (Send or StartStream),
// and posts the write back to the connection's strand. ResponseStream methods are safe from
// any thread; on_close runs on the strand and must not block. RequestHandler::Handle runs
// on the connection's strand and must not block.
#ifndef INTERLOCK_HTTP_EXCHANGE_H_
#define INTERLOCK_HTTP_EXCHANGE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace interlock::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

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

}  // namespace interlock::server

#endif  // INTERLOCK_HTTP_EXCHANGE_H_
