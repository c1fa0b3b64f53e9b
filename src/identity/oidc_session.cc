#include "identity/oidc_session.h"

#include <optional>

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

Error RefuseCookie(std::string why) { return Error::Denied("session cookie refused: " + why); }

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
  if (cookie.size() > kMaxSessionCookieBytes) return RefuseCookie("too large");
  if (!cookie.starts_with(kPrefix)) return RefuseCookie("unknown format");
  const size_t dot = cookie.rfind('.');
  if (dot < kPrefix.size()) return RefuseCookie("malformed");
  const std::string_view body = cookie.substr(0, dot);
  const std::string_view mac = cookie.substr(dot + 1);
  const std::string want = HmacSha256Hex(key_, body);
  if (mac.size() != want.size() || !ConstantTimeEquals(mac, want))
    return RefuseCookie("bad signature");
  auto raw = Base64UrlDecode(body.substr(kPrefix.size()));
  if (!raw.ok()) return RefuseCookie("malformed");
  auto v = ParseJsonStrict(*raw);
  if (!v.ok() || !v->is_object()) return RefuseCookie("malformed");
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
    return RefuseCookie("malformed");
  }
  if (role == "admin") {
    s.role = SessionRole::kAdmin;
  } else if (role == "reviewer") {
    s.role = SessionRole::kReviewer;
  } else {
    return RefuseCookie("malformed");
  }
  s.expires_at = FromUnixMillis(e->as_int64());
  if (now >= s.expires_at) return RefuseCookie("expired");
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

namespace {

constexpr std::string_view kLoginPrefix = "l1.";

Error RefuseLogin(std::string why) { return Error::Denied(std::move(why)); }

// The expiry of a login cookie: decimal milliseconds as the codec writes them (no sign, no
// leading zero), that a TimePoint can hold.
std::optional<int64_t> ParseExpiryMillis(std::string_view s) {
  if (s.empty() || s.size() > 15 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v >= kMaxUnixMillis) return std::nullopt;
  return v;
}

}  // namespace

LoginCodec::LoginCodec(std::string_view session_key, std::chrono::seconds ttl)
    : key_(HmacSha256Hex(session_key, "interlock oidc login cookie v1")), ttl_(ttl) {}

LoginCodec::Login LoginCodec::Derive(std::string state, int64_t expires_ms) const {
  Login l;
  l.nonce = HmacSha256Hex(key_, "nonce." + state);
  l.verifier = HmacSha256Hex(key_, "pkce." + state);
  l.expires_at = FromUnixMillis(expires_ms);
  const std::string body = std::string(kLoginPrefix) + state + "." + std::to_string(expires_ms);
  l.cookie = body + "." + HmacSha256Hex(key_, body);
  l.state = std::move(state);
  return l;
}

LoginCodec::Login LoginCodec::Start(TimePoint now) const {
  return Derive(NewRandomToken(), ToUnixMillis(now + ttl_));
}

Result<LoginCodec::Login> LoginCodec::Check(std::string_view cookie, std::string_view state,
                                            TimePoint now) const {
  constexpr std::string_view kNotThisBrowser =
      "this sign-in was not started in this browser (a forged or stolen callback); start again";
  if (cookie.empty() || cookie.size() > kMaxLoginCookieBytes || !cookie.starts_with(kLoginPrefix)) {
    return RefuseLogin(std::string(kNotThisBrowser));
  }
  const size_t mac_dot = cookie.rfind('.');
  const std::string_view body = cookie.substr(0, mac_dot);
  const std::string_view mac = cookie.substr(mac_dot + 1);
  const std::string want = HmacSha256Hex(key_, body);
  if (mac.size() != want.size() || !ConstantTimeEquals(mac, want)) {
    return RefuseLogin(std::string(kNotThisBrowser));
  }
  const std::string_view rest = body.substr(kLoginPrefix.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return RefuseLogin(std::string(kNotThisBrowser));
  const std::string_view bound = rest.substr(0, dot);
  const std::optional<int64_t> expires_ms = ParseExpiryMillis(rest.substr(dot + 1));
  if (!expires_ms || bound.size() != state.size() || !ConstantTimeEquals(bound, state)) {
    return RefuseLogin(std::string(kNotThisBrowser));
  }
  if (now >= FromUnixMillis(*expires_ms)) {
    return RefuseLogin("the sign-in took too long; start again");
  }
  return Derive(std::string(state), *expires_ms);
}

bool UsedStates::Used(std::string_view state, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = used_.find(std::string(state));
  return it != used_.end() && now < it->second;
}

Status UsedStates::Use(std::string_view state, TimePoint expires_at, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = used_.find(std::string(state));
  if (it != used_.end() && now < it->second) {
    return Error::Denied("this sign-in's callback was already used (a replayed callback)");
  }
  if (it == used_.end() && used_.size() >= capacity_) {
    std::erase_if(used_, [&](const auto& kv) { return kv.second <= now; });
    if (used_.size() >= capacity_) {
      return Error::Unavailable("too many sign-ins in the last minutes; try again shortly");
    }
  }
  used_[std::string(state)] = expires_at;
  return Status::Ok();
}

}  // namespace interlock::identity
