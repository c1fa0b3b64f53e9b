// Egress decided by the daemon (issue 16): `interlock egress --daemon` against the real
// `interlock serve`, and the daemon's egress routes (docs/api.md, "Egress"): strict
// bodies, the kind set by the route only, the address classified by the daemon itself,
// results once and by the same agent only. Every server is on 127.0.0.1 port 0; the
// address classification is tested with literal addresses only (no traffic).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "hello_server.h"
#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// `interlock egress ARGS...` as a child with the token in EGRESS_TEST_TOKEN; waits for
// its "listening on 127.0.0.1:PORT" line. SIGTERM (then SIGKILL) on destruction.
class EgressProcess {
 public:
  EgressProcess(const std::vector<std::string>& args, const std::string& token) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      setenv("EGRESS_TEST_TOKEN", token.c_str(), 1);
      std::vector<std::string> argv{std::string(INTERLOCK_BINARY_DIR) + "/interlock", "egress"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(out[1]);
    fd_ = out[0];
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    fcntl(fd_, F_SETFL, O_NONBLOCK);
    while (std::chrono::steady_clock::now() < deadline && line.find('\n') == std::string::npos) {
      char buf[256];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n > 0) {
        line.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pace: a nonblocking read
      }
    }
    const size_t colon = line.rfind(':');
    if (line.rfind("listening on ", 0) == 0 && colon != std::string::npos) {
      port_ = std::atoi(line.c_str() + colon + 1);
    }
  }
  ~EgressProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      if (WaitUntil([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; },
                    std::chrono::seconds(10), std::chrono::milliseconds(50))) {
        pid_ = -1;
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
};

// CONNECT 127.0.0.1:target through the proxy; on 200 sends a GET through the tunnel.
// Returns everything the proxy sent back.
std::string ConnectThrough(int proxy_port, int target) {
  std::string req = "CONNECT 127.0.0.1:" + std::to_string(target) +
                    " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(target) + "\r\n\r\n";
  req += "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";  // relayed once the tunnel stands
  return RawExchange(proxy_port, req, std::chrono::seconds(10));
}

class EgressDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    std::ofstream(policies + "/web.yaml")
        << "agent:\n  id: \"web\"\n  identity: \"web@example.iam\"\ntools:\n  allowed: [fetch, "
           "probe]\n"
           "egress:\n  allow: [{to: \"127.0.0.1:"
        << allowed_.port() << "\", tunnel: true}, \"127.0.0.1:" << plain_.port()
        << "\", \"example.com:443\"]\n";
    std::ofstream(policies + "/other.yaml")
        << "agent:\n  id: \"other\"\n  identity: \"other@example.iam\"\ntools:\n  allowed: "
           "[fetch]\negress:\n  allow: [{to: \"127.0.0.1:"
        << allowed_.port() << "\", tunnel: true}]\n";
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies);
    agent_ = CreateToken(daemon_->store(), "--agent", "web");
    other_ = CreateToken(daemon_->store(), "--agent", "other");
    admin_ = CreateToken(daemon_->store(), "--admin", "ada");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
    HttpResult r = client_->Request("POST", "/v1/runs", "", agent_);
    ASSERT_EQ(r.status, 201) << r.body;
    run_ = Str(r.json, "run_id");
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }
  HttpResult Egress(const std::string& body, const std::string& token = "",
                    const std::string& run = "") {
    return client_->Request("POST", "/v1/runs/" + (run.empty() ? run_ : run) + "/egress", body,
                            token.empty() ? agent_ : token);
  }
  HttpResult Report(const std::string& call, const std::string& body,
                    const std::string& token = "") {
    return client_->Request("POST", "/v1/calls/" + call + "/egress-result", body,
                            token.empty() ? agent_ : token);
  }
  std::string EgressJson(const std::string& host, int port, const std::string& address) {
    return R"({"host":")" + host + R"(","port":)" + std::to_string(port) + R"(,"address":")" +
           address + R"("})";
  }
  // `interlock egress --daemon` joining the fixture's run (join) or starting its own.
  std::unique_ptr<EgressProcess> StartProxy(bool join = true) {
    std::vector<std::string> args{
        "--daemon",    "http://127.0.0.1:" + std::to_string(daemon_->port()),
        "--token-env", "EGRESS_TEST_TOKEN",
        "--listen",    "127.0.0.1:0"};
    if (join) {
      args.push_back("--run");
      args.push_back(run_);
    }
    return std::make_unique<EgressProcess>(args, agent_);
  }
  // The run's audit records, serialised one per element.
  std::vector<std::string> Audit(const std::string& type) {
    HttpResult r = client_->Request("GET", "/v1/audit?run_id=" + run_, "", admin_);
    std::vector<std::string> out;
    if (r.status != 200) return out;
    for (const json::value& rec : r.json.at("records").as_array()) {
      if (Str(rec, "type") == type) out.push_back(json::serialize(rec));
    }
    return out;
  }

  HelloServer allowed_;
  HelloServer denied_;
  HelloServer plain_;  // allowed for plain http:// only
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, other_, admin_, run_;
};

// The proxy of `interlock egress --daemon`: the allowed local server is reached through a
// CONNECT tunnel, the other gets 403 EGRESS_DENIED and never sees a connection; both are in
// the daemon's audit trail with host and port, the allowed one with its bytes.
TEST_F(EgressDaemon, AllowedConnectRelaysDeniedConnectGets403BothAudited) {
  auto proxy = StartProxy();
  ASSERT_GT(proxy->port(), 0);
  const std::string ok = ConnectThrough(proxy->port(), allowed_.port());
  EXPECT_NE(ok.find("200 Connection Established"), std::string::npos) << ok;
  EXPECT_NE(ok.find("hello " + std::to_string(allowed_.port())), std::string::npos) << ok;
  const std::string no = ConnectThrough(proxy->port(), denied_.port());
  EXPECT_NE(no.find("403"), std::string::npos) << no;
  EXPECT_NE(no.find("EGRESS_DENIED"), std::string::npos) << no;
  EXPECT_EQ(denied_.connections(), 0);
  EXPECT_EQ(allowed_.connections(), 1);

  // The bytes are reported when the tunnel closed: wait (bounded) for the result record.
  std::vector<std::string> results;
  WaitUntil([&] { return !(results = Audit("result")).empty(); }, std::chrono::seconds(10),
            std::chrono::milliseconds(100));
  int allowed = 0, denied = 0;
  for (const std::string& d : Audit("decision")) {
    if (d.find("\"tool\":\"egress\"") == std::string::npos) continue;
    if (d.find("\"port\":" + std::to_string(allowed_.port())) != std::string::npos &&
        d.find("\"decision\":\"allow\"") != std::string::npos) {
      ++allowed;
    }
    if (d.find("\"port\":" + std::to_string(denied_.port())) != std::string::npos &&
        d.find("EGRESS_DENIED") != std::string::npos) {
      ++denied;
    }
    EXPECT_NE(d.find("\"host\":\"127.0.0.1\""), std::string::npos) << d;
  }
  EXPECT_EQ(allowed, 1);
  EXPECT_EQ(denied, 1);
  ASSERT_EQ(results.size(), 1u);
  const json::value rec = json::parse(results[0]);
  const json::object& out = rec.at("data").at("output").as_object();
  EXPECT_GT(out.at("bytes_up").to_number<int64_t>(), 0) << results[0];  // the GET
  // The 200 and "hello PORT" came back through the tunnel.
  EXPECT_GT(out.at("bytes_down").to_number<int64_t>(), 40) << results[0];
  EXPECT_TRUE(rec.at("data").at("ok").as_bool()) << results[0];
}

// The proxy of `interlock egress --daemon` asks the daemon about a CONNECT as a tunnel: to
// a port allowed for plain http:// only it is refused (403, the server never sees it), so
// the daemon's door keeps the rule the local proxy keeps.
TEST_F(EgressDaemon, ConnectToAllowedPlainHttpPortIsRefused) {
  auto proxy = StartProxy();
  ASSERT_GT(proxy->port(), 0);
  const std::string no = ConnectThrough(proxy->port(), plain_.port());
  EXPECT_NE(no.find("403"), std::string::npos) << no;
  EXPECT_NE(no.find("EGRESS_DENIED"), std::string::npos) << no;
  EXPECT_NE(no.find("tunnel"), std::string::npos) << no;
  EXPECT_EQ(plain_.connections(), 0);
  bool recorded = false;
  for (const std::string& d : Audit("decision")) {
    recorded |= d.find("\"tunnel\":true") != std::string::npos &&
                d.find(std::to_string(plain_.port())) != std::string::npos;
  }
  EXPECT_TRUE(recorded);
}

// Without --run the proxy starts its own run for the token's agent and decides there.
TEST_F(EgressDaemon, ProxyStartsItsOwnRunWithoutRunFlag) {
  auto proxy = StartProxy(/*join=*/false);
  ASSERT_GT(proxy->port(), 0);
  const std::string ok = ConnectThrough(proxy->port(), allowed_.port());
  EXPECT_NE(ok.find("hello " + std::to_string(allowed_.port())), std::string::npos) << ok;
  EXPECT_TRUE(Audit("decision").empty());  // not in the fixture's run
  HttpResult a = client_->Request("GET", "/v1/audit?agent=web&limit=1000", "", admin_);
  EXPECT_NE(a.body.find("\"tool\":\"egress\""), std::string::npos) << a.body;
}

// Fail closed: with the daemon gone, the proxy refuses every connection with 403 and a
// reason, and the allowed server never sees one.
TEST_F(EgressDaemon, DaemonDownDeniesEveryConnection) {
  auto proxy = StartProxy();
  ASSERT_GT(proxy->port(), 0);
  client_.reset();
  daemon_->Stop();
  const std::string no = ConnectThrough(proxy->port(), allowed_.port());
  EXPECT_NE(no.find("403"), std::string::npos) << no;
  EXPECT_NE(no.find("STORE_UNAVAILABLE"), std::string::npos) << no;
  EXPECT_NE(no.find("fail closed"), std::string::npos) << no;
  EXPECT_EQ(allowed_.connections(), 0);
  daemon_.reset();
}

// A second agent's token can neither report the bytes of this agent's egress call nor ask
// for egress decisions in its run; the agent itself reports once.
TEST_F(EgressDaemon, OtherAgentCannotReportBytesOfThisAgentsEgressCall) {
  HttpResult d = Egress(EgressJson("127.0.0.1", allowed_.port(), "127.0.0.1"));
  ASSERT_EQ(d.status, 200) << d.body;
  ASSERT_EQ(Str(d.json, "decision"), "allow") << d.body;
  const std::string call = Str(d.json, "call_id");
  ASSERT_FALSE(call.empty());
  const std::string bytes = R"({"ok":true,"bytes_up":10,"bytes_down":20})";
  EXPECT_EQ(Report(call, bytes, other_).status, 403);
  EXPECT_EQ(Egress(EgressJson("127.0.0.1", allowed_.port(), "127.0.0.1"), other_).status, 403);
  EXPECT_EQ(Report(call, bytes).status, 204);
  EXPECT_EQ(Report(call, bytes).status, 409);  // once per call
  EXPECT_EQ(Report(call, bytes, admin_).status, 403);
}

// The route sets the kind; a body cannot: no agent, kind or other field is accepted on
// the egress route, and a tool call named "egress" that claims the kind on the calls route
// is an ordinary tool call (here: not allowed), never an egress allow.
TEST_F(EgressDaemon, BodyCannotSetKindOrAgent) {
  const std::string base = R"("host":"127.0.0.1","port":)" + std::to_string(allowed_.port()) +
                           R"(,"address":"127.0.0.1")";
  for (const char* extra : {R"("agent":"other")", R"("agent_id":"other")", R"("kind":"egress")",
                            R"("tool":"egress")"}) {
    HttpResult r = Egress("{" + base + "," + std::string(extra) + "}");
    EXPECT_EQ(r.status, 400) << extra << ": " << r.body;
    EXPECT_EQ(Str(r.json, "code"), "INVALID_REQUEST") << r.body;
  }
  HttpResult dup = Egress("{" + base + R"(,"port":443})");
  EXPECT_EQ(dup.status, 400) << dup.body;
  HttpResult call =
      client_->Request("POST", "/v1/runs/" + run_ + "/calls",
                       R"({"tool":"egress","kind":"egress","args":{)" + base + "}}", agent_);
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(Str(call.json, "decision"), "deny") << call.body;
  EXPECT_NE(Str(call.json, "code"), "ALLOWED") << call.body;
  // Nor does an egress result attach to a tool call.
  HttpResult fetch = client_->Request("POST", "/v1/runs/" + run_ + "/calls",
                                      R"({"tool":"fetch","args":{}})", agent_);
  ASSERT_EQ(Str(fetch.json, "decision"), "allow") << fetch.body;
  EXPECT_EQ(Report(Str(fetch.json, "call_id"), R"({"ok":true,"bytes_up":1,"bytes_down":1})").status,
            400);
}

// A proxy that lies about the address gains nothing: the daemon classifies the address
// itself, and a name entry reaches public addresses only (literal addresses, no traffic).
TEST_F(EgressDaemon, ProxyClaimingPrivateAddressForPublicNameIsRefused) {
  for (const char* address : {"10.0.0.5", "192.168.1.1", "127.0.0.1", "169.254.169.254",
                              "fd00:ec2::254", "::ffff:10.0.0.5"}) {
    HttpResult r = Egress(EgressJson("example.com", 443, address));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Str(r.json, "decision"), "deny") << address << ": " << r.body;
    EXPECT_EQ(Str(r.json, "code"), "EGRESS_DENIED") << r.body;
  }
  HttpResult pub = Egress(EgressJson("example.com", 443, "93.184.215.14"));
  EXPECT_EQ(Str(pub.json, "decision"), "allow") << pub.body;
  // The allowed loopback entry names 127.0.0.1:PORT: another name claiming it still
  // matches that literal entry only on that port.
  HttpResult other_port = Egress(EgressJson("127.0.0.1", allowed_.port() + 1, "127.0.0.1"));
  EXPECT_EQ(Str(other_port.json, "decision"), "deny") << other_port.body;
}

// Malformed egress requests are 400 with a body: ports out of range or not integers, a
// host that is not a name, an address that is not an IP literal, an in-flight call that is
// not one of this run's.
TEST_F(EgressDaemon, MalformedEgressRequestsAre400) {
  for (const std::string& body :
       {EgressJson("example.com", 0, "93.184.215.14"),
        EgressJson("example.com", 65536, "93.184.215.14"),
        std::string(R"({"host":"example.com","port":"443","address":"93.184.215.14"})"),
        EgressJson("exa mple.com", 443, "93.184.215.14"),
        EgressJson("example.com", 443, "example.com"), std::string(R"({"host":"example.com"})"),
        std::string("[]"), std::string("not json")}) {
    HttpResult r = Egress(body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_FALSE(Str(r.json, "reason").empty()) << r.body;
  }
  // in_flight_call_id: a call of this run is accepted; one of another run is not.
  HttpResult fetch = client_->Request("POST", "/v1/runs/" + run_ + "/calls",
                                      R"({"tool":"fetch","args":{}})", agent_);
  const std::string mine = Str(fetch.json, "call_id");
  HttpResult other_run = client_->Request("POST", "/v1/runs", "", agent_);
  HttpResult theirs =
      client_->Request("POST", "/v1/runs/" + Str(other_run.json, "run_id") + "/calls",
                       R"({"tool":"fetch","args":{}})", agent_);
  const std::string with = R"({"host":"127.0.0.1","port":)" + std::to_string(allowed_.port()) +
                           R"(,"address":"127.0.0.1","in_flight_call_id":")";
  HttpResult ok = Egress(with + mine + "\"}");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Str(ok.json, "decision"), "allow") << ok.body;
  HttpResult bad = Egress(with + Str(theirs.json, "call_id") + "\"}");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Egress(with + "no-such-call\"}").status, 400);
  // Results: unknown fields and missing counts are refused.
  const std::string call = Str(ok.json, "call_id");
  EXPECT_EQ(Report(call, R"({"ok":true,"bytes_up":1})").status, 400);
  EXPECT_EQ(Report(call, R"({"ok":true,"bytes_up":-1,"bytes_down":1})").status, 400);
  EXPECT_EQ(Report(call, R"({"ok":true,"bytes_up":1,"bytes_down":1,"output":"x"})").status, 400);
}

bool SandboxWorks() {
  ProcessResult r = RunProcess({"/bin/sh", "-c",
                                "command -v node >/dev/null && command -v bwrap >/dev/null && "
                                "bwrap --unshare-all --die-with-parent --ro-bind / / true"});
  return r.exit_code == 0;
}

std::string ToolCallLine(int id, const json::object& args) {
  return json::serialize(
             json::object{{"jsonrpc", "2.0"},
                          {"id", id},
                          {"method", "tools/call"},
                          {"params", json::object{{"name", "probe"}, {"arguments", args}}}}) +
         "\n";
}

// `interlock mcp --sandbox --daemon`: the sandboxed probe server reaches the allowed local
// server through the session's egress proxy and gets 403 for the other; the daemon decided
// both, in the session's run, with the probe call in flight, and holds the bytes.
TEST_F(EgressDaemon, SandboxedServerEgressIsDecidedByTheDaemon) {
  if (!SandboxWorks()) GTEST_SKIP() << "node or bwrap cannot run a sandbox on this machine";
  const std::string node = std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/mcp/node";
  std::string msgs =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n";
  msgs += ToolCallLine(2, {{"mode", "proxy"},
                           {"url", "http://127.0.0.1:" + std::to_string(allowed_.port()) + "/a"}});
  msgs += ToolCallLine(
      3, {{"mode", "proxy"}, {"url", "http://127.0.0.1:" + std::to_string(denied_.port()) + "/b"}});
  const std::string file = dir_.Write("msgs.jsonl", msgs);
  setenv("EGRESS_TEST_TOKEN", agent_.c_str(), 1);
  ProcessResult r = RunProcess(
      {"/usr/bin/env", "node", node + "/raw_client.mjs", file, "--",
       std::string(INTERLOCK_BINARY_DIR) + "/interlock", "mcp", "--sandbox", "--daemon",
       "http://127.0.0.1:" + std::to_string(daemon_->port()), "--token-env", "EGRESS_TEST_TOKEN",
       "--store", dir_.path() + "/pins.db", "--", "node", node + "/egress_probe_server.cjs"},
      "", std::chrono::seconds(90));
  unsetenv("EGRESS_TEST_TOKEN");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status 200 hello " + std::to_string(allowed_.port())), std::string::npos)
      << r.out << r.err;
  EXPECT_NE(r.out.find("status 403"), std::string::npos) << r.out;
  EXPECT_EQ(allowed_.connections(), 1);
  EXPECT_EQ(denied_.connections(), 0);

  HttpResult a = client_->Request("GET", "/v1/audit?agent=web&limit=1000", "", admin_);
  ASSERT_EQ(a.status, 200) << a.body;
  int allowed = 0, denied = 0, results = 0;
  std::vector<std::string> receipts;  // the tool calls' own result records' `egress` lists
  for (const json::value& rec : a.json.at("records").as_array()) {
    const std::string line = json::serialize(rec);
    if (Str(rec, "run_id") == run_) continue;  // the fixture's own run
    if (Str(rec, "type") == "result") {
      const json::object& data = rec.at("data").as_object();
      if (const json::value* e = data.if_contains("egress")) {
        receipts.push_back(json::serialize(*e));
      } else if (line.find("bytes_down") != std::string::npos) {
        ++results;  // the allowed connection's own egress-result
      }
    }
    if (Str(rec, "type") != "decision" || line.find("\"tool\":\"egress\"") == std::string::npos) {
      continue;
    }
    EXPECT_NE(line.find("\"call_id\":\"call_"), std::string::npos) << line;  // in flight
    if (line.find("EGRESS_DENIED") != std::string::npos) ++denied;
    if (line.find("\"decision\":\"allow\"") != std::string::npos) ++allowed;
  }
  EXPECT_EQ(allowed, 1) << a.body;
  EXPECT_EQ(denied, 1) << a.body;
  EXPECT_EQ(results, 1) << a.body;
  // Outcome receipts on the calls' own result records, built by the daemon from its own
  // egress decisions (not from anything the agent posts with the result).
  ASSERT_EQ(receipts.size(), 2u) << a.body;
  const std::string all = receipts[0] + receipts[1];
  EXPECT_NE(all.find("\"port\":" + std::to_string(allowed_.port())), std::string::npos) << all;
  EXPECT_NE(all.find("\"port\":" + std::to_string(denied_.port())), std::string::npos) << all;
  EXPECT_NE(all.find("\"code\":\"EGRESS_DENIED\""), std::string::npos) << all;
  EXPECT_NE(all.find("\"code\":\"ALLOWED\""), std::string::npos) << all;
}

// An agent's result posted for another agent's call cannot take that call's receipts away:
// the daemon lists receipts only on the result of the call's own agent.
TEST_F(EgressDaemon, ResultPostedByAnotherAgentDoesNotConsumeTheCallsReceipts) {
  // The receipt book keys receipts by call id; a foreign agent's result for the call is
  // refused (403) before the book is touched, and the owner's result then carries them.
  const std::string run_id = run_;
  HttpResult call = client_->Request("POST", "/v1/runs/" + run_id + "/calls",
                                     R"({"tool":"fetch","args":{}})", agent_);
  ASSERT_EQ(call.status, 200) << call.body;
  const std::string call_id = Str(call.json, "call_id");
  ASSERT_FALSE(call_id.empty()) << call.body;
  const std::string body = R"({"host":"127.0.0.1","port":)" + std::to_string(denied_.port()) +
                           R"(,"address":"127.0.0.1","in_flight_call_id":")" + call_id + R"("})";
  HttpResult e = client_->Request("POST", "/v1/runs/" + run_id + "/egress", body, agent_);
  ASSERT_EQ(e.status, 200) << e.body;
  HttpResult foreign =
      client_->Request("POST", "/v1/calls/" + call_id + "/result", R"({"ok":true})", other_);
  EXPECT_EQ(foreign.status, 403) << foreign.body;
  HttpResult own =
      client_->Request("POST", "/v1/calls/" + call_id + "/result", R"({"ok":true})", agent_);
  ASSERT_EQ(own.status, 204) << own.body;
  HttpResult a = client_->Request("GET", "/v1/audit?agent=web&limit=1000", "", admin_);
  ASSERT_EQ(a.status, 200) << a.body;
  bool listed = false;
  for (const json::value& rec : a.json.at("records").as_array()) {
    if (Str(rec, "call_id") != call_id) continue;
    const std::string line = json::serialize(rec);
    listed = line.find("EGRESS_DENIED") != std::string::npos;
  }
  EXPECT_TRUE(listed) << a.body;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
