// HttpUpstream against a minimal Streamable HTTP server on a loopback socket: the GET
// stream for the server's own messages is opened again when the server ends it. And the
// Host header of Interlock's HTTP clients.
#include "mcp/http_upstream.h"
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

using namespace std::chrono_literals;

// Answers one request per connection: initialize (JSON, with a session id), other POSTs
// (202), GET (an SSE stream with one notification carrying the GET's number, then the
// connection is closed: the stream ends), DELETE (200). Counts the GETs.
class FakeServer {
 public:
  FakeServer() {
    fd_ = testing::ListenOnLoopback(&port_);
    EXPECT_GE(fd_, 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int gets() const { return gets_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t want = 0;
      for (;;) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos) {
          header_end = req.find("\r\n\r\n");
          if (header_end == std::string::npos) continue;
          const size_t cl = req.find("Content-Length: ");
          want = cl == std::string::npos || cl > header_end ? 0 : std::stoul(req.substr(cl + 16));
        }
        if (req.size() >= header_end + 4 + want) break;
      }
      std::string reply;
      if (req.rfind("GET ", 0) == 0) {
        const int n = ++gets_;
        reply =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
            "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
            "\"params\":{\"level\":\"info\",\"data\":" +
            std::to_string(n) + "}}\n\n";
      } else if (req.rfind("POST ", 0) == 0 && req.find("\"initialize\"") != std::string::npos) {
        const std::string body =
            R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18",)"
            R"("capabilities":{},"serverInfo":{"name":"fake","version":"1"}}})";
        reply =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
      } else if (req.rfind("POST ", 0) == 0) {
        reply = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
      } else {
        reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      }
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> gets_{0};
  std::thread thread_;
};

// Tests that when the upstream ends its GET stream, the upstream client opens a new one
// (after the 1 s back-off) and keeps delivering the server's messages.
TEST(HttpUpstreamTest, ReopensTheServerStreamWhenItEnds) {
  FakeServer server;
  HttpUpstreamOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp";
  auto up = HttpUpstream::Create(o);
  ASSERT_TRUE(up.ok()) << up.error().message;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> messages;
  UpstreamCallbacks cb;
  cb.on_message = [&](std::string_view m, const boost::json::value*) {
    std::lock_guard lock(mu);
    messages.emplace_back(m);
    cv.notify_all();
  };
  cb.on_closed = [](std::string) {};
  ASSERT_TRUE((*up)->Start(std::move(cb)).ok());
  (*up)->Send(boost::json::parse(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"));
  (*up)->Send(boost::json::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  auto has = [&](const std::string& needle) {
    for (const std::string& m : messages) {
      if (m.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 15s, [&] { return has("\"data\":2}"); }))
        << "messages: " << messages.size() << ", GETs: " << server.gets();
    EXPECT_TRUE(has("\"protocolVersion\":\"2025-06-18\""));
    EXPECT_TRUE(has("\"data\":1}"));
  }
  EXPECT_GE(server.gets(), 2);
  (*up)->Close();
}

// Records each request and answers every one 400 with a modern server's JSON-RPC error
// (id null, as a server that did not read the request answers).
class RejectingServer {
 public:
  RejectingServer() {
    fd_ = testing::ListenOnLoopback(&port_);
    EXPECT_GE(fd_, 0);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        timeval tv{5, 0};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos || req.back() != '}') {
          const ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        {
          std::lock_guard lock(mu_);
          requests_.push_back(req);
        }
        const std::string body =
            R"({"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"Unsupported)"
            R"( protocol version","data":{"supported":["2026-07-28"],"requested":"x"}}})";
        const std::string reply =
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~RejectingServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// Tests that a 2026-07-28 request goes out with its version, method and name headers (a
// name outside plain ASCII in the Base64 sentinel) and no session, and that the server's
// own JSON-RPC error in a 400 reaches the gateway as that error for the request's id, not
// as a -32603 of Interlock's.
TEST(HttpUpstreamTest, ModernRequestHeadersAndTheServersOwnErrorAsItCame) {
  RejectingServer server;
  HttpUpstreamOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp";
  auto up = HttpUpstream::Create(o);
  ASSERT_TRUE(up.ok()) << up.error().message;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> messages;
  UpstreamCallbacks cb;
  cb.on_message = [&](std::string_view m, const boost::json::value*) {
    std::lock_guard lock(mu);
    messages.emplace_back(m);
    cv.notify_all();
  };
  cb.on_closed = [](std::string) {};
  ASSERT_TRUE((*up)->Start(std::move(cb)).ok());
  (*up)->Send(boost::json::parse(
      "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
      "\"h\xc3\xa9llo\",\"arguments\":{},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
      "\"2026-07-28\"}}}"));
  boost::json::value got;
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 15s, [&] { return !messages.empty(); }));
    got = boost::json::parse(messages[0]);
  }
  EXPECT_EQ(got.at("id"), 5);
  EXPECT_EQ(got.at("error").at("code"), -32022) << got;
  EXPECT_EQ(got.at("error").at("data").at("supported").at(0), "2026-07-28") << got;
  const std::vector<std::string> reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].find("MCP-Protocol-Version: 2026-07-28\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("Mcp-Method: tools/call\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("Mcp-Name: =?base64?aMOpbGxv?=\r\n"), std::string::npos) << reqs[0];
  EXPECT_EQ(reqs[0].find("Mcp-Session-Id"), std::string::npos) << reqs[0];
  (*up)->Close();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
