// libFuzzer target for the reviewer session cookie (identity/oidc_session.h), which every
// request with the cookie and no Authorization header goes through. Two checks per input:
// the bytes as a cookie never decode (the fuzzer cannot make the HMAC), and the bytes as a
// payload signed with the key decode only into a well-formed session that re-encodes to a
// cookie decoding to the same session. The login cookie of a sign-in in flight (LoginCodec)
// is checked the same way: unsigned bytes never pass, and signed ones pass only as the
// cookie the codec itself would issue for that state and expiry.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/time.h"
#include "identity/oidc_session.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

const std::string& Key() {
  static const std::string key(interlock::identity::kSessionKeyBytes, 'k');
  return key;
}

// The login cookie: "l1.<state>.<expiry ms>.<HMAC>" under the key LoginCodec derives.
void CheckLoginCookie(std::string_view text, interlock::TimePoint now) {
  using interlock::identity::LoginCodec;
  const LoginCodec logins(Key());
  // The key derivation below is LoginCodec's, copied: a login the codec issues must pass
  // under it, or the signed path would silently go unexplored after a change there.
  static const bool derivation_checked = [&] {
    const LoginCodec::Login issued = logins.Start(now);
    const std::string b = issued.cookie.substr(0, issued.cookie.rfind('.'));
    Check(issued.cookie ==
              b + "." +
                  interlock::HmacSha256Hex(
                      interlock::HmacSha256Hex(Key(), "interlock oidc login cookie v1"), b),
          "the harness signs login cookies as LoginCodec does");
    return true;
  }();
  (void)derivation_checked;
  const size_t dot = text.find('.');
  const std::string_view state = text.substr(0, dot);
  Check(!logins.Check(text, state, now).ok(), "an unsigned login cookie passed");
  Check(!logins.Check("l1." + std::string(text), state, now).ok(),
        "an unsigned login cookie passed");
  const std::string login_key =
      interlock::HmacSha256Hex(Key(), "interlock oidc login cookie v1");  // LoginCodec's
  const std::string body = "l1." + std::string(text);
  const std::string cookie = body + "." + interlock::HmacSha256Hex(login_key, body);
  auto l = logins.Check(cookie, state, now);
  if (!l.ok()) return;
  Check(l->cookie == cookie, "a login cookie passes only as the one issued for it");
  Check(l->expires_at > now, "a passing login cookie is not expired");
  Check(l->state == state && !l->nonce.empty() && !l->verifier.empty(), "a login is whole");
  Check(!logins.Check(cookie, std::string(state) + "x", now).ok(),
        "a login cookie passes only with the state it was issued for");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock::identity;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const SessionCodec codec(Key());
  const interlock::TimePoint now = interlock::FromUnixMillis(1'700'000'000'000);
  Check(!codec.Decode(text, now).ok(), "an unsigned cookie decoded");
  // The payload parser, behind a valid MAC.
  const std::string body = "v1." + interlock::Base64UrlEncode(text);
  const std::string cookie = body + "." + interlock::HmacSha256Hex(Key(), body);
  CheckLoginCookie(text, now);
  auto s = codec.Decode(cookie, now);
  if (!s.ok()) return 0;
  Check(!s->name.empty() && !s->csrf.empty(), "a decoded session names someone");
  Check(s->expires_at > now, "a decoded session is not expired");
  const std::string encoded = codec.Encode(*s);
  auto again = codec.Decode(encoded, now);
  if (encoded.size() <= kMaxSessionCookieBytes) Check(again.ok(), "a session re-encodes");
  if (again.ok()) {
    Check(again->name == s->name && again->csrf == s->csrf && again->role == s->role,
          "a session survives re-encoding");
  }
  return 0;
}
