// Integration tests of approvals from Slack (docs/approvals.md, "Approving from Slack"): the
// real `interlock serve` on 127.0.0.1 port 0, a stand-in for Slack's Web API on loopback
// that records chat.postMessage / chat.update and checks the bot token, and callbacks
// signed (or forged) as Slack signs them.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "daemon_harness.h"
#include "daemon_policies.h"
#include "fake_slack.h"
#include "json_lines.h"
#include "pg_cluster.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace {

namespace json = boost::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr char kBotToken[] = "xoxb-test-bot-token";
constexpr char kSigningSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr char kChannel[] = "C0APPROVALS";

const std::string kAgent = std::string(kApprAgentHead) + R"(execution:
  max_steps: 100000
)";

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The blocks' buttons of a posted message: action_id -> value (or url for Edit).
std::map<std::string, std::string> Buttons(const json::object& body) {
  std::map<std::string, std::string> out;
  const json::value* blocks = body.if_contains("blocks");
  if (blocks == nullptr || !blocks->is_array()) return out;
  for (const json::value& b : blocks->as_array()) {
    if (Str(b, "type") != "actions") continue;
    for (const json::value& e : b.as_object().at("elements").as_array()) {
      out[Str(e, "action_id")] = Str(e, "value").empty() ? Str(e, "url") : Str(e, "value");
    }
  }
  return out;
}

class SlackTest : public ::testing::Test {
 protected:
  void SetUp() override { Boot(0ms); }

  void Boot(std::chrono::milliseconds slack_delay) {
    WriteFiles(slack_delay);
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config_);
    agent_ = CreateToken(daemon_->store(), "--agent", "appr-agent");
    rita_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    auditor_ = CreateToken(daemon_->store(), "--reviewer", "auditor");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  // The stand-in Slack, the policies, the Slack secrets and the config file.
  void WriteFiles(std::chrono::milliseconds slack_delay) {
    slack_ = std::make_unique<FakeSlack>(slack_delay);
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    std::ofstream(policies_ + "/appr.yaml") << kAgent;
    dir_.Write("slack-bot-token", std::string(kBotToken) + "\n");
    dir_.Write("slack-signing-secret", std::string(kSigningSecret) + "\n");
    config_ =
        dir_.Write("interlock.yaml",
                   "durability: normal\n"
                   "approvals:\n  sweep_ms: 50\n  public_url: \"http://reviews.example\"\n"
                   "slack:\n  channel: \"" +
                       std::string(kChannel) +
                       "\"\n  api_base: \"http://127.0.0.1:" + std::to_string(slack_->port()) +
                       "/api\"\n"
                       "  bot_token_file: slack-bot-token\n"
                       "  signing_secret_file: slack-signing-secret\n"
                       "  users:\n    U0RITA: rita\n    U0BOB: bob\n    U0SELF: appr-agent\n");
  }

  // A held call of `tool` in a new run: {call_id, approval_id}.
  std::pair<std::string, std::string> Held(const std::string& tool,
                                           const std::string& args = "{}") {
    HttpResult run = client_->Request("POST", "/v1/runs", "", agent_);
    EXPECT_EQ(run.status, 201) << run.body;
    HttpResult r = client_->Request("POST", "/v1/runs/" + Str(run.json, "run_id") + "/calls",
                                    R"({"tool":")" + tool + R"(","args":)" + args + "}", agent_);
    EXPECT_EQ(Str(r.json, "decision"), "approval_required") << r.body;
    return {Str(r.json, "call_id"), Str(r.json, "approval_id")};
  }

  // The chat.postMessage of `approval_id` (waits for it).
  FakeSlack::Request Posted(const std::string& approval_id) {
    auto has = [&](const std::vector<FakeSlack::Request>& rs) {
      for (const auto& r : rs) {
        if (r.method == "chat.postMessage" && Buttons(r.body)["interlock_approve"] == approval_id) {
          return true;
        }
      }
      return false;
    };
    for (const auto& r : slack_->WaitFor(has)) {
      if (r.method == "chat.postMessage" && Buttons(r.body)["interlock_approve"] == approval_id) {
        return r;
      }
    }
    ADD_FAILURE() << "no message posted for " << approval_id << "\n" << daemon_->log();
    return {};
  }

  // The chat.update of the message `ts` whose text says `state` (waits for it).
  bool Updated(const std::string& ts, const std::string& state) {
    auto has = [&](const std::vector<FakeSlack::Request>& rs) {
      for (const auto& r : rs) {
        if (r.method == "chat.update" && Str(r.body, "ts") == ts &&
            Str(r.body, "text").find(state) != std::string::npos && Buttons(r.body).empty()) {
          return true;
        }
      }
      return false;
    };
    return has(slack_->WaitFor(has));
  }

  // POST /v1/slack/interactions signed with `secret` at `timestamp`.
  HttpResult Callback(const std::string& body, int64_t timestamp,
                      const std::string& secret = kSigningSecret, std::string signature = "") {
    const std::string ts = std::to_string(timestamp);
    if (signature.empty()) signature = "v0=" + HmacSha256Hex(secret, "v0:" + ts + ":" + body);
    return client_->Request("POST", "/v1/slack/interactions", body, "", 10s,
                            {{"Content-Type", "application/x-www-form-urlencoded"},
                             {"X-Slack-Request-Timestamp", ts},
                             {"X-Slack-Signature", signature}});
  }
  HttpResult Press(const std::string& user, const std::string& approval_id, bool approve) {
    return Callback(ButtonPress(user, approval_id, approve), NowSeconds());
  }

  json::value Approval(const std::string& id) {
    return client_->Request("GET", "/v1/approvals/" + id, "", rita_).json;
  }

  // How many refusals of `why` the auth_failed audit records count, once at least `n`.
  uint64_t Refusals(const std::string& why, uint64_t n) {
    uint64_t total = 0;
    WaitUntil(
        [&] {
          total = 0;
          HttpResult r =
              client_->Request("GET", "/v1/audit?limit=1000&type=auth_failed", "", auditor_);
          if (r.status != 200) return true;  // stop: the count says it
          for (const auto& rec : r.json.at("records").as_array()) {
            const json::object& reasons = rec.at("data").at("reasons").as_object();
            if (const json::value* v = reasons.if_contains(why)) total += v->to_number<uint64_t>();
          }
          return total >= n;
        },
        10s, 100ms);
    return total;
  }

  std::future<HttpResult> Wait(const std::string& call_id) {
    const int port = daemon_->port();
    const std::string token = agent_;
    return std::async(std::launch::async, [port, call_id, token] {
      HttpClient c(port);
      return c.Request("GET", "/v1/calls/" + call_id + "?wait=20", "", token, 30s);
    });
  }

  TempDir dir_;
  std::unique_ptr<FakeSlack> slack_;
  std::string policies_, config_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, rita_, auditor_;
};

// Tests that a held call posts one message to the configured channel with the bot token:
// tool, agent, run, rule, time left, Approve/Deny carrying the approval id, Edit linking the
// console, and the arguments as reviewers see them (a redacted value stays its hash).
TEST_F(SlackTest, HeldCallPostsMessageWithButtons) {
  auto [call, id] = Held("send_email", R"({"to":"a@example.com","api_key":"sk-live-secret"})");
  FakeSlack::Request m = Posted(id);
  EXPECT_EQ(m.authorization, std::string("Bearer ") + kBotToken);
  EXPECT_EQ(Str(m.body, "channel"), kChannel);
  auto buttons = Buttons(m.body);
  EXPECT_EQ(buttons["interlock_approve"], id);
  EXPECT_EQ(buttons["interlock_deny"], id);
  EXPECT_EQ(buttons["interlock_edit"], "http://reviews.example/ui/#/approvals/" + id);
  const std::string text = json::serialize(m.body);
  EXPECT_NE(text.find("send_email"), std::string::npos);
  EXPECT_NE(text.find("appr-agent"), std::string::npos);
  EXPECT_NE(text.find("Time left"), std::string::npos);
  EXPECT_NE(text.find("rule"), std::string::npos);
  EXPECT_NE(text.find("a@example.com"), std::string::npos);
  EXPECT_EQ(text.find("sk-live-secret"), std::string::npos) << text;
  EXPECT_NE(text.find("hmac-sha256:"), std::string::npos) << text;
}

// Tests that a signed approve from a mapped Slack user releases the call once (the
// agent's wait answers allow), audits the vote as from Slack, and updates the message.
TEST_F(SlackTest, SignedApproveReleasesCallOnce) {
  auto [call, id] = Held("send_email", R"({"to":"a@example.com"})");
  const std::string ts = Posted(id).ts;
  auto waiter = Wait(call);
  HttpResult r = Press("U0RITA", id, true);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(Str(r.json, "text").find("granted"), std::string::npos) << r.body;
  HttpResult w = waiter.get();
  EXPECT_EQ(Str(w.json, "decision"), "allow") << w.body;
  // A second press (a new, validly signed request) changes nothing: one approval, one call.
  HttpResult again = Press("U0BOB", id, true);
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(Str(again.json, "text").find("Not recorded"), std::string::npos) << again.body;
  HttpResult audit = client_->Request("GET", "/v1/audit?limit=1000", "", auditor_);
  EXPECT_NE(audit.body.find("via Slack, user U0RITA"), std::string::npos) << audit.body;
  EXPECT_TRUE(Updated(ts, "granted")) << daemon_->log();
}

// Tests that the two-person rule counts people across Slack users: one person pressing
// twice is one approval; a second mapped person grants.
TEST_F(SlackTest, TwoPersonRuleAcrossTwoSlackUsers) {
  auto [call, id] = Held("drop_table");
  Posted(id);
  EXPECT_EQ(Press("U0RITA", id, true).status, 200);
  EXPECT_EQ(Str(Approval(id), "state"), "pending");
  HttpResult twice = Press("U0RITA", id, true);
  EXPECT_NE(Str(twice.json, "text").find("Not recorded"), std::string::npos) << twice.body;
  EXPECT_EQ(Str(Approval(id), "state"), "pending");
  EXPECT_EQ(Press("U0BOB", id, true).status, 200);
  EXPECT_EQ(Str(Approval(id), "state"), "granted");
}

// Tests that a Slack user mapped to the agent's own identity cannot approve its call, and
// that the refusal is recorded.
TEST_F(SlackTest, SelfApprovalViaSlackRefused) {
  auto [call, id] = Held("send_email");
  Posted(id);
  HttpResult r = Press("U0SELF", id, true);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(Str(r.json, "text").find("Not recorded"), std::string::npos) << r.body;
  EXPECT_EQ(Str(Approval(id), "state"), "pending");
  EXPECT_GE(Refusals("slack callback: vote refused", 1), 1u);
}

// Tests that forged, stale, replayed and unmapped callbacks change nothing and are recorded.
TEST_F(SlackTest, ForgedStaleReplayedUnmappedCallbacksChangeNothing) {
  auto [call, id] = Held("drop_table");
  Posted(id);
  const std::string press = ButtonPress("U0RITA", id, true);
  EXPECT_EQ(Callback(press, NowSeconds(), "not-the-secret").status, 401);
  EXPECT_EQ(Callback(press, NowSeconds(), kSigningSecret, "v0=").status, 401);
  EXPECT_EQ(Callback(press, NowSeconds() - 301).status, 401);  // late
  EXPECT_EQ(Callback(press, NowSeconds() + 400).status, 401);  // from the future
  HttpResult unsigned_press = client_->Request("POST", "/v1/slack/interactions", press, "");
  EXPECT_EQ(unsigned_press.status, 401);
  HttpResult unmapped = Press("U0MALLORY", id, true);
  EXPECT_EQ(unmapped.status, 200);
  EXPECT_NE(Str(unmapped.json, "text").find("not mapped"), std::string::npos);
  EXPECT_EQ(Approval(id).at("votes").as_array().size(), 0u);
  // Replayed: the same signature and timestamp a second time.
  const int64_t now = NowSeconds();
  EXPECT_EQ(Callback(press, now).status, 200);
  EXPECT_EQ(Callback(press, now).status, 401);
  EXPECT_EQ(Approval(id).at("votes").as_array().size(), 1u);
  EXPECT_EQ(Str(Approval(id), "state"), "pending");
  // A bad body, validly signed: 400 with a reason.
  HttpResult bad = Callback("payload=%7Bnot-json", NowSeconds());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_GE(Refusals("slack callback: forged signature", 2), 2u);
  EXPECT_GE(Refusals("slack callback: stale timestamp", 2), 2u);
  EXPECT_GE(Refusals("slack callback: missing signature", 1), 1u);
  EXPECT_GE(Refusals("slack callback: replayed", 1), 1u);
  EXPECT_GE(Refusals("slack callback: unmapped user", 1), 1u);
}

// Tests that the message is updated in place when the approval is denied elsewhere (the
// API), and when it times out.
TEST_F(SlackTest, MessageUpdatedOnDenyAndExpiry) {
  auto [call, id] = Held("send_email");
  const std::string ts = Posted(id).ts;
  HttpResult deny = client_->Request("POST", "/v1/approvals/" + id,
                                     R"({"verdict":"deny","comment":"no"})", rita_);
  EXPECT_EQ(deny.status, 200) << deny.body;
  EXPECT_TRUE(Updated(ts, "denied")) << daemon_->log();
  auto [call2, id2] = Held("quick");
  const std::string ts2 = Posted(id2).ts;
  EXPECT_TRUE(Updated(ts2, "timed_out")) << daemon_->log();
}

// Tests that the message is updated in place when the agent withdraws its call.
TEST_F(SlackTest, MessageUpdatedOnWithdrawal) {
  auto [call, id] = Held("send_email");
  const std::string ts = Posted(id).ts;
  HttpResult w = client_->Request("POST", "/v1/approvals/" + id + "/withdraw",
                                  R"({"reason":"not needed"})", agent_);
  EXPECT_EQ(w.status, 200) << w.body;
  EXPECT_TRUE(Updated(ts, "withdrawn")) << daemon_->log();
}

// Tests that a message posted before a restart is updated after it (the record is kept in
// the store) and is not posted twice.
TEST_F(SlackTest, MessageUpdatedAfterDaemonRestart) {
  auto [call, id] = Held("send_email");
  const std::string ts = Posted(id).ts;
  ASSERT_EQ(daemon_->Stop(), 0);
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  client_ = std::make_unique<HttpClient>(daemon_->port());
  std::this_thread::sleep_for(300ms);  // pace: the first sweeps re-announce the pending approval
  EXPECT_EQ(Press("U0RITA", id, false).status, 200);
  EXPECT_TRUE(Updated(ts, "denied")) << daemon_->log();
  size_t posts = 0;
  for (const auto& r : slack_->Requests()) {
    posts += r.method == "chat.postMessage" && Buttons(r.body)["interlock_approve"] == id;
  }
  EXPECT_EQ(posts, 1u);
}

// A fleet: two daemons on one PostgreSQL database (a fresh one per test), one audit key
// directory, one stand-in Slack. Daemon A (daemon_) starts; StartB() starts B.
class SlackFleetTest : public SlackTest {
 protected:
  void SetUp() override {
    std::string error;
    uri_ = PgTestEnvironment::Instance()->NewDatabase(&error);
    ASSERT_FALSE(uri_.empty()) << error;
    WriteFiles(0ms);
    keys_ = dir_.path() + "/keys";
    for (const char* name : {"a", "b"}) {
      const std::string home = dir_.path() + "/" + name;
      std::filesystem::create_directories(home);
      auto d = std::make_unique<Daemon>(home, policies_, config_);
      d->SetStore(uri_);
      d->SetExtraArgs({"--keys", keys_});
      (daemon_ ? b_ : daemon_) = std::move(d);
    }
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    // Tokens are anchored with the fleet's keys (docs/audit.md, "Anchors").
    agent_ = CreateToken(uri_, "--agent", "appr-agent", {"--keys", keys_});
    rita_ = CreateToken(uri_, "--reviewer", "rita", {"--keys", keys_});
    auditor_ = CreateToken(uri_, "--reviewer", "auditor", {"--keys", keys_});
    ASSERT_FALSE(agent_.empty());
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  std::string uri_, keys_;
  std::unique_ptr<Daemon> b_;
};

// Tests that in a fleet the message daemon A posted is updated in place by daemon B, where
// the approval is decided (from Slack), with A stopped: the record (channel, ts) is in the
// shared store, not in a file of A's. B's sweeper announces the still pending approval when
// it starts, and does not post it a second time (A's record is its claim).
TEST_F(SlackFleetTest, MessagePostedByOneDaemonIsUpdatedInPlaceByTheOther) {
  auto [call, id] = Held("send_email");
  const std::string ts = Posted(id).ts;
  ASSERT_FALSE(ts.empty());
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  ASSERT_TRUE(b_->Start()) << b_->log();
  std::swap(daemon_, b_);  // the helpers speak to B now
  client_ = std::make_unique<HttpClient>(daemon_->port());
  std::this_thread::sleep_for(300ms);  // pace: B's first sweeps announce the pending approval
  HttpResult r = Press("U0RITA", id, false);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(Str(r.json, "text").find("denied"), std::string::npos) << r.body;
  EXPECT_TRUE(Updated(ts, "denied")) << daemon_->log();
  size_t posts = 0;
  for (const auto& q : slack_->Requests()) {
    posts += q.method == "chat.postMessage" && Buttons(q.body)["interlock_approve"] == id;
  }
  EXPECT_EQ(posts, 1u);
}

// Tests that two daemons running at once, both announcing one new approval (each one's
// sweeper sees it in the shared store), post it once: the first claim of the record wins.
TEST_F(SlackFleetTest, TwoDaemonsAnnouncingOneApprovalPostItOnce) {
  ASSERT_TRUE(b_->Start()) << b_->log();
  auto [call, id] = Held("send_email");
  Posted(id);
  std::this_thread::sleep_for(500ms);  // pace: both sweepers have announced it by now
  size_t posts = 0;
  for (const auto& q : slack_->Requests()) {
    posts += q.method == "chat.postMessage" && Buttons(q.body)["interlock_approve"] == id;
  }
  EXPECT_EQ(posts, 1u);
  EXPECT_EQ(b_->Stop(), 0) << b_->log();
}

class SlowSlackTest : public SlackTest {
 protected:
  void SetUp() override { Boot(2000ms); }
};

// Tests that a slow Slack never slows a decision: with every Web API answer taking 2 s,
// held calls are still answered at once.
TEST_F(SlowSlackTest, DecisionsDoNotWaitForSlack) {
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Held("send_email");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  }
}

}  // namespace
}  // namespace interlock::testing
