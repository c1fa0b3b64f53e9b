// libFuzzer target for the key sniffers (common/json_sniff.h) every `interlock decide`
// line goes through: on any bytes, ContainsQuoted and ContainsAnyQuoted (SSE2, sixteen
// positions at a time) must answer exactly as a plain search for the quoted key does, so
// a report line is never missed and nothing is read outside the line. The first byte
// picks the keys (shared prefix, none, or one key), the rest is the line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json_sniff.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool Plain(std::string_view s, std::string_view key) {
  return s.find("\"" + std::string(key) + "\"") != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string line(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr std::string_view kKeys[][2] = {
      {"result", "rehearsal"}, {"ab", "cd"}, {"x", "y"}, {"tool", "tools"}};
  const auto& keys = kKeys[data[0] % 4];
  Check(interlock::ContainsQuoted(line, keys[0]) == Plain(line, keys[0]), "ContainsQuoted");
  Check(interlock::ContainsAnyQuoted(line, {keys[0], keys[1]}) ==
            (Plain(line, keys[0]) || Plain(line, keys[1])),
        "ContainsAnyQuoted");
  return 0;
}
