// The properties file format: each kind read, bad input refused with file:line:column.
#include <gtest/gtest.h>

#include "prove/properties.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

TEST(PropertiesFile, EveryKindIsRead) {
  auto f = prove::ParseProperties(R"(properties:
  - {name: a, never_allowed: x}
  - {name: b, needs_approvals: {tool: x, count: 2}}
  - {name: c, before: {tool: deploy, requires: test, result: allowed}}
  - {name: d, never_flows: {label: secret, to: send}}
  - {name: e, agent: z, at_most: {tool: x, calls: 3, per: day}}
  - {name: f, only_tools: [x, "y_*"]}
examples:
  version: [v1.2.3, 7, true]
)",
                                  "f.props.yaml");
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->properties.size(), 6u);
  EXPECT_EQ(f->properties[1].count, 2u);
  EXPECT_FALSE(f->properties[2].requires_ok);
  EXPECT_EQ(f->properties[3].label, "secret");
  EXPECT_EQ(f->properties[3].tool, "send");
  EXPECT_TRUE(f->properties[4].per_day);
  EXPECT_EQ(f->properties[4].agent, "z");
  EXPECT_EQ(f->properties[5].tools.size(), 2u);
  ASSERT_EQ(f->examples.at("version").size(), 3u);
  EXPECT_TRUE(f->examples.at("version")[1].is_int64());
}

struct Bad {
  const char* text;
  const char* where;  // the message starts with it
};

TEST(PropertiesFile, BadInputNamesFileLineColumn) {
  const Bad cases[] = {
      {"properties:\n  - {name: a, never_alowed: x}\n", "f.props.yaml:2:15: "},
      {"properties:\n  - {name: a}\n", "f.props.yaml:2:5: "},
      {"properties:\n  - {name: a, at_most: {tool: x, calls: -1, per: run}}\n",
       "f.props.yaml:2:41: "},
      {"properties:\n  - {name: a, at_most: {tool: x, calls: 1, per: week}}\n",
       "f.props.yaml:2:49: "},
      {"properties:\n  - {name: a, never_allowed: x, only_tools: [y]}\n", "f.props.yaml:2:33: "},
      {"propertes: []\n", "f.props.yaml:1:1: "},
      {"properties:\n  - {name: a, never_allowed: x}\n  - {name: a, never_allowed: y}\n",
       "f.props.yaml:3:5: "},
  };
  for (const Bad& b : cases) {
    auto f = prove::ParseProperties(b.text, "f.props.yaml");
    ASSERT_FALSE(f.ok()) << b.text;
    EXPECT_EQ(f.error().message.rfind(b.where, 0), 0u) << f.error().message;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
