#include "doors/http_api/http_server.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/json.h"
#include "common/thread_name.h"

namespace interlock::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

HttpResponse JsonError(unsigned status, std::string_view code, std::string_view reason,
                       unsigned version) {
  HttpResponse res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = ToJsonText(boost::json::object{{"code", code}, {"reason", reason}});
  return res;
}

void AppendResponseHead(const HttpResponse& res, std::string* out) {
  // As beast::http::basic_fields::writer: "HTTP/X.Y ### ", the reason (the message's own,
  // else the status's), CRLF; each field's "name: value" CRLF in order; CRLF.
  const unsigned version = res.version();
  const unsigned code = res.result_int();
  const beast::string_view reason = res.reason();
  size_t size = 13 + reason.size() + 4;
  for (const auto& f : res) size += f.name_string().size() + f.value().size() + 4;
  out->reserve(out->size() + size);
  const char line[13] = {'H',
                         'T',
                         'T',
                         'P',
                         '/',
                         static_cast<char>('0' + version / 10),
                         '.',
                         static_cast<char>('0' + version % 10),
                         ' ',
                         static_cast<char>('0' + code / 100),
                         static_cast<char>('0' + (code / 10) % 10),
                         static_cast<char>('0' + code % 10),
                         ' '};
  out->append(line, sizeof line);
  out->append(reason.data(), reason.size());
  out->append("\r\n");
  for (const auto& f : res) {
    out->append(f.name_string().data(), f.name_string().size());
    out->append(": ");
    out->append(f.value().data(), f.value().size());
    out->append("\r\n");
  }
  out->append("\r\n");
}

std::optional<std::string> RequestFramingError(const HttpRequest& request) {
  auto [first, last] = request.equal_range(http::field::transfer_encoding);
  if (first == last) return std::nullopt;
  if (std::next(first) != last) return "more than one Transfer-Encoding header";
  if (request.version() < 11) return "Transfer-Encoding is not allowed on an HTTP/1.0 request";
  if (request.find(http::field::content_length) != request.end()) {
    return "Transfer-Encoding and Content-Length together";
  }
  if (!beast::iequals(first->value(), "chunked")) {
    return "Transfer-Encoding '" + std::string(first->value().substr(0, 64)) +
           "' is not supported; only 'chunked' is";
  }
  return std::nullopt;
}

namespace {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection unless a request is being handled (posted to its strand).
  virtual void RequestStop() = 0;
};

}  // namespace

struct HttpServer::Shared {
  // One io_context per io thread; connections are spread over them round-robin.
  std::vector<net::io_context*> iocs;
  std::atomic<size_t> next_ioc{0};
  net::io_context& NextContext() {
    return *iocs[next_ioc.fetch_add(1, std::memory_order_relaxed) % iocs.size()];
  }
  ServerLimits limits;
  RequestHandler* handler = nullptr;
  core::DoorMetrics* metrics = nullptr;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards sessions (taken per connection, never per request)
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  std::optional<ssl::context> tls;
  std::unique_ptr<tcp::acceptor> acceptor;
};

namespace {

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  static constexpr std::size_t kFirstReadBytes = 4096;

 public:
  template <class... Args>
  Session(std::shared_ptr<HttpServer::Shared> shared, bool reject, Args&&... args)
      : shared_(std::move(shared)),
        reject_(reject),
        stream_(std::forward<Args>(args)...),
        idle_timer_(stream_.get_executor()),
        read_timer_(stream_.get_executor()) {}

  ~Session() override {
    {
      std::lock_guard lock(shared_->mu);
      shared_->sessions.erase(this);
    }
    shared_->connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    {
      std::lock_guard lock(shared_->mu);
      shared_->sessions.emplace(this, this->weak_from_this());
    }
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->OnStart(); });
  }

  void RequestStop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->live_) {
        // A streamed response ends now: what is queued goes out, then the last chunk.
        self->live_->handle->MarkClosed();
        self->live_->end_requested = true;
        self->live_->keep = false;
        self->PumpStream();
        return;
      }
      if (!self->in_flight_) self->Close();
    });
  }

 private:
  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  void OnStart() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(shared_->limits.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                beast::get_lowest_layer(self->stream_).expires_never();
                                if (ec) return self->Close();
                                self->AfterHandshake();
                              });
    } else {
      AfterHandshake();
    }
  }

  void AfterHandshake() {
    if (reject_) {
      WriteResponse(JsonError(503, "UNAVAILABLE", "too many connections; retry later"),
                    /*force_close=*/true);
      return;
    }
    ReadRequest(shared_->limits.read_timeout);
  }

  // Between keep-alive requests: wait for the first byte under the idle timeout, then
  // read the whole request under the (shorter) read timeout.
  void WaitForNextRequest() {
    if (shared_->stopping.load()) return Close();
    if constexpr (kTls) {
      // Decrypted bytes may already sit inside the TLS layer; a socket wait cannot see
      // them, so TLS connections read directly under the longer of both timeouts.
      ReadRequest(std::max(shared_->limits.idle_timeout, shared_->limits.read_timeout));
    } else {
      if (buffer_.size() > 0) return ReadRequest(shared_->limits.read_timeout);
      idle_timer_.expires_after(shared_->limits.idle_timeout);
      idle_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->Close();
      });
      // Read the first bytes rather than wait for readability: a wait re-arms the socket
      // in epoll (one epoll_ctl per request); a read is tried at once and otherwise waits
      // on the registration the socket already has.
      socket().async_read_some(
          buffer_.prepare(kFirstReadBytes),
          [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
            self->idle_timer_.cancel();
            if (ec || self->closed_) return self->Close();
            self->buffer_.commit(n);
            self->ReadRequest(self->shared_->limits.read_timeout);
          });
    }
  }

  void ReadRequest(std::chrono::milliseconds timeout) {
    if (shared_->stopping.load() || closed_) return Close();
    parser_.emplace();
    parser_->body_limit(shared_->limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.max_header_bytes));
    timed_out_ = false;
    read_timer_.expires_after(timeout);
    read_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->socket().cancel(ignored);
    });
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    read_timer_.cancel();
    if (ec) {
      if (timed_out_) {
        // Slowloris: a request started but not finished in time gets 408; a silent
        // connection is just closed.
        if (!kTls && parser_->got_some()) {
          return WriteResponse(
              JsonError(408, "REQUEST_TIMEOUT", "request not received within the read timeout"),
              true);
        }
        return Close();
      }
      if (ec == http::error::body_limit) {
        return WriteResponse(
            JsonError(413, "PAYLOAD_TOO_LARGE",
                      "request body exceeds " + std::to_string(shared_->limits.max_body_bytes) +
                          " bytes"),
            true);
      }
      if (ec == http::error::header_limit) {
        return WriteResponse(
            JsonError(431, "HEADERS_TOO_LARGE",
                      "request headers exceed " + std::to_string(shared_->limits.max_header_bytes) +
                          " bytes"),
            true);
      }
      if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        return WriteResponse(
            JsonError(400, "INVALID_REQUEST", "malformed HTTP request: " + ec.message()), true);
      }
      return Close();
    }
    if (auto bad = RequestFramingError(parser_->get())) {
      version_ = parser_->get().version();
      return WriteResponse(JsonError(400, "INVALID_REQUEST", "malformed HTTP request: " + *bad),
                           /*force_close=*/true);
    }
    in_flight_ = true;
    HttpRequest request = parser_->release();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    shared_->handler->Handle(std::move(request),
                             Responder(std::make_shared<Target>(this->shared_from_this())));
  }

  // The Responder's side of one request: one allocation per request, shared by its copies.
  class Target final : public Responder::Target {
   public:
    explicit Target(std::shared_ptr<Session> self)
        : Responder::Target(self->stream_.get_executor()), self_(std::move(self)) {}

    void Send(HttpResponse res, Responder::WrittenFn written) override {
      if (sent_.exchange(true)) return;
      Post(std::move(res), std::move(written));
    }
    void SendFromStrand(HttpResponse res, Responder::WrittenFn written) override {
      if (sent_.exchange(true)) return;
      // On the strand already: the write starts now (what the post would run next).
      if (const auto* strand =
              executor().template target<net::strand<net::io_context::executor_type>>();
          strand != nullptr && strand->running_in_this_thread()) {
        return self_->WriteResponse(std::move(res), false, std::move(written));
      }
      Post(std::move(res), std::move(written));
    }
    std::shared_ptr<ResponseStream> StartStream(HttpResponse head,
                                                std::function<void()> on_close) override {
      return self_->StartStream(std::move(head), std::move(on_close), sent_);
    }

   private:
    void Post(HttpResponse res, Responder::WrittenFn written) {
      net::post(executor(),
                [self = self_, res = std::move(res), written = std::move(written)]() mutable {
                  self->WriteResponse(std::move(res), false, std::move(written));
                });
    }
    std::shared_ptr<Session> self_;
    std::atomic<bool> sent_{false};
  };

  // --- streamed responses (any thread -> strand) ---

  struct LiveStream {
    std::shared_ptr<ResponseStream> handle;
    std::function<void()> on_close;
    std::deque<std::string> queue;  // framed chunks
    bool header_written = false;
    bool writing = false;
    bool end_requested = false;
    bool keep = false;
    uint64_t gen = 0;
  };

  std::shared_ptr<ResponseStream> StartStream(HttpResponse head, std::function<void()> on_close,
                                              std::atomic<bool>& sent) {
    std::weak_ptr<Session> weak = this->weak_from_this();
    auto handle = std::make_shared<ResponseStream>(
        [weak](std::string data) {
          if (data.empty()) return;  // an empty chunk would end the body
          if (auto self = weak.lock()) {
            net::post(self->stream_.get_executor(), [self, data = std::move(data)]() mutable {
              if (!self->live_) return;
              std::ostringstream size;
              size << std::hex << data.size();
              self->live_->queue.push_back(size.str() + "\r\n" + data + "\r\n");
              self->PumpStream();
            });
          }
        },
        [weak] {
          if (auto self = weak.lock()) {
            net::post(self->stream_.get_executor(), [self] {
              if (!self->live_) return;
              self->live_->end_requested = true;
              self->PumpStream();
            });
          }
        });
    if (sent.exchange(true)) {
      handle->MarkClosed();
      if (on_close) on_close();
      return handle;
    }
    net::post(stream_.get_executor(), [self = this->shared_from_this(), head = std::move(head),
                                       handle, on_close = std::move(on_close)]() mutable {
      self->BeginStream(std::move(head), handle, std::move(on_close));
    });
    return handle;
  }

  void BeginStream(HttpResponse head, std::shared_ptr<ResponseStream> handle,
                   std::function<void()> on_close) {
    if (closed_) {
      handle->MarkClosed();
      if (on_close) on_close();
      return;
    }
    live_ = std::make_unique<LiveStream>();
    live_->handle = std::move(handle);
    live_->on_close = std::move(on_close);
    live_->keep = keep_alive_ && !shared_->stopping.load();
    live_->gen = ++stream_gen_;
    shared_->metrics->RecordHttpStatus(head.result_int());
    // The header is framed by hand: the body that follows is written chunk by chunk.
    std::ostringstream out;
    out << "HTTP/" << version_ / 10 << '.' << version_ % 10 << ' ' << head.result_int() << ' '
        << head.reason() << "\r\n";
    for (const auto& f : head) {
      if (f.name() == http::field::content_length || f.name() == http::field::connection ||
          f.name() == http::field::transfer_encoding) {
        continue;
      }
      out << f.name_string() << ": " << f.value() << "\r\n";
    }
    out << "Transfer-Encoding: chunked\r\n";
    out << (live_->keep ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    out << "\r\n";
    auto bytes = std::make_shared<std::string>(out.str());
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.write_timeout);
    net::async_write(stream_, net::buffer(*bytes),
                     [self = this->shared_from_this(), bytes](beast::error_code ec, std::size_t) {
                       beast::get_lowest_layer(self->stream_).expires_never();
                       if (!self->live_) return;
                       if (ec) return self->Close();
                       self->live_->header_written = true;
                       self->WatchPeer();
                       self->PumpStream();
                     });
  }

  void PumpStream() {
    if (!live_ || live_->writing || !live_->header_written) return;
    std::shared_ptr<std::string> bytes;
    bool last = false;
    if (!live_->queue.empty()) {
      bytes = std::make_shared<std::string>(std::move(live_->queue.front()));
      live_->queue.pop_front();
    } else if (live_->end_requested) {
      bytes = std::make_shared<std::string>("0\r\n\r\n");
      last = true;
    } else {
      return;
    }
    live_->writing = true;
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.write_timeout);
    net::async_write(
        stream_, net::buffer(*bytes),
        [self = this->shared_from_this(), bytes, last](beast::error_code ec, std::size_t) {
          beast::get_lowest_layer(self->stream_).expires_never();
          if (!self->live_) return;
          self->live_->writing = false;
          if (ec) return self->Close();
          if (last) return self->FinishStream();
          self->PumpStream();
        });
  }

  void FinishStream() {
    std::unique_ptr<LiveStream> done = std::move(live_);
    done->handle->MarkClosed();
    in_flight_ = false;
    if (done->on_close) done->on_close();
    if (!done->keep || shared_->stopping.load()) return Close();
    WaitForNextRequest();
  }

  // Plain TCP: notices a client that went away while the stream is quiet. (On TLS the
  // next write, at the latest the caller's keep-alive comment, notices it.)
  void WatchPeer() {
    if constexpr (!kTls) {
      const uint64_t gen = live_->gen;
      socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this(),
                                                   gen](beast::error_code ec) {
        if (!self->live_ || self->live_->gen != gen) return;
        if (ec) return self->Close();
        char c = 0;
        const ssize_t n = ::recv(self->socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return self->Close();  // orderly shutdown by the client
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return self->WatchPeer();
          return self->Close();
        }
        // Bytes of a pipelined request: read after the stream ends.
      });
    }
  }

  // True when the client closed its side (or reset the connection) while its request was
  // handled: the answer would go nowhere. Bytes waiting (a pipelined request, a TLS
  // record) say the client is still there.
  bool PeerGone() {
    char c = 0;
    const ssize_t n = ::recv(socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return false;
  }

  void WriteResponse(HttpResponse res, bool force_close, Responder::WrittenFn written = {}) {
    if (closed_) {
      if (written) written(false);
      return;
    }
    if (written && PeerGone()) {
      // Nobody reads this answer: say so (the handler may undo what only the answer
      // could have told), and do not write it.
      written(false);
      in_flight_ = false;
      return Close();
    }
    in_flight_ = true;
    const bool keep = !force_close && keep_alive_ && !shared_->stopping.load();
    response_ = std::move(res);
    response_.version(version_);
    response_.keep_alive(keep);
    response_.prepare_payload();
    shared_->metrics->RecordHttpStatus(response_.result_int());
    beast::get_lowest_layer(stream_).expires_after(shared_->limits.write_timeout);
    auto done = [self = this->shared_from_this(), keep, written = std::move(written)](
                    beast::error_code ec, std::size_t) {
      self->in_flight_ = false;
      beast::get_lowest_layer(self->stream_).expires_never();
      if (written) written(!ec);
      if (ec || !keep) return self->Close();
      self->WaitForNextRequest();
    };
    if (response_.chunked()) return http::async_write(stream_, response_, std::move(done));
    // The bytes Beast's serializer writes (AppendResponseHead), as one gathered write of the
    // head and the body: the serializer's buffer views cost an io thread more than the rest
    // of the write.
    head_.clear();
    AppendResponseHead(response_, &head_);
    const std::array<net::const_buffer, 2> bytes{net::buffer(head_), net::buffer(response_.body())};
    net::async_write(stream_, bytes, std::move(done));
  }

  void Close() {
    if (live_) {
      std::unique_ptr<LiveStream> gone = std::move(live_);
      gone->handle->MarkClosed();
      if (gone->on_close) gone->on_close();
    }
    if (closed_) return;
    closed_ = true;
    idle_timer_.cancel();
    read_timer_.cancel();
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::get_lowest_layer(self->stream_).close();
      });
    } else {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      beast::get_lowest_layer(stream_).close();
    }
  }

  std::shared_ptr<HttpServer::Shared> shared_;
  const bool reject_;
  Stream stream_;
  net::steady_timer idle_timer_;
  net::steady_timer read_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpResponse response_;
  std::string head_;  // response_'s status line and fields, as written
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool in_flight_ = false;
  bool timed_out_ = false;
  bool closed_ = false;
  std::unique_ptr<LiveStream> live_;
  uint64_t stream_gen_ = 0;
};

void DoAccept(std::shared_ptr<HttpServer::Shared> shared) {
  tcp::acceptor* acceptor = shared->acceptor.get();
  acceptor->async_accept(net::make_strand(shared->NextContext()), [shared](beast::error_code ec,
                                                                           tcp::socket socket) {
    if (ec == net::error::operation_aborted || shared->stopping.load()) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const bool reject = shared->connections.fetch_add(1, std::memory_order_relaxed) >=
                          shared->limits.max_connections;
      if (shared->tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            shared, reject, std::move(socket), *shared->tls)
            ->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(shared, reject, std::move(socket))->Start();
      }
    }
    DoAccept(shared);
  });
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, RequestHandler* handler,
                       core::DoorMetrics* metrics)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  int n = options_.threads > 0 ? options_.threads
                               : static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  for (int i = 0; i < n; ++i) {
    iocs_.push_back(std::make_unique<net::io_context>(1));
    shared_->iocs.push_back(iocs_.back().get());
  }
  shared_->limits = options_.limits;
  shared_->handler = handler;
  shared_->metrics = metrics;
}

HttpServer::~HttpServer() {
  Shutdown();
  // The acceptor is bound to the first io_context and must go before it; connections
  // still queued in the io_contexts keep `shared_` alive until they are destroyed.
  shared_->acceptor.reset();
}

Status HttpServer::Start() {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return Error::Invalid("TLS needs both a certificate and a key file");
    }
    try {
      ssl::context ctx(ssl::context::tls_server);
      ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
      ctx.use_certificate_chain_file(options_.tls_cert_file);
      ctx.use_private_key_file(options_.tls_key_file, ssl::context::pem);
      shared_->tls.emplace(std::move(ctx));
    } catch (const boost::system::system_error& e) {
      return Error::Invalid("cannot load TLS certificate or key: " + std::string(e.what()));
    }
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(options_.host, ec);
  if (ec) return Error::Invalid("listen address '" + options_.host + "' is not an IP address");
  auto acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*iocs_.front()));
  const tcp::endpoint ep(address, options_.port);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::Unavailable("cannot listen on " + options_.host + ":" +
                              std::to_string(options_.port) + ": " + ec.message());
  }
  endpoint_ = acceptor->local_endpoint();
  shared_->acceptor = std::move(acceptor);
  DoAccept(shared_);
  threads_.reserve(iocs_.size());
  for (size_t i = 0; i < iocs_.size(); ++i) {
    threads_.emplace_back([this, i] {
      SetThreadName("il-http-" + std::to_string(i));
      net::io_context& ioc = *iocs_[i];
      auto guard = net::make_work_guard(ioc);
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: a bug. Log it and keep serving other connections.
          std::cerr << "interlock: error in request handler: " << e.what() << '\n';
        }
      }
    });
  }
  return Status::Ok();
}

void HttpServer::Shutdown() {
  if (threads_.empty() || shut_down_.exchange(true)) return;
  shared_->stopping.store(true);
  if (shared_->acceptor) {
    std::promise<void> closed;
    net::post(shared_->acceptor->get_executor(), [this, &closed] {
      beast::error_code ignored;
      shared_->acceptor->close(ignored);
      closed.set_value();
    });
    closed.get_future().wait();
  }
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(shared_->mu);
    for (auto& [ptr, weak] : shared_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->RequestStop();
  live.clear();
  const auto deadline = std::chrono::steady_clock::now() + options_.limits.shutdown_grace;
  while (shared_->connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& ioc : iocs_) ioc->stop();
  for (auto& t : threads_) t.join();
}

}  // namespace interlock::server
