// What the MCP gateway reaches through the core's facade instead of the layers beneath it
// (core/app/secret_mask.h, core/app/approvals.h, core/app/tool_views.h): the same answers
// as the functions they stand for.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/app/approvals.h"
#include "core/app/policy_source.h"
#include "core/app/secret_mask.h"
#include "core/app/tool_views.h"
#include "policy/loader.h"
#include "temp_dir.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

// Tests that a SecretMask masks each secret in a text, also percent-encoded, and in a
// JSON document's values and keys; without secrets it changes nothing.
TEST(DoorFacadeTest, SecretMaskMasksTextAndJson) {
  const SecretMask mask({"hunter2", "correct horse"});
  EXPECT_EQ(mask.Mask("pw=hunter2"), "pw=[REDACTED]");
  EXPECT_EQ(mask.Mask("q=correct%20horse").find("correct"), std::string::npos);
  boost::json::value doc = boost::json::parse(R"({"hunter2":["a hunter2 b"],"n":1})");
  EXPECT_TRUE(mask.MaskJson(&doc));
  EXPECT_EQ(boost::json::serialize(doc).find("hunter2"), std::string::npos);
  EXPECT_EQ(doc.at("n"), 1);

  const SecretMask none;
  boost::json::value same = boost::json::parse(R"({"hunter2":"x"})");
  EXPECT_FALSE(none.MaskJson(&same));
  EXPECT_EQ(none.Mask("hunter2"), "hunter2");
}

// Tests that an answer's comment is refused over its bound, with a NUL or not UTF-8, and
// accepted otherwise.
TEST(DoorFacadeTest, AnswerCommentIsFreeText) {
  EXPECT_TRUE(CheckAnswerComment("looks fine", 16).ok());
  EXPECT_TRUE(CheckAnswerComment("", 16).ok());
  EXPECT_FALSE(CheckAnswerComment(std::string(17, 'x'), 16).ok());
  EXPECT_FALSE(CheckAnswerComment(std::string("a\0b", 3), 16).ok());
  EXPECT_FALSE(CheckAnswerComment("\xff\xfe", 16).ok());
}

// Tests that the views through a PolicySource are those of its current snapshot, and that
// a source without a snapshot shows nothing.
TEST(DoorFacadeTest, ViewToolsThroughAPolicySource) {
  const ::interlock::testing::TempDir tmp;
  const std::string path =
      tmp.Write("policy.yaml",
                "agent:\n  id: \"a\"\n  identity: \"a@t\"\n  autonomy: audit_based\n"
                "tools:\n  allowed:\n    - name: \"ok\"\n      scope: [\"keep\"]\n  blocked:\n"
                "    - \"secret\"\n");
  std::vector<policy::Diagnostic> d;
  auto set = policy::LoadPolicySet({path}, &d);
  ASSERT_TRUE(set.ok()) << set.error().message;
  const PolicySource source(std::move(set).value());
  const std::vector<std::string> tools = {"ok", "secret", "other"};
  auto views = ViewTools(source, "a", tools);
  auto direct = ViewTools(source.Current().get(), "a", tools);
  ASSERT_EQ(views.size(), 3u);
  for (const std::string& t : tools) {
    EXPECT_EQ(views[t].visible, direct[t].visible) << t;
    EXPECT_EQ(views[t].scope, direct[t].scope) << t;
  }
  EXPECT_TRUE(views["ok"].visible);
  EXPECT_FALSE(views["secret"].visible);

  const PolicySource empty(nullptr);
  EXPECT_FALSE(ViewTools(empty, "a", tools)["ok"].visible);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
