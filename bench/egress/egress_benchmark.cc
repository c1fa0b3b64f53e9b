// An allowed CONNECT through the egress proxy against a direct loopback connect, on
// 127.0.0.1 only: time from connect() to the first byte echoed back through the tunnel
// (direct: to the first byte echoed back by the server). The proxy decides each tunnel
// through core::Guard with the in-memory run store (the decision path of tool calls, no
// disk), so the difference is the proxy's own cost: parse, decide, connect, relay.
// Run: build/bench/egress/egress_benchmark --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true   (p50 = median of per-iteration times)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/memory_run_store.h"
#include "doors/egress/proxy.h"
#include "policy/loader.h"

namespace {

namespace net = boost::asio;

// Per-iteration wall times, reported as p50 and p99 counters (microseconds).
class Latencies {
 public:
  void Start() { t0_ = std::chrono::steady_clock::now(); }
  void Stop() {
    us_.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0_).count());
  }
  void Report(benchmark::State& state) {
    if (us_.empty()) return;
    std::sort(us_.begin(), us_.end());
    state.counters["p50_us"] = us_[us_.size() / 2];
    state.counters["p99_us"] = us_[us_.size() * 99 / 100];
  }

 private:
  std::chrono::steady_clock::time_point t0_;
  std::vector<double> us_;
};
using tcp = net::ip::tcp;
using namespace interlock;

// Echoes one byte per connection, then closes.
class EchoServer {
 public:
  EchoServer() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      for (;;) {
        tcp::socket s(io_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stop_) return;
        char c;
        if (net::read(s, net::buffer(&c, 1), ec) == 1) net::write(s, net::buffer(&c, 1), ec);
      }
    });
  }
  ~EchoServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

void BM_DirectLoopbackConnect(benchmark::State& state) {
  EchoServer server;
  net::io_context io;
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), server.port());
  Latencies lat;
  for (auto _ : state) {
    lat.Start();
    tcp::socket s(io);
    s.connect(ep);
    s.set_option(tcp::no_delay(true));
    char c = 'x';
    net::write(s, net::buffer(&c, 1));
    net::read(s, net::buffer(&c, 1));
    lat.Stop();
  }
  lat.Report(state);
}
BENCHMARK(BM_DirectLoopbackConnect)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AllowedConnectThroughProxy(benchmark::State& state) {
  EchoServer server;
  std::vector<policy::Diagnostic> diags;
  auto p = policy::ParseAgentPolicy(
      "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: "
      "[{to: \"127.0.0.1:" +
          std::to_string(server.port()) + "\", tunnel: true}]}\n",
      "bench.yaml", &diags);
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = *p;
  core::PolicySource source(set);
  core::MemoryRunStore store;
  SystemClock clock;
  core::Guard guard(&source, &store, &clock, nullptr);
  (void)store.CreateRun("a", "run-1", clock.Now());
  egress::GuardEgressDecider decider(&guard, nullptr, &clock, "a", "run-1");
  egress::EgressProxy proxy(&decider, egress::ProxyOptions{});
  const uint16_t proxy_port = *proxy.ListenTcp("127.0.0.1", 0);
  proxy.Start();
  net::io_context io;
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), proxy_port);
  const std::string connect =
      "CONNECT 127.0.0.1:" + std::to_string(server.port()) + " HTTP/1.1\r\n\r\n";
  constexpr size_t kEstablished = sizeof("HTTP/1.1 200 Connection Established\r\n\r\n") - 1;
  Latencies lat;
  for (auto _ : state) {
    lat.Start();
    tcp::socket s(io);
    s.connect(ep);
    s.set_option(tcp::no_delay(true));
    net::write(s, net::buffer(connect));
    char reply[kEstablished];
    net::read(s, net::buffer(reply, kEstablished));
    char c = 'x';
    net::write(s, net::buffer(&c, 1));
    net::read(s, net::buffer(&c, 1));
    lat.Stop();
  }
  lat.Report(state);
  proxy.Stop();
}
BENCHMARK(BM_AllowedConnectThroughProxy)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
