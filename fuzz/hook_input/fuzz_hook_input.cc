// Fuzzes ParseHookInput (the Claude Code PreToolUse hook's stdin). Aborts when an
// invariant of its contract breaks: an accepted input has a non-empty session_id and
// tool_name, its tool_input survives a serialise/parse round trip unchanged (what the
// hook posts is what it read), and the same bytes always give the same answer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "cli/hook_input.h"
#include "common/json.h"

namespace interlock {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace
}  // namespace interlock

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto in = cli::ParseHookInput(text);
  auto again = cli::ParseHookInput(text);
  Check(in.ok() == again.ok(), "the same input parsed differently twice");
  if (!in.ok()) {
    Check(!in.error().message.empty(), "an error without a reason");
    return 0;
  }
  Check(!in->session_id.empty(), "accepted without a session_id");
  Check(!in->tool_name.empty(), "accepted without a tool_name");
  const std::string canonical = CanonicalJson(in->tool_input);
  auto reparsed = ParseJsonStrict(canonical, JsonLimits{cli::kMaxHookInputBytes * 2, 128});
  Check(reparsed.ok() && reparsed->is_object(), "tool_input does not serialise to an object");
  Check(CanonicalJson(*reparsed) == canonical, "tool_input changed in a round trip");
  Check(CanonicalJson(again->tool_input) == canonical, "tool_input differs between parses");
  return 0;
}
