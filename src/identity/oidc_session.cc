#include "identity/oidc_session.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/json.h"

namespace interlock::identity {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "v1.";

Error Refuse(std::string why) { return Error::Denied("session cookie refused: " + why); }

}  // namespace

std::string NewRandomToken() { return Base64UrlEncode(RandomBytes(32)); }

std::string NewPkceVerifier() { return NewRandomToken(); }

std::string PkceChallengeS256(std::string_view verifier) {
  const Sha256Digest d = Sha256(verifier);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::string SessionCodec::Encode(const Session& s) const {
  json::object o;
  o["n"] = s.name;
  o["r"] = s.role == SessionRole::kAdmin ? "admin" : "reviewer";
  o["c"] = s.csrf;
  o["e"] = ToUnixMillis(s.expires_at);
  std::string body = std::string(kPrefix) + Base64UrlEncode(json::serialize(o));
  const std::string mac = HmacSha256Hex(key_, body);
  return body + "." + mac;
}

Result<Session> SessionCodec::Decode(std::string_view cookie, TimePoint now) const {
  if (cookie.size() > kMaxSessionCookieBytes) return Refuse("too large");
  if (!cookie.starts_with(kPrefix)) return Refuse("unknown format");
  const size_t dot = cookie.rfind('.');
  if (dot < kPrefix.size()) return Refuse("malformed");
  const std::string_view body = cookie.substr(0, dot);
  const std::string_view mac = cookie.substr(dot + 1);
  const std::string want = HmacSha256Hex(key_, body);
  if (mac.size() != want.size() || !ConstantTimeEquals(mac, want)) return Refuse("bad signature");
  auto raw = Base64UrlDecode(body.substr(kPrefix.size()));
  if (!raw.ok()) return Refuse("malformed");
  auto v = ParseJsonStrict(*raw);
  if (!v.ok() || !v->is_object()) return Refuse("malformed");
  const json::object& o = v->as_object();
  Session s;
  s.name = StringMember(o, "n");
  s.csrf = StringMember(o, "c");
  const std::string role = StringMember(o, "r");
  const json::value* e = o.if_contains("e");
  // An expiry a TimePoint can hold: a larger one overflowed the conversion to nanoseconds
  // (found by fuzz/session_cookie) and is no cookie we signed.
  if (s.name.empty() || s.csrf.empty() || e == nullptr || !e->is_int64() || e->as_int64() < 0 ||
      e->as_int64() >= kMaxUnixMillis) {
    return Refuse("malformed");
  }
  if (role == "admin") {
    s.role = SessionRole::kAdmin;
  } else if (role == "reviewer") {
    s.role = SessionRole::kReviewer;
  } else {
    return Refuse("malformed");
  }
  s.expires_at = FromUnixMillis(e->as_int64());
  if (now >= s.expires_at) return Refuse("expired");
  return s;
}

bool CsrfAllows(const Session& s, std::string_view header_token, std::string_view origin,
                std::string_view own_origin) {
  if (header_token.empty() || header_token.size() != s.csrf.size() ||
      !ConstantTimeEquals(header_token, s.csrf)) {
    return false;
  }
  return origin.empty() || origin == own_origin;
}

Result<std::string> PendingLogins::Start(TimePoint now, Login* out) {
  std::lock_guard lock(mu_);
  if (pending_.size() >= capacity_) {
    std::erase_if(pending_, [&](const auto& kv) { return kv.second.expires_at <= now; });
    if (pending_.size() >= capacity_) {
      return Error::Unavailable("too many sign-ins in flight; try again in a few minutes");
    }
  }
  Login login{NewRandomToken(), NewPkceVerifier(), now + ttl_};
  std::string state = NewRandomToken();
  pending_[state] = login;
  *out = std::move(login);
  return state;
}

Result<PendingLogins::Login> PendingLogins::Take(std::string_view state, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(std::string(state));
  if (it == pending_.end()) {
    return Error::Denied("unknown or already used sign-in state (a replayed or forged callback)");
  }
  Login login = std::move(it->second);
  pending_.erase(it);
  if (now >= login.expires_at) return Error::Denied("the sign-in took too long; start again");
  return login;
}

}  // namespace interlock::identity
