#include "doors/ext_authz/grpc_service.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <absl/synchronization/mutex.h>
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "common/text.h"
#include "common/thread_name.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"

namespace interlock::doors::ext_authz {

namespace auth = envoy::service::auth::v3;

namespace {

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound(std::string("ext_authz.") + what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpAttributes AttributesOf(const auth::CheckRequest& request) {
  const auto& http = request.attributes().request().http();
  HttpAttributes out;
  out.method = http.method();
  out.path = http.path();
  out.host = http.host();
  if (http.header_map().headers_size() > 0) {
    for (const auto& h : http.header_map().headers()) {
      const std::string& value = h.raw_value().empty() ? h.value() : h.raw_value();
      auto [it, fresh] = out.headers.try_emplace(AsciiLower(h.key()), value);
      if (!fresh) it->second.append(",").append(value);  // as Envoy joins a repeated header
    }
  } else {
    for (const auto& [k, v] : http.headers()) out.headers.try_emplace(AsciiLower(k), v);
  }
  out.body = http.raw_body().empty() ? http.body() : http.raw_body();
  auto partial = out.headers.find("x-envoy-auth-partial-body");
  out.partial_body = (partial != out.headers.end() && AsciiLower(partial->second) == "true") ||
                     (http.size() > 0 && static_cast<uint64_t>(http.size()) > out.body.size());
  return out;
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
// run's first Check joins the run), which must run neither on the queue's thread nor on the
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

}  // namespace

// gRPC's asynchronous (completion-queue) API on one thread of the door's own, which both
// takes requests and writes answers: a Check is read there, decided by Door::CheckAsync
// (no thread waits per call), and the answer, made on the store's thread once the decision
// is durable, comes back to that thread through an alarm on its queue, which calls Finish.
// Every Check is finished exactly once (the door answers every path, an error with a
// deny); Shutdown waits for the Checks still owed an answer before the queue closes.
class ExtAuthzServer::Impl {
 public:
  explicit Impl(Door* door)
      : door_(door), offload_([this](std::function<void()> fn) { joiner_.Post(std::move(fn)); }) {}

  // One Check through its three steps, each a tag on the queue.
  struct Call {
    enum class Step { kRequested, kAnswered, kFinished };
    explicit Call(Impl* impl) : impl(impl), responder(&context) {}
    Impl* impl;
    Step step = Step::kRequested;
    grpc::ServerContext context;
    auth::CheckRequest request;
    auth::CheckResponse response;
    grpc::ServerAsyncResponseWriter<auth::CheckResponse> responder;
    grpc::Alarm alarm;
    CheckAnswer answer;
  };

  void RequestNext() {
    auto* call = new Call(this);
    service.RequestCheck(&call->context, &call->request, &call->responder, cq.get(), cq.get(),
                         call);
  }

  // The queue's thread: until the queue is shut down and drained.
  void Run() {
    SetThreadName("il-ext-authz");
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) Step(static_cast<Call*>(tag), ok);
  }

  void Step(Call* call, bool ok) {
    switch (call->step) {
      case Call::Step::kRequested:
        if (!ok) {  // the server is shutting down: no request came
          delete call;
          return;
        }
        RequestNext();
        in_flight_.fetch_add(1);
        call->step = Call::Step::kAnswered;
        door_->CheckAsync(
            AttributesOf(call->request),
            [call](CheckAnswer&& a) {
              // Usually on the store's thread: the answer goes back to the queue's thread.
              call->answer = std::move(a);
              call->alarm.Set(call->impl->cq.get(), gpr_time_0(GPR_CLOCK_MONOTONIC), call);
            },
            offload_);
        return;
      case Call::Step::kAnswered:
        FillResponse(call->answer, &call->response);  // the RPC succeeds; Envoy reads the status
        call->step = Call::Step::kFinished;
        call->responder.Finish(call->response, grpc::Status::OK, call);
        return;
      case Call::Step::kFinished:  // written, or the call was cancelled
        delete call;
        Answered();
        return;
    }
  }

  void Answered() {
    if (in_flight_.fetch_sub(1) == 1) {
      std::lock_guard lock(mu_);
      idle_.notify_all();
    }
  }

  // Blocks until every Check begun has been answered.
  void WaitIdle() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return in_flight_.load() == 0; });
  }

  auth::Authorization::AsyncService service;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::unique_ptr<grpc::Server> server;
  std::thread thread;

 private:
  Door* door_;
  std::atomic<int64_t> in_flight_{0};  // Checks begun and not yet answered
  std::mutex mu_;
  std::condition_variable idle_;
  ExtAuthzOffloadPool joiner_{2};  // runs' first Checks (a store write each)
  const Door::Offload offload_;
};

Result<std::unique_ptr<ExtAuthzServer>> ExtAuthzServer::Start(Door* door) {
  const ExtAuthzConfig& c = door->config();
  std::shared_ptr<grpc::ServerCredentials> creds;
  const bool tls = !c.tls_cert.empty();
  if (tls) {
    auto cert = ReadFile(c.tls_cert, "tls_cert");
    if (!cert.ok()) return cert.error();
    auto key = ReadFile(c.tls_key, "tls_key");
    if (!key.ok()) return key.error();
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
    creds = grpc::SslServerCredentials(options);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  std::unique_ptr<ExtAuthzServer> out(new ExtAuthzServer());
  out->impl_ = std::make_unique<Impl>(door);
  out->tls_ = tls;
  const std::string host = c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host;
  int port = 0;
  // Debian 12's Abseil is built without NDEBUG, so every absl::Mutex acquisition (gRPC's
  // core locks are absl::Mutex) also updated a lock-order graph: 287 ns against 55 ns per
  // nested pair on this machine (docs/performance.md). A debugging aid, off as in Abseil's
  // release builds; Interlock's own locks are std::mutex. Process-wide, set once.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(host + ":" + std::to_string(c.port), creds, &port);
  builder.RegisterService(&out->impl_->service);
  out->impl_->cq = builder.AddCompletionQueue();
  // The request's body and headers, with room for the rest of the CheckRequest.
  builder.SetMaxReceiveMessageSize(static_cast<int>(c.max_body_bytes + (1 << 20)));
  // Per-call work a gateway's loopback or in-cluster connection does not need
  // (docs/performance.md, "The ext_authz door's Check under concurrency"): no BDP pings
  // (the window is not what bounds a Check of a few hundred bytes) and no channelz
  // counters per call.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  out->impl_->server = builder.BuildAndStart();
  if (!out->impl_->server || port == 0) {
    out->impl_->cq->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (out->impl_->cq->Next(&tag, &ok)) {
    }
    out->impl_->server.reset();
    return Error::Unavailable("ext_authz: cannot listen on " + host + ":" + std::to_string(c.port));
  }
  out->impl_->RequestNext();
  out->impl_->thread = std::thread([impl = out->impl_.get()] { impl->Run(); });
  out->port_ = static_cast<uint16_t>(port);
  return out;
}

void ExtAuthzServer::Shutdown(std::chrono::milliseconds grace) {
  if (!impl_ || !impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  // Checks past `grace` were cancelled, but each is still answered (a late answer to a
  // cancelled call is dropped by gRPC) on the queue's thread: the door's callbacks must not
  // outlive the server, nor an alarm the queue.
  impl_->WaitIdle();
  impl_->server->Wait();
  impl_->cq->Shutdown();
  impl_->thread.join();  // drains the queue
  impl_->server.reset();
}

ExtAuthzServer::~ExtAuthzServer() { Shutdown(); }

}  // namespace interlock::doors::ext_authz
