#include "doors/ext_authz/grpc_service.h"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <google/protobuf/stubs/logging.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/text.h"
#include "common/thread_name.h"
#include "doors/ext_authz/grpc_message.h"
#include "envoy/service/auth/v3/external_auth.pb.h"

namespace interlock::doors::ext_authz {

namespace auth = envoy::service::auth::v3;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kCheckPath = "/envoy.service.auth.v3.Authorization/Check";
// What a hostile peer cannot exceed on one connection (docs/gateways.md, "The listener").
constexpr uint32_t kMaxConcurrentStreams = 256;
constexpr size_t kMaxHeaderListBytes = 16 << 10;  // as gRPC's default hard limit
// Checks taken and not yet answered, streams reset by the peer included: past it the
// connection is not read until answers come back.
constexpr int kMaxPendingChecks = 256;
constexpr size_t kMaxConnections = 1024;  // past it, a connection is closed on accept
// A connection that has not sent its preface (TLS handshake included) by then is closed.
constexpr auto kPrefaceTimeout = std::chrono::seconds(5);
constexpr size_t kReadBytes = 16 << 10;
constexpr size_t kWriteBatchBytes = 64 << 10;

// gRPC status codes of the transport (the Check's own answer is always OK).
constexpr int kGrpcResourceExhausted = 8;
constexpr int kGrpcUnimplemented = 12;
constexpr int kGrpcInternal = 13;

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound(std::string("ext_authz.") + what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void AddHeader(google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>* to,
               const std::string& key, const std::string& value) {
  auto* option = to->Add();
  option->mutable_header()->set_key(key);
  option->mutable_header()->set_value(value);
  option->set_append_action(envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

void FillResponse(const CheckAnswer& a, auth::CheckResponse* response) {
  response->mutable_status()->set_code(static_cast<int>(a.code));
  response->mutable_status()->set_message(a.message);
  if (a.allowed()) {
    auto* ok = response->mutable_ok_response();
    for (const auto& [k, v] : a.headers) AddHeader(ok->mutable_headers(), k, v);
  } else {
    auto* denied = response->mutable_denied_response();
    denied->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(a.http_status));
    for (const auto& [k, v] : a.headers) AddHeader(denied->mutable_headers(), k, v);
    denied->set_body(a.body);
  }
}

// A few threads of the server's own, for the door's work that waits on a store write (a
// run's first Check joins the run), which must run neither on the io thread nor on the
// store's. Drained and joined on destruction.
class ExtAuthzOffloadPool {
 public:
  explicit ExtAuthzOffloadPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~ExtAuthzOffloadPool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  ExtAuthzOffloadPool(const ExtAuthzOffloadPool&) = delete;
  ExtAuthzOffloadPool& operator=(const ExtAuthzOffloadPool&) = delete;

  void Post(std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything posted has run
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

// A header for nghttp2, which copies it (NvStatic: both are literals, never copied).
nghttp2_nv Nv(std::string_view name, std::string_view value,
              uint8_t flags = NGHTTP2_NV_FLAG_NO_COPY_NAME) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), flags};
}
nghttp2_nv NvStatic(std::string_view name, std::string_view value) {
  return Nv(name, value, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
}

// application/grpc, or application/grpc+proto (or any +suffix; ;parameters allowed).
bool IsGrpcContentType(std::string_view v) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (v.substr(0, kGrpc.size()) != kGrpc) return false;
  return v.size() == kGrpc.size() || v[kGrpc.size()] == '+' || v[kGrpc.size()] == ';';
}

// ALPN on the TLS listener: "h2" only; a client offering other protocols fails the handshake.
int SelectH2(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
             const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kH2, sizeof kH2, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

bool NegotiatedH2(SSL* ssl) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return len == 2 && std::memcmp(proto, "h2", 2) == 0;
}

}  // namespace

class H2Connection;

// The listener, its one io thread (il-ext-authz) and the connections it owns. Everything
// but Shutdown's waits runs on the io thread.
class ExtAuthzServer::Impl {
 public:
  explicit Impl(Door* door)
      : door(door),
        max_message_bytes(door->config().max_body_bytes + (1 << 20)),
        offload([this](std::function<void()> fn) { joiner_->Post(std::move(fn)); }) {}

  Status Listen(const ExtAuthzConfig& c);
  void Run();
  void Accept();
  // io thread: a connection closed, no longer owned here.
  void Forget(H2Connection* c) { connections_.erase(c); }
  // A Check taken (io thread) and its answer delivered or dropped (io thread).
  void Began() { in_flight_.fetch_add(1); }
  void Answered() {
    if (in_flight_.fetch_sub(1) == 1) {
      std::lock_guard lock(mu_);
      idle_.notify_all();
    }
  }
  // Blocks until every Check taken has been answered, or `deadline`.
  bool WaitIdle(std::optional<std::chrono::steady_clock::time_point> deadline) {
    std::unique_lock lock(mu_);
    auto idle = [this] { return in_flight_.load() == 0; };
    if (!deadline) {
      idle_.wait(lock, idle);
      return true;
    }
    return idle_.wait_until(lock, *deadline, idle);
  }
  // Runs `fn` on the io thread and waits for it.
  void OnIoThread(const std::function<void()>& fn) {
    std::promise<void> done;
    net::post(ioc, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  void NoticeShutdown();  // io thread: stop accepting, GOAWAY on every connection
  void CloseAll();        // io thread
  void Stop();            // after the last answer: joins the threads

  uint16_t port() const { return acceptor_->local_endpoint().port(); }

  Door* const door;
  const size_t max_message_bytes;  // the request's body and headers, with room for the rest
  bool stopping = false;           // io thread
  bool running = false;            // Run was called (the io thread exists)
  std::atomic<bool> shut_down{false};
  std::optional<ssl::context> tls;
  net::io_context ioc{1};

 private:
  std::atomic<int64_t> in_flight_{0};  // Checks taken and not yet answered
  std::mutex mu_;
  std::condition_variable idle_;
  std::unique_ptr<ExtAuthzOffloadPool> joiner_ = std::make_unique<ExtAuthzOffloadPool>(2);

 public:
  const Door::Offload offload;  // runs' first Checks (a store write each), on joiner_

 private:
  std::unordered_map<H2Connection*, std::shared_ptr<H2Connection>> connections_;  // io thread
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
};

// One HTTP/2 connection's protocol (nghttp2's server session) and its gRPC calls; the
// socket's side is H2Socket<Stream>. Lives on the io thread; owned by the Impl while open,
// and by its pending reads and writes.
class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  explicit H2Connection(ExtAuthzServer::Impl* impl) : impl_(impl) {}
  virtual ~H2Connection() {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  bool InitSession();
  virtual void Start() = 0;
  // Closes the socket now; answers still owed are dropped when they come.
  virtual void Close() = 0;
  // The decision for `stream_id`, back on the io thread.
  void Answer(int32_t stream_id, CheckAnswer&& a);
  // GOAWAY: streams not yet begun are refused; the rest are answered, then it closes.
  void NoticeShutdown() {
    if (closed_) return;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    Flush();
  }

 protected:
  // Feeds bytes read; false on a protocol error (a GOAWAY may be queued: Flush, then close).
  bool Receive(const uint8_t* data, size_t n) {
    return nghttp2_session_mem_recv(session_, data, n) >= 0;
  }
  // What nghttp2 has to send, up to a batch, into out; false on a fatal error.
  bool Gather(std::string* out) {
    out->clear();
    while (out->size() < kWriteBatchBytes) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) break;
      out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return true;
  }
  // Neither side has anything left to say (after GOAWAY, or a fatal error).
  bool Finished() const {
    return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
  }
  bool ReadPaused() const { return pending_ >= kMaxPendingChecks; }
  virtual void Flush() = 0;
  virtual void Read() = 0;

  ExtAuthzServer::Impl* const impl_;
  bool closed_ = false;
  bool preface_seen_ = false;

 private:
  struct Call {
    enum class State { kReading, kDeciding, kAnswered };
    State state = State::kReading;
    bool method_ok = false, path_ok = false, content_type_ok = false;
    size_t header_bytes = 0;
    explicit Call(size_t max_message_bytes) : message(max_message_bytes) {}
    GrpcMessageReader message;
    std::string response;  // prefixed CheckResponse
    size_t sent = 0;
  };

  Call* Find(int32_t id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }
  void DropBody(Call* c) {
    buffered_ -= c->message.held();
    c->message.Drop();
  }
  // A trailers-only answer (HTTP 200 with grpc-status), or an HTTP error when http != 200.
  void Refuse(int32_t id, Call* c, int http, int grpc_status, std::string_view message,
              bool accept_identity = false);
  void OnHeadersDone(int32_t id, Call* c);
  void OnData(int32_t id, Call* c, const uint8_t* data, size_t len);
  void OnEndOfRequest(int32_t id, Call* c);
  void Decide(int32_t id, const auth::CheckRequest& request);

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* data,
                         size_t len, void* self);
  static int OnStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* self);
  static ssize_t ReadResponse(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source* source, void* self);

  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::unique_ptr<Call>> calls_;  // open streams
  size_t buffered_ = 0;  // request bytes held across this connection's calls
  int pending_ = 0;      // Checks taken here and not yet answered
};

bool H2Connection::InitSession() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &OnStreamClose);
  const int rv = nghttp2_session_server_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxHeaderListBytes)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0;
}

int H2Connection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* c = static_cast<H2Connection*>(self);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    c->calls_.emplace(frame->hd.stream_id, std::make_unique<Call>(c->impl_->max_message_bytes));
  }
  return 0;
}

int H2Connection::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                           size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                           void* self) {
  auto* conn = static_cast<H2Connection*>(self);
  Call* c = conn->Find(frame->hd.stream_id);
  if (c == nullptr) return 0;
  c->header_bytes += namelen + valuelen + 32;  // as SETTINGS_MAX_HEADER_LIST_SIZE counts
  if (c->header_bytes > kMaxHeaderListBytes) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: counted only
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":method") {
    c->method_ok = v == "POST";
  } else if (n == ":path") {
    c->path_ok = v == kCheckPath;
  } else if (n == "content-type") {
    c->content_type_ok = IsGrpcContentType(v);
  }
  return 0;
}

int H2Connection::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* conn = static_cast<H2Connection*>(self);
  if (frame->hd.type == NGHTTP2_SETTINGS) {
    conn->preface_seen_ = true;
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  Call* c = conn->Find(frame->hd.stream_id);
  if (c == nullptr) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    conn->OnHeadersDone(frame->hd.stream_id, c);
  }
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    conn->OnEndOfRequest(frame->hd.stream_id, c);
  }
  return 0;
}

int H2Connection::OnDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                              size_t len, void* self) {
  auto* conn = static_cast<H2Connection*>(self);
  if (Call* c = conn->Find(id); c != nullptr) conn->OnData(id, c, data, len);
  return 0;
}

int H2Connection::OnStreamClose(nghttp2_session*, int32_t id, uint32_t, void* self) {
  auto* conn = static_cast<H2Connection*>(self);
  auto it = conn->calls_.find(id);
  if (it == conn->calls_.end()) return 0;
  conn->DropBody(it->second.get());
  // A Check being decided is still decided: its answer finds no call and is dropped.
  conn->calls_.erase(it);
  return 0;
}

void H2Connection::OnHeadersDone(int32_t id, Call* c) {
  if (c->state != Call::State::kReading) return;
  if (!c->method_ok) return Refuse(id, c, 405, kGrpcUnimplemented, "only POST");
  if (!c->content_type_ok) {
    return Refuse(id, c, 415, kGrpcInternal, "content-type is not application/grpc");
  }
  if (!c->path_ok) {
    return Refuse(id, c, 200, kGrpcUnimplemented,
                  "only /envoy.service.auth.v3.Authorization/Check is served");
  }
}

void H2Connection::OnData(int32_t id, Call* c, const uint8_t* data, size_t len) {
  if (c->state != Call::State::kReading) return;  // refused: the rest is read, not kept
  const size_t held = c->message.held();
  switch (c->message.Feed(data, len, 4 * impl_->max_message_bytes - buffered_)) {
    case GrpcMessageReader::Refusal::kNone:
      buffered_ += c->message.held() - held;
      return;
    case GrpcMessageReader::Refusal::kCompressed:
      return Refuse(id, c, 200, kGrpcUnimplemented,
                    "compressed messages are not accepted (grpc-accept-encoding: identity)",
                    /*accept_identity=*/true);
    case GrpcMessageReader::Refusal::kTooLarge:
      return Refuse(id, c, 200, kGrpcResourceExhausted,
                    "the CheckRequest is larger than max_body_bytes + 1 MiB");
    case GrpcMessageReader::Refusal::kSecondMessage:
      return Refuse(id, c, 200, kGrpcInternal, "a unary call carries exactly one message");
    case GrpcMessageReader::Refusal::kNoRoom:
      return Refuse(id, c, 200, kGrpcResourceExhausted,
                    "too many request bytes on this connection");
  }
}

void H2Connection::OnEndOfRequest(int32_t id, Call* c) {
  if (c->state != Call::State::kReading) return;
  if (!c->message.Complete()) {
    return Refuse(id, c, 200, kGrpcInternal, "the request message was cut short");
  }
  auth::CheckRequest request;
  const std::string_view m = c->message.message();
  const bool parsed = request.ParseFromArray(m.data(), static_cast<int>(m.size()));
  DropBody(c);
  if (!parsed) return Refuse(id, c, 200, kGrpcInternal, "cannot parse the CheckRequest");
  c->state = Call::State::kDeciding;
  Decide(id, request);
}

void H2Connection::Refuse(int32_t id, Call* c, int http, int grpc_status, std::string_view message,
                          bool accept_identity) {
  c->state = Call::State::kAnswered;
  DropBody(c);
  const std::string status = std::to_string(http);
  const std::string code = std::to_string(grpc_status);
  std::vector<nghttp2_nv> nva = {Nv(":status", status),
                                 NvStatic("content-type", "application/grpc"),
                                 Nv("grpc-status", code), Nv("grpc-message", message)};
  if (accept_identity) nva.push_back(NvStatic("grpc-accept-encoding", "identity"));
  nghttp2_submit_response(session_, id, nva.data(), nva.size(), nullptr);
}

// The decision, as the door makes it. Its answer usually comes on the store's thread and is
// posted here; what the callback holds (the Impl, a weak reference to this connection) may
// be destroyed on any thread at any time after it ran.
void H2Connection::Decide(int32_t id, const auth::CheckRequest& request) {
  ++pending_;
  impl_->Began();
  ExtAuthzServer::Impl* impl = impl_;
  impl_->door->CheckAsync(
      AttributesOf(request),
      [impl, weak = weak_from_this(), id](CheckAnswer&& a) {
        net::post(impl->ioc, [impl, weak, id, a = std::move(a)]() mutable {
          if (auto self = weak.lock()) self->Answer(id, std::move(a));
          impl->Answered();
        });
      },
      impl_->offload);
}

void H2Connection::Answer(int32_t id, CheckAnswer&& a) {
  const bool was_paused = ReadPaused();
  --pending_;
  if (closed_) return;
  Call* c = Find(id);
  if (c != nullptr && c->state == Call::State::kDeciding) {  // else reset: into nothing
    auth::CheckResponse response;
    FillResponse(a, &response);  // the RPC succeeds; Envoy reads the status
    c->response = FramedGrpcMessage(response.SerializeAsString());
    c->state = Call::State::kAnswered;
    const nghttp2_nv nva[] = {NvStatic(":status", "200"),
                              NvStatic("content-type", "application/grpc")};
    nghttp2_data_provider data;
    data.source.ptr = c;
    data.read_callback = &ReadResponse;
    nghttp2_submit_response(session_, id, nva, std::size(nva), &data);
  }
  if (was_paused && !ReadPaused()) Read();
  Flush();
}

ssize_t H2Connection::ReadResponse(nghttp2_session* session, int32_t id, uint8_t* buf,
                                   size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                                   void*) {
  auto* c = static_cast<Call*>(source->ptr);
  const size_t n = std::min(length, c->response.size() - c->sent);
  std::memcpy(buf, c->response.data() + c->sent, n);
  c->sent += n;
  if (c->sent == c->response.size()) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    const nghttp2_nv trailers[] = {NvStatic("grpc-status", "0")};
    if (nghttp2_submit_trailer(session, id, trailers, std::size(trailers)) != 0) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }
  return static_cast<ssize_t>(n);
}

namespace {

// The socket's side of an H2Connection: plain TCP (h2c, prior knowledge) or TLS (ALPN h2).
template <class Stream>
class H2Socket final : public H2Connection {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

 public:
  template <class... Args>
  H2Socket(ExtAuthzServer::Impl* impl, Args&&... args)
      : H2Connection(impl), stream_(std::forward<Args>(args)...), timer_(impl->ioc) {}

  void Start() override {
    timer_.expires_after(kPrefaceTimeout);
    timer_.async_wait([self = Self()](const boost::system::error_code& ec) {
      if (!ec && !self->preface_seen_) self->Close();  // never spoke HTTP/2
    });
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = Self()](const boost::system::error_code& ec) {
                                if (ec || !NegotiatedH2(self->stream_.native_handle())) {
                                  return self->Close();
                                }
                                self->Flush();
                                self->Read();
                              });
    } else {
      Flush();
      Read();
    }
  }

  void Close() override {
    if (closed_) return;
    auto self = Self();  // Forget may drop the last owner
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
    impl_->Forget(this);
  }

 protected:
  void Read() override {
    if (closed_ || reading_ || ReadPaused()) return;
    reading_ = true;
    stream_.async_read_some(net::buffer(in_),
                            [self = Self()](const boost::system::error_code& ec, size_t n) {
                              self->reading_ = false;
                              if (ec)
                                return self->Close();  // the peer left: answers owed are dropped
                              if (!self->Receive(self->in_.data(), n)) self->failed_ = true;
                              self->Flush();
                              if (!self->failed_) self->Read();
                            });
  }

  void Flush() override {
    if (closed_ || writing_) return;
    if (!Gather(&out_)) return Close();
    if (out_.empty()) {
      if (failed_ || Finished()) Close();
      return;
    }
    writing_ = true;
    net::async_write(stream_, net::buffer(out_),
                     [self = Self()](const boost::system::error_code& ec, size_t) {
                       self->writing_ = false;
                       if (ec) return self->Close();
                       self->Flush();
                     });
  }

 private:
  std::shared_ptr<H2Socket> Self() {
    return std::static_pointer_cast<H2Socket>(shared_from_this());
  }
  tcp::socket& Socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  Stream stream_;
  net::steady_timer timer_;
  std::array<uint8_t, kReadBytes> in_;
  std::string out_;
  bool reading_ = false;
  bool writing_ = false;
  bool failed_ = false;  // a protocol error: what nghttp2 queued (GOAWAY) goes out, then close
};

}  // namespace

Status ExtAuthzServer::Impl::Listen(const ExtAuthzConfig& c) {
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(c.host, ec);
  const std::string where = c.host + ":" + std::to_string(c.port);
  if (ec) return Error::Unavailable("ext_authz: cannot listen on " + where + ": not an IP address");
  acceptor_.emplace(ioc);
  const tcp::endpoint ep(address, c.port);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error::Unavailable("ext_authz: cannot listen on " + where + ": " + ec.message());
  return Status::Ok();
}

void ExtAuthzServer::Impl::Accept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping) return;
    if (!ec && connections_.size() < kMaxConnections) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::shared_ptr<H2Connection> c;
      if (tls) {
        c = std::make_shared<H2Socket<ssl::stream<tcp::socket>>>(this, std::move(socket), *tls);
      } else {
        c = std::make_shared<H2Socket<tcp::socket>>(this, std::move(socket));
      }
      if (c->InitSession()) {
        connections_.emplace(c.get(), c);
        c->Start();
      }
    }  // else: the socket closes here
    Accept();
  });
}

void ExtAuthzServer::Impl::Run() {
  running = true;
  work_.emplace(ioc.get_executor());
  Accept();
  thread_ = std::thread([this] {
    SetThreadName("il-ext-authz");
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {  // a bug: log it, keep serving the others
        std::cerr << "interlock: error in the ext_authz listener: " << e.what() << '\n';
      }
    }
  });
}

void ExtAuthzServer::Impl::NoticeShutdown() {
  stopping = true;
  boost::system::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  std::vector<std::shared_ptr<H2Connection>> open;
  for (auto& [_, c] : connections_) open.push_back(c);
  for (auto& c : open) c->NoticeShutdown();
}

void ExtAuthzServer::Impl::CloseAll() {
  std::vector<std::shared_ptr<H2Connection>> open;
  for (auto& [_, c] : connections_) open.push_back(c);
  for (auto& c : open) c->Close();
}

void ExtAuthzServer::Impl::Stop() {
  joiner_.reset();  // every Check was answered: its closures have run
  work_.reset();
  ioc.stop();  // what is left is completions of closed sockets
  if (thread_.joinable()) thread_.join();
  acceptor_.reset();
}

Result<std::unique_ptr<ExtAuthzServer>> ExtAuthzServer::Start(Door* door) {
  const ExtAuthzConfig& c = door->config();
  // The daemon checked the section as it read it; a config made in code is checked here
  // too, so that no caller starts plain gRPC beyond loopback.
  if (Status s = CheckExtAuthzConfig(c); !s.ok()) return s.error();
  // libprotobuf logs a line to stderr for each string field that is not UTF-8 in a message
  // it refuses to parse: a peer sending such Checks would flood the daemon's log. The door
  // answers each one itself (INTERNAL, "cannot parse the CheckRequest"), so protobuf's own
  // log is off (process-wide; the door is the daemon's only user of protobuf).
  google::protobuf::SetLogHandler(nullptr);
  std::unique_ptr<ExtAuthzServer> out(new ExtAuthzServer());
  out->impl_ = std::make_unique<Impl>(door);
  const bool tls = !c.tls_cert.empty();
  if (tls) {
    auto cert = ReadFile(c.tls_cert, "tls_cert");
    if (!cert.ok()) return cert.error();
    auto key = ReadFile(c.tls_key, "tls_key");
    if (!key.ok()) return key.error();
    try {
      ssl::context ctx(ssl::context::tls_server);
      ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
      ctx.use_certificate_chain(net::buffer(*cert));
      ctx.use_private_key(net::buffer(*key), ssl::context::pem);
      SSL_CTX_set_alpn_select_cb(ctx.native_handle(), &SelectH2, nullptr);
      out->impl_->tls.emplace(std::move(ctx));
    } catch (const boost::system::system_error& e) {
      return Error::Invalid("ext_authz: cannot load tls_cert or tls_key: " + std::string(e.what()));
    }
  }
  if (Status s = out->impl_->Listen(c); !s.ok()) return s.error();
  out->tls_ = tls;
  out->port_ = out->impl_->port();
  out->impl_->Run();
  return out;
}

void ExtAuthzServer::Shutdown(std::chrono::milliseconds grace) {
  if (!impl_ || !impl_->running || impl_->shut_down.exchange(true)) return;
  impl_->OnIoThread([impl = impl_.get()] { impl->NoticeShutdown(); });
  if (!impl_->WaitIdle(std::chrono::steady_clock::now() + grace)) {
    impl_->OnIoThread([impl = impl_.get()] { impl->CloseAll(); });
  }
  // Checks past `grace` are still answered (into closed connections): the door's callbacks
  // must not outlive the server.
  impl_->WaitIdle(std::nullopt);
  impl_->OnIoThread([impl = impl_.get()] { impl->CloseAll(); });
  impl_->Stop();
}

ExtAuthzServer::~ExtAuthzServer() { Shutdown(); }

}  // namespace interlock::doors::ext_authz
