// Tests the egress proxy end to end on 127.0.0.1 (port 0 everywhere): an allowed
// absolute-form request and CONNECT tunnel reach a local server, a refused one gets 403
// with Interlock's decision and never reaches it, bad input gets 400, and the decision
// goes through core::Guard. No address other than 127.0.0.1 is ever contacted.
#include "doors/egress/proxy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/memory_run_store.h"
#include "hello_server.h"
#include "policy/loader.h"
#include "wait.h"

namespace interlock::egress {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using ::interlock::testing::HelloServer;

namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;

// Sends `request` to the proxy and returns everything it answers until it closes.
std::string Exchange(uint16_t proxy_port, const std::string& request,
                     const std::string& after_200 = {}) {
  net::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), proxy_port));
  net::write(s, net::buffer(request));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  if (!after_200.empty()) {
    while (out.find("\r\n\r\n") == std::string::npos) {
      size_t n = s.read_some(net::buffer(buf), ec);
      if (ec) return out;
      out.append(buf, n);
    }
    if (out.rfind("HTTP/1.1 200", 0) != 0) return out;
    net::write(s, net::buffer(after_200));
  }
  for (;;) {
    size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

class GuardedProxy {
 public:
  explicit GuardedProxy(const std::string& egress_yaml) {
    std::vector<policy::Diagnostic> diags;
    auto p = policy::ParseAgentPolicy("agent: {id: a}\ntools: {allowed: [x]}\n" + egress_yaml,
                                      "p.yaml", &diags);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    auto set = std::make_shared<policy::PolicySet>();
    set->agents["a"] = *p;
    source_ = std::make_unique<core::PolicySource>(set);
    guard_ = std::make_unique<core::Guard>(source_.get(), &store_, &clock_, nullptr);
    auto run = store_.CreateRun("a", "run-1", clock_.Now());
    EXPECT_TRUE(run.ok());
    decider_ = std::make_unique<GuardEgressDecider>(guard_.get(), nullptr, &clock_, "a", "run-1");
    proxy_ = std::make_unique<EgressProxy>(
        decider_.get(), ProxyOptions{},
        [this](const EgressOutcome& o) {
          std::lock_guard lock(mu_);
          outcomes_.push_back(o);
        },
        [this](const EgressOutcome& o) {
          std::lock_guard lock(mu_);
          decided_.push_back(o);
        });
    auto port = proxy_->ListenTcp("127.0.0.1", 0);
    EXPECT_TRUE(port.ok());
    port_ = *port;
    proxy_->Start();
  }
  // The proxy goes first: its sessions report outcomes into members declared after it.
  ~GuardedProxy() { proxy_.reset(); }
  uint16_t port() const { return port_; }
  std::vector<EgressOutcome> outcomes() {
    // The outcome is reported when the session ends, right after the client sees EOF.
    WaitUntil(
        [&] {
          std::lock_guard lock(mu_);
          return !outcomes_.empty();
        },
        std::chrono::seconds(10), std::chrono::milliseconds(5));
    std::lock_guard lock(mu_);
    return outcomes_;
  }
  // The reports made when each connection was decided (on_decided).
  std::vector<EgressOutcome> decided() {
    std::lock_guard lock(mu_);
    return decided_;
  }

 private:
  SystemClock clock_;
  core::MemoryRunStore store_;
  std::unique_ptr<core::PolicySource> source_;
  std::unique_ptr<core::Guard> guard_;
  std::unique_ptr<GuardEgressDecider> decider_;
  std::unique_ptr<EgressProxy> proxy_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<EgressOutcome> outcomes_;
  std::vector<EgressOutcome> decided_;
};

std::string Allow(uint16_t port) {
  return "egress: {allow: [\"127.0.0.1:" + std::to_string(port) + "\"]}\n";
}

// Tests that an allowed absolute-form request reaches the server with the decided Host
// and no proxy credentials, and that bytes each way are counted.
TEST(EgressProxy, AllowedRequestReachesServer) {
  HelloServer server{"hello from"};
  GuardedProxy proxy(Allow(server.port()));
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/x";
  std::string resp = Exchange(proxy.port(), "GET " + url +
                                                " HTTP/1.1\r\nHost: other.example\r\n"
                                                "Proxy-Authorization: secret\r\n\r\n");
  EXPECT_THAT(resp, HasSubstr("hello from " + std::to_string(server.port())));
  EXPECT_THAT(server.last_head(), HasSubstr("GET /x HTTP/1.1\r\n"));
  EXPECT_THAT(server.last_head(), ::testing::Not(HasSubstr("secret")));
  EXPECT_THAT(server.last_head(), ::testing::Not(HasSubstr("other.example")));
  auto outcomes = proxy.outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].decision.allowed());
  EXPECT_EQ(outcomes[0].attempt.address, "127.0.0.1");
  EXPECT_GT(outcomes[0].bytes_up, 0u);
  EXPECT_EQ(outcomes[0].bytes_down, resp.size());
  EXPECT_FALSE(outcomes[0].call_id.empty());
}

// A local HTTP server that records every byte a connection sends until it closes:
// answers once the head and its Content-Length body are in.
class RecordingServer {
 public:
  RecordingServer() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      accepted_ = true;
      if (ec) return;
      std::string got;
      char buf[4096];
      bool answered = false;
      for (;;) {
        size_t n = s.read_some(net::buffer(buf), ec);
        if (ec) break;
        {
          std::lock_guard lock(mu_);
          received_.append(buf, n);
          got = received_;
        }
        const size_t end = got.find("\r\n\r\n");
        if (!answered && end != std::string::npos && got.size() >= end + 4 + 5) {
          answered = true;
          const std::string resp =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
          net::write(s, net::buffer(resp), ec);
          s.shutdown(tcp::socket::shutdown_send, ec);
        }
      }
    });
  }
  // Joins once the connection ends; if none came (a failed test), one is made to end it.
  ~RecordingServer() {
    if (!accepted_) {
      boost::system::error_code ec;
      tcp::socket poke(io_);
      poke.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> accepted_{false};
  std::mutex mu_;
  std::string received_;
};

// Tests that a second request pipelined behind an allowed one on the same connection (here
// for another Host, which a shared address could serve: domain fronting) never reaches the
// server: exactly the first request's Content-Length body goes up, the rest is dropped.
TEST(EgressProxy, PipelinedSecondRequestNeverReachesTheServer) {
  auto server = std::make_unique<RecordingServer>();
  const uint16_t port = server->port();
  {
    GuardedProxy proxy(Allow(port));
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/up";
    const std::string smuggled =
        "GET http://fronted.example/admin HTTP/1.1\r\nHost: fronted.example\r\n\r\n";
    std::string resp = Exchange(
        proxy.port(), "POST " + url + " HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + smuggled);
    EXPECT_THAT(resp, HasSubstr("200 OK"));
  }
  const std::string received = server->received();
  server.reset();  // joins: the proxy closed the upstream connection
  EXPECT_THAT(received, HasSubstr("POST /up HTTP/1.1\r\n"));
  EXPECT_THAT(received, ::testing::EndsWith("\r\n\r\nhello"));
  EXPECT_THAT(received, ::testing::Not(HasSubstr("fronted.example")));
}

// Tests that each connection is also reported as soon as it is decided (for outcome
// receipts): an allowed one open, with live counters that end equal to the final bytes,
// a refused one closed; the two reports of a connection share its serial.
TEST(EgressProxy, DecidedReportLetsAReceiptCountBytesOfAnOpenConnection) {
  HelloServer allowed{"hello from"}, other{"hello from"};
  GuardedProxy proxy(Allow(allowed.port()));
  const std::string url = "http://127.0.0.1:" + std::to_string(allowed.port()) + "/x";
  std::string resp = Exchange(proxy.port(), "GET " + url + " HTTP/1.1\r\n\r\n");
  auto outcomes = proxy.outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  auto decided = proxy.decided();
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_TRUE(decided[0].open);
  ASSERT_NE(decided[0].live, nullptr);
  EXPECT_EQ(decided[0].serial, outcomes[0].serial);
  EXPECT_NE(decided[0].serial, 0u);
  EXPECT_FALSE(outcomes[0].open);
  EXPECT_EQ(decided[0].live->up.load(), outcomes[0].bytes_up);
  EXPECT_EQ(decided[0].live->down.load(), resp.size());

  std::string refused = Exchange(
      proxy.port(), "GET http://127.0.0.1:" + std::to_string(other.port()) + "/ HTTP/1.1\r\n\r\n");
  EXPECT_THAT(refused, HasSubstr("403"));
  decided = proxy.decided();
  ASSERT_EQ(decided.size(), 2u);
  EXPECT_FALSE(decided[1].open);
  EXPECT_EQ(decided[1].decision.code, Code::kEgressDenied);
  EXPECT_NE(decided[1].serial, decided[0].serial);
}

// Tests that a server not in egress.allow is never contacted: 403 with the decision.
TEST(EgressProxy, RefusedRequestGets403AndNeverReachesServer) {
  HelloServer allowed{"hello from"}, other{"hello from"};
  GuardedProxy proxy(Allow(allowed.port()));
  std::string resp = Exchange(
      proxy.port(), "GET http://127.0.0.1:" + std::to_string(other.port()) + "/ HTTP/1.1\r\n\r\n");
  EXPECT_THAT(resp, HasSubstr("HTTP/1.1 403 Forbidden"));
  EXPECT_THAT(resp, HasSubstr("X-Interlock-Code: EGRESS_DENIED"));
  EXPECT_THAT(resp, HasSubstr("\"code\":\"EGRESS_DENIED\""));
  EXPECT_EQ(other.connections(), 0);
  auto outcomes = proxy.outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].decision.code, Code::kEgressDenied);
}

// An entry that allows CONNECT tunnels to its port (a loopback test server's port 0 port
// stands in for 443).
std::string AllowTunnel(uint16_t port) {
  return "egress: {allow: [{to: \"127.0.0.1:" + std::to_string(port) + "\", tunnel: true}]}\n";
}

// Tests that CONNECT opens a tunnel to a server whose entry allows tunnels there, and
// relays bytes untouched.
TEST(EgressProxy, ConnectTunnelRelaysBytes) {
  HelloServer server{"hello from"};
  GuardedProxy proxy(AllowTunnel(server.port()));
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  std::string resp = Exchange(proxy.port(), "CONNECT " + target + " HTTP/1.1\r\n\r\n",
                              "GET /inner HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(resp, HasSubstr("HTTP/1.1 200 Connection Established\r\n\r\n"));
  EXPECT_THAT(resp, HasSubstr("hello from"));
  EXPECT_THAT(server.last_head(), HasSubstr("GET /inner HTTP/1.1\r\nHost: x\r\n"));
}

// Tests that a CONNECT to a refused port is 403 and the server sees nothing.
TEST(EgressProxy, RefusedConnectGets403) {
  HelloServer allowed{"hello from"}, other{"hello from"};
  GuardedProxy proxy(Allow(allowed.port()));
  std::string resp = Exchange(
      proxy.port(), "CONNECT 127.0.0.1:" + std::to_string(other.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_THAT(resp, HasSubstr("403"));
  EXPECT_EQ(other.connections(), 0);
}

// Tests that garbage, an oversized head and an origin-form request are answered 400/431
// and the proxy keeps serving.
TEST(EgressProxy, BadInputIs400AndProxySurvives) {
  HelloServer server{"hello from"};
  GuardedProxy proxy(Allow(server.port()));
  EXPECT_THAT(Exchange(proxy.port(), "\x01\x02garbage\r\n\r\n"), HasSubstr("400 Bad Request"));
  EXPECT_THAT(Exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
              HasSubstr("400 Bad Request"));
  EXPECT_THAT(Exchange(proxy.port(),
                       "GET http://a.com/ HTTP/1.1\r\nA: " + std::string(20000, 'x') + "\r\n\r\n"),
              HasSubstr("431"));
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  EXPECT_THAT(Exchange(proxy.port(), "GET " + url + " HTTP/1.1\r\n\r\n"), HasSubstr("hello"));
}

// Tests that a policy without egress refuses even loopback.
TEST(EgressProxy, NoEgressKeyRefusesEverything) {
  HelloServer server{"hello from"};
  GuardedProxy proxy("");
  std::string resp = Exchange(
      proxy.port(), "GET http://127.0.0.1:" + std::to_string(server.port()) + "/ HTTP/1.1\r\n\r\n");
  EXPECT_THAT(resp, HasSubstr("403"));
  EXPECT_THAT(resp, HasSubstr("no egress"));
  EXPECT_EQ(server.connections(), 0);
}

// Tests that CONNECT to a host:port allowed only for plain HTTP is refused (403, never
// connected): inside such a tunnel any Host and any pipelined request would reach the
// other virtual hosts behind that address, past the absolute-form protections. The same
// port stays reachable with absolute-form requests, and the refusal is recorded as a
// tunnel decision.
TEST(EgressProxy, ConnectToAllowedPlainHttpPortIsRefused) {
  HelloServer server{"hello from"};
  GuardedProxy proxy(Allow(server.port()));
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  std::string resp = Exchange(proxy.port(), "CONNECT " + target + " HTTP/1.1\r\n\r\n",
                              "GET / HTTP/1.1\r\nHost: admin.internal\r\n\r\n"
                              "GET / HTTP/1.1\r\nHost: other.internal\r\n\r\n");
  EXPECT_THAT(resp, HasSubstr("HTTP/1.1 403 Forbidden"));
  EXPECT_THAT(resp, HasSubstr("X-Interlock-Code: EGRESS_DENIED"));
  EXPECT_THAT(resp, HasSubstr("tunnel"));
  EXPECT_EQ(server.connections(), 0);
  auto outcomes = proxy.outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].attempt.tunnel);
  EXPECT_EQ(outcomes[0].decision.code, Code::kEgressDenied);
  EXPECT_THAT(Exchange(proxy.port(), "GET http://" + target + "/ HTTP/1.1\r\n\r\n"),
              HasSubstr("hello from"));
  EXPECT_EQ(server.connections(), 1);
}

// Tests that `tunnel: false` refuses CONNECT even where the port would allow one by
// default, while plain requests pass.
TEST(EgressProxy, ConnectThroughAnEntrySayingTunnelFalseIsRefused) {
  HelloServer server{"hello from"};
  GuardedProxy proxy("egress: {allow: [{to: \"127.0.0.1:*\", tunnel: false}]}\n");
  const std::string target = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_THAT(Exchange(proxy.port(), "CONNECT " + target + " HTTP/1.1\r\n\r\n"), HasSubstr("403"));
  EXPECT_EQ(server.connections(), 0);
  EXPECT_THAT(Exchange(proxy.port(), "GET http://" + target + "/ HTTP/1.1\r\n\r\n"),
              HasSubstr("hello from"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::egress
