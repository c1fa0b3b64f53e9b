// libFuzzer target for the x-mcp-header declarations of a tool's inputSchema
// (mcp/param_headers.h), which come from the MCP server. The input is split at the first NUL
// into the schema and the arguments (both JSON). Checks that accepted declarations have
// token names, unique regardless of case, that every header made from the arguments is a
// plain header value that decodes back to the argument's header form, and that a refusal says
// why.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/param_headers.h"
#include "mcp/request_headers.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  auto schema = interlock::ParseJsonStrict(in.substr(0, nul));
  if (!schema.ok()) return 0;
  auto declared = interlock::mcp::ParamHeadersOf(*schema);
  if (!declared.ok()) {
    Check(!declared.error().message.empty(), "a refusal says why");
    return 0;
  }
  std::set<std::string> names;
  for (const auto& d : *declared) {
    std::string lower = d.name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Check(!d.name.empty() && names.insert(lower).second, "names are unique and not empty");
    Check(!d.path.empty(), "a declaration names a property");
  }
  if (nul == std::string_view::npos) return 0;
  auto args = interlock::ParseJsonStrict(in.substr(nul + 1));
  if (!args.ok()) return 0;
  for (const auto& [header, value] : interlock::mcp::MirrorParamHeaders(*declared, &*args)) {
    for (unsigned char c : value) Check(c >= 0x20 && c <= 0x7e, "a header value is plain ASCII");
    Check(header.rfind("Mcp-Param-", 0) == 0, "a header is an Mcp-Param-* header");
    Check(interlock::mcp::DecodeHeaderValue(value).ok(), "a header value decodes");
  }
  return 0;
}
