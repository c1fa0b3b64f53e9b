// core::ReadAuthzenRequest, the AuthZEN 1.0 request reader every AuthZEN door uses
// (docs/gateways.md#authzen): the mapping onto a tool call, wrong shapes refused with a
// reason naming the field, an argument given twice refused (never resolved by precedence),
// and a subject naming another agent read as a refused call (decided and audited, never as
// that agent). Tests are named after the mistake or the attack.
#include "core/app/authzen.h"

#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

json::object AuthzenBody(std::string_view text) { return json::parse(text).as_object(); }

constexpr char kAuthzenSpec[] =
    R"({"subject":{"type":"user","id":"agent-1","properties":{"department":"Sales"}},)"
    R"("resource":{"type":"account","id":"123","properties":{"owner":"x"}},)"
    R"("action":{"name":"can_read","properties":{"method":"GET"}},)"
    R"("context":{"time":"1985-10-26T01:22-07:00"}})";

// Tests the mapping: action.name the tool; context, resource.properties, action.properties
// and resource.type/id the arguments; subject.properties not read.
TEST(AuthzenReader, SpecExampleIsOneToolCallOfTheAgent) {
  auto r = ReadAuthzenRequest(AuthzenBody(kAuthzenSpec), false, "agent-1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->evaluations.size(), 1u);
  EXPECT_FALSE(r->batch_answer);
  const ToolCall& call = r->evaluations[0].call;
  EXPECT_EQ(call.tool, "can_read");
  EXPECT_TRUE(call.refusal_reason.empty());
  EXPECT_EQ(json::value(call.args),
            json::parse(R"({"time":"1985-10-26T01:22-07:00","owner":"x","method":"GET",)"
                        R"("resource_type":"account","resource_id":"123"})"));
}

// Tests that a subject naming another agent is read as a refused call (rule
// authzen.subject), under the caller's own tool call, never as the named agent.
TEST(AuthzenReader, SubjectImpersonationIsAReadRefusalNeverTheOtherAgent) {
  auto r = ReadAuthzenRequest(AuthzenBody(kAuthzenSpec), false, "someone-else");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ToolCall& call = r->evaluations[0].call;
  EXPECT_EQ(call.refusal_rule, kAuthzenSubjectRule);
  EXPECT_NE(call.refusal_reason.find("agent-1"), std::string::npos) << call.refusal_reason;
  EXPECT_NE(call.refusal_reason.find("someone-else"), std::string::npos) << call.refusal_reason;
  // In a batch, only the entry whose subject differs; the defaults' subject applies to the rest.
  auto b = ReadAuthzenRequest(
      AuthzenBody(R"({"subject":{"type":"user","id":"agent-1"},"resource":{"type":"t","id":"1"},)"
                  R"("evaluations":[{"action":{"name":"a"}},)"
                  R"({"subject":{"type":"agent","id":"admin"},"action":{"name":"b"}}]})"),
      true, "agent-1");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(b->evaluations.size(), 2u);
  EXPECT_TRUE(b->evaluations[0].call.refusal_reason.empty());
  EXPECT_EQ(b->evaluations[1].call.refusal_rule, kAuthzenSubjectRule);
  // An empty id names nobody: refused as a shape, not matched against the agent.
  auto empty = ReadAuthzenRequest(
      AuthzenBody(R"({"subject":{"type":"user","id":""},"resource":{"type":"t","id":"1"},)"
                  R"("action":{"name":"a"}})"),
      false, "");
  EXPECT_FALSE(empty.ok());
}

// Tests that an argument given twice (by context and resource.properties, by
// action.properties and context, or as resource_type/resource_id beside resource.type/id) is
// refused naming it, never resolved by precedence.
TEST(AuthzenReader, DuplicateArgumentKeysAreRefusedNeverResolved) {
  const char* bodies[] = {
      R"({"subject":{"type":"u","id":"a"},"resource":{"type":"t","id":"1","properties":{"k":1}},)"
      R"("action":{"name":"x"},"context":{"k":2}})",
      R"({"subject":{"type":"u","id":"a"},"resource":{"type":"t","id":"1"},)"
      R"("action":{"name":"x","properties":{"k":1}},"context":{"k":1}})",
      R"({"subject":{"type":"u","id":"a"},"resource":{"type":"t","id":"1"},)"
      R"("action":{"name":"x"},"context":{"resource_id":"2"}})",
      R"({"subject":{"type":"u","id":"a"},"resource":{"type":"t","id":"1","properties":)"
      R"({"resource_type":"v"}},"action":{"name":"x"}})",
  };
  for (const char* body : bodies) {
    auto r = ReadAuthzenRequest(AuthzenBody(body), false, "a");
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message.find("given twice"), std::string::npos) << r.error().message;
  }
}

// Tests that wrong shapes are refused with a reason naming the field.
TEST(AuthzenReader, BadShapesAreRefusedNamingTheField) {
  const std::string ok_subject = R"("subject":{"type":"u","id":"a"},)";
  const std::string ok_resource = R"("resource":{"type":"t","id":"1"},)";
  struct Case {
    std::string body;
    bool batch;
    const char* field;
  };
  const Case cases[] = {
      {"{" + ok_resource + R"("action":{"name":"x"}})", false, "subject is required"},
      {"{" + ok_subject + ok_resource + R"("action":{}})", false, "action.name"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":7}})", false, "action.name"},
      {"{" + ok_subject + ok_resource + R"("action":["x"]})", false, "action must be an object"},
      {"{" + ok_subject + R"("action":{"name":"x"}})", false, "resource is required"},
      {"{" + ok_subject + R"("resource":{"type":"t"},"action":{"name":"x"}})", false,
       "resource.id"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":"x"},"context":[]})", false, "context"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":"x","properties":[]}})", false,
       "action.properties"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":"x"},"extra":1})", false, "'extra'"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":"x"},"evaluations":[]})", false,
       "'evaluations'"},
      {R"({"subject":{"type":"u","id":"a","role":"admin"},)" + ok_resource +
           R"("action":{"name":"x"}})",
       false, "'role'"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":")" + std::string(300, 'x') + R"("}})",
       false, "action"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":"x"},"evaluations":{}})", true,
       "evaluations must be an array"},
      {"{" + ok_subject + ok_resource + R"("evaluations":[1]})", true, "evaluations[0]"},
      {"{" + ok_subject + ok_resource + R"("evaluations":[{"action":{"name":"x"}},{"action":{}}]})",
       true, "evaluations[1].action.name"},
      {"{" + ok_subject + ok_resource +
           R"("action":{"name":"x"},"options":{"evaluations_semantic":"first"}})",
       true, "evaluations_semantic"},
      {"{" + ok_subject + ok_resource + R"("action":{"name":"x"},"options":{"x":1}})", true, "'x'"},
  };
  for (const Case& c : cases) {
    auto r = ReadAuthzenRequest(AuthzenBody(c.body), c.batch, "a");
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument) << c.body;
    EXPECT_NE(r.error().message.find(c.field), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
  std::string many = "{" + ok_subject + ok_resource + R"("evaluations":[)";
  for (size_t i = 0; i <= kMaxAuthzenEvaluations; ++i) {
    many += std::string(i ? "," : "") + R"({"action":{"name":"x"}})";
  }
  auto r = ReadAuthzenRequest(AuthzenBody(many + "]}"), true, "a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at most"), std::string::npos) << r.error().message;
}

// Tests the batch's defaults and semantics: an entry's own member replaces the default
// whole; without entries the request is one evaluation answered as /evaluation.
TEST(AuthzenReader, BatchDefaultsAreReplacedWholeAndSemanticsRead) {
  auto r = ReadAuthzenRequest(
      AuthzenBody(R"({"subject":{"type":"u","id":"a"},"resource":{"type":"t","id":"1"},)"
                  R"("context":{"c":1},"action":{"name":"x"},"evaluations":[{},)"
                  R"({"context":{"d":2},"action":{"name":"y"}}],)"
                  R"("options":{"evaluations_semantic":"permit_on_first_permit"}})"),
      true, "a");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->evaluations.size(), 2u);
  EXPECT_TRUE(r->batch_answer);
  EXPECT_EQ(r->semantic, AuthzenSemantic::kPermitOnFirstPermit);
  EXPECT_EQ(r->evaluations[0].call.tool, "x");
  EXPECT_TRUE(r->evaluations[0].call.args.contains("c"));
  EXPECT_EQ(r->evaluations[1].call.tool, "y");
  EXPECT_FALSE(r->evaluations[1].call.args.contains("c"));
  EXPECT_TRUE(r->evaluations[1].call.args.contains("d"));
  auto single = ReadAuthzenRequest(
      AuthzenBody(R"({"subject":{"type":"u","id":"a"},"resource":{"type":"t","id":"1"},)"
                  R"("action":{"name":"x"}})"),
      true, "a");
  ASSERT_TRUE(single.ok()) << single.error().message;
  EXPECT_FALSE(single->batch_answer);
  EXPECT_TRUE(AuthzenStopsAfter(AuthzenSemantic::kDenyOnFirstDeny, false));
  EXPECT_FALSE(AuthzenStopsAfter(AuthzenSemantic::kDenyOnFirstDeny, true));
  EXPECT_TRUE(AuthzenStopsAfter(AuthzenSemantic::kPermitOnFirstPermit, true));
  EXPECT_FALSE(AuthzenStopsAfter(AuthzenSemantic::kExecuteAll, false));
}

// Tests the AuthZEN routes' outcome table (docs/design.md, "One outcome"): an unknown run is
// 404, another agent's 403, every other outcome an evaluation answered 200, its "decision"
// true only for an allow without reviewer-edited arguments.
TEST(AuthzenTest, EachOutcomeHasItsAnswer) {
  struct Case {
    Outcome outcome;
    unsigned status;
    bool decision;
  };
  const Case cases[] = {
      {{OutcomeKind::kAllow}, 200, true},
      {{OutcomeKind::kDeny}, 200, false},
      {{OutcomeKind::kApprovalRequired}, 200, false},
      {{OutcomeKind::kRehearsalRequired}, 200, false},
      {{OutcomeKind::kError, ErrorKind::kNotFound}, 404, false},
      {{OutcomeKind::kError, ErrorKind::kPermissionDenied}, 403, false},
      {{OutcomeKind::kError, ErrorKind::kAlreadyExists}, 200, false},
      {{OutcomeKind::kError, ErrorKind::kInvalidArgument}, 200, false},
      {{OutcomeKind::kError, ErrorKind::kUnavailable}, 200, false},
      {{OutcomeKind::kError, ErrorKind::kTimeout}, 200, false},
      {{OutcomeKind::kError, ErrorKind::kCorrupt}, 200, false},
      {{OutcomeKind::kError, ErrorKind::kInternal}, 200, false},
  };
  for (const Case& c : cases) {
    const std::string what =
        std::string(OutcomeKindName(c.outcome.kind)) + " " + ErrorKindName(c.outcome.cause);
    EXPECT_EQ(AuthzenStatusOf(c.outcome), c.status) << what;
    AuthzenOutcome o;
    o.decision.verdict = c.outcome.allows() ? Verdict::kAllow : Verdict::kDeny;
    o.outcome = c.outcome;
    EXPECT_EQ(AuthzenAnswerJson(o).at("decision").as_bool(), c.decision) << what;
  }
  // An allow with arguments a reviewer edited, and an answer whose outcome was never set,
  // are no allow.
  AuthzenOutcome edited;
  edited.decision.verdict = Verdict::kAllow;
  edited.decision.arguments = boost::json::object{{"to", "x"}};
  edited.outcome = {OutcomeKind::kAllow};
  EXPECT_FALSE(AuthzenAnswerJson(edited).at("decision").as_bool());
  AuthzenOutcome unset;
  unset.decision.verdict = Verdict::kAllow;
  EXPECT_FALSE(AuthzenAnswerJson(unset).at("decision").as_bool());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
