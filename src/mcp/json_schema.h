// JsonSchema: the subset of JSON Schema that MCP servers use for `inputSchema`, compiled
// once per tool definition and checked against every tools/call before it is forwarded,
// so type confusion (a number where the server expects a string, an extra key a careless
// server would pass on) never reaches the upstream.
//
// Supported keywords: type (string or array; "integer" = a number with no fractional
// part), properties, required, additionalProperties (bool or schema), enum, const, items
// (one schema), minItems/maxItems, minLength/maxLength (in code points), minimum/maximum,
// exclusiveMinimum/exclusiveMaximum (numbers, 2019+ form; the draft-4 boolean form is
// honoured too), pattern (RE2, unanchored search like ECMA-262 `test`), anyOf, oneOf,
// allOf. Unknown keywords ($schema, title, description, format, default, $ref, ...) are
// ignored: a schema the subset cannot express is checked less strictly, never rejected.
// A pattern RE2 cannot compile is ignored as well.
// Thread-safety: a compiled JsonSchema is immutable; Validate may run on any thread.
#ifndef INTERLOCK_MCP_JSON_SCHEMA_H_
#define INTERLOCK_MCP_JSON_SCHEMA_H_

#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::mcp {

class JsonSchema {
 public:
  // A schema must be an object or a boolean (true accepts everything, false nothing).
  static Result<JsonSchema> Compile(const boost::json::value& schema);

  // Ok, or kInvalidArgument with the first violation: "at /path: what".
  Status Validate(const boost::json::value& instance) const;

  struct Node;

 private:
  explicit JsonSchema(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_JSON_SCHEMA_H_
