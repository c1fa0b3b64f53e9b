// The pure pieces of reviewer and admin sign-in with OpenID Connect (docs/identity.md,
// "Reviewer sign-in"): PKCE (RFC 7636, S256 only), the signed login cookie that carries a
// sign-in in flight, the table of states already used, and the session cookie: an
// HMAC-SHA256-signed value carrying who, which role, a CSRF token and an expiry. No I/O
// here; the HTTP flow builds on these.
//
// Fail closed: a cookie that does not parse, whose MAC does not match, that is expired or
// over its size bound is refused; a state is usable once, within its lifetime.
// Thread-safety: free functions, SessionCodec and LoginCodec are thread-safe; UsedStates
// locks.
#ifndef INTERLOCK_IDENTITY_OIDC_SESSION_H_
#define INTERLOCK_IDENTITY_OIDC_SESSION_H_

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/time.h"
#include "interlock/result.h"

namespace interlock::identity {

inline constexpr size_t kMaxSessionCookieBytes = 2048;
inline constexpr size_t kSessionKeyBytes = 32;
inline constexpr size_t kMaxLoginCookieBytes = 256;

// A fresh PKCE code_verifier: 32 random bytes, base64url (43 characters).
std::string NewPkceVerifier();
// code_challenge for method S256: BASE64URL(SHA256(ASCII(verifier))).
std::string PkceChallengeS256(std::string_view verifier);
// A fresh random token (state, nonce, CSRF): 32 bytes, base64url.
std::string NewRandomToken();

enum class SessionRole { kReviewer, kAdmin };

struct Session {
  std::string name;  // the audit name: "oidc:<sub>@<issuer host>"
  SessionRole role = SessionRole::kReviewer;
  std::string csrf;  // the per-session token the page sends in X-Interlock-CSRF
  TimePoint expires_at;
};

// Encodes and checks session cookies with one key (kSessionKeyBytes, from the daemon's
// keys directory). Value: "v1.<base64url(json)>.<hex hmac>" over "v1.<base64url(json)>".
class SessionCodec {
 public:
  explicit SessionCodec(std::string key) : key_(std::move(key)) {}
  std::string Encode(const Session& s) const;
  // kPermissionDenied naming why: malformed, bad MAC, expired, too large.
  Result<Session> Decode(std::string_view cookie, TimePoint now) const;

 private:
  std::string key_;
};

// A state-changing request made with a session cookie must carry the session's CSRF token
// (constant-time compared) and, when it has an Origin header, the daemon's own origin.
// `origin` empty: the browser sent none (same-origin GETs); a POST without Origin is still
// accepted when the token matches (older browsers), never without it.
bool CsrfAllows(const Session& s, std::string_view header_token, std::string_view origin,
                std::string_view own_origin);

// A sign-in in flight, kept by the browser that started it rather than by the daemon, so
// that anonymous GET /ui/oidc/login requests fill no server table (they once could, and
// lock every reviewer out). The login cookie is "l1.<state>.<expiry ms>.<hex HMAC-SHA256>"
// under a key derived from the session key; the nonce and the PKCE verifier are HMACs of
// the state under that key, so they never leave the daemon and need no storage. A callback
// is accepted only with the cookie its state was issued with (the browser binding that
// stops login CSRF), before the cookie's expiry; one use is UsedStates' job.
class LoginCodec {
 public:
  struct Login {
    std::string state;     // random, 43 base64url characters
    std::string nonce;     // 64 hex characters
    std::string verifier;  // PKCE code_verifier, 64 hex characters
    TimePoint expires_at;
    std::string cookie;  // the login cookie's value
  };
  // `session_key`: the session cookies' key (a derived key is used, never the key itself).
  explicit LoginCodec(std::string_view session_key,
                      std::chrono::seconds ttl = std::chrono::minutes(10));
  std::chrono::seconds ttl() const { return ttl_; }
  Login Start(TimePoint now) const;
  // The login of `state` when `cookie` is the login cookie issued with it and has not
  // expired. kPermissionDenied naming why (no cookie, another sign-in's, forged, expired).
  Result<Login> Check(std::string_view cookie, std::string_view state, TimePoint now) const;

 private:
  Login Derive(std::string state, int64_t expires_ms) const;
  std::string key_;
  std::chrono::seconds ttl_;
};

// The states of sign-ins that already ended with a verified ID token, remembered until
// their login cookie expires: a replayed callback (the same state and cookie again) is
// refused even by a provider that accepts an authorization code twice. Filled only by
// callbacks whose ID token verified and carried the state's nonce (a person the provider
// authenticated, named in the audit trail), never by anonymous requests. Bounded: at
// capacity the expired states go first, then the sign-in is refused (kUnavailable).
class UsedStates {
 public:
  explicit UsedStates(size_t capacity = 65536) : capacity_(capacity) {}
  // Whether `state` was used and its cookie has not expired yet.
  bool Used(std::string_view state, TimePoint now);
  // Marks `state` used until `expires_at`. kPermissionDenied when it already was (a replay,
  // or two callbacks racing), kUnavailable at capacity.
  Status Use(std::string_view state, TimePoint expires_at, TimePoint now);

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, TimePoint> used_;  // guarded by mu_
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_OIDC_SESSION_H_
