// A reviewer's edit of the arguments before approving (core::EvaluateEdit,
// docs/approvals.md "Editing the arguments"): the edited call must still pass the policy.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "core/approval_rules.h"
#include "policy/loader.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

constexpr const char* kPolicy = R"(
agent:
  id: "mailer"
tools:
  allowed:
    - name: "send_email"
      requires_approval: true
      redact: ["body"]
      constraints:
        allowed_recipients: ["alice@example.com", "bob@example.com"]
    - name: "wire_money"
      requires_approval: true
      approvals_required: 2
    - name: "update_orders"
      requires_approval: true
      constraints:
        max_records_per_run: 10
)";

std::shared_ptr<const policy::AgentPolicy> Policy() {
  std::vector<policy::Diagnostic> diags;
  auto p = policy::ParseAgentPolicy(kPolicy, "mailer.yaml", &diags);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }

json::object Args(std::string_view text) { return json::parse(text).as_object(); }

// Tests that an edit cannot smuggle in arguments the policy forbids: the reviewer
// "approves" a recipient outside allowed_recipients, and the edit is refused with the
// policy's reason (the vote is not recorded).
TEST(ApprovalEdit, EditedCallThePolicyDeniesIsRefused) {
  auto agent = Policy();
  ASSERT_NE(agent, nullptr);
  auto edit = EvaluateEdit(agent.get(), RunState{}, "send_email", 1,
                           Args(R"({"recipient":"mallory@evil.example","body":"hi"})"), T0());
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_NE(edit.error().message.find("refused by the policy"), std::string::npos)
      << edit.error().message;
  EXPECT_NE(edit.error().message.find("allowed_recipients"), std::string::npos)
      << edit.error().message;
}

// Tests that an edit the policy allows (it needs one approval, which this one is) is
// granted with the edited arguments, their hash and the rule's redaction fields.
TEST(ApprovalEdit, EditedCallNeedingTheSameApprovalIsCovered) {
  auto agent = Policy();
  ASSERT_NE(agent, nullptr);
  const json::object args = Args(R"({"recipient":"bob@example.com","body":"fixed typo"})");
  auto edit = EvaluateEdit(agent.get(), RunState{}, "send_email", 1, args, T0());
  ASSERT_TRUE(edit.ok()) << edit.error().message;
  EXPECT_EQ(edit->args, args);
  EXPECT_EQ(edit->args_sha256, Sha256Hex(CanonicalJson(json::value(args))));
  EXPECT_EQ(edit->redact_fields, std::vector<std::string>{"body"});
  EXPECT_EQ(edit->records, 1u);
}

// Tests that the arguments of a two-person approval cannot be edited by one reviewer
// (the second approver would approve arguments the first did not see).
TEST(ApprovalEdit, TwoPersonApprovalCannotBeEdited) {
  auto agent = Policy();
  ASSERT_NE(agent, nullptr);
  auto edit = EvaluateEdit(agent.get(), RunState{}, "wire_money", 2, Args(R"({"amount":1})"), T0());
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().kind, ErrorKind::kInvalidArgument);
}

// Tests that a single-approver approval does not cover an edited call that needs more
// approvers than it has (here: the approval row says 1, the policy says 2).
TEST(ApprovalEdit, EditedCallNeedingMoreApproversIsNotCovered) {
  auto agent = Policy();
  ASSERT_NE(agent, nullptr);
  auto edit = EvaluateEdit(agent.get(), RunState{}, "wire_money", 1, Args(R"({"amount":1})"), T0());
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().kind, ErrorKind::kPermissionDenied);
}

// Tests that the records an edit touches are the edited call's (what the grant consumes
// and re-checks), and that an edit over the tool's record limit is refused.
TEST(ApprovalEdit, EditedCallOverTheRecordLimitIsRefused) {
  auto agent = Policy();
  ASSERT_NE(agent, nullptr);
  auto three =
      EvaluateEdit(agent.get(), RunState{}, "update_orders", 1, Args(R"({"ids":[1,2,3]})"), T0());
  ASSERT_TRUE(three.ok()) << three.error().message;
  EXPECT_EQ(three->records, 3u);
  auto many = EvaluateEdit(agent.get(), RunState{}, "update_orders", 1,
                           Args(R"({"ids":[1,2,3,4,5,6,7,8,9,10,11]})"), T0());
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().kind, ErrorKind::kPermissionDenied);
}

// Tests that an agent with no policy (removed since the call) gets nothing edited.
TEST(ApprovalEdit, UnknownAgentIsRefused) {
  auto edit = EvaluateEdit(nullptr, RunState{}, "send_email", 1, Args("{}"), T0());
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().kind, ErrorKind::kPermissionDenied);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
