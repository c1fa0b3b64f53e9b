// Idempotency-Key over the daemon's HTTP API (docs/api.md#idempotency): a client that
// retries a request whose answer it lost (a dropped connection) with the same key gets the
// same answer, and the run counts it once; the key with another request is 409. The real
// `interlock serve` on 127.0.0.1 port 0 with a temporary store.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_suite.h"
#include "json_lines.h"
#include "open_run.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

constexpr char kPolicy[] = R"(agent:
  id: "support"
  identity: "support@example.iam"
tools:
  allowed:
    - name: "read"
    - name: "send"
      requires_approval: true
execution:
  max_steps: 100
)";

class IdempotencyDaemon : public DaemonSuite {
 protected:
  void SetUp() override {
    const std::string policies = WritePolicies({{"support.yaml", kPolicy}});
    MakeDaemon(policies);
    agent_ = Token("--agent", "support");
    StartDaemon();
    run_ = NewRun();
  }
  std::string NewRun() { return OpenRun(*client_, agent_); }
  HttpResult Decide(const std::string& body, const std::string& key, const std::string& run = "") {
    return client_->Request("POST", "/v1/runs/" + (run.empty() ? run_ : run) + "/calls", body,
                            agent_, std::chrono::seconds(10), {{"Idempotency-Key", key}});
  }
  json::value Run(const std::string& run = "") {
    return client_->Request("GET", "/v1/runs/" + (run.empty() ? run_ : run), "", agent_).json;
  }
  int64_t Steps(const std::string& run = "") { return Run(run).at("steps").to_number<int64_t>(); }
  std::string agent_, run_;
};

TEST_F(IdempotencyDaemon, RetryAfterDroppedConnectionCountsOneStep) {
  HttpResult first = Decide(R"({"tool":"read","args":{"id":1}})", "key-1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Str(first.json, "decision"), "allow");
  // The answer was lost on the way; the client retries on a fresh connection, same key.
  client_ = std::make_unique<HttpClient>(daemon_->port());
  HttpResult retry = Decide(R"({"args":{"id":1},"tool":"read"})", "key-1");  // same JSON
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Str(retry.json, "call_id"), Str(first.json, "call_id"));
  EXPECT_EQ(Str(retry.json, "decision"), "allow");
  EXPECT_EQ(Str(retry.json, "code"), Str(first.json, "code"));
  EXPECT_EQ(retry.headers["idempotent-replayed"], "true");
  EXPECT_EQ(retry.json.as_object().count("existing_call"), 0u);
  EXPECT_EQ(Steps(), 1);
  // The key lives in the store: a restarted daemon still knows it.
  client_.reset();
  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  client_ = std::make_unique<HttpClient>(daemon_->port());
  HttpResult after = Decide(R"({"tool":"read","args":{"id":1}})", "key-1");
  EXPECT_EQ(Str(after.json, "call_id"), Str(first.json, "call_id"));
  EXPECT_EQ(Steps(), 1);
}

TEST_F(IdempotencyDaemon, SameKeyDifferentBodyIs409) {
  ASSERT_EQ(Decide(R"({"tool":"read","args":{"id":1}})", "key-1").status, 200);
  HttpResult other = Decide(R"({"tool":"read","args":{"id":2}})", "key-1");
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_EQ(Str(other.json, "code"), "IDEMPOTENCY_KEY_REUSED") << other.body;
  EXPECT_FALSE(Str(other.json, "reason").empty());
  EXPECT_EQ(Steps(), 1);
}

TEST_F(IdempotencyDaemon, KeyFromAnotherRunIsNotReused) {
  HttpResult one = Decide(R"({"tool":"read"})", "key-1");
  const std::string run2 = NewRun();
  HttpResult two = Decide(R"({"tool":"read"})", "key-1", run2);
  ASSERT_EQ(two.status, 200) << two.body;
  EXPECT_NE(Str(two.json, "call_id"), Str(one.json, "call_id"));
  EXPECT_EQ(two.headers.count("idempotent-replayed"), 0u);
  EXPECT_EQ(Steps(run2), 1);
}

TEST_F(IdempotencyDaemon, PendingApprovalRetriedReturnsTheSamePendingDecision) {
  HttpResult first = Decide(R"({"tool":"send","args":{"to":"a@example.com"}})", "key-p");
  ASSERT_EQ(Str(first.json, "decision"), "approval_required") << first.body;
  HttpResult retry = Decide(R"({"tool":"send","args":{"to":"a@example.com"}})", "key-p");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Str(retry.json, "decision"), "approval_required");
  EXPECT_EQ(Str(retry.json, "call_id"), Str(first.json, "call_id"));
  EXPECT_EQ(Str(retry.json, "approval_id"), Str(first.json, "approval_id"));
  EXPECT_EQ(Steps(), 1);
}

TEST_F(IdempotencyDaemon, RacingRetriesCountOnce) {
  constexpr int kThreads = 6;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(daemon_->port());
      while (!go.load()) std::this_thread::yield();
      HttpResult r = c.Request("POST", "/v1/runs/" + run_ + "/calls", R"({"tool":"read"})", agent_,
                               std::chrono::seconds(10), {{"Idempotency-Key", "race"}});
      if (r.status == 200) ids[t] = Str(r.json, "call_id");
    });
  }
  go = true;
  for (std::thread& th : threads) th.join();
  ASSERT_FALSE(ids[0].empty());
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(Steps(), 1);
}

TEST_F(IdempotencyDaemon, RetriedUsageAndResultCountOnce) {
  const std::string usage = "/v1/runs/" + run_ + "/usage";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(client_
                  ->Request("POST", usage, R"({"tokens":100})", agent_, std::chrono::seconds(10),
                            {{"Idempotency-Key", "u-1"}})
                  .status,
              204);
  }
  EXPECT_EQ(Run().at("tokens").to_number<int64_t>(), 100);
  HttpResult changed = client_->Request("POST", usage, R"({"tokens":5})", agent_,
                                        std::chrono::seconds(10), {{"Idempotency-Key", "u-1"}});
  EXPECT_EQ(changed.status, 409) << changed.body;
  EXPECT_EQ(Str(changed.json, "code"), "IDEMPOTENCY_KEY_REUSED");

  HttpResult d = Decide(R"({"tool":"read"})", "c-1");
  const std::string result = "/v1/calls/" + Str(d.json, "call_id") + "/result";
  for (int i = 0; i < 2; ++i) {
    HttpResult r = client_->Request("POST", result, R"({"ok":true,"usage":{"tokens":7}})", agent_,
                                    std::chrono::seconds(10), {{"Idempotency-Key", "r-1"}});
    EXPECT_EQ(r.status, 204) << r.body;
  }
  EXPECT_EQ(Run().at("tokens").to_number<int64_t>(), 107);
  HttpResult other = client_->Request("POST", result, R"({"ok":false})", agent_,
                                      std::chrono::seconds(10), {{"Idempotency-Key", "r-1"}});
  EXPECT_EQ(other.status, 409) << other.body;
}

TEST_F(IdempotencyDaemon, OversizedOrUnprintableKeyIs400) {
  EXPECT_EQ(Decide(R"({"tool":"read"})", std::string(256, 'k')).status, 400);
  EXPECT_EQ(Decide(R"({"tool":"read"})", "bad\x01key").status, 400);
  EXPECT_EQ(Decide(R"({"tool":"read"})", "caf\xc3\xa9").status, 400);
  EXPECT_EQ(Decide(R"({"tool":"read"})", std::string(255, 'k')).status, 200);
  EXPECT_EQ(Steps(), 1);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
