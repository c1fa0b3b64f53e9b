// Mcp-Param-* headers (param_headers.h): the x-mcp-header declarations read and checked as
// the 2026-07-28 specification constrains them, the values encoded, and an HTTP upstream of
// the 2026-07-28 revision sent the headers of the very arguments in the body, a reviewer's
// edit included (the gateway in front of a loopback server).
#include "mcp/param_headers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "gateway_harness.h"
#include "loopback.h"
#include "mcp/gateway.h"
#include "mcp/http_upstream.h"
#include "outbound/http_connector.h"
#include "store/sqlite_pins.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

using testharness::AllVisible;

namespace json = boost::json;
using namespace std::chrono_literals;

json::value Schema(std::string_view text) { return json::parse(text); }

// Tests that x-mcp-header is read only on properties reached through `properties` keys, and
// that the names and paths come out in order.
TEST(ParamHeadersTest, ReadsStaticallyReachableDeclarations) {
  auto h = ParamHeadersOf(Schema(R"({"type":"object","properties":{
      "region":{"type":"string","x-mcp-header":"Region"},
      "opts":{"type":"object","properties":{"dry":{"type":"boolean","x-mcp-header":"Dry-Run"}}},
      "n":{"type":["integer","null"],"x-mcp-header":"N"},
      "query":{"type":"string"}}})"));
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].name, "Region");
  EXPECT_EQ((*h)[0].path, (std::vector<std::string>{"region"}));
  EXPECT_EQ((*h)[1].name, "Dry-Run");
  EXPECT_EQ((*h)[1].path, (std::vector<std::string>{"opts", "dry"}));
  EXPECT_EQ((*h)[2].name, "N");
  // A property merely named x-mcp-header is a property, not a declaration.
  auto named = ParamHeadersOf(Schema(R"({"properties":{"x-mcp-header":{"type":"string"}}})"));
  ASSERT_TRUE(named.ok());
  EXPECT_TRUE(named->empty());
}

// Tests that a declaration a client could not mirror unambiguously invalidates the tool: under
// items, a composition, $defs or at the root; two names equal but for case (a router reading
// one header while the server checks the other); a number or object type; a name that is no
// HTTP token (header injection).
TEST(ParamHeadersTest, DeclarationsAClientCannotMirrorInvalidateTheTool) {
  for (const char* bad : {
           R"({"properties":{"a":{"type":"array","items":{"type":"string","x-mcp-header":"A"}}}})",
           R"({"anyOf":[{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}]})",
           R"({"$defs":{"d":{"type":"string","x-mcp-header":"A"}}})",
           R"({"type":"string","x-mcp-header":"Root"})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":"Path"},)"
           R"("b":{"type":"string","x-mcp-header":"path"}}})",
           R"({"properties":{"a":{"type":"number","x-mcp-header":"A"}}})",
           R"({"properties":{"a":{"type":"object","x-mcp-header":"A"}}})",
           R"({"properties":{"a":{"x-mcp-header":"A"}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":"A\r\nX-Evil: 1"}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":""}}})",
           R"({"properties":{"a":{"type":"string","x-mcp-header":7}}})",
       }) {
    EXPECT_FALSE(ParamHeadersOf(Schema(bad)).ok()) << bad;
  }
}

// Tests the value encoding of the specification's examples, and that null or absent
// arguments send no header while integers and booleans are written as the spec says.
TEST(ParamHeadersTest, MirrorsArgumentsEncodedAsTheSpecificationShows) {
  EXPECT_EQ(EncodeHeaderValue("us-west1"), "us-west1");
  EXPECT_EQ(EncodeHeaderValue("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
  EXPECT_EQ(EncodeHeaderValue(" padded "), "=?base64?IHBhZGRlZCA=?=");
  EXPECT_EQ(EncodeHeaderValue("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
  EXPECT_EQ(EncodeHeaderValue("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
  auto h = ParamHeadersOf(Schema(R"({"properties":{
      "path":{"type":"string","x-mcp-header":"Path"},
      "n":{"type":"integer","x-mcp-header":"N"},
      "dry":{"type":"boolean","x-mcp-header":"Dry"},
      "gone":{"type":"string","x-mcp-header":"Gone"}}})"));
  ASSERT_TRUE(h.ok());
  const json::value args = json::parse(R"({"path":"/etc/passwd","n":-7,"dry":false,"gone":null})");
  EXPECT_EQ(
      MirrorParamHeaders(*h, &args),
      (std::vector<std::pair<std::string, std::string>>{
          {"Mcp-Param-Path", "/etc/passwd"}, {"Mcp-Param-N", "-7"}, {"Mcp-Param-Dry", "false"}}));
  EXPECT_EQ(ParamHeaderForm(json::value(42.0)), "42");
  EXPECT_EQ(ParamHeaderForm(json::value(4.5)), std::nullopt);
  EXPECT_EQ(ParamHeaderForm(json::value(int64_t{1} << 60)), std::nullopt);  // unsafe integer
}

// A loopback Streamable HTTP server of the 2026-07-28 revision: answers each POST by its
// method (server/discover, tools/list with `path` marked x-mcp-header "Path", tools/call) and
// records every request, headers and body, as received.
class ModernFake {
 public:
  ModernFake() {
    fd_ = testing::ListenOnLoopback(&port_);
    EXPECT_GE(fd_, 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ModernFake() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  // The raw requests (head and body) whose body calls `method`.
  std::vector<std::string> Requests(const std::string& method) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const std::string& r : requests_) {
      if (r.find("\"method\":\"" + method + "\"") != std::string::npos) out.push_back(r);
    }
    return out;
  }

 private:
  void Serve() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req;
      char buf[4096];
      size_t want = std::string::npos;
      for (;;) {
        const size_t end = req.find("\r\n\r\n");
        if (end != std::string::npos && want == std::string::npos) {
          std::string head = req.substr(0, end);
          for (char& ch : head)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          const size_t cl = head.find("content-length: ");
          want = end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16)));
        }
        if (want != std::string::npos && req.size() >= want) break;
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      std::string body;
      const size_t at = req.find("\r\n\r\n");
      auto doc = at == std::string::npos ? Result<json::value>(Error::Invalid("no body"))
                                         : ParseJsonStrict(req.substr(at + 4));
      if (doc.ok() && doc->is_object() && doc->get_object().contains("id")) {
        const json::object& o = doc->get_object();
        const std::string method(o.at("method").as_string());
        json::object result{{"resultType", "complete"}};
        if (method == "server/discover") {
          result["supportedVersions"] = json::array{"2026-07-28"};
          result["capabilities"] = json::object{{"tools", json::object{}}};
        } else if (method == "tools/list") {
          result["tools"] = json::array{json::parse(
              R"({"name":"read_file","inputSchema":{"type":"object","properties":{
                  "path":{"type":"string","x-mcp-header":"Path"}}}})")};
        } else if (method == "tools/call") {
          result["content"] = json::array{json::object{{"type", "text"}, {"text", "read"}}};
        }
        body = ToJsonText(json::object{{"jsonrpc", "2.0"}, {"id", o.at("id")}, {"result", result}});
      }
      const std::string reply =
          body.empty() ? std::string("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                       : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// An enforcer whose reviewer approved read_file with the path edited to /tmp/ok.
class EditingEnforcer : public testharness::ImmediateEnforcer {
 public:
  Outcome Decide(ToolCall call) override {
    Outcome o;
    o.call_id = "call-1";
    o.decision.verdict = Verdict::kAllow;
    o.decision.code = Code::kAllowed;
    o.decision.tool = call.tool;
    o.decision.arguments = json::object{{"path", "/tmp/ok"}};
    return o;
  }
};

std::string ModernCall(int id, const std::string& path) {
  return ToJsonText(json::object{
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "tools/call"},
      {"params",
       {{"name", "read_file"},
        {"arguments", {{"path", path}}},
        {"_meta",
         {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
          {"io.modelcontextprotocol/clientCapabilities", json::object{}},
          {"io.modelcontextprotocol/clientInfo", {{"name", "c"}, {"version", "1"}}}}}}}});
}

// The header block of a raw request, lower-cased.
std::string Head(const std::string& request) {
  std::string head = request.substr(0, request.find("\r\n\r\n"));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head;
}

// Tests that an HTTP upstream of 2026-07-28 is sent the Mcp-Param-Path header of the path in
// the body it receives: after a reviewer edited /etc/passwd to /tmp/ok, the header says
// /tmp/ok too (a router or server acting on the header acts on what was approved, and the
// server's own header check, which refuses a call without it, passes).
TEST(ParamHeadersTest, UpstreamGetsTheHeadersOfTheEditedArgumentsItRuns) {
  ModernFake server;
  HttpUpstreamOptions ho;
  ho.connector = outbound::Connector();
  ho.url = server.url();
  auto up = HttpUpstream::Create(ho);
  ASSERT_TRUE(up.ok()) << up.error().message;
  AllVisible view;
  EditingEnforcer enforcer;
  auto pins = std::make_unique<PinStore>(store::OpenSqlitePinRows(":memory:").value());
  GatewayOptions o;
  o.agent_id = "a";
  o.tools = &view;
  o.enforcer = &enforcer;
  o.pins = pins.get();
  o.catalog_timeout = 5s;
  o.discover_timeout = 5s;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<json::value> to_client;
  Gateway gw(
      o,
      [&](const json::value& v) {
        std::lock_guard lock(mu);
        to_client.push_back(v);
        cv.notify_all();
      },
      [&](const json::value& v) { (*up)->Send(v); });
  UpstreamCallbacks cb;
  cb.on_message = [&](std::string_view m, const json::value*) { gw.OnServerLine(m); };
  cb.on_closed = [](std::string) {};
  ASSERT_TRUE((*up)->Start(std::move(cb)).ok());
  gw.OnClientLine(ModernCall(1, "/etc/passwd"));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 15s, [&] { return !to_client.empty(); }));
    EXPECT_EQ(ToJsonText(to_client[0].at("result").at("content")),
              R"([{"type":"text","text":"read"}])")
        << ToJsonText(to_client[0]);
  }
  const std::vector<std::string> calls = server.Requests("tools/call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_NE(calls[0].find(R"("arguments":{"path":"/tmp/ok"})"), std::string::npos) << calls[0];
  EXPECT_NE(Head(calls[0]).find("\r\nmcp-param-path: /tmp/ok"), std::string::npos) << calls[0];
  EXPECT_EQ(Head(calls[0]).find("/etc/passwd"), std::string::npos) << calls[0];
  EXPECT_NE(Head(calls[0]).find("\r\nmcp-name: read_file"), std::string::npos) << calls[0];
  (*up)->Close();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
