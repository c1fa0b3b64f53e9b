// A tool result that echoes a redacted argument, reported over the HTTP API, is stored
// masked: nowhere in the call record, the replay, `interlock audit export`, `interlock
// replay` or the bytes of the SQLite files. After a daemon restart between the decision
// and the result (the plain value is gone with the process) the output is withheld.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include <cctype>

#include "base64_decodings.h"
#include "daemon_harness.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

constexpr const char* kSecret = "hunter2-S3cret";

constexpr const char* kPolicy = R"(agent:
  id: echo-agent
  identity: echo-agent@test
tools:
  allowed:
    - name: login
      redact: [password]
    - name: set_password
      redact: [password]
      requires_approval: true
)";

std::string Str(const json::value& v, const char* key) {
  const json::object* o = v.if_object();
  const json::value* x = o != nullptr ? o->if_contains(key) : nullptr;
  return x != nullptr && x->is_string() ? std::string(x->get_string()) : "";
}

// Every file of the store (the database, its WAL and shared memory), as bytes.
std::string StoreBytes(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().rfind("interlock.db", 0) != 0) {
      continue;
    }
    std::ifstream in(e.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

class RedactedEchoHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    dir_.Write("policies/echo-agent.yaml", kPolicy);
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_);
    agent_ = CreateToken(daemon_->store(), "--agent", "echo-agent");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    ASSERT_FALSE(agent_.empty());
    ASSERT_FALSE(reviewer_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // Decides login(ann, kSecret) in `run`; returns the call id.
  std::string Login(const std::string& run) {
    const std::string body =
        std::string(R"({"tool":"login","args":{"user":"ann","password":")") + kSecret + R"("}})";
    HttpResult r = client_->Request("POST", "/v1/runs/" + run + "/calls", body, agent_);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Str(r.json, "decision"), "allow") << r.body;
    return Str(r.json, "call_id");
  }
  int Result(const std::string& call_id, const std::string& body) {
    return client_->Request("POST", "/v1/calls/" + call_id + "/result", body, agent_).status;
  }

  TempDir dir_;
  std::string policies_, agent_, reviewer_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

// Tests that a login tool answering "logged in with password <value>" (in MCP content and
// structuredContent) and failing with "<value> is wrong" has the redacted value masked in
// the call record, the replay, the audit export, `interlock replay` and the SQLite bytes;
// and that a result reported after a restart is withheld, not stored in plain text.
TEST_F(RedactedEchoHttpTest, LoginResultEchoingPasswordIsNeverStoredPlain) {
  HttpResult run = client_->Request("POST", "/v1/runs", "", agent_);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id = Str(run.json, "run_id");

  const std::string ok_call = Login(run_id);
  const std::string echo = std::string("logged in with password ") + kSecret;
  ASSERT_EQ(Result(ok_call, R"({"ok":true,"output":{"content":[{"type":"text","text":")" + echo +
                                R"("}],"structuredContent":{"message":")" + echo + R"("}}})"),
            204);
  const std::string err_call = Login(run_id);
  ASSERT_EQ(Result(err_call,
                   std::string(R"({"ok":false,"error":"password )") + kSecret + R"( is wrong"})"),
            204);

  HttpResult rec = client_->Request("GET", "/v1/calls/" + ok_call, "", agent_);
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(rec.body.find(kSecret), std::string::npos) << rec.body;
  rec = client_->Request("GET", "/v1/calls/" + err_call, "", agent_);
  EXPECT_NE(rec.body.find("password [REDACTED] is wrong"), std::string::npos) << rec.body;

  // A restart between the decision and the result: the value is not known any more.
  const std::string late_call = Login(run_id);
  client_.reset();
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  client_ = std::make_unique<HttpClient>(daemon_->port());
  ASSERT_EQ(Result(late_call, R"({"ok":true,"output":")" + echo + R"("})"), 204);
  rec = client_->Request("GET", "/v1/calls/" + late_call, "", agent_);
  EXPECT_EQ(rec.body.find(kSecret), std::string::npos) << rec.body;

  HttpResult replay = client_->Request("GET", "/v1/runs/" + run_id + "/replay", "", reviewer_);
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(replay.body.find(kSecret), std::string::npos) << replay.body;
  EXPECT_NE(replay.body.find("logged in with password [REDACTED]"), std::string::npos)
      << replay.body;
  EXPECT_NE(replay.body.find("password [REDACTED] is wrong"), std::string::npos) << replay.body;
  EXPECT_NE(replay.body.find("\"withheld\""), std::string::npos) << replay.body;

  client_.reset();
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  EXPECT_EQ(daemon_->log().find(kSecret), std::string::npos);
  int code = -1;
  const std::string exported = RunInterlock(
      {"audit", "export", "--since", "2000-01-01", "--store", daemon_->store()}, &code);
  EXPECT_EQ(code, 0) << exported;
  EXPECT_NE(exported.find("[REDACTED]"), std::string::npos) << exported;
  EXPECT_EQ(exported.find(kSecret), std::string::npos) << exported;
  const std::string replayed =
      RunInterlock({"replay", run_id, "--store", daemon_->store(), "--format", "json"}, &code);
  EXPECT_EQ(code, 0) << replayed;
  EXPECT_EQ(replayed.find(kSecret), std::string::npos) << replayed;
  const std::string bytes = StoreBytes(dir_.path());
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(kSecret), std::string::npos);
  EXPECT_NE(bytes.find("logged in with password [REDACTED]"), std::string::npos);
}

// Tests that when a reviewer edits a redacted argument before approving (the tool runs
// with the edited value), a result echoing the edited value or the original is stored
// masked.
TEST_F(RedactedEchoHttpTest, ResultEchoingReviewersEditedPasswordIsMasked) {
  HttpResult run = client_->Request("POST", "/v1/runs", "", agent_);
  ASSERT_EQ(run.status, 201) << run.body;
  HttpResult r = client_->Request(
      "POST", "/v1/runs/" + Str(run.json, "run_id") + "/calls",
      std::string(R"({"tool":"set_password","args":{"password":")") + kSecret + R"("}})", agent_);
  ASSERT_EQ(Str(r.json, "decision"), "approval_required") << r.body;
  const std::string call_id = Str(r.json, "call_id");
  HttpResult v = client_->Request("POST", "/v1/approvals/" + Str(r.json, "approval_id"),
                                  R"({"verdict":"approve","arguments":{"password":"Edited-Pa55"}})",
                                  reviewer_);
  ASSERT_EQ(v.status, 200) << v.body;
  HttpResult got = client_->Request("GET", "/v1/calls/" + call_id, "", agent_);
  ASSERT_EQ(Str(got.json, "decision"), "allow") << got.body;
  ASSERT_EQ(Result(call_id, std::string(R"({"ok":true,"output":"password Edited-Pa55 set, was )") +
                                kSecret + R"("})"),
            204);
  HttpResult replay =
      client_->Request("GET", "/v1/runs/" + Str(run.json, "run_id") + "/replay", "", reviewer_);
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_NE(replay.body.find("password [REDACTED] set, was [REDACTED]"), std::string::npos)
      << replay.body;
}

// What one decoding step makes of `text`: its percent-decoding (`+` a space) and every
// base64 run decoded at each of the four character offsets.
std::string OneDecodingStep(const std::string& text) {
  std::string all;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(text[i + 1]) &&
        std::isxdigit(text[i + 2])) {
      all.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      all.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  for (const std::string& d : Base64Decodings(text)) all += "\n" + d;
  return all;
}

// Tests that a login result echoing the password percent-encoded (%20 and +), base64
// inside a longer text, inside an MCP embedded resource's blob and an image's data, is
// stored with nothing one decoding step turns back into the password: in the call record,
// the replay and the bytes of the SQLite files.
TEST_F(RedactedEchoHttpTest, ResultEchoingPasswordEncodedLeavesNoDecodableSecret) {
  const std::string secret = "Tr0ub4dor 3/x+S3cret";
  const std::string marker = "Tr0ub4dor 3/x";  // what must never come back
  HttpResult run = client_->Request("POST", "/v1/runs", "", agent_);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id = Str(run.json, "run_id");
  HttpResult d = client_->Request(
      "POST", "/v1/runs/" + run_id + "/calls",
      R"({"tool":"login","args":{"user":"ann","password":")" + secret + R"("}})", agent_);
  ASSERT_EQ(Str(d.json, "decision"), "allow") << d.body;
  const std::string call_id = Str(d.json, "call_id");
  const json::value output{
      {"content",
       json::array{
           json::object{{"type", "text"},
                        {"text",
                         "GET /login?pw=Tr0ub4dor%203%2Fx%2BS3cret and body "
                         "pw=Tr0ub4dor+3%2fx%2bS3cret"}},
           json::object{{"type", "text"},
                        {"text", "session " + Base64Encode("user=ann;pass=" + secret + ";ok")}},
           json::object{{"type", "resource"},
                        {"resource", json::object{{"uri", "file:///app.conf"},
                                                  {"blob", Base64Encode("[db]\npassword = " +
                                                                        secret + "\n")}}}},
           json::object{{"type", "image"},
                        {"mimeType", "image/png"},
                        {"data", Base64Encode("\x89PNG pw=" + secret)}}}}};
  ASSERT_EQ(Result(call_id, json::serialize(json::object{{"ok", true}, {"output", output}})), 204);
  // The reader holds the output as it was reported: it decodes to the password.
  ASSERT_NE(OneDecodingStep(json::serialize(output)).find(marker), std::string::npos);

  HttpResult rec = client_->Request("GET", "/v1/calls/" + call_id, "", agent_);
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(OneDecodingStep(rec.body).find(marker), std::string::npos) << rec.body;
  HttpResult replay = client_->Request("GET", "/v1/runs/" + run_id + "/replay", "", reviewer_);
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(OneDecodingStep(replay.body).find(marker), std::string::npos) << replay.body;
  // The output is in the replay (a call's record holds its result's summary only).
  EXPECT_NE(replay.body.find("GET /login?pw=[REDACTED] and body pw=[REDACTED]"), std::string::npos)
      << replay.body;
  HttpResult audit = client_->Request("GET", "/v1/audit?limit=50", "", reviewer_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(OneDecodingStep(audit.body).find(marker), std::string::npos) << audit.body;
  client_.reset();
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  EXPECT_EQ(OneDecodingStep(StoreBytes(dir_.path())).find(marker), std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
