// Tests the pure pieces of reviewer sign-in (identity/oidc_session.h): PKCE S256, the
// signed login cookie, the used-state table, the signed session cookie and the CSRF check.
#include "identity/oidc_session.h"

#include <gtest/gtest.h>

#include <string>

#include "common/base64.h"
#include "common/crypto.h"

namespace interlock::identity {
namespace INTERLOCK_TEST_NS {

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

// Tests that a login cookie carries its sign-in: the callback's state with the cookie it
// was issued with gives back the same nonce and verifier, which never appear in the cookie.
TEST(LoginCookie, CallbackWithItsCookieGetsTheSignInBack) {
  const LoginCodec logins(std::string(32, 'k'), std::chrono::seconds(600));
  const LoginCodec::Login l = logins.Start(T0());
  EXPECT_EQ(l.state.size(), 43u);
  EXPECT_EQ(l.verifier.size(), 64u);  // RFC 7636: 43..128 unreserved characters
  EXPECT_NE(l.nonce, l.verifier);
  EXPECT_LE(l.cookie.size(), kMaxLoginCookieBytes);
  EXPECT_EQ(l.cookie.find(l.nonce), std::string::npos);
  EXPECT_EQ(l.cookie.find(l.verifier), std::string::npos);
  auto back = logins.Check(l.cookie, l.state, T0() + std::chrono::seconds(599));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->nonce, l.nonce);
  EXPECT_EQ(back->verifier, l.verifier);
  EXPECT_EQ(back->expires_at, l.expires_at);
  EXPECT_NE(logins.Start(T0()).state, l.state);
}

// Tests that a forged state is refused: a state the daemon never issued, a cookie of
// another sign-in, a cookie signed with another key, a cookie whose expiry was extended,
// no cookie, a session cookie in its place, and an expired one.
TEST(LoginCookie, ForgedStateIsRefused) {
  const std::string key(32, 'k');
  const LoginCodec logins(key, std::chrono::seconds(600));
  const LoginCodec::Login l = logins.Start(T0());
  const TimePoint now = T0() + std::chrono::seconds(1);
  EXPECT_FALSE(logins.Check(l.cookie, NewRandomToken(), now).ok());
  EXPECT_FALSE(logins.Check(logins.Start(T0()).cookie, l.state, now).ok());
  EXPECT_FALSE(LoginCodec(std::string(32, 'x')).Check(l.cookie, l.state, now).ok());
  // The expiry pushed out by a year, the MAC kept.
  const size_t mac = l.cookie.rfind('.');
  const size_t exp = l.cookie.rfind('.', mac - 1);
  const std::string later = l.cookie.substr(0, exp + 1) +
                            std::to_string(ToUnixMillis(T0() + std::chrono::hours(24 * 365))) +
                            l.cookie.substr(mac);
  EXPECT_FALSE(logins.Check(later, l.state, now).ok());
  EXPECT_FALSE(logins.Check("", l.state, now).ok());
  EXPECT_FALSE(logins.Check(l.state, l.state, now).ok());  // the old cookie format
  EXPECT_FALSE(logins.Check(SessionCodec(key).Encode(Alice()), l.state, now).ok());
  EXPECT_FALSE(logins.Check(std::string(4096, 'l'), l.state, now).ok());
  auto late = logins.Check(l.cookie, l.state, l.expires_at);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("too long"), std::string::npos) << late.error().message;
}

// Tests that a callback replayed within its cookie's lifetime is refused (a state is used
// once), that two racing callbacks cannot both use it, and that used states are forgotten
// once their cookie has expired (the table stays bounded).
TEST(UsedStates, ReplayedCallbackIsRefused) {
  UsedStates used(2);
  const TimePoint exp = T0() + std::chrono::seconds(600);
  EXPECT_FALSE(used.Used("a", T0()));
  ASSERT_TRUE(used.Use("a", exp, T0()).ok());
  EXPECT_TRUE(used.Used("a", T0() + std::chrono::seconds(5)));
  Status again = used.Use("a", exp, T0() + std::chrono::seconds(5));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kPermissionDenied);
  ASSERT_TRUE(used.Use("b", exp, T0()).ok());
  Status full = used.Use("c", exp, T0());
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind, ErrorKind::kUnavailable);
  EXPECT_FALSE(used.Used("a", exp));  // its cookie expired: no longer needed
  EXPECT_TRUE(used.Use("c", exp + std::chrono::seconds(600), exp).ok());
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

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::identity
