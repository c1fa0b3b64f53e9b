// DaemonEgressDecider against a fake daemon exchange: what it sends, and that every answer
// it cannot follow is a deny (fail closed), never an allow.
#include "doors/egress/daemon_decider.h"

#include <future>
#include <string>

#include <gtest/gtest.h>

namespace interlock::egress {
namespace INTERLOCK_TEST_NS {

struct Seen {
  std::string method, target, body;
};

DaemonEgressDecider Make(Result<DaemonHttpReply> reply, Seen* seen,
                         Result<std::string> run = std::string("run_1")) {
  return DaemonEgressDecider(
      [reply, seen](std::string_view m, std::string_view t, std::string b) {
        if (seen != nullptr) *seen = Seen{std::string(m), std::string(t), std::move(b)};
        return reply;
      },
      [run] { return run; });
}

const EgressAttempt kAttempt{"api.example.com", 443, "93.184.215.14"};

TEST(DaemonEgressDecider, AllowCarriesCallIdAndSendsOnlyTheConnection) {
  Seen seen;
  auto d = Make(DaemonHttpReply{200, R"({"decision":"allow","code":"ALLOWED","reason":"ok",
      "rule":"egress.allow[\"api.example.com:443\"]","call_id":"call_7"})"},
                &seen);
  EgressVerdict v = d.DecideNow(kAttempt, "call_3");
  EXPECT_TRUE(v.decision.allowed());
  EXPECT_EQ(v.call_id, "call_7");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/runs/run_1/egress");
  EXPECT_EQ(seen.body, R"({"host":"api.example.com","port":443,"address":"93.184.215.14",)"
                       R"("in_flight_call_id":"call_3"})");
}

TEST(DaemonEgressDecider, EveryUnfollowableAnswerIsADeny) {
  const Result<DaemonHttpReply> replies[] = {
      Error::Unavailable("connection refused"),
      Error{ErrorKind::kTimeout, "timed out"},
      DaemonHttpReply{500, "{}"},
      DaemonHttpReply{503, R"({"code":"STORE_UNAVAILABLE","reason":"locked"})"},
      DaemonHttpReply{200, "not json"},
      DaemonHttpReply{200, R"({"decision":"allow","code":"ALLOWED"})"},  // no call_id
      DaemonHttpReply{200, R"({"decision":"allow","code":"ALLOWED","call_id":"../x"})"},
      DaemonHttpReply{200, R"({"decision":"approval_required","code":"APPROVAL_REQUIRED",)"
                           R"("call_id":"c"})"},
      DaemonHttpReply{200, R"({"decision":"yes","code":"ALLOWED","call_id":"c"})"},
      DaemonHttpReply{400, R"({"decision":"allow","code":"ALLOWED","call_id":"c"})"},
      DaemonHttpReply{302, ""},
  };
  for (const auto& r : replies) {
    auto d = Make(r, nullptr);
    EgressVerdict v = d.DecideNow(kAttempt, "");
    EXPECT_FALSE(v.decision.allowed()) << (r.ok() ? r->body : r.error().message);
    EXPECT_FALSE(v.decision.reason.empty());
  }
}

TEST(DaemonEgressDecider, NoRunIsADenyAndNothingIsSent) {
  Seen seen;
  auto d = Make(DaemonHttpReply{200, R"({"decision":"allow","code":"ALLOWED","call_id":"c"})"},
                &seen, Error::Unavailable("daemon down"));
  EgressVerdict v = d.DecideNow(kAttempt, "");
  EXPECT_FALSE(v.decision.allowed());
  EXPECT_EQ(v.decision.code, Code::kStoreUnavailable);
  EXPECT_NE(v.decision.reason.find("fail closed"), std::string::npos);
  EXPECT_TRUE(seen.target.empty());
}

TEST(DaemonEgressDecider, AnUnreachableDaemonIsAnErrorOutcomeNotADecidedDeny) {
  auto d = Make(Error::Unavailable("connection refused"), nullptr);
  EgressVerdict v = d.DecideNow(kAttempt, "");
  EXPECT_EQ(v.outcome(), (Outcome{OutcomeKind::kError, ErrorKind::kUnavailable}));
  EXPECT_FALSE(v.outcome().allows());
}

TEST(DaemonEgressDecider, DecideRunsOffTheCallersThreadAndReportPostsTheBytes) {
  Seen seen;
  {
    auto d = Make(DaemonHttpReply{204, ""}, &seen);
    d.Report("call_7", 12, 3400, true, "");
  }  // the destructor waits for the queued report
  EXPECT_EQ(seen.target, "/v1/calls/call_7/egress-result");
  EXPECT_EQ(seen.body, R"({"ok":true,"bytes_up":12,"bytes_down":3400})");
  auto d = Make(DaemonHttpReply{200, R"({"decision":"deny","code":"EGRESS_DENIED","reason":"no",)"
                                     R"("call_id":"c"})"},
                nullptr);
  std::promise<EgressVerdict> p;
  d.Decide(kAttempt, [&p](EgressVerdict v) { p.set_value(std::move(v)); });
  EgressVerdict v = p.get_future().get();
  EXPECT_EQ(v.decision.code, Code::kEgressDenied);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::egress
