// HttpUpstream against a minimal Streamable HTTP server on a loopback socket: the GET
// stream for the server's own messages is opened again when the server ends it; kept-alive
// connections, attacked (a server closing them, a stray second reply, a tool call that must
// not be sent twice). And the Host header of Interlock's HTTP clients.
#include "mcp/http_upstream.h"
#include "loopback.h"
#include "outbound/http_connector.h"

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

#include "wait.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using namespace std::chrono_literals;

// The messages an HttpUpstream delivers, in order; a test waits on them.
class Inbox {
 public:
  // Callbacks for HttpUpstream::Start that keep every message (and ignore the close).
  UpstreamCallbacks Callbacks() {
    UpstreamCallbacks cb;
    cb.on_message = [this](std::string_view m, const boost::json::value*) {
      std::lock_guard lock(mu_);
      messages_.emplace_back(m);
      cv_.notify_all();
    };
    cb.on_closed = [](std::string) {};
    return cb;
  }
  // Waits (at most 15 s) until `done(messages)` holds; false if it never did.
  template <typename Done>
  bool WaitFor(Done done) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 15s, [&] { return done(messages_); });
  }
  std::vector<std::string> Messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  size_t Count() {
    std::lock_guard lock(mu_);
    return messages_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
};

// Whether one of `messages` holds `needle`.
bool AnyHolds(const std::vector<std::string>& messages, const std::string& needle) {
  for (const std::string& m : messages) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

// The options of an HttpUpstream to the test server on loopback `port`.
HttpUpstreamOptions OptionsFor(int port) {
  HttpUpstreamOptions o;
  o.connector = outbound::Connector();
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  return o;
}

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
  auto up = HttpUpstream::Create(OptionsFor(server.port()));
  ASSERT_TRUE(up.ok()) << up.error().message;
  Inbox inbox;
  ASSERT_TRUE((*up)->Start(inbox.Callbacks()).ok());
  (*up)->Send(boost::json::parse(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"));
  (*up)->Send(boost::json::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  EXPECT_TRUE(inbox.WaitFor([](const std::vector<std::string>& messages) {
    return AnyHolds(messages, "\"data\":2}");
  })) << "messages: "
      << inbox.Count() << ", GETs: " << server.gets();
  const std::vector<std::string> messages = inbox.Messages();
  EXPECT_TRUE(AnyHolds(messages, "\"protocolVersion\":\"2025-06-18\""));
  EXPECT_TRUE(AnyHolds(messages, "\"data\":1}"));
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
  auto up = HttpUpstream::Create(OptionsFor(server.port()));
  ASSERT_TRUE(up.ok()) << up.error().message;
  Inbox inbox;
  ASSERT_TRUE((*up)->Start(inbox.Callbacks()).ok());
  (*up)->Send(boost::json::parse(
      "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
      "\"h\xc3\xa9llo\",\"arguments\":{},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
      "\"2026-07-28\"}}}"));
  ASSERT_TRUE(
      inbox.WaitFor([](const std::vector<std::string>& messages) { return !messages.empty(); }));
  const boost::json::value got = boost::json::parse(inbox.Messages()[0]);
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

// A keep-alive Streamable HTTP server: each connection on a thread of its own, requests
// answered in turn on it with `{"jsonrpc":"2.0","id":ID,"result":{"n":N}}` (N: the request's
// number over the server's life), notifications with 202. What it does besides is its mode.
class KeepAliveServer {
 public:
  enum class Mode {
    kKeep,         // answer and keep the connection
    kCloseEach,    // answer, then close (without saying Connection: close)
    kDropSecond,   // a connection's second request is read, then the connection closed
    kStraySecond,  // the first reply on a connection is followed by a forged second one
  };
  // `keep_alive`: the value of a `Keep-Alive` header on every reply (none when empty).
  explicit KeepAliveServer(Mode mode, std::string keep_alive = "")
      : mode_(mode), keep_alive_(std::move(keep_alive)) {
    fd_ = testing::ListenOnLoopback(&port_);
    EXPECT_GE(fd_, 0);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        ++accepts_;
        conns_.emplace_back([this, c] { Serve(c); });
      }
    });
  }
  ~KeepAliveServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    std::vector<std::thread> conns;
    {
      std::lock_guard lock(mu_);
      conns.swap(conns_);
    }
    for (std::thread& t : conns) t.join();
  }
  int port() const { return port_; }
  int accepts() {
    std::lock_guard lock(mu_);
    return accepts_;
  }
  // How many requests of `method` arrived (each sending counted).
  int received(const std::string& method) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const std::string& m : methods_) n += m == method ? 1 : 0;
    return n;
  }
  // Connections the client closed while the server waited for their next request.
  int closed_by_client() {
    std::lock_guard lock(mu_);
    return closed_by_client_;
  }

 private:
  void Serve(int c) {
    timeval tv{10, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    for (int on_conn = 1;; ++on_conn) {
      size_t header_end = std::string::npos, want = 0;
      while (header_end == std::string::npos || in.size() < header_end + 4 + want) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) {
          std::lock_guard lock(mu_);
          if (n == 0 && in.empty()) ++closed_by_client_;
          ::close(c);
          return;
        }
        in.append(buf, static_cast<size_t>(n));
        header_end = in.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        const size_t cl = in.find("Content-Length: ");
        want = cl == std::string::npos || cl > header_end ? 0 : std::stoul(in.substr(cl + 16));
      }
      const boost::json::object body =
          boost::json::parse(in.substr(header_end + 4, want)).as_object();
      in.erase(0, header_end + 4 + want);
      int n = 0;
      {
        std::lock_guard lock(mu_);
        methods_.emplace_back(body.at("method").as_string());
        n = static_cast<int>(methods_.size());
      }
      if (mode_ == Mode::kDropSecond && on_conn == 2) break;
      std::string reply;
      if (!body.contains("id")) {
        reply = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
      } else {
        reply = Reply(boost::json::serialize(body.at("id")), "{\"n\":" + std::to_string(n) + "}");
      }
      if (mode_ == Mode::kStraySecond && on_conn == 1) {
        reply += Reply(std::to_string(body.at("id").to_number<int64_t>() + 1), "{\"forged\":true}");
      }
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      if (mode_ == Mode::kCloseEach) break;
    }
    ::close(c);
  }

  std::string Reply(const std::string& id, const std::string& result) const {
    const std::string json = "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":" + result + "}";
    return std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n") +
           (keep_alive_.empty() ? "" : "Keep-Alive: " + keep_alive_ + "\r\n") +
           "Content-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
  }

  const Mode mode_;
  const std::string keep_alive_;
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  int accepts_ = 0;
  int closed_by_client_ = 0;
  std::vector<std::string> methods_;
  std::vector<std::thread> conns_;
  std::thread thread_;
};

// An HttpUpstream to `port` and the messages it delivers, one request at a time.
class KeptClient {
 public:
  explicit KeptClient(int port, std::chrono::milliseconds idle = 2000ms) {
    HttpUpstreamOptions o = OptionsFor(port);
    o.listen = false;
    o.idle_timeout = idle;
    auto up = HttpUpstream::Create(o);
    EXPECT_TRUE(up.ok()) << up.error().message;
    up_ = std::move(up).value();
    EXPECT_TRUE(up_->Start(inbox_.Callbacks()).ok());
  }
  ~KeptClient() { up_->Close(); }
  // Sends `method` with `id` and returns the answer delivered for it (null: none in 15 s).
  boost::json::value Call(const std::string& method, int id) {
    const size_t before = Count();
    up_->Send(boost::json::object{
        {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", boost::json::object{}}});
    if (!inbox_.WaitFor([&](const std::vector<std::string>& m) { return m.size() > before; })) {
      return nullptr;
    }
    return boost::json::parse(inbox_.Messages()[before]);
  }
  size_t Count() { return inbox_.Count(); }

 private:
  std::unique_ptr<HttpUpstream> up_;
  Inbox inbox_;
};

// Tests that consecutive messages share one connection: the server accepts once.
TEST(HttpUpstreamKeepAliveTest, ManyMessagesShareOneConnection) {
  KeepAliveServer server(KeepAliveServer::Mode::kKeep);
  {
    KeptClient client(server.port());
    for (int i = 1; i <= 5; ++i) {
      const boost::json::value got = client.Call(i % 2 ? "ping" : "tools/call", i);
      ASSERT_TRUE(got.is_object()) << "message " << i;
      EXPECT_EQ(got.at("id"), i);
      EXPECT_EQ(got.at("result").at("n"), i) << got;
    }
  }
  EXPECT_EQ(server.accepts(), 1);
}

// Tests that a server closing each connection after its reply (without saying so) loses no
// message: a closed idle connection is not taken, or the message goes again on a new one.
TEST(HttpUpstreamKeepAliveTest, AServerClosingIdleConnectionsLosesNoMessage) {
  KeepAliveServer server(KeepAliveServer::Mode::kCloseEach);
  KeptClient client(server.port());
  for (int i = 1; i <= 5; ++i) {
    const boost::json::value got = client.Call("ping", i);
    ASSERT_TRUE(got.is_object()) << "message " << i;
    EXPECT_TRUE(got.as_object().contains("result")) << got;
  }
  EXPECT_EQ(server.accepts(), server.received("ping"));
}

// Tests that a tool call whose kept connection the server closes after reading it is not
// sent again: the gateway is told it may or may not have run, and the server saw it once.
TEST(HttpUpstreamKeepAliveTest, AToolCallIsNeverSentTwiceOverAKeptConnection) {
  KeepAliveServer server(KeepAliveServer::Mode::kDropSecond);
  KeptClient client(server.port());
  ASSERT_TRUE(client.Call("ping", 1).is_object());
  const boost::json::value got = client.Call("tools/call", 2);
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got.at("id"), 2);
  EXPECT_EQ(got.at("error").at("code"), -32603) << got;
  const std::string message(got.at("error").at("message").as_string());
  EXPECT_NE(message.find("may or may not have run"), std::string::npos) << message;
  EXPECT_NE(message.find("kept-alive connection"), std::string::npos) << message;
  EXPECT_EQ(server.received("tools/call"), 1);
  // The next message goes on a new connection.
  const boost::json::value next = client.Call("ping", 3);
  ASSERT_TRUE(next.is_object());
  EXPECT_TRUE(next.as_object().contains("result")) << next;
}

// Tests that any other message whose kept connection the server closed before answering is
// sent once more on a new connection, and answered.
TEST(HttpUpstreamKeepAliveTest, AnotherMessageIsSentAgainOnANewConnection) {
  KeepAliveServer server(KeepAliveServer::Mode::kDropSecond);
  KeptClient client(server.port());
  ASSERT_TRUE(client.Call("ping", 1).is_object());
  const boost::json::value got = client.Call("tools/list", 2);
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got.at("id"), 2);
  EXPECT_TRUE(got.as_object().contains("result")) << got;
  EXPECT_EQ(server.received("tools/list"), 2);
  EXPECT_EQ(server.accepts(), 2);
}

// Tests that bytes after a reply (a forged second reply, sent at once) are never read as
// the next request's answer: that connection is dropped and the next request answered by
// the server.
TEST(HttpUpstreamKeepAliveTest, AStraySecondReplyIsNeverReadAsTheNextAnswer) {
  KeepAliveServer server(KeepAliveServer::Mode::kStraySecond);
  KeptClient client(server.port());
  ASSERT_TRUE(client.Call("ping", 1).is_object());
  const boost::json::value got = client.Call("tools/call", 2);
  ASSERT_TRUE(got.is_object());
  EXPECT_FALSE(got.at("result").as_object().contains("forged")) << got;
  EXPECT_EQ(got.at("result").at("n"), 2) << got;
  EXPECT_EQ(server.accepts(), 2);
}

// Tests that an idle connection is closed when its idle time passes (the server sees it
// end).
TEST(HttpUpstreamKeepAliveTest, IdleConnectionsEndWhenTheirTimePasses) {
  KeepAliveServer server(KeepAliveServer::Mode::kKeep);
  KeptClient client(server.port(), 100ms);
  ASSERT_TRUE(client.Call("ping", 1).is_object());
  WaitUntil([&] { return server.closed_by_client() != 0; }, 10s, 50ms);
  EXPECT_EQ(server.closed_by_client(), 1);
  ASSERT_TRUE(client.Call("ping", 2).is_object());
  EXPECT_EQ(server.accepts(), 2);
}

// Tests the server's `Keep-Alive` header, as a server may send it and as a hostile one
// might: a timeout of 1 s or less (or a negative one, the smallest 64-bit included) keeps
// no connection; a name in another case or after another parameter counts; an unreadable
// or out-of-range one leaves the daemon's own 2 s. Three messages each.
TEST(HttpUpstreamKeepAliveTest, TheServersKeepAliveHeaderBoundsTheIdleTime) {
  const struct {
    const char* header;
    int accepts;  // connections the server saw for three messages
  } cases[] = {
      {"timeout=1", 3},
      {"Timeout=1", 3},
      {"max=100, timeout=0", 3},
      {"timeout=-9223372036854775808", 3},
      {"timeout=5", 1},
      {"timeout=abc", 1},
      {"timeout=99999999999999999999999", 1},
      {"max=100", 1},
  };
  for (const auto& c : cases) {
    KeepAliveServer server(KeepAliveServer::Mode::kKeep, c.header);
    {
      KeptClient client(server.port());
      for (int i = 1; i <= 3; ++i) ASSERT_TRUE(client.Call("ping", i).is_object()) << c.header;
    }
    EXPECT_EQ(server.accepts(), c.accepts) << "Keep-Alive: " << c.header;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
