// libFuzzer target for the token endpoint's answer (identity/credential_broker.h
// ParseTokenResponse, DescribeToken): the identity provider's bytes decide what the daemon
// sends upstream, so an accepted answer must hold a header-safe Bearer token, an expiry in
// bounds, and never a scope beyond the one asked for; error answers never echo raw bytes.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "identity/credential_broker.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock::identity;
  if (size == 0) return 0;
  // The first byte picks the HTTP status the answer came with.
  const int status = data[0] % 2 == 0 ? 200 : 400 + data[0] % 100;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string secret = "s3cret-value";
  auto r = ParseTokenResponse(status, body, {secret});
  if (!r.ok()) {
    for (char c : r.error().message) Check(c >= 0x20 && c < 0x7f, "printable error");
    Check(r.error().message.find(secret) == std::string::npos, "the secret is masked");
    return 0;
  }
  Check(status == 200, "only a 200 is a token");
  Check(!r->access_token.empty(), "a token");
  for (char c : r->access_token) Check(c > 0x20 && c < 0x7f, "header-safe token");
  if (r->expires_in) Check(*r->expires_in >= 0 && *r->expires_in <= 86400, "expires_in bound");
  const std::vector<std::string> asked = {"repo:read"};
  auto d = DescribeToken(r->access_token, "https://mcp.example", asked);
  if (d.ok()) {
    for (const std::string& s : d->scopes) Check(s == "repo:read", "no scope beyond the asked");
    if (LooksLikeJwsCompact(r->access_token)) {
      Check(d->audience == "https://mcp.example", "a JWT for the upstream alone");
    }
    Check(d->fingerprint.rfind("jti:", 0) == 0 || d->fingerprint.rfind("sha256:", 0) == 0,
          "a fingerprint");
    Check(d->fingerprint.find(r->access_token) == std::string::npos || r->access_token.size() < 8,
          "the fingerprint is not the token");
  }
  return 0;
}
