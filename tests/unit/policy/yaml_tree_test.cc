// The strict reader's plain tree (policy/yaml_tree.h): what readers outside the policy
// module (the server's config file) see of a YAML document.
#include "policy/yaml_tree.h"

#include <string>

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests that the tree keeps scalars, sequences and mappings in document order, each with
// its 1-based line and column.
TEST(YamlTreeTest, KeepsShapeOrderAndPositions) {
  Result<YamlNode> root = ReadYamlTree("b: 1\na:\n  - x\n  - 'y z'\nc: {k: v}\nd:\n", "f.yaml");
  ASSERT_TRUE(root.ok()) << root.error().message;
  ASSERT_TRUE(root->IsMap());
  ASSERT_EQ(root->size(), 4u);
  const auto& e = root->entries();
  EXPECT_EQ(e[0].first.Scalar(), "b");
  EXPECT_EQ(e[0].second.Scalar(), "1");
  EXPECT_EQ(e[0].second.line(), 1);
  EXPECT_EQ(e[0].second.column(), 4);
  EXPECT_EQ(e[1].first.Scalar(), "a");
  ASSERT_TRUE(e[1].second.IsSequence());
  ASSERT_EQ(e[1].second.items().size(), 2u);
  EXPECT_EQ(e[1].second.items()[1].Scalar(), "y z");
  EXPECT_EQ(e[1].second.items()[1].line(), 4);
  EXPECT_EQ(e[1].second.items()[1].column(), 5);
  ASSERT_TRUE(e[2].second.IsMap());
  EXPECT_EQ(e[2].second.entries()[0].second.Scalar(), "v");
  EXPECT_TRUE(e[3].second.IsNull());
  EXPECT_EQ(YamlWhere("f.yaml", e[1].second.items()[1]), "f.yaml:4:5: ");
}

// Tests that a key written twice is refused with its file:line:column (the tree is built
// only from a document the strict reader accepted: no reader can take the last one).
TEST(YamlTreeTest, DuplicateKeyIsRefusedWithItsPosition) {
  Result<YamlNode> root = ReadYamlTree("limits:\n  x: 1\n  x: 2\n", "interlock.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(root.error().message.find("interlock.yaml:3:3: duplicate key 'x' in limits"),
            std::string::npos)
      << root.error().message;
}

// Tests that a second document and broken syntax are refused with a position, and that an
// empty file is a null node.
TEST(YamlTreeTest, SecondDocumentAndSyntaxErrorsAreRefused) {
  Result<YamlNode> two = ReadYamlTree("a: 1\n---\nb: 2\n", "f.yaml");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("f.yaml:2:"), std::string::npos) << two.error().message;
  Result<YamlNode> bad = ReadYamlTree("a: [1, 2\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("f.yaml:"), std::string::npos) << bad.error().message;
  Result<YamlNode> empty = ReadYamlTree("# only a comment\n", "f.yaml");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->IsNull());
}

// Tests that nesting deeper than the tree's bound is refused, not recursed into without end.
TEST(YamlTreeTest, DeepNestingIsRefused) {
  std::string text(400, '[');
  text += std::string(400, ']');
  Result<YamlNode> root = ReadYamlTree(text, "f.yaml");
  ASSERT_FALSE(root.ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
