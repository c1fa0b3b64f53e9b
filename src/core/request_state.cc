#include "core/request_state.h"

#include <algorithm>
#include <cstdlib>

#include <boost/json.hpp>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"

namespace interlock::core {

namespace json = boost::json;

namespace {

// The HKDF label: this key is used for nothing else (the audit HMAC key it is derived from
// redacts secrets; see audit/keys.h).
constexpr std::string_view kKeyLabel = "interlock mcp requestState seal v1";
constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 16;
constexpr size_t kMacHexChars = 64;

const char* AnswererName(StateAnswerer a) {
  return a == StateAnswerer::kLocalPerson ? "local" : "reviewers";
}

Error Refuse(StateRefusal r, StateRefusal* out, std::string why) {
  if (out != nullptr) *out = r;
  return r == StateRefusal::kUnavailable
             ? Error::Unavailable("requestState refused: " + std::move(why))
             : Error::Denied("requestState refused: " + std::move(why));
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The payload as Seal writes it; anything else (a missing or extra member, a wrong type)
// is not a state this code sealed, even under a valid MAC (a key shared by mistake).
bool ReadPayload(const json::object& o, RequestStateClaims* c) {
  if (o.size() != 10) return false;
  const json::value* v = o.if_contains("v");
  const json::value* e = o.if_contains("e");
  if (v == nullptr || !v->is_int64() || v->get_int64() != 1) return false;
  if (e == nullptr || !e->is_int64() || e->get_int64() < 0 || e->get_int64() >= kMaxUnixMillis) {
    return false;
  }
  for (const char* k : {"a", "r", "d", "c", "p", "k", "n", "s"}) {
    const json::value* s = o.if_contains(k);
    if (s == nullptr || !s->is_string()) return false;
  }
  c->agent_id = StringMember(o, "a");
  c->run_id = StringMember(o, "r");
  c->args_digest = StringMember(o, "d");
  c->call_id = StringMember(o, "c");
  c->approval_id = StringMember(o, "p");
  c->nonce = StringMember(o, "n");
  c->scope = StringMember(o, "s");
  const std::string answerer = StringMember(o, "k");
  if (answerer == "local") {
    c->answerer = StateAnswerer::kLocalPerson;
  } else if (answerer == "reviewers") {
    c->answerer = StateAnswerer::kReviewers;
  } else {
    return false;
  }
  c->expires_at = FromUnixMillis(e->get_int64());
  return c->nonce.size() == 2 * kNonceBytes && IsLowerHex(c->nonce) && !c->call_id.empty() &&
         !c->approval_id.empty();
}

}  // namespace

const char* StateRefusalName(StateRefusal r) {
  switch (r) {
    case StateRefusal::kNone:
      return "none";
    case StateRefusal::kMalformed:
      return "malformed";
    case StateRefusal::kForged:
      return "forged";
    case StateRefusal::kExpired:
      return "expired";
    case StateRefusal::kOtherAgent:
      return "other_agent";
    case StateRefusal::kOtherRun:
      return "other_run";
    case StateRefusal::kOtherArguments:
      return "other_arguments";
    case StateRefusal::kReplayed:
      return "replayed";
    case StateRefusal::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

std::string ArgumentsDigest(std::string_view tool, const json::object& args) {
  std::string canonical;
  JsonObjectWriter w(JsonStyle::kCanonicalByValue, &canonical);
  w.Object("arguments", args);
  w.String("tool", tool);
  w.End();
  return Sha256Hex(canonical);
}

RequestStates::RequestStates(std::string_view key, const Clock* clock, size_t capacity)
    : key_(HkdfSha256(key, "", kKeyLabel, kKeyBytes)),
      clock_(clock),
      capacity_(std::max<size_t>(capacity, 1)) {
  // A short key is a wiring bug, never input: the states would be guessable.
  if (key.size() < 32) std::abort();
}

std::unique_ptr<RequestStates> RequestStates::WithRandomKey(const Clock* clock) {
  return std::make_unique<RequestStates>(RandomBytes(32), clock);
}

std::string RequestStates::Seal(RequestStateClaims c) const {
  const std::string nonce_bytes = RandomBytes(kNonceBytes);
  c.nonce = HexEncode(reinterpret_cast<const uint8_t*>(nonce_bytes.data()), kNonceBytes);
  const TimePoint latest = clock_->Now() + kMaxRequestStateLifetime;
  const TimePoint expires = std::min(c.expires_at, latest);
  json::object payload{{"v", 1},
                       {"a", c.agent_id},
                       {"r", c.run_id},
                       {"d", c.args_digest},
                       {"c", c.call_id},
                       {"p", c.approval_id},
                       {"k", AnswererName(c.answerer)},
                       {"e", std::max<int64_t>(ToUnixMillis(expires), 0)},
                       {"n", c.nonce},
                       {"s", c.scope}};
  const std::string body =
      std::string(kRequestStatePrefix) + Base64UrlEncode(CanonicalJson(json::value(payload)));
  return body + "." + HmacSha256Hex(key_, body);
}

std::string RequestStates::SealFor(RequestStateClaims claims, std::chrono::milliseconds ttl) const {
  const TimePoint now = clock_->Now();
  claims.expires_at =
      ttl >= std::chrono::duration_cast<std::chrono::milliseconds>(kMaxRequestStateLifetime)
          ? now + kMaxRequestStateLifetime
          : now + std::max(ttl, std::chrono::milliseconds(0));
  return Seal(std::move(claims));
}

Result<RequestStateClaims> RequestStates::Open(std::string_view state,
                                               const RequestStateBinding& expected,
                                               StateRefusal* refusal) {
  if (refusal != nullptr) *refusal = StateRefusal::kNone;
  if (state.size() > kMaxRequestStateBytes) {
    return Refuse(StateRefusal::kMalformed, refusal, "too long");
  }
  if (!state.starts_with(kRequestStatePrefix)) {
    return Refuse(StateRefusal::kMalformed, refusal, "not an Interlock request state");
  }
  const size_t dot = state.rfind('.');
  if (dot < kRequestStatePrefix.size() || state.size() - dot - 1 != kMacHexChars) {
    return Refuse(StateRefusal::kMalformed, refusal, "truncated or malformed");
  }
  const std::string_view body = state.substr(0, dot);
  const std::string_view mac = state.substr(dot + 1);
  if (!ConstantTimeEquals(mac, HmacSha256Hex(key_, body))) {
    return Refuse(StateRefusal::kForged, refusal,
                  "its signature does not verify (forged, altered, or issued under another key)");
  }
  auto raw = Base64UrlDecode(body.substr(kRequestStatePrefix.size()));
  if (!raw.ok()) return Refuse(StateRefusal::kMalformed, refusal, "malformed payload");
  auto doc = ParseJsonStrict(*raw, JsonLimits{kMaxRequestStateBytes, 4});
  RequestStateClaims c;
  if (!doc.ok() || !doc->is_object() || !ReadPayload(doc->get_object(), &c)) {
    return Refuse(StateRefusal::kMalformed, refusal, "malformed payload");
  }
  const TimePoint now = clock_->Now();
  if (now >= c.expires_at) {
    return Refuse(StateRefusal::kExpired, refusal,
                  "expired at " + FormatRfc3339(c.expires_at) + "; retry the tool call afresh");
  }
  if (c.agent_id != expected.agent_id) {
    return Refuse(StateRefusal::kOtherAgent, refusal, "it was issued to another agent");
  }
  // Another run of the same scope: the daemon restarted, or another daemon of the fleet
  // answers this client (header comment).
  // A state bound to no run (a wiring bug) never opens.
  const bool same_run = !c.run_id.empty() && c.run_id == expected.run_id;
  const bool same_scope = !c.scope.empty() && c.scope == expected.scope;
  if (!same_run && !same_scope) {
    return Refuse(StateRefusal::kOtherRun, refusal, "it was issued in another run");
  }
  if (c.args_digest != expected.args_digest) {
    return Refuse(StateRefusal::kOtherArguments, refusal,
                  "it was issued for another tool call (the tool or its arguments differ)");
  }
  if (Status s = Consume(c.nonce, c.expires_at, now); !s.ok()) {
    return Refuse(s.error().kind == ErrorKind::kUnavailable ? StateRefusal::kUnavailable
                                                            : StateRefusal::kReplayed,
                  refusal, s.error().message);
  }
  return c;
}

Status RequestStates::Consume(const std::string& nonce, TimePoint expires_at, TimePoint now) {
  std::lock_guard lock(mu_);
  if (used_.count(nonce) != 0) {
    return Error::Denied("it was used before (each state is good for one retry)");
  }
  if (used_.size() >= capacity_) {
    std::erase_if(used_, [now](const auto& kv) { return kv.second <= now; });
    if (used_.size() >= capacity_) {
      return Error::Unavailable("too many request states in use; retry the tool call later");
    }
  }
  used_.emplace(nonce, expires_at);
  return Status::Ok();
}

size_t RequestStates::remembered() const {
  std::lock_guard lock(mu_);
  return used_.size();
}

}  // namespace interlock::core
