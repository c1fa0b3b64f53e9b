// Fuzzes ParseHookInput (the Claude Code PreToolUse and PostToolUse hooks' stdin) and the
// daemon's HTTP hook reader (ParseAnyHookInput, SniffHookEvent, HookAnswerJson). Aborts
// when an
// invariant of its contract breaks: an accepted input has a non-empty session_id and
// tool_name, its tool_input survives a serialise/parse round trip unchanged (what the
// hook posts is what it read), and the same bytes always give the same answer; the same
// for a PostToolUse input, whose tool_response is recorded as the call's result.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "common/json.h"
#include "doors/claude_code/contract.h"

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

namespace interlock {
namespace {

void CheckPostToolUse(std::string_view text) {
  auto in = claude_code::ParseHookInput(text, claude_code::HookEvent::kPostToolUse);
  auto again = claude_code::ParseHookInput(text, claude_code::HookEvent::kPostToolUse);
  Check(in.ok() == again.ok(), "the same PostToolUse input parsed differently twice");
  if (!in.ok()) {
    Check(!in.error().message.empty(), "a PostToolUse error without a reason");
    return;
  }
  Check(!in->session_id.empty(), "PostToolUse accepted without a session_id");
  Check(!in->tool_name.empty(), "PostToolUse accepted without a tool_name");
  Check(CanonicalJson(in->tool_response) == CanonicalJson(again->tool_response),
        "tool_response differs between parses");
}

}  // namespace
}  // namespace interlock

namespace interlock {
namespace {

// The daemon's HTTP hook reads the event from the input (claude_code::ParseAnyHookInput) and
// answers a refusal in the shape SniffHookEvent names: they must agree, and an answer is
// always one JSON object.
void CheckAnyEvent(std::string_view text) {
  auto in = claude_code::ParseAnyHookInput(text);
  auto again = claude_code::ParseAnyHookInput(text);
  Check(in.ok() == again.ok(), "the same input parsed differently twice (any event)");
  const claude_code::HookEvent sniffed = claude_code::SniffHookEvent(text);
  if (in.ok()) Check(in->event == sniffed, "SniffHookEvent disagrees with ParseAnyHookInput");
  auto answer = ParseJsonStrict(claude_code::HookAnswerJson(sniffed, claude_code::HookDeny("x")),
                                JsonLimits{1 << 20, 16});
  Check(answer.ok() && answer->is_object(), "a hook answer is not one JSON object");
}

}  // namespace
}  // namespace interlock

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckPostToolUse(text);
  CheckAnyEvent(text);
  auto in = claude_code::ParseHookInput(text);
  auto again = claude_code::ParseHookInput(text);
  Check(in.ok() == again.ok(), "the same input parsed differently twice");
  if (!in.ok()) {
    Check(!in.error().message.empty(), "an error without a reason");
    return 0;
  }
  Check(!in->session_id.empty(), "accepted without a session_id");
  Check(!in->tool_name.empty(), "accepted without a tool_name");
  const std::string canonical = CanonicalJson(in->tool_input);
  auto reparsed = ParseJsonStrict(canonical, JsonLimits{claude_code::kMaxHookInputBytes * 2, 128});
  Check(reparsed.ok() && reparsed->is_object(), "tool_input does not serialise to an object");
  Check(CanonicalJson(*reparsed) == canonical, "tool_input changed in a round trip");
  Check(CanonicalJson(again->tool_input) == canonical, "tool_input differs between parses");
  return 0;
}
