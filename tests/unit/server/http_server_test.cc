// HttpServer transport behaviour on loopback: keep-alive, requests split across reads,
// pipelining, the idle timeout, and connections spread over the io threads.
#include "doors/http_api/http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/write.hpp>

#include "daemon/metrics.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

namespace net = boost::asio;
using net::ip::tcp;
using namespace std::chrono_literals;

// Answers every request with its target and remembers which threads served.
class EchoHandler final : public RequestHandler {
 public:
  void Handle(HttpRequest request, Responder responder) override {
    {
      std::lock_guard lock(mu_);
      threads_.insert(std::this_thread::get_id());
    }
    HttpResponse res(boost::beast::http::status::ok, request.version());
    res.keep_alive(request.keep_alive());
    res.body() = std::string(request.target());
    res.prepare_payload();
    responder.Send(std::move(res));
  }
  size_t threads() {
    std::lock_guard lock(mu_);
    return threads_.size();
  }

 private:
  std::mutex mu_;
  std::set<std::thread::id> threads_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(std::chrono::milliseconds idle_timeout, int threads) {
    HttpServerOptions o;
    o.port = 0;
    o.threads = threads;
    o.limits.idle_timeout = idle_timeout;
    o.limits.read_timeout = 2s;
    server_ = std::make_unique<HttpServer>(o, &handler_, &metrics_);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  tcp::socket Connect() {
    tcp::socket s(ioc_);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->local_endpoint().port()));
    timeval tv{5, 0};  // every blocking read in these tests is bounded
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }

  // Reads until `count` complete responses (each ends with its body, the target) arrived or
  // the peer closed. Bounded by the socket's receive timeout.
  static std::string ReadResponses(tcp::socket& s, const std::vector<std::string>& bodies) {
    std::string got;
    char buf[4096];
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    auto complete = [&] {
      size_t pos = 0;
      for (const auto& b : bodies) {
        pos = got.find("\r\n\r\n" + b, pos);
        if (pos == std::string::npos) return false;
        pos += b.size();
      }
      return true;
    };
    while (!complete() && std::chrono::steady_clock::now() < deadline) {
      boost::system::error_code ec;
      const size_t n = s.read_some(net::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
    }
    return got;
  }

  static void Send(tcp::socket& s, const std::string& bytes) { net::write(s, net::buffer(bytes)); }

  static std::string Get(const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }

  net::io_context ioc_;
  EchoHandler handler_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

// Tests many requests on one keep-alive connection, a request whose bytes arrive in two
// pieces (the first read takes only its start), and two pipelined requests in one write.
TEST_F(HttpServerTest, KeepAliveSplitAndPipelinedRequests) {
  Start(10s, 2);
  tcp::socket s = Connect();
  for (int i = 0; i < 50; ++i) {
    const std::string target = "/r" + std::to_string(i);
    Send(s, Get(target));
    const std::string got = ReadResponses(s, {target});
    ASSERT_NE(got.find("200 OK"), std::string::npos) << got;
    ASSERT_NE(got.find("\r\n\r\n" + target), std::string::npos) << got;
  }
  const std::string split = Get("/split");
  Send(s, split.substr(0, 5));
  std::this_thread::sleep_for(100ms);  // pace: a request split over two reads
  Send(s, split.substr(5));
  EXPECT_NE(ReadResponses(s, {"/split"}).find("\r\n\r\n/split"), std::string::npos);
  Send(s, Get("/p1") + Get("/p2"));
  const std::string both = ReadResponses(s, {"/p1", "/p2"});
  EXPECT_LT(both.find("\r\n\r\n/p1"), both.find("\r\n\r\n/p2")) << both;
  EXPECT_NE(both.find("\r\n\r\n/p2"), std::string::npos) << both;
}

// Tests that a keep-alive connection with no next request is closed after the idle
// timeout, and that one which sends in time is served.
TEST_F(HttpServerTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  Start(400ms, 1);
  tcp::socket s = Connect();
  Send(s, Get("/a"));
  ASSERT_NE(ReadResponses(s, {"/a"}).find("/a"), std::string::npos);
  std::this_thread::sleep_for(100ms);  // pace: idle, less than the timeout
  Send(s, Get("/b"));                  // within the idle timeout
  ASSERT_NE(ReadResponses(s, {"/b"}).find("/b"), std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  char c;
  boost::system::error_code ec;
  s.read_some(net::buffer(&c, 1), ec);  // blocks until the server closes
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 3s);
}

// Tests that connections are spread over the io threads (one io_context per thread).
TEST_F(HttpServerTest, ConnectionsAreSpreadOverTheIoThreads) {
  Start(10s, 2);
  std::vector<tcp::socket> conns;
  for (int i = 0; i < 4; ++i) conns.push_back(Connect());
  for (size_t i = 0; i < conns.size(); ++i) {
    const std::string target = "/c" + std::to_string(i);
    Send(conns[i], Get(target));
    ASSERT_NE(ReadResponses(conns[i], {target}).find(target), std::string::npos);
  }
  EXPECT_EQ(handler_.threads(), 2u);
}

// Reads until the server closes the connection (bounded by the receive timeout).
std::string ReadUntilClose(tcp::socket& s) {
  std::string got;
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    const size_t n = s.read_some(net::buffer(buf), ec);
    if (ec) break;
    got.append(buf, n);
  }
  return got;
}

// Tests that request smuggling through Transfer-Encoding fails: every framing other than
// exactly one "chunked" (any case) is answered 400 with a reason and the connection
// closed, so the bytes after the headers are never served as a pipelined request.
TEST_F(HttpServerTest, TransferEncodingSmugglingIsRefusedAndTheConnectionClosed) {
  Start(10s, 1);
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string chunked_body = "5\r\nhello\r\n0\r\n\r\n";
  struct Case {
    std::string headers;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"Transfer-Encoding: chunked, identity\r\n", smuggled},
      {"Transfer-Encoding: identity\r\n", smuggled},
      {"Transfer-Encoding: gzip\r\n", smuggled},
      {"Transfer-Encoding: gzip, chunked\r\n", chunked_body + smuggled},
      {"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n", chunked_body + smuggled},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunked_body + smuggled},
      {"Transfer-Encoding: gzip\r\nContent-Length: 0\r\n", smuggled},
      {"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", smuggled},
      {"Transfer-Encoding: chunked\r\nContent-Length: 38\r\n", chunked_body + smuggled},
  };
  for (const Case& c : cases) {
    tcp::socket s = Connect();
    Send(s, "POST /first HTTP/1.1\r\nHost: x\r\n" + c.headers + "\r\n" + c.body);
    const std::string got = ReadUntilClose(s);
    EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << c.headers << got;
    EXPECT_NE(got.find("\"code\":\"INVALID_REQUEST\""), std::string::npos) << got;
    EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
    EXPECT_EQ(got.find("/smuggled"), std::string::npos) << c.headers << got;
    EXPECT_EQ(got.find("/first"), std::string::npos) << c.headers << got;
  }
  // HTTP/1.0 has no chunked coding: a TE header there is faulty framing too.
  tcp::socket old = Connect();
  Send(old, "POST /first HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body);
  EXPECT_EQ(ReadUntilClose(old).rfind("HTTP/1.0 400", 0), 0u);
}

// Tests that "chunked" is matched case-insensitively (RFC 9112: transfer-coding names are
// case-insensitive) and that the connection stays usable after a chunked request.
TEST_F(HttpServerTest, ChunkedInAnyCaseIsServed) {
  Start(10s, 1);
  tcp::socket s = Connect();
  Send(s,
       "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
       "5\r\nhello\r\n0\r\n\r\n" +
           Get("/next"));
  const std::string got = ReadResponses(s, {"/chunked", "/next"});
  EXPECT_NE(got.find("\r\n\r\n/chunked"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\n\r\n/next"), std::string::npos) << got;
}

// Tests that the head the server writes before a body is byte for byte the one Beast's
// serializer writes: status lines of both versions, a known and an unknown status, a reason
// of the message's own, fields in their order with their case, and no body.
TEST(ResponseHeadTest, ResponseHeadIsTheSerializersHead) {
  namespace http = boost::beast::http;
  std::vector<HttpResponse> cases;
  HttpResponse json(http::status::ok, 11);
  json.set(http::field::content_type, "application/json");
  json.set("Idempotent-Replayed", "true");
  json.body() = R"({"verdict":"allow"})";
  json.keep_alive(true);
  cases.push_back(json);
  HttpResponse old(http::status::not_found, 10);
  old.set("x-Custom", "a b");
  old.body() = "gone";
  old.keep_alive(false);
  cases.push_back(old);
  HttpResponse none(http::status::no_content, 11);
  cases.push_back(none);
  HttpResponse odd(static_cast<http::status>(599), 11);
  odd.body() = "?";
  cases.push_back(odd);
  HttpResponse reason(http::status::too_many_requests, 11);
  reason.reason("Slow Down");
  reason.set(http::field::retry_after, "1");
  cases.push_back(reason);
  for (HttpResponse& res : cases) {
    res.prepare_payload();
    std::ostringstream beast;
    beast << res;
    std::string ours;
    AppendResponseHead(res, &ours);
    ours += res.body();
    EXPECT_EQ(ours, beast.str());
  }
}

// Keeps each request's Responder for the test to answer when it chooses.
class HeldHandler final : public RequestHandler {
 public:
  void Handle(HttpRequest, Responder responder) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(responder));
    cv_.notify_all();
  }
  std::optional<Responder> Next() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, 5s, [&] { return !held_.empty(); })) return std::nullopt;
    Responder r = std::move(held_.front());
    held_.erase(held_.begin());
    return r;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Responder> held_;
};

// Tests that an answer to a client that hung up while its request was handled (a Ctrl-C,
// a killed process) is reported undelivered to the handler, so that what only the answer
// could tell (an approval id) can be undone, and that one read by its client is reported
// delivered.
TEST_F(HttpServerTest, AnswerToAClientThatHungUpIsReportedUndelivered) {
  HeldHandler held;
  HttpServerOptions o;
  o.port = 0;
  o.threads = 1;
  server_ = std::make_unique<HttpServer>(o, &held, &metrics_);
  ASSERT_TRUE(server_->Start().ok());
  auto answer = [](Responder r) {
    auto delivered = std::make_shared<std::promise<bool>>();
    HttpResponse res(boost::beast::http::status::ok, 11);
    res.body() = "answer";
    r.Send(std::move(res), [delivered](bool d) { delivered->set_value(d); });
    return delivered->get_future();
  };
  {
    tcp::socket gone = Connect();
    Send(gone, Get("/gone"));
    std::optional<Responder> r = held.Next();
    ASSERT_TRUE(r);
    gone.close();
    std::this_thread::sleep_for(50ms);  // pace: the FIN reaches the server
    std::future<bool> delivered = answer(*r);
    ASSERT_EQ(delivered.wait_for(5s), std::future_status::ready);
    EXPECT_FALSE(delivered.get());
  }
  tcp::socket there = Connect();
  Send(there, Get("/there"));
  std::optional<Responder> r = held.Next();
  ASSERT_TRUE(r);
  std::future<bool> delivered = answer(*r);
  ASSERT_EQ(delivered.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(delivered.get());
  EXPECT_NE(ReadResponses(there, {"answer"}).find("answer"), std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
