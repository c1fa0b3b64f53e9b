// libFuzzer target for the JWK Set parser (identity/jwt.h ParseJwks), which reads what an
// issuer's JWKS endpoint (or whoever answers in its place) sends. Checks the size and
// count bounds and that every key it returns holds an OpenSSL key.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "identity/jwt.h"

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
  auto jwks = ParseJwks(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!jwks.ok()) return 0;
  Check(size <= kMaxJwksBytes, "size bound");
  Check(jwks->keys.size() <= kMaxJwksKeys, "key count bound");
  std::set<std::string> kids;
  for (const Jwk& k : jwks->keys) {
    Check(k.key != nullptr, "every key holds a key");
    Check(k.kid.empty() || kids.insert(k.kid).second, "kids are distinct");
  }
  return 0;
}
