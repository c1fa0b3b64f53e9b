// Streamable HTTP's custom headers from tool parameters (MCP 2026-07-28,
// basic/transports/streamable-http#custom-headers-from-tool-parameters): a tool's inputSchema
// may mark primitive parameters `x-mcp-header: Name`, and a client sending tools/call over HTTP
// mirrors each such argument into an `Mcp-Param-Name` header, which a server checks against the
// body (HeaderMismatch, -32020).
//
// One reading of the declarations for both directions of the gateway: the daemon's door checks
// a 2026 client's headers against them (Gateway::ParamHeaderMismatch), and the HTTP upstream
// transport mirrors the arguments it actually sends (HttpUpstream), so a header is made from
// the body it travels with, never from what an agent first asked.
// Thread-safety: free functions, no state.
#ifndef INTERLOCK_MCP_PARAM_HEADERS_H_
#define INTERLOCK_MCP_PARAM_HEADERS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::mcp {

// One parameter a tool marks `x-mcp-header`: the {Name} as declared and the chain of
// `properties` keys from the schema root to it.
struct ParamHeader {
  std::string name;
  std::vector<std::string> path;
};

// The declarations of `input_schema`, or why they are invalid (the specification's
// constraints: a non-empty RFC 9110 token, case-insensitively unique, on a property of type
// string, integer or boolean reached from the root through `properties` keys only; an
// annotation anywhere else, under items, a composition or $ref, invalidates the tool). A
// client over HTTP must not offer a tool whose declarations are invalid.
Result<std::vector<ParamHeader>> ParamHeadersOf(const boost::json::value& input_schema);

// An argument as its header carries it before encoding: strings as they are, integers in
// decimal (an integral double within +-(2^53-1) too), booleans true/false; nullopt for null,
// numbers with a fraction and anything that is not a primitive (never mirrored).
std::optional<std::string> ParamHeaderForm(const boost::json::value& v);

// The argument at `header.path` in `arguments` (null: absent, or JSON null).
const boost::json::value* ParamArgument(const ParamHeader& header,
                                        const boost::json::value* arguments);

// The headers a client sends with a tools/call whose arguments are `arguments`:
// {"Mcp-Param-" + name, value encoded for HTTP (EncodeHeaderValue)}, in declaration order;
// a parameter without a value (absent or null) has none.
std::vector<std::pair<std::string, std::string>> MirrorParamHeaders(
    const std::vector<ParamHeader>& headers, const boost::json::value* arguments);

// A value as 2026-07-28 headers carry it: as is when plain visible ASCII (spaces inside
// allowed) and not the sentinel shape, else `=?base64?B64?=` of its bytes.
std::string EncodeHeaderValue(std::string_view v);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_PARAM_HEADERS_H_
