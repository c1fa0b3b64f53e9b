// The pure pieces of reviewer and admin sign-in with OpenID Connect (docs/identity.md,
// "Reviewer sign-in"): PKCE (RFC 7636, S256 only), the one-time state/nonce table of
// logins in flight, and the session cookie: an HMAC-SHA256-signed value carrying who, which
// role, a CSRF token and an expiry. No I/O here; the HTTP flow builds on these.
//
// Fail closed: a cookie that does not parse, whose MAC does not match, that is expired or
// over kMaxSessionCookieBytes is refused; a state is usable once, within its lifetime.
// Thread-safety: free functions and SessionCodec are thread-safe; PendingLogins locks.
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

// Logins in flight: state -> (nonce, PKCE verifier), each usable once before it expires.
// Bounded: at capacity the oldest expired entries go first, then the request is refused.
class PendingLogins {
 public:
  struct Login {
    std::string nonce;
    std::string verifier;
    TimePoint expires_at;
  };
  explicit PendingLogins(size_t capacity = 1024,
                         std::chrono::seconds ttl = std::chrono::minutes(10))
      : capacity_(capacity), ttl_(ttl) {}
  // Starts a login; returns its state. kUnavailable when the table is full.
  Result<std::string> Start(TimePoint now, Login* out);
  // Takes the login of `state` (removing it: a replayed state is refused). kPermissionDenied
  // when unknown, already used or expired.
  Result<Login> Take(std::string_view state, TimePoint now);

 private:
  const size_t capacity_;
  const std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Login> pending_;  // guarded by mu_
};

}  // namespace interlock::identity

#endif  // INTERLOCK_IDENTITY_OIDC_SESSION_H_
