// libFuzzer target for the sealed requestState of approvals over MCP multi round-trip
// requests (core/request_state.h). Two checks per input: the bytes as a state never open
// (the fuzzer cannot make the HMAC), and the bytes as a payload signed with the key open
// only into claims that match the binding and only once.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/time.h"
#include "core/request_state.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

const std::string& Key() {
  static const std::string key(32, 'k');
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using interlock::core::RequestStateBinding;
  using interlock::core::RequestStates;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  interlock::ManualClock clock(interlock::FromUnixMillis(1'800'000'000'000));
  RequestStates states(Key(), &clock, 4);
  const RequestStateBinding binding{"a", "r", "d", "stateless-x"};
  // Unsigned bytes never open.
  Check(!states.Open(text, binding).ok(), "unsigned bytes opened as a state");
  // Bytes as a payload, signed the way Seal signs: open at most once, and only into
  // claims equal to the binding.
  const std::string body =
      std::string(interlock::core::kRequestStatePrefix) + interlock::Base64UrlEncode(text);
  // The derived key is RequestStates's, copied: a state it seals must carry this key's MAC,
  // or the signed path would silently go unexplored after a change there.
  static const std::string derived =
      interlock::HkdfSha256(Key(), "", "interlock mcp requestState seal v1", 32);
  static const bool derivation_checked = [&] {
    interlock::core::RequestStateClaims c;
    c.agent_id = "a";
    c.run_id = "r";
    c.args_digest = "d";
    c.call_id = "call_1";
    c.approval_id = "apr_1";
    c.expires_at = clock.Now() + std::chrono::minutes(1);
    const std::string sealed = states.Seal(c);
    const size_t dot = sealed.rfind('.');
    return sealed.substr(dot + 1) ==
               interlock::HmacSha256Hex(derived, std::string_view(sealed).substr(0, dot)) &&
           states.Open(sealed, binding).ok();
  }();
  Check(derivation_checked, "the fuzzer's key derivation is not RequestStates's");
  const std::string signed_state = body + "." + interlock::HmacSha256Hex(derived, body);
  auto opened = states.Open(signed_state, binding);
  if (opened.ok()) {
    Check(opened->agent_id == "a" && opened->args_digest == "d" &&
              (opened->run_id == "r" || opened->scope == "stateless-x"),
          "a signed state opened for another binding");
    Check(clock.Now() < opened->expires_at, "an expired state opened");
    Check(!states.Open(signed_state, binding).ok(), "a signed state opened twice");
  }
  return 0;
}
