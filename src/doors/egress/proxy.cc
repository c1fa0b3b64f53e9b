#include "doors/egress/proxy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/json/serialize.hpp>

#include "common/host_name.h"
#include "common/json_write.h"
#include "doors/egress/request.h"

namespace interlock::egress {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using GenericSocket = net::generic::stream_protocol::socket;
using GenericAcceptor = net::basic_socket_acceptor<net::generic::stream_protocol>;
using boost::system::error_code;

constexpr size_t kRelayBuffer = 16 * 1024;

std::string Response(int status, std::string_view text, std::string_view code,
                     const std::string& body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(text) + "\r\n";
  out += "Content-Type: application/json\r\n";
  if (!code.empty()) out += "X-Interlock-Code: " + std::string(code) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  return out + body;
}

// The proxy's one mapping of the core's outcome (interlock/outcome.h, docs/design.md "One
// outcome"): an allowed connection is made; every other answer, an error of the core
// included, is refused 403 Forbidden with the decision.
bool Connects(const Outcome& o) {
  switch (o.kind) {
    case OutcomeKind::kAllow:
      return true;
    case OutcomeKind::kDeny:
    case OutcomeKind::kApprovalRequired:
    case OutcomeKind::kRehearsalRequired:
    case OutcomeKind::kError:
      return false;
  }
  return false;
}

std::string ErrorBody(std::string_view reason) {
  return boost::json::serialize(boost::json::object{{"error", reason}}) + "\n";
}

}  // namespace

class EgressProxy::Impl {
 public:
  Impl(EgressDecider* decider, ProxyOptions options, OutcomeFn on_outcome, OutcomeFn on_decided)
      : decider_(decider),
        options_(options),
        on_outcome_(std::move(on_outcome)),
        on_decided_(std::move(on_decided)) {}

  class Session;

  void Accept(GenericAcceptor* acceptor);

  // Declaration order is destruction order reversed: the I/O context goes after the
  // acceptors and before what sessions touch when their handlers are destroyed with it.
  EgressDecider* decider_;
  ProxyOptions options_;
  OutcomeFn on_outcome_;
  OutcomeFn on_decided_;
  std::atomic<size_t> sessions_{0};
  std::atomic<size_t> deciding_{0};  // decisions whose callback has not posted back yet
  uint64_t serial_ = 0;              // of the last decided connection (I/O thread only)
  std::vector<std::string> unix_paths_;
  bool started_ = false;
  net::io_context io_{1};
  std::vector<std::unique_ptr<GenericAcceptor>> acceptors_;
  std::thread thread_;
};

class EgressProxy::Impl::Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl* proxy, GenericSocket client)
      : proxy_(proxy),
        client_(std::move(client)),
        upstream_(proxy->io_),
        resolver_(proxy->io_),
        timer_(proxy->io_) {
    ++proxy_->sessions_;
  }
  ~Session() {
    if (outcome_) {
      if (!verdict_.call_id.empty() && Connects(verdict_.outcome())) {
        proxy_->decider_->Report(verdict_.call_id, up_, down_, connected_,
                                 connected_ ? std::string() : connect_error_);
      }
      outcome_->bytes_up = up_;
      outcome_->bytes_down = down_;
      outcome_->open = false;
      outcome_->live = nullptr;
      if (proxy_->on_outcome_) proxy_->on_outcome_(*outcome_);
    }
    --proxy_->sessions_;
  }

  void Start() {
    Arm(proxy_->options_.head_timeout);
    net::async_read_until(
        client_, net::dynamic_buffer(buffer_, kMaxHeadBytes), "\r\n\r\n",
        [self = shared_from_this()](error_code ec, size_t n) { self->OnHead(ec, n); });
  }

 private:
  void Arm(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->CloseAll();
    });
  }

  void CloseAll() {
    error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
    resolver_.cancel();
    timer_.cancel();
  }

  void Reply(std::string text) {
    timer_.cancel();
    reply_ = std::move(text);
    net::async_write(client_, net::buffer(reply_), [self = shared_from_this()](error_code, size_t) {
      error_code ignored;
      self->client_.shutdown(net::socket_base::shutdown_both, ignored);
      self->client_.close(ignored);
    });
  }

  void OnHead(error_code ec, size_t n) {
    if (ec == net::error::not_found) {
      Reply(Response(431, "Request Header Fields Too Large", "",
                     ErrorBody("the request head is larger than the limit")));
      return;
    }
    if (ec) return CloseAll();  // EOF, timeout, reset: nothing to answer
    auto req = ParseProxyRequest(std::string_view(buffer_).substr(0, n));
    if (!req.ok()) {
      Reply(Response(400, "Bad Request", "", ErrorBody(req.error().message)));
      return;
    }
    request_ = std::move(*req);
    buffer_.erase(0, n);  // what follows the head: body or early tunnel bytes
    if (ParseIpLiteral(request_.host)) {
      error_code bad;
      const net::ip::address addr = net::ip::make_address(request_.host, bad);
      if (bad) {
        Reply(Response(400, "Bad Request", "", ErrorBody("not an IP address")));
        return;
      }
      addresses_.push_back(tcp::endpoint(addr, request_.port));
      return TryNext();
    }
    resolver_.async_resolve(
        request_.host, std::to_string(request_.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          self->OnResolved(ec, std::move(results));
        });
  }

  void OnResolved(error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      Reply(Response(502, "Bad Gateway", "",
                     ErrorBody("cannot resolve " + request_.host + ": " + ec.message())));
      return;
    }
    for (const auto& r : results) {
      if (addresses_.size() >= proxy_->options_.max_addresses) break;
      tcp::endpoint e = r.endpoint();
      bool dup = false;
      for (const auto& a : addresses_) dup |= a == e;
      if (!dup) addresses_.push_back(e);
    }
    if (addresses_.empty()) {
      Reply(Response(502, "Bad Gateway", "", ErrorBody("no address for " + request_.host)));
      return;
    }
    TryNext();
  }

  // Decides the next address, then connects to exactly that address.
  void TryNext() {
    if (next_ >= addresses_.size()) {
      Reply(Response(502, "Bad Gateway", "",
                     ErrorBody("cannot connect to " + request_.host + ":" +
                               std::to_string(request_.port) + ": " + connect_error_)));
      return;
    }
    const tcp::endpoint target = addresses_[next_++];
    // CONNECT is decided as a tunnel: the core allows one only where an entry allows tunnels
    // to that port (TLS, 443 by default), never to a plain-HTTP port where the tunnel would
    // carry any Host and any pipelined request past the absolute-form handling.
    EgressAttempt attempt{request_.host, request_.port, target.address().to_string(),
                          request_.connect};
    // The address text must be the one the engine parses back; strip an IPv6 zone.
    if (auto pct = attempt.address.find('%'); pct != std::string::npos) attempt.address.resize(pct);
    Arm(proxy_->options_.connect_timeout);
    ++proxy_->deciding_;
    proxy_->decider_->Decide(
        attempt, [self = shared_from_this(), attempt, target](EgressVerdict v) mutable {
          Impl* proxy = self->proxy_;
          net::post(proxy->io_, [self = std::move(self), attempt = std::move(attempt), target,
                                 v = std::move(v)]() mutable {
            self->OnDecision(std::move(attempt), target, std::move(v));
          });
          --proxy->deciding_;  // last: Stop() may destroy the context once this is 0
        });
  }

  void OnDecision(EgressAttempt attempt, tcp::endpoint target, EgressVerdict v) {
    if (outcome_ && !verdict_.call_id.empty() && Connects(verdict_.outcome())) {
      // A previous address was allowed but could not be connected to: its record ends here.
      proxy_->decider_->Report(verdict_.call_id, 0, 0, false, connect_error_);
      outcome_->open = false;
      outcome_->live = nullptr;
      if (proxy_->on_outcome_) proxy_->on_outcome_(*outcome_);
    }
    verdict_ = v;
    outcome_.emplace();
    outcome_->attempt = attempt;
    outcome_->decision = v.decision;
    outcome_->call_id = v.call_id;
    outcome_->in_flight_call_id = v.in_flight_call_id;
    outcome_->serial = ++proxy_->serial_;
    live_ = std::make_shared<LiveBytes>();
    if (proxy_->on_decided_) {
      // Before the client can see a byte of the answer: a receipt taken while the connection
      // is still open lists it with the bytes so far.
      EgressOutcome now = *outcome_;
      now.open = Connects(v.outcome());
      if (now.open) now.live = live_;
      proxy_->on_decided_(now);
    }
    if (!client_.is_open()) return;  // timed out while deciding
    if (!Connects(v.outcome())) {
      std::string body;
      AppendDecisionJson(v.decision, JsonStyle::kReadable, &body);
      body.push_back('\n');
      Reply(Response(403, "Forbidden", CodeName(v.decision.code), std::move(body)));
      return;
    }
    upstream_ = tcp::socket(proxy_->io_);
    upstream_.async_connect(target,
                            [self = shared_from_this()](error_code ec) { self->OnConnected(ec); });
  }

  void OnConnected(error_code ec) {
    if (!client_.is_open()) return;
    if (ec) {
      connect_error_ = ec.message();
      error_code ignored;
      upstream_.close(ignored);
      return TryNext();
    }
    connected_ = true;
    error_code ignored;
    upstream_.set_option(tcp::no_delay(true), ignored);
    Arm(proxy_->options_.idle_timeout);
    if (request_.connect) {
      reply_ = "HTTP/1.1 200 Connection Established\r\n\r\n";
      net::async_write(client_, net::buffer(reply_),
                       [self = shared_from_this()](error_code ec, size_t) {
                         if (ec) return self->CloseAll();
                         self->SendEarlyBytes();
                       });
    } else {
      // One request per connection (UpstreamHead asks the server to close after it): only
      // the body goes up; bytes past it (a pipelined request) are dropped in PumpUp.
      up_remaining_ = request_.body_length;
      if (buffer_.size() > up_remaining_) buffer_.resize(up_remaining_);
      up_remaining_ -= buffer_.size();
      buffer_.insert(0, UpstreamHead(request_));
      SendEarlyBytes();
    }
  }

  // Sends what arrived after the head (a body, or the start of a TLS handshake), then
  // relays both ways.
  void SendEarlyBytes() {
    if (buffer_.empty()) return StartRelay();
    AddUp(buffer_.size());
    net::async_write(upstream_, net::buffer(buffer_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->CloseAll();
                       self->buffer_.clear();
                       self->StartRelay();
                     });
  }

  void StartRelay() {
    PumpUp();
    PumpDown();
  }

  void PumpUp() {
    client_.async_read_some(net::buffer(up_buf_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (ec) {
                                error_code ignored;
                                self->upstream_.shutdown(net::socket_base::shutdown_send, ignored);
                                return;
                              }
                              self->Arm(self->proxy_->options_.idle_timeout);
                              if (!self->request_.connect) {
                                // Past the one request's body: read and dropped, never sent.
                                n = static_cast<size_t>(std::min<uint64_t>(n, self->up_remaining_));
                                self->up_remaining_ -= n;
                                if (n == 0) return self->PumpUp();
                              }
                              self->AddUp(n);
                              net::async_write(self->upstream_, net::buffer(self->up_buf_, n),
                                               [self](error_code ec, size_t) {
                                                 if (ec) return self->CloseAll();
                                                 self->PumpUp();
                                               });
                            });
  }

  void PumpDown() {
    upstream_.async_read_some(net::buffer(down_buf_),
                              [self = shared_from_this()](error_code ec, size_t n) {
                                if (ec) {
                                  error_code ignored;
                                  self->client_.shutdown(net::socket_base::shutdown_send, ignored);
                                  // The server is done: the session ends when the client is too (or
                                  // at idle).
                                  if (ec != net::error::eof) self->CloseAll();
                                  return;
                                }
                                self->Arm(self->proxy_->options_.idle_timeout);
                                self->AddDown(n);
                                net::async_write(self->client_, net::buffer(self->down_buf_, n),
                                                 [self](error_code ec, size_t) {
                                                   if (ec) return self->CloseAll();
                                                   self->PumpDown();
                                                 });
                              });
  }

  void AddUp(uint64_t n) {
    up_ += n;
    live_->up.fetch_add(n, std::memory_order_relaxed);
  }
  void AddDown(uint64_t n) {
    down_ += n;
    live_->down.fetch_add(n, std::memory_order_relaxed);
  }

  Impl* proxy_;
  GenericSocket client_;
  tcp::socket upstream_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  std::string buffer_;
  std::string reply_;
  ProxyRequest request_;
  std::vector<tcp::endpoint> addresses_;
  size_t next_ = 0;
  EgressVerdict verdict_;
  std::optional<EgressOutcome> outcome_;
  bool connected_ = false;
  uint64_t up_remaining_ = 0;  // absolute form: body bytes still to send upstream
  std::string connect_error_ = "no address";
  uint64_t up_ = 0, down_ = 0;
  std::shared_ptr<LiveBytes> live_ = std::make_shared<LiveBytes>();  // of outcome_
  std::array<char, kRelayBuffer> up_buf_{};
  std::array<char, kRelayBuffer> down_buf_{};
};

void EgressProxy::Impl::Accept(GenericAcceptor* acceptor) {
  acceptor->async_accept([this, acceptor](error_code ec, GenericSocket socket) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      if (sessions_.load() >= options_.max_connections) {
        error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(this, std::move(socket))->Start();
      }
    }
    Accept(acceptor);
  });
}

EgressProxy::EgressProxy(EgressDecider* decider, ProxyOptions options, OutcomeFn on_outcome,
                         OutcomeFn on_decided)
    : impl_(
          std::make_unique<Impl>(decider, options, std::move(on_outcome), std::move(on_decided))) {}

EgressProxy::~EgressProxy() { Stop(); }

Result<uint16_t> EgressProxy::ListenTcp(const std::string& address, uint16_t port) {
  error_code ec;
  const net::ip::address addr = net::ip::make_address(address, ec);
  if (ec) return Error::Invalid("--listen: '" + address + "' is not an IP address");
  const tcp::endpoint ep(addr, port);
  auto acceptor = std::make_unique<GenericAcceptor>(impl_->io_);
  const net::generic::stream_protocol::endpoint gep(ep);
  acceptor->open(gep.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(gep, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error::Unavailable("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                              ec.message());
  // The bound port (port 0 asks the kernel for one).
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(acceptor->native_handle(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return Error::Unavailable("getsockname failed");
  }
  uint16_t bound = 0;
  if (ss.ss_family == AF_INET) {
    bound = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  } else {
    bound = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  impl_->acceptors_.push_back(std::move(acceptor));
  return bound;
}

Status EgressProxy::ListenUnix(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Error::Invalid(path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  error_code ec;
  auto acceptor = std::make_unique<GenericAcceptor>(impl_->io_);
  const net::local::stream_protocol::endpoint lep(path);
  const net::generic::stream_protocol::endpoint gep(lep);
  acceptor->open(gep.protocol(), ec);
  if (!ec) acceptor->bind(gep, ec);
  if (!ec && ::chmod(path.c_str(), 0600) != 0)
    ec = error_code(errno, boost::system::system_category());
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error::Unavailable("cannot listen on " + path + ": " + ec.message());
  impl_->acceptors_.push_back(std::move(acceptor));
  impl_->unix_paths_.push_back(path);
  return Status::Ok();
}

void EgressProxy::Start() {
  if (impl_->started_) return;
  impl_->started_ = true;
  for (auto& a : impl_->acceptors_) impl_->Accept(a.get());
  impl_->thread_ = std::thread([this] { impl_->io_.run(); });
}

void EgressProxy::Stop() {
  if (!impl_) return;
  if (impl_->thread_.joinable()) {
    net::post(impl_->io_, [impl = impl_.get()] {
      for (auto& a : impl->acceptors_) {
        error_code ignored;
        a->close(ignored);
      }
    });
    impl_->io_.stop();
    impl_->thread_.join();
  }
  // A decision still with the store posts back into the context: wait for it (bounded;
  // the store answers or fails every decision).
  for (int i = 0; i < 10'000 && impl_->deciding_.load() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (const std::string& p : impl_->unix_paths_) ::unlink(p.c_str());
  impl_->unix_paths_.clear();
}

}  // namespace interlock::egress
