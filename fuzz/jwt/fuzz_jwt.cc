// libFuzzer target for the JWT parser (identity/jwt.h ParseJwt), which every bearer that
// looks like a JWT goes through before anything else. Checks its bounds hold, that only
// the four algorithms come out, and that a parsed token never verifies against a key the
// fuzzer could not have signed with.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "identity/jwt.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// A fixed public Ed25519 key (RFC 8037 appendix A.2): the fuzzer has no private key.
const interlock::identity::Jwks& Keys() {
  static const interlock::identity::Jwks keys = [] {
    auto k =
        interlock::identity::ParseJwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k",)"
                                       R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})");
    Check(k.ok(), "the fixed key set parses");
    return std::move(k).value();
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock::identity;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto jwt = ParseJwt(text);
  if (!jwt.ok()) {
    Check(!RefusalCode(jwt.error()).empty(), "every refusal has a code");
    return 0;
  }
  Check(size <= kMaxTokenBytes, "size bound");
  Check(!jwt->signature.empty(), "a signature");
  Check(text.substr(0, jwt->signing_input.size()) == jwt->signing_input, "signing input prefix");
  auto key = Keys().Find(jwt->kid, jwt->alg);
  if (key.ok()) {
    // A forged EdDSA signature verifying against RFC 8037's key would be a break.
    Check(!VerifySignature(*jwt, **key).ok() ||
              jwt->signing_input == "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
          "no forged signature verifies");
  }
  return 0;
}
