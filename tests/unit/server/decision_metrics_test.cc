// DecisionMetrics reads the core's answer once, as its Outcome (interlock/outcome.h): what
// each kind of answer counts (src/daemon/decision_metrics.h).
#include "daemon/decision_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace interlock::server {
namespace {

core::GuardResponse Answer(Code code, Verdict verdict) {
  core::GuardResponse g;
  g.decision.code = code;
  g.decision.verdict = verdict;
  return g;
}

std::string Render(const Metrics& m) { return m.Render({}); }

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(DecisionMetricsTest, AStoreUnavailableDecisionWithoutAnErrorCountsAsAStoreError) {
  Metrics m;
  DecisionMetrics observer(&m);
  observer.Decided("a", Answer(Code::kStoreUnavailable, Verdict::kDeny), {});
  const std::string text = Render(m);
  EXPECT_TRUE(Has(text, "interlock_store_errors_total 1")) << text;
  EXPECT_TRUE(Has(text, R"(interlock_decisions_total{agent="a",code="STORE_UNAVAILABLE"} 1)"))
      << text;
}

TEST(DecisionMetricsTest, TheRequestsOwnFaultIsNotADecision) {
  Metrics m;
  DecisionMetrics observer(&m);
  for (ErrorKind k :
       {ErrorKind::kNotFound, ErrorKind::kPermissionDenied, ErrorKind::kAlreadyExists}) {
    core::GuardResponse g = Answer(Code::kInvalidRequest, Verdict::kDeny);
    g.error = k;
    observer.Decided("a", g, {});
  }
  EXPECT_EQ(m.Summarize().decisions, 0u);
  EXPECT_TRUE(Has(Render(m), "interlock_store_errors_total 0"));
}

TEST(DecisionMetricsTest, RefusedArgumentsCountAsInvalidRequestAndNotAsAStoreError) {
  Metrics m;
  DecisionMetrics observer(&m);
  core::GuardResponse g = Answer(Code::kStoreUnavailable, Verdict::kDeny);
  g.error = ErrorKind::kInvalidArgument;
  observer.Decided("a", g, {});
  const std::string text = Render(m);
  EXPECT_TRUE(Has(text, R"(interlock_decisions_total{agent="a",code="INVALID_REQUEST"} 1)"))
      << text;
  EXPECT_TRUE(Has(text, "interlock_store_errors_total 0")) << text;
}

TEST(DecisionMetricsTest, ADecidedCallCountsUnderItsCodeAndAHaltedRunOnce) {
  Metrics m;
  DecisionMetrics observer(&m);
  core::GuardResponse g = Answer(Code::kAllowed, Verdict::kAllow);
  g.state.halted = true;
  observer.Decided("a", g, {});
  observer.Decided("a", Answer(Code::kApprovalRequired, Verdict::kApprovalRequired), {});
  const Metrics::Summary s = m.Summarize();
  EXPECT_EQ(s.decisions, 2u);
  EXPECT_EQ(s.runs_halted, 1);
  EXPECT_TRUE(Has(Render(m), "interlock_store_errors_total 0"));
}

}  // namespace
}  // namespace interlock::server
