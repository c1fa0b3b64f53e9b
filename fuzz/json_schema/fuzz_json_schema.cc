// libFuzzer target for mcp::JsonSchema (the inputSchema check on every tools/call): the
// input's first line is the schema, the rest the instance. Checks that Compile and
// Validate answer with values (no crash, no hang), that an error names where it failed,
// and that the boolean schemas behave as documented.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/json.h"
#include "mcp/json_schema.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view schema_text = input.substr(0, nl);
  const std::string_view instance_text =
      nl == std::string_view::npos ? std::string_view("null") : input.substr(nl + 1);
  const JsonLimits limits{1 << 16, 32};
  Result<boost::json::value> schema = ParseJsonStrict(schema_text, limits);
  Result<boost::json::value> instance = ParseJsonStrict(instance_text, limits);
  if (!schema.ok() || !instance.ok()) return 0;
  Result<mcp::JsonSchema> compiled = mcp::JsonSchema::Compile(*schema);
  if (!compiled.ok()) {  // not an object or boolean, or a keyword of the wrong type
    Check(!compiled.error().message.empty(), "a refused schema says why");
    return 0;
  }
  Check(schema->is_object() || schema->is_bool(), "only objects and booleans compile");
  const Status s = compiled->Validate(*instance);
  if (!s.ok()) Check(!s.error().message.empty(), "a violation says what");
  if (schema->is_bool()) Check(s.ok() == schema->get_bool(), "true accepts all, false none");
  if (schema->is_object() && schema->get_object().empty()) Check(s.ok(), "{} accepts all");
  // The schema is data too: validating it against itself must not crash either.
  (void)compiled->Validate(*schema);
  return 0;
}
