// libFuzzer target for the strict JSON parser (common/json.h ParseJsonStrict), which every
// request body, MCP message and decide line goes through. Checks its limits hold and that
// what it accepts survives a canonical round trip unchanged. The raw bytes, as a string,
// are also written by AppendJsonString (the hand-written SSE2 writer every decision and
// audit record goes through) and must come out as Boost.JSON's serializer writes them.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/json.h"
#include "common/json_write.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

size_t Depth(const boost::json::value& v) {
  size_t d = 0;
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) d = std::max(d, Depth(kv.value()));
    return d + 1;
  }
  if (v.is_array()) {
    for (const auto& e : v.get_array()) d = std::max(d, Depth(e));
    return d + 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string written = "x";  // a prefix, as when appended to a record
  AppendJsonString(text, &written);
  Check(written == "x" + boost::json::serialize(boost::json::value(boost::json::string(text))),
        "AppendJsonString writes what Boost.JSON's serializer writes");
  const JsonLimits limits{1 << 16, 32};
  Result<boost::json::value> v = ParseJsonStrict(text, limits);
  if (!v.ok()) {
    Check(!v.error().message.empty(), "errors carry a message");
    return 0;
  }
  Check(size <= limits.max_bytes, "the size limit holds");
  Check(Depth(*v) <= limits.max_depth, "the depth limit holds");
  const std::string canon = CanonicalJson(*v);
  Result<boost::json::value> again = ParseJsonStrict(canon, {1 << 20, 64});
  Check(again.ok(), "canonical JSON parses");
  Check(CanonicalJson(*again) == canon, "canonical JSON is stable");
  // How numbers print is ToJsonText's choice; that its output is JSON is not.
  Check(ParseJsonStrict(ToJsonText(*v), {1 << 20, 64}).ok(), "ToJsonText output parses");
  return 0;
}
