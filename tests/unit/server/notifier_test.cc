// WebhookNotifier: webhook URLs, and delivery to loopback receivers over http and https
// (certificate checked against a CA file; an unverifiable one is a failed delivery).
#include "daemon/notifier.h"

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "approval/sweeper.h"
#include "common/json.h"
#include "daemon/metrics.h"
#include "doors/http_api/http_server.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using namespace std::chrono_literals;

TEST(ParseWebhookUrlTest, HttpAndHttpsWithDefaultsAndQueries) {
  auto a = ParseWebhookUrl("https://hooks.example/services/T0/B0/x?z=1");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "hooks.example");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->target, "/services/T0/B0/x?z=1");
  auto b = ParseWebhookUrl("http://[::1]:9000");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, "9000");
  EXPECT_EQ(b->target, "/");
  for (const char* bad :
       {"ftp://h/x", "hooks.example/x", "https://user:pw@h/x", "https://h/x#f", "https:///x", ""}) {
    EXPECT_FALSE(ParseWebhookUrl(bad).ok()) << bad;
  }
}

// Remembers the bodies POSTed to it.
class Receiver final : public RequestHandler {
 public:
  void Handle(HttpRequest request, Responder responder) override {
    {
      std::lock_guard lock(mu_);
      bodies_.push_back(request.body());
    }
    HttpResponse res(boost::beast::http::status::ok, request.version());
    res.prepare_payload();
    responder.Send(std::move(res));
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

class NotifierDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = testing::MakeSelfSignedCert(dir_.path(), "hook", "IP:127.0.0.1");
    ASSERT_EQ(cert_.error, "");
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // Starts the receiver; https when `tls`. Returns its base URL.
  std::string StartReceiver(bool tls) {
    HttpServerOptions o;
    o.port = 0;
    o.threads = 1;
    if (tls) {
      o.tls_cert_file = cert_.cert;
      o.tls_key_file = cert_.key;
    }
    server_ = std::make_unique<HttpServer>(o, &receiver_, &metrics_);
    EXPECT_TRUE(server_->Start().ok());
    return std::string(tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(server_->local_endpoint().port());
  }

  // Sends one notice and waits (bounded) until it was delivered or given up.
  static void NotifyAndWait(WebhookNotifier& n) {
    Notification note;
    note.channel = "#oncall";
    note.text = "agent halted";
    core::CallRecord call;
    call.agent_id = "billing-agent";
    n.Notify(note, call);
    WaitUntil([&] { return n.delivered() + n.failed() != 0; }, 10s, 10ms);
  }

  NotifierOptions Options(const std::string& url) {
    NotifierOptions o;
    o.webhooks["#oncall"] = url + "/hook?token=t";
    o.max_attempts = 1;
    o.request_timeout = 2000ms;
    return o;
  }

  testing::TempDir dir_;
  testing::TestCert cert_;
  Receiver receiver_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(NotifierDeliveryTest, DeliversOverHttp) {
  auto n = WebhookNotifier::Create(Options(StartReceiver(false)));
  ASSERT_TRUE(n.ok()) << n.error().message;
  NotifyAndWait(**n);
  EXPECT_EQ((*n)->delivered(), 1u);
  ASSERT_EQ(receiver_.bodies().size(), 1u);
  EXPECT_NE(receiver_.bodies()[0].find("\"text\":\"agent halted\""), std::string::npos);
}

TEST_F(NotifierDeliveryTest, DeliversOverHttpsVerifiedWithTheCaFile) {
  NotifierOptions o = Options(StartReceiver(true));
  o.ca_file = cert_.cert;
  auto n = WebhookNotifier::Create(o);
  ASSERT_TRUE(n.ok()) << n.error().message;
  NotifyAndWait(**n);
  EXPECT_EQ((*n)->delivered(), 1u);
  ASSERT_EQ(receiver_.bodies().size(), 1u);
  EXPECT_NE(receiver_.bodies()[0].find("billing-agent"), std::string::npos);
}

// Tests that a certificate the notifier cannot verify (self-signed, not in the system
// CAs) is a failed delivery: nothing reaches the receiver, nothing falls back to http.
TEST_F(NotifierDeliveryTest, RefusesAnUnverifiableCertificate) {
  auto n = WebhookNotifier::Create(Options(StartReceiver(true)));
  ASSERT_TRUE(n.ok()) << n.error().message;
  NotifyAndWait(**n);
  EXPECT_EQ((*n)->delivered(), 0u);
  EXPECT_EQ((*n)->failed(), 1u);
  EXPECT_TRUE(receiver_.bodies().empty());
}

TEST_F(NotifierDeliveryTest, BadCaFileIsAnError) {
  NotifierOptions o = Options("https://127.0.0.1:1");
  o.ca_file = dir_.path() + "/missing.pem";
  EXPECT_FALSE(WebhookNotifier::Create(o).ok());
}

// Tests that a webhook says which event it is (an approval request is not an
// "escalation") and carries the call's tool and stored (redacted) arguments, and that
// numbers in it are plain decimals.
TEST(NotifierBodyTest, SaysWhichEventAndCarriesToolAndRedactedArgs) {
  core::Approval a;
  a.approval_id = "apr_1";
  a.call_id = "call_1";
  a.run_id = "run_1";
  a.agent_id = "billing-agent";
  a.tool = "refund";
  a.required = 1;
  a.timeout_seconds = 300;
  approval::SweeperOptions opt;
  opt.channel = "#approvals";
  opt.public_url = "http://127.0.0.1:8181";
  core::CallRecord context;
  Notification n =
      approval::ApprovalNotice(approval::NoticeKind::kRequested, a, nullptr, opt, &context);
  context.call.args = boost::json::object{{"amount", 0.5}, {"card", "hmac-sha256:abc"}};
  const std::string body = ToJsonText(WebhookNotifier::Body(n, context));
  EXPECT_NE(body.find(R"("event":"approval_requested")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("tool":"refund")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("args":{"amount":0.5,"card":"hmac-sha256:abc"})"), std::string::npos)
      << body;
  for (auto [kind, event] : {std::pair{approval::NoticeKind::kEscalated, "approval_escalated"},
                             std::pair{approval::NoticeKind::kTimedOut, "approval_timed_out"}}) {
    Notification e = approval::ApprovalNotice(kind, a, nullptr, opt, &context);
    EXPECT_EQ(WebhookNotifier::Body(e, context).at("event"), event);
  }
  Notification flagged;
  flagged.kind = Notification::Kind::kFlagged;
  EXPECT_EQ(WebhookNotifier::Body(flagged, context).at("event"), "flagged");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
