// libFuzzer target for Slack's interaction callback (daemon/slack.h ParseSlackInteraction):
// the body arrives from the network after its signature is checked, but the parser must
// hold for any bytes: nothing crashes, and an accepted action names an approval id and a
// Slack user.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "daemon/slack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = interlock::server::ParseSlackInteraction(body);
  if (r.ok() && (r->approval_id.empty() || r->user_id.empty())) {
    std::fprintf(stderr, "invariant violated: an action without approval or user\n");
    std::abort();
  }
  return 0;
}
