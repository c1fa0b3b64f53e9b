// Table tests of the inputSchema subset validator.
#include "mcp/json_schema.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

struct Case {
  const char* schema;
  const char* instance;
  bool valid;
};

// Tests that each supported keyword accepts and rejects what JSON Schema says it should.
TEST(JsonSchemaTest, Table) {
  const Case cases[] = {
      {R"({"type":"string"})", R"("a")", true},
      {R"({"type":"string"})", "1", false},
      {R"({"type":"integer"})", "3", true},
      {R"({"type":"integer"})", "3.0", true},
      {R"({"type":"integer"})", "3.5", false},
      {R"({"type":"number"})", "3.5", true},
      {R"({"type":["string","null"]})", "null", true},
      {R"({"type":["string","null"]})", "true", false},
      {R"({"type":"object","required":["a"]})", R"({"b":1})", false},
      {R"({"properties":{"a":{"type":"number"}}})", R"({"a":"1"})", false},
      {R"({"properties":{"a":{}},"additionalProperties":false})", R"({"a":1,"b":2})", false},
      {R"({"properties":{"a":{}},"additionalProperties":false})", R"({"a":1})", true},
      {R"({"additionalProperties":{"type":"string"}})", R"({"x":"y"})", true},
      {R"({"additionalProperties":{"type":"string"}})", R"({"x":1})", false},
      {R"({"enum":["a","b"]})", R"("b")", true},
      {R"({"enum":["a","b"]})", R"("c")", false},
      {R"({"enum":[1]})", "1.0", true},
      {R"({"const":{"k":[1]}})", R"({"k":[1]})", true},
      {R"({"const":"x"})", R"("y")", false},
      {R"({"items":{"type":"integer"},"minItems":1,"maxItems":2})", "[1,2]", true},
      {R"({"items":{"type":"integer"}})", "[1,\"2\"]", false},
      {R"({"minItems":1})", "[]", false},
      {R"({"maxItems":1})", "[1,2]", false},
      {R"({"minLength":2,"maxLength":3})", R"("\u00e9\u00e9")", true},
      {R"({"maxLength":1})", R"("ab")", false},
      {R"({"minimum":1,"maximum":3})", "3", true},
      {R"({"minimum":1})", "0", false},
      {R"({"exclusiveMinimum":1})", "1", false},
      {R"({"exclusiveMaximum":1})", "0.5", true},
      {R"({"minimum":1,"exclusiveMinimum":true})", "1", false},
      {R"({"pattern":"^[a-z]+$"})", R"("abc")", true},
      {R"({"pattern":"^[a-z]+$"})", R"("ab1")", false},
      {R"({"pattern":"b"})", R"("abc")", true},
      {R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "1", true},
      {R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "1.5", false},
      {R"({"oneOf":[{"type":"number"},{"type":"integer"}]})", "1", false},
      {R"({"oneOf":[{"type":"number"},{"type":"string"}]})", "1", true},
      {R"({"allOf":[{"minimum":1},{"maximum":2}]})", "3", false},
      {R"({"format":"email","$ref":"#/x","title":"t"})", R"("anything")", true},
      {"true", "1", true},
      {"false", "1", false},
  };
  for (const Case& c : cases) {
    auto s = JsonSchema::Compile(boost::json::parse(c.schema));
    ASSERT_TRUE(s.ok()) << c.schema;
    EXPECT_EQ(s->Validate(boost::json::parse(c.instance)).ok(), c.valid)
        << c.schema << " vs " << c.instance;
  }
}

// Tests that the error names the path of the violation.
TEST(JsonSchemaTest, ErrorNamesPath) {
  auto s = JsonSchema::Compile(
      boost::json::parse(R"({"properties":{"a":{"items":{"type":"string"}}}})"));
  ASSERT_TRUE(s.ok());
  Status st = s->Validate(boost::json::parse(R"({"a":["x",2]})"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("/a/1"), std::string::npos) << st.error().message;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
