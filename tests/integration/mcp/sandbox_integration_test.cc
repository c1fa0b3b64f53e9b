// `interlock mcp --sandbox`: real MCP servers under bubblewrap whose only way out is
// Interlock's egress proxy. Every server the test starts listens on 127.0.0.1; the
// sandbox's network namespace is made by the test's own interlock run. Nothing else is
// contacted (the metadata and private-range refusals are unit-tested, never exercised
// with traffic). Skipped when bwrap cannot make a sandbox here.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "subprocess.h"

namespace interlock {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

const std::string kInterlock = std::string(INTERLOCK_BINARY_DIR) + "/interlock";
const std::string kNodeDir = std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/mcp/node";
const std::string kModules = kNodeDir + "/node_modules/@modelcontextprotocol";

bool SandboxWorks() {
  ProcessResult r = RunProcess({"/bin/sh", "-c",
                                "command -v bwrap >/dev/null && bwrap --unshare-all "
                                "--die-with-parent --ro-bind / / true"});
  return r.exit_code == 0;
}

// A local HTTP server on 127.0.0.1 that answers "hello PORT" and counts connections.
class LocalServer {
 public:
  LocalServer() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      for (;;) {
        tcp::socket s(io_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stop_) return;
        ++connections_;
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          const size_t n = s.read_some(net::buffer(buf), ec);
          if (ec) break;
          head.append(buf, n);
        }
        const std::string body = "hello " + std::to_string(port());
        const std::string resp =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: close\r\n\r\n" + body;
        net::write(s, net::buffer(resp), ec);
      }
    });
  }
  ~LocalServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }

 private:
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
};

void ResetProbe();  // ends the suite's probe session (below)

class SandboxTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { ResetProbe(); }
  static void SetUpTestSuite() {
    setup_error_ = testing::RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) +
                                               "/scripts/setup-node-tests.sh");
    works_ = SandboxWorks();
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    if (!works_) GTEST_SKIP() << "bwrap cannot create a sandbox on this machine";
  }
  static inline std::string setup_error_;
  static inline bool works_ = false;
};

std::string Call(int id, const std::string& tool, const json::object& args) {
  return json::serialize(
      json::object{{"jsonrpc", "2.0"},
                   {"id", id},
                   {"method", "tools/call"},
                   {"params", json::object{{"name", tool}, {"arguments", args}}}});
}

const char kInit[] =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
    "\n"
    R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
    "\n";

json::value ParseLastLine(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return json::parse(nl == std::string::npos ? s : s.substr(nl + 1));
}

std::string TextOf(const json::array& msgs, int id) {
  for (const json::value& m : msgs) {
    const json::object& o = m.as_object();
    if (o.contains("id") && !o.contains("method") && o.at("id") == json::value(id)) {
      if (!o.contains("result")) return json::serialize(o);
      const json::value& r = o.at("result");
      if (!r.as_object().contains("content")) return json::serialize(r);
      return std::string(r.at("content").at(0).at("text").as_string());
    }
  }
  return "(no response)";
}

// One sandboxed probe session for the suite (started by the first test that needs it): an
// allowed and a not-allowed local server, the calls below, the store they were audited in.
struct ProbeRun {
  LocalServer allowed, other;
  TempDir tmp;
  std::string store;
  ProcessResult result;
  json::array messages;
};

std::unique_ptr<ProbeRun>& ProbeSlot() {
  static std::unique_ptr<ProbeRun> run;
  return run;
}

void ResetProbe() { ProbeSlot().reset(); }

const ProbeRun& Probe() {
  std::unique_ptr<ProbeRun>& run = ProbeSlot();
  if (!run) {
    run = std::make_unique<ProbeRun>();
    ProbeRun* p = run.get();
    const std::string policy =
        p->tmp.Write("policy.yaml",
                     "agent: {id: probe-agent}\ntools: {allowed: [probe]}\negress:\n  allow: "
                     "[\"127.0.0.1:" +
                         std::to_string(p->allowed.port()) + "\"]\n");
    const std::string a = "http://127.0.0.1:" + std::to_string(p->allowed.port()) + "/x";
    const std::string b = "http://127.0.0.1:" + std::to_string(p->other.port()) + "/y";
    std::string msgs = kInit;
    msgs += Call(2, "probe", {{"mode", "direct"}, {"port", p->allowed.port()}}) + "\n";
    msgs += Call(3, "probe", {{"mode", "proxy"}, {"url", a}}) + "\n";
    msgs += Call(4, "probe", {{"mode", "proxy"}, {"url", b}}) + "\n";
    msgs += Call(5, "probe", {{"mode", "env"}}) + "\n";
    msgs += Call(6, "probe", {{"mode", "proxy"}, {"urls", json::array{a, b}}}) + "\n";
    const std::string file = p->tmp.Write("msgs.jsonl", msgs);
    p->store = p->tmp.path() + "/state/interlock.db";
    p->result = RunProcess({"/usr/bin/env", "node", kNodeDir + "/raw_client.mjs", file, "--",
                            kInterlock, "mcp", "--sandbox", "--policy", policy, "--store", p->store,
                            "--", "node", kNodeDir + "/egress_probe_server.cjs"},
                           "", std::chrono::seconds(90));
    if (p->result.exit_code == 0) {
      p->messages = ParseLastLine(p->result.out).at("messages").as_array();
    }
  }
  return *run;
}

// Tests that a sandboxed server cannot connect anywhere directly (its own network
// namespace), reaches an allowed local server through the egress proxy, gets 403 from
// the proxy for a server not in egress.allow (which never sees a connection), and that
// every connection is in the audit trail with the tool call it happened in.
TEST_F(SandboxTest, ProbeServerReachesOnlyAllowedDestinationsThroughTheProxy) {
  const ProbeRun& p = Probe();
  ASSERT_EQ(p.result.exit_code, 0) << p.result.err;
  const json::array& m = p.messages;
  EXPECT_EQ(TextOf(m, 2).rfind("error ", 0), 0u) << TextOf(m, 2);  // ECONNREFUSED in its netns
  EXPECT_EQ(TextOf(m, 3), "status 200 hello " + std::to_string(p.allowed.port())) << p.result.err;
  EXPECT_EQ(TextOf(m, 4).rfind("status 403 ", 0), 0u) << TextOf(m, 4);
  EXPECT_NE(TextOf(m, 4).find("EGRESS_DENIED"), std::string::npos);
  EXPECT_NE(TextOf(m, 5).find("\"HTTP_PROXY\":\"http://127.0.0.1:3128\""), std::string::npos)
      << TextOf(m, 5);
  EXPECT_NE(TextOf(m, 5).find("\"NO_PROXY\":null"), std::string::npos);
  EXPECT_EQ(TextOf(m, 6).rfind(
                "status 200 hello " + std::to_string(p.allowed.port()) + "; status 403 ", 0),
            0u)
      << TextOf(m, 6);
  // The proxied requests of calls 3 and 6 only; the direct one failed.
  EXPECT_EQ(p.allowed.connections(), 2);
  EXPECT_EQ(p.other.connections(), 0);

  ProcessResult audit =
      RunProcess({kInterlock, "audit", "export", "--store", p.store, "--since", "2000-01-01"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  int egress_allowed = 0, egress_denied = 0;
  std::istringstream lines(audit.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"tool\":\"egress\"") == std::string::npos) continue;
    if (line.find("\"EGRESS_DENIED\"") != std::string::npos) {
      ++egress_denied;
      EXPECT_NE(line.find(std::to_string(p.other.port())), std::string::npos) << line;
    } else if (line.find("\"ALLOWED\"") != std::string::npos) {
      ++egress_allowed;
    }
    EXPECT_NE(line.find("\"call_id\""), std::string::npos) << line;  // the probe call in flight
  }
  EXPECT_EQ(egress_allowed, 2) << audit.out;
  EXPECT_EQ(egress_denied, 2) << audit.out;
}

// Tests that the result record of each sandboxed call lists the destinations its server
// contacted while the call was in flight (outcome receipts): the allowed one with the bytes
// each way, the denied one with its code, nothing for calls that made no connection; that
// `interlock replay` shows them in the call's entry, and that the trail still verifies.
TEST_F(SandboxTest, CallRecordListsTheDestinationsItsServerContacted) {
  const ProbeRun& p = Probe();
  ASSERT_EQ(p.result.exit_code, 0) << p.result.err;
  ProcessResult audit =
      RunProcess({kInterlock, "audit", "export", "--store", p.store, "--since", "2000-01-01"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::string run_id;
  std::set<std::string> egress_records;
  std::istringstream lines(audit.out);
  for (std::string line; std::getline(lines, line);) {
    const json::value rec = json::parse(line);
    if (rec.as_object().contains("run_id") && rec.at("run_id").is_string()) {
      run_id = std::string(rec.at("run_id").as_string());
    }
    if (line.find("\"tool\":\"egress\"") != std::string::npos) {
      egress_records.insert(std::string(rec.at("call_id").as_string()));
    }
  }
  ASSERT_FALSE(run_id.empty()) << audit.out;
  ProcessResult replay =
      RunProcess({kInterlock, "replay", run_id, "--store", p.store, "--format", "json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const json::value r = json::parse(replay.out);
  std::vector<json::array> receipts;  // of the probe calls, in order (ids 2..6)
  for (const json::value& c : r.at("calls").as_array()) {
    if (c.at("tool") != "probe") continue;
    ASSERT_TRUE(c.at("result").is_object()) << json::serialize(c);
    // The same list in the call's entry and in its result record (what GET /v1/audit shows).
    const json::value* in_result = c.at("result").as_object().if_contains("egress");
    EXPECT_EQ(json::serialize(in_result ? *in_result : json::value(json::array())),
              json::serialize(c.at("egress")));
    receipts.push_back(c.at("egress").as_array());
  }
  ASSERT_EQ(receipts.size(), 5u) << replay.out;
  const std::string ap = std::to_string(p.allowed.port()), op = std::to_string(p.other.port());
  auto check = [&](const json::value& e, const std::string& port, bool allowed) {
    SCOPED_TRACE(json::serialize(e));
    EXPECT_EQ(e.at("host"), "127.0.0.1");
    EXPECT_EQ(std::to_string(e.at("port").to_number<int64_t>()), port);
    EXPECT_EQ(e.at("address"), "127.0.0.1");
    EXPECT_EQ(e.at("allowed").as_bool(), allowed);
    EXPECT_EQ(e.at("code"), allowed ? "ALLOWED" : "EGRESS_DENIED");
    EXPECT_EQ(egress_records.count(std::string(e.at("egress_call_id").as_string())), 1u);
    if (allowed) {
      EXPECT_GT(e.at("bytes_up").to_number<int64_t>(), 0);
      EXPECT_GT(e.at("bytes_down").to_number<int64_t>(), 0);
    } else {
      EXPECT_EQ(e.at("bytes_up").to_number<int64_t>(), 0);
      EXPECT_EQ(e.at("bytes_down").to_number<int64_t>(), 0);
    }
  };
  EXPECT_TRUE(receipts[0].empty()) << json::serialize(receipts[0]);  // direct: no proxy
  ASSERT_EQ(receipts[1].size(), 1u);
  check(receipts[1][0], ap, true);
  ASSERT_EQ(receipts[2].size(), 1u);
  check(receipts[2][0], op, false);
  EXPECT_TRUE(receipts[3].empty()) << json::serialize(receipts[3]);  // env
  ASSERT_EQ(receipts[4].size(), 2u);
  check(receipts[4][0], ap, true);
  check(receipts[4][1], op, false);

  ProcessResult text = RunProcess({kInterlock, "replay", run_id, "--store", p.store});
  EXPECT_NE(text.out.find("egress 127.0.0.1:" + ap + " ALLOWED up "), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("127.0.0.1:" + op + " EGRESS_DENIED"), std::string::npos) << text.out;
  ProcessResult verify = RunProcess({kInterlock, "audit", "verify", "--store", p.store});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// Tests that server-filesystem in the sandbox, given the whole temp dir as its root (a
// permissive configuration and policy), can write only under --sandbox-write, and sees
// neither the store nor its keys.
TEST_F(SandboxTest, FilesystemServerCannotWriteOutsideSandboxWriteNorReadTheStore) {
  TempDir tmp;
  const std::string root = fs::canonical(tmp.path()).string();
  fs::create_directories(root + "/data");
  tmp.Write("keep.txt", "outside\n");
  const std::string store = root + "/state/interlock.db";
  const std::string policy = tmp.Write(
      "policy.yaml", "agent: {id: fs-agent}\ntools: {allowed: [read_text_file, write_file]}\n");
  std::string msgs = kInit;
  msgs += Call(2, "write_file", {{"path", root + "/data/ok.txt"}, {"content", "in"}}) + "\n";
  msgs += Call(3, "write_file", {{"path", root + "/keep.txt"}, {"content", "pwned"}}) + "\n";
  msgs += Call(4, "read_text_file", {{"path", store}}) + "\n";
  msgs += Call(5, "read_text_file", {{"path", store + ".keys/audit-hmac.key"}}) + "\n";
  const std::string file = tmp.Write("msgs.jsonl", msgs);
  ProcessResult r = RunProcess({"/usr/bin/env",
                                "node",
                                kNodeDir + "/raw_client.mjs",
                                file,
                                "--",
                                kInterlock,
                                "mcp",
                                "--sandbox",
                                "--sandbox-read",
                                root,
                                "--sandbox-write",
                                root + "/data",
                                "--policy",
                                policy,
                                "--store",
                                store,
                                "--",
                                "node",
                                kModules + "/server-filesystem/dist/index.js",
                                root},
                               "", std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value out = ParseLastLine(r.out);
  const json::array& m = out.at("messages").as_array();
  EXPECT_EQ(std::ifstream(root + "/data/ok.txt").good(), true) << TextOf(m, 2) << r.err;
  std::ifstream keep(root + "/keep.txt");
  std::string kept((std::istreambuf_iterator<char>(keep)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "outside\n") << TextOf(m, 3);
  EXPECT_EQ(TextOf(m, 4).find("SQLite"), std::string::npos) << TextOf(m, 4);
  EXPECT_NE(TextOf(m, 5).find("ENOENT"), std::string::npos) << TextOf(m, 5);  // an empty tmpfs
}

// A stand-in for bwrap, run through INTERLOCK_BWRAP: `script` is its body.
std::string FakeBwrap(const TempDir& dir, const std::string& name, const std::string& script) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << script << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

ProcessResult RunSandboxedWith(const TempDir& dir, const std::string& bwrap,
                               const std::string& marker) {
  std::ofstream(dir.path() + "/p.yaml") << "agent: {id: a, identity: a}\ntools: {allowed: [x]}\n";
  return RunProcess(
      {"/usr/bin/env", "INTERLOCK_BWRAP=" + bwrap, kInterlock, "mcp", "--sandbox", "--policy",
       dir.path() + "/p.yaml", "--store", dir.path() + "/s.db", "--", "/usr/bin/touch", marker},
      kInit, std::chrono::seconds(30));
}

// Tests that when bwrap cannot set the sandbox up (here it fails as it does without user
// namespaces), there is no separate probe to rely on: the real bwrap run's failure is
// seen, Interlock refuses with bwrap's own message and the server never runs.
TEST(SandboxRefusal, BwrapThatCannotMakeNamespacesIsRefusedWithItsMessage) {
  TempDir dir;
  const std::string marker = dir.path() + "/server-ran";
  ProcessResult r = RunSandboxedWith(
      dir,
      FakeBwrap(dir, "bwrap", "echo 'bwrap: No permissions to create new namespace' >&2; exit 1"),
      marker);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot set up the sandbox"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No permissions to create new namespace"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the server is not started"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(r.out.find("\"result\""), std::string::npos) << r.out;
}

// Tests that a "bwrap" that exits 0 without ever running the bridge (so no sandbox was
// made) is refused too: success is the bridge's report from inside, not bwrap's status.
TEST(SandboxRefusal, BwrapThatRunsNothingIsRefused) {
  TempDir dir;
  const std::string marker = dir.path() + "/server-ran";
  ProcessResult r = RunSandboxedWith(dir, FakeBwrap(dir, "bwrap", "exit 0"), marker);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot set up the sandbox"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker));
}

}  // namespace
}  // namespace interlock
