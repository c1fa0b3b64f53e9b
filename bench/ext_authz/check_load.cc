// check_load: a closed-loop load generator for the ext_authz door, the gRPC counterpart of
// wrk in bench-ext-authz.sh. CONNECTIONS channels (a connection each) keep one Check in
// flight each for SECONDS, as Envoy sends it for an MCP tools/call with its body (an allowed
// Read in one session, so one run, as the API side of the script decides in one run; a fresh
// decision each, never a replay). gRPC's callback API: the client's threads are gRPC's own,
// no thread waits per connection, so 64 connections cost the client about what wrk's epoll
// loop costs the API side. Prints one line as the wrk scripts of bench/ do:
//   RESULT rps=N p50_ms=X p99_ms=Y errors=E wrong=W
// (errors: failed RPCs; wrong: answers that are not OK).
// Usage: check_load PORT TOKEN CONCURRENCY SECONDS [CHANNELS]
// CHANNELS (default CONCURRENCY): the Checks in flight share that many connections, as
// Envoy multiplexes its Checks over a connection per worker thread (HTTP/2 streams).
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "doors/ext_authz/grpc_message.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"

namespace auth = envoy::service::auth::v3;
using Clock = std::chrono::steady_clock;

namespace {

struct Totals {
  std::atomic<long> errors{0};
  std::atomic<long> wrong{0};
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;  // connections still sending; guarded by mu
};

// One client: one Check in flight at a time, on its channel.
class Connection {
 public:
  Connection(const std::shared_ptr<grpc::Channel>& channel, const auth::CheckRequest& request,
             Clock::time_point end, Totals* totals)
      : request_(request), end_(end), totals_(totals) {
    stub_ = auth::Authorization::NewStub(channel);
    latencies_ms_.reserve(1 << 16);
  }

  void Send() {
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    response_.Clear();
    started_ = Clock::now();
    stub_->async()->Check(context_.get(), &request_, &response_,
                          [this](grpc::Status s) { Done(s); });
  }

  const std::vector<double>& latencies_ms() const { return latencies_ms_; }

 private:
  void Done(const grpc::Status& s) {
    const Clock::time_point now = Clock::now();
    latencies_ms_.push_back(std::chrono::duration<double, std::milli>(now - started_).count());
    if (!s.ok()) {
      totals_->errors.fetch_add(1);
    } else if (response_.status().code() != 0) {
      totals_->wrong.fetch_add(1);
    }
    if (now < end_) return Send();
    std::lock_guard lock(totals_->mu);
    if (--totals_->running == 0) totals_->cv.notify_all();
  }

  const auth::CheckRequest& request_;
  const Clock::time_point end_;
  Totals* totals_;
  std::unique_ptr<auth::Authorization::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  auth::CheckResponse response_;
  Clock::time_point started_;
  std::vector<double> latencies_ms_;
};

auth::CheckRequest McpToolCall(const std::string& token) {
  auth::CheckRequest req;
  auto* http = req.mutable_attributes()->mutable_request()->mutable_http();
  http->set_method("POST");
  http->set_path("/mcp");
  http->set_host("mcp.bench");
  (*http->mutable_headers())["authorization"] = "Bearer " + token;
  (*http->mutable_headers())["content-type"] = "application/json";
  (*http->mutable_headers())["mcp-session-id"] = "bench";  // one session: one run
  http->set_body(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"Read",)"
                 R"("arguments":{"file_path":"/home/dev/shop/README.md"}}})");
  return req;
}

// The same Check as one gRPC length-prefixed message (the door's own framing): the body
// h2load posts to /...Authorization/Check, so a client as cheap as wrk can load the door
// (bench-ext-authz.sh CLIENT=h2load).
int DumpFramed(const std::string& token, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << interlock::doors::ext_authz::FramedGrpcMessage(McpToolCall(token).SerializeAsString());
  return out.good() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks lock order on every lock (docs/performance.md): off, as in
  // Abseil's release builds.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc == 4 && std::string_view(argv[1]) == "--dump") return DumpFramed(argv[2], argv[3]);
  if (argc != 5 && argc != 6) {
    std::fprintf(
        stderr,
        "usage: check_load PORT TOKEN CONCURRENCY SECONDS [CHANNELS]\n"
        "       check_load --dump TOKEN FILE   (the Check as a gRPC message, for h2load)\n");
    return 2;
  }
  const std::string target = std::string("127.0.0.1:") + argv[1];
  const auth::CheckRequest request = McpToolCall(argv[2]);
  const int connections = std::max(1, std::atoi(argv[3]));
  const auto duration = std::chrono::seconds(std::max(1, std::atoi(argv[4])));
  Totals totals;
  totals.running = connections;
  const Clock::time_point end = Clock::now() + duration;
  const int channels = argc == 6 ? std::clamp(std::atoi(argv[5]), 1, connections) : connections;
  std::vector<std::shared_ptr<grpc::Channel>> pool;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    args.SetInt("interlock.bench.channel", i);  // a connection each, never shared
    pool.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < connections; ++i) {
    conns.push_back(std::make_unique<Connection>(pool[i % channels], request, end, &totals));
  }
  for (auto& c : conns) c->Send();
  {
    std::unique_lock lock(totals.mu);
    totals.cv.wait(lock, [&] { return totals.running == 0; });
  }
  std::vector<double> all;
  for (const auto& c : conns)
    all.insert(all.end(), c->latencies_ms().begin(), c->latencies_ms().end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%ld wrong=%ld\n",
              static_cast<double>(all.size()) / static_cast<double>(duration.count()), pct(0.50),
              pct(0.99), totals.errors.load(), totals.wrong.load());
  return 0;
}
