// Tests the pure pieces of reviewer sign-in (identity/oidc_session.h): PKCE S256, the
// one-time state table, the signed session cookie and the CSRF check.
#include "identity/oidc_session.h"

#include <gtest/gtest.h>

#include <string>

#include "common/base64.h"
#include "common/crypto.h"

namespace interlock::identity {
namespace {

TimePoint T0() { return FromUnixMillis(1'800'000'000'000); }

Session Alice() {
  return Session{"oidc:alice@127.0.0.1", SessionRole::kReviewer, NewRandomToken(),
                 T0() + std::chrono::hours(1)};
}

// Tests the RFC 7636 appendix B vector, so the provider and the daemon agree on S256.
TEST(Pkce, ChallengeIsRfc7636S256) {
  EXPECT_EQ(PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  const std::string v = NewPkceVerifier();
  EXPECT_EQ(v.size(), 43u);  // RFC 7636: 43..128 characters
  EXPECT_NE(v, NewPkceVerifier());
}

// Tests that a callback's state works once: a replayed state (or one never issued) is
// refused, and so is one that outlived its lifetime.
TEST(PendingLogins, ReplayedStateIsRefused) {
  PendingLogins logins(8, std::chrono::seconds(600));
  PendingLogins::Login login;
  auto state = logins.Start(T0(), &login);
  ASSERT_TRUE(state.ok());
  auto taken = logins.Take(*state, T0() + std::chrono::seconds(5));
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->nonce, login.nonce);
  EXPECT_EQ(taken->verifier, login.verifier);
  EXPECT_FALSE(logins.Take(*state, T0() + std::chrono::seconds(6)).ok());
  EXPECT_FALSE(logins.Take("forged", T0()).ok());
  auto late = logins.Start(T0(), &login);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(logins.Take(*late, T0() + std::chrono::seconds(601)).ok());
}

// Tests that a flood of unfinished sign-ins cannot grow the table without bound.
TEST(PendingLogins, FloodOfStartedSignInsIsBounded) {
  PendingLogins logins(4, std::chrono::seconds(60));
  PendingLogins::Login login;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(logins.Start(T0(), &login).ok());
  EXPECT_FALSE(logins.Start(T0(), &login).ok());
  EXPECT_TRUE(logins.Start(T0() + std::chrono::seconds(61), &login).ok());  // expired ones go
}

// Tests that a cookie round-trips, and that a tampered, re-signed-with-another-key,
// promoted (reviewer -> admin), expired or oversized cookie is refused.
TEST(SessionCookie, ForgedOrExpiredCookieIsRefused) {
  const SessionCodec codec(std::string(32, 'k'));
  const Session s = Alice();
  const std::string c = codec.Encode(s);
  auto back = codec.Decode(c, T0());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->role, SessionRole::kReviewer);
  EXPECT_EQ(back->csrf, s.csrf);

  const SessionCodec other(std::string(32, 'x'));
  EXPECT_FALSE(other.Decode(c, T0()).ok());
  Session admin = s;
  admin.role = SessionRole::kAdmin;
  const std::string promoted = other.Encode(admin);
  EXPECT_FALSE(codec.Decode(promoted, T0()).ok());
  // The payload of an admin cookie under the real MAC of a reviewer cookie.
  const std::string mixed = promoted.substr(0, promoted.rfind('.')) + c.substr(c.rfind('.'));
  EXPECT_FALSE(codec.Decode(mixed, T0()).ok());
  std::string flipped = c;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(codec.Decode(flipped, T0()).ok());
  EXPECT_FALSE(codec.Decode(c, s.expires_at).ok());
  EXPECT_FALSE(codec.Decode(std::string(4096, 'v'), T0()).ok());
  EXPECT_FALSE(codec.Decode("", T0()).ok());
  EXPECT_FALSE(codec.Decode("v1.", T0()).ok());
}

// Tests that a signed payload whose expiry no TimePoint can hold is refused, not converted
// (the conversion to nanoseconds overflowed: found by fuzz/session_cookie), and a negative
// one too.
TEST(SessionCookie, ExpiryOutOfRangeIsRefused) {
  const std::string key(32, 'k');
  const SessionCodec codec(key);
  for (const char* e : {"36000000000010", "1800000000000000000", "9223372036854775807", "-1"}) {
    const std::string payload =
        std::string(R"({"n":"oidc:alice@idp.e.com","r":"reviewer","c":"csrf","e":)") + e + "}";
    const std::string body = "v1." + Base64UrlEncode(payload);
    const std::string cookie = body + "." + HmacSha256Hex(key, body);
    EXPECT_FALSE(codec.Decode(cookie, T0()).ok()) << e;
  }
}

// Tests that a cookie alone never votes: the CSRF token must match, and a cross-site
// Origin is refused even with it.
TEST(Csrf, CookieWithoutTheTokenCannotVote) {
  const Session s = Alice();
  const std::string own = "https://interlock.example";
  EXPECT_TRUE(CsrfAllows(s, s.csrf, own, own));
  EXPECT_TRUE(CsrfAllows(s, s.csrf, "", own));
  EXPECT_FALSE(CsrfAllows(s, "", own, own));
  EXPECT_FALSE(CsrfAllows(s, NewRandomToken(), own, own));
  EXPECT_FALSE(CsrfAllows(s, s.csrf.substr(1), own, own));
  EXPECT_FALSE(CsrfAllows(s, s.csrf, "https://evil.example", own));
  EXPECT_FALSE(CsrfAllows(s, s.csrf, "null", own));
}

}  // namespace
}  // namespace interlock::identity
