#include "identity/verifier.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include <boost/json/value.hpp>

#include "common/glob.h"
#include "common/status_macros.h"
#include "outbound/http_endpoint.h"

namespace interlock::identity {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

// The value at a claim name, or else at a dotted path ("act.sub"). nullptr when absent;
// `blocked` (when given) is set when a step of the path is there but is not an object
// ("act": "alice" for "act.sub").
const json::value* ClaimValue(const json::object& claims, std::string_view path,
                              bool* blocked = nullptr) {
  if (const json::value* v = claims.if_contains(path)) return v;
  const json::object* o = &claims;
  for (;;) {
    const size_t dot = path.find('.');
    const json::value* v = o->if_contains(path.substr(0, dot));
    if (!v || dot == std::string_view::npos) return v;
    o = v->if_object();
    if (!o) {
      if (blocked != nullptr) *blocked = true;
      return nullptr;
    }
    path = path.substr(dot + 1);
  }
}

// The string at a claim name or dotted path. nullptr when absent or not a string.
const json::string* ClaimString(const json::object& claims, std::string_view path) {
  const json::value* v = ClaimValue(claims, path);
  return v ? v->if_string() : nullptr;
}

// The human a token names at `path`: "" when the claim is absent. A claim that is there
// but is not a string (a number, an array, an object) is refused rather than read as
// "nobody": a policy's on_behalf_of rules must not be stepped around by the claim's shape.
Result<std::string> OnBehalfOf(const json::object& claims, std::string_view path) {
  bool blocked = false;
  const json::value* v = ClaimValue(claims, path, &blocked);
  if (v == nullptr && !blocked) return std::string();
  if (v == nullptr || !v->is_string()) {
    return Refusal(code::kMalformed, "\"" + std::string(path) + "\" is not a string");
  }
  return std::string(v->as_string());
}

// The strings at a claim name or dotted path: an array of strings, or a single string.
// Empty when absent; another shape (a number, an object, an array holding anything but
// strings) is refused, since a dropped group could be the one a deny rule names.
Result<std::vector<std::string>> ClaimStrings(const json::object& claims, std::string_view path) {
  std::vector<std::string> out;
  const json::value* v = ClaimValue(claims, path);
  if (v == nullptr) return out;
  if (const json::string* s = v->if_string()) {
    out.emplace_back(*s);
    return out;
  }
  const json::array* a = v->if_array();
  if (a == nullptr) {
    return Refusal(code::kMalformed,
                   "\"" + std::string(path) + "\" is neither a string nor an array of strings");
  }
  for (const json::value& e : *a) {
    if (!e.is_string()) {
      return Refusal(code::kMalformed, "\"" + std::string(path) + "\" holds a non-string");
    }
    out.emplace_back(e.as_string());
  }
  return out;
}

// The actor chain of `claims` (VerifiedIdentity::actor_chain). An `act` (at any depth)
// that is not an object, or an actor whose `sub` or `client_id` is there but not a string,
// is refused rather than cut short; so is a chain deeper than kMaxActorChain.
Result<std::vector<std::string>> ActorChain(const json::object& claims) {
  std::vector<std::string> chain;
  const json::value* act = claims.if_contains("act");
  while (act != nullptr) {
    const json::object* o = act->if_object();
    if (o == nullptr) {
      // The outermost `act` as a plain string is the on_behalf_of claim's shape error.
      return Refusal(code::kMalformed, chain.empty() ? "\"act\" is not an object"
                                                     : "a nested \"act\" is not an object");
    }
    if (chain.size() == kMaxActorChain) {
      return Refusal(code::kActorChainTooDeep,
                     "the token's actor chain (nested \"act\") is deeper than " +
                         std::to_string(kMaxActorChain));
    }
    std::string name;
    for (const char* k : {"client_id", "sub"}) {  // sub wins over client_id
      if (const json::value* v = o->if_contains(k); v != nullptr) {
        if (!v->is_string()) {
          return Refusal(code::kMalformed, "an actor's \"" + std::string(k) + "\" is not a string");
        }
        name = std::string(v->as_string());
      }
    }
    chain.push_back(std::move(name));
    act = o->if_contains("act");
  }
  return chain;
}

bool AudienceMatches(const json::value* aud, std::string_view want) {
  if (!aud) return false;
  if (aud->is_string()) return aud->as_string() == want;
  if (!aud->is_array()) return false;
  for (const json::value& a : aud->as_array()) {
    if (a.is_string() && a.as_string() == want) return true;
  }
  return false;
}

// RFC 8707 audience of an access token: exactly one resource.
bool AudienceIsExactly(const json::value* aud, std::string_view want) {
  if (!aud) return false;
  if (aud->is_string()) return aud->as_string() == want;
  return aud->is_array() && aud->as_array().size() == 1 && aud->as_array()[0].is_string() &&
         aud->as_array()[0].as_string() == want;
}

std::vector<IssuerConfig> WithEffectiveClaims(std::vector<IssuerConfig> issuers) {
  for (IssuerConfig& c : issuers) c.on_behalf_of_claim = EffectiveOnBehalfOfClaim(c);
  return issuers;
}

}  // namespace

std::string EffectiveOnBehalfOfClaim(const IssuerConfig& c) {
  if (!c.on_behalf_of_claim.empty()) return c.on_behalf_of_claim;
  return c.agent_claim == "act.sub" ? "sub" : "act.sub";
}

bool IdentityPatternMatches(std::string_view pattern, std::string_view identity) {
  // The common glob; ParseIssuers admits a `*` only as the last byte, where the glob
  // and a prefix test agree.
  return GlobMatches(pattern, identity);
}

struct Verifier::IssuerState {
  std::mutex fetch_mu;  // one fetch of this issuer at a time (scheduled or on demand)
  mutable std::mutex mu;
  std::shared_ptr<const Jwks> keys;  // null until the first successful fetch
  TimePoint fetched_at{};            // of `keys`
  uint64_t generation = 0;
  std::string last_error;
  // On demand: the earliest time (Unix ms) a token may ask for a refresh again. Checked
  // and advanced with one compare-and-swap, before any lock.
  std::atomic<int64_t> next_ask_ms{std::numeric_limits<int64_t>::min()};
  bool wanted = false;  // asked, not yet taken by the refresh thread (under refresh_mu_)
};

size_t Verifier::DigestHash::operator()(const Sha256Digest& d) const {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

bool LooksLikeJwt(std::string_view token) {
  // Every JSON object header starts with '{', which base64url-encodes to "ey".
  if (token.size() < 5 || token.substr(0, 2) != "ey") return false;
  size_t dots = 0;
  for (char c : token) dots += c == '.';
  return dots == 2;
}

Status ValidateIssuerConfig(const IssuerConfig& c) {
  auto https = [](const std::string& url, const char* field) -> Status {
    auto ep = outbound::ParseHttpEndpoint(url);
    if (!ep.ok()) return Error::Invalid(std::string(field) + ": " + ep.error().message);
    if (!ep->tls) return Error::Invalid(std::string(field) + " must be an https:// URL");
    if (ep->has_userinfo || ep->has_fragment) {
      return Error::Invalid(std::string(field) + " must not carry userinfo or a fragment");
    }
    return Status::Ok();
  };
  if (c.issuer.empty()) return Error::Invalid("issuer is required");
  INTERLOCK_RETURN_IF_ERROR(https(c.issuer, "issuer"));
  if (c.audience.empty()) return Error::Invalid("audience is required");
  if (!c.jwks_uri.empty()) {
    INTERLOCK_RETURN_IF_ERROR(https(c.jwks_uri, "jwks_uri"));
  }
  if (c.agent_claim.empty()) return Error::Invalid("agent_claim must not be empty");
  if (EffectiveOnBehalfOfClaim(c) == c.agent_claim) {
    return Error::Invalid(
        "on_behalf_of_claim \"" + c.agent_claim +
        "\" is also the agent_claim: the agent would be recorded as the human it acts for "
        "(who could then approve her own delegated call); for an RFC 8693 delegation token "
        "set agent_claim: \"act.sub\" and on_behalf_of_claim: \"sub\"");
  }
  if (c.skew < seconds(0) || c.skew > std::chrono::minutes(10)) {
    return Error::Invalid("skew must be 0..600 seconds");
  }
  if (c.max_lifetime <= seconds(0)) return Error::Invalid("max_lifetime must be positive");
  if (c.max_key_age <= seconds(0)) return Error::Invalid("max_key_age must be positive");
  if (c.refresh_interval < kOnDemandInterval) {
    return Error::Invalid("refresh_interval must be at least 30 seconds");
  }
  for (const std::string& p : c.identities) {
    const size_t star = p.find('*');
    if (p.empty() || p == "*" || (star != std::string::npos && star != p.size() - 1)) {
      return Error::Invalid("identities: '" + p +
                            "' must be an identity or a prefix ending in '*' (not '*' alone)");
    }
  }
  return Status::Ok();
}

Verifier::Verifier(std::vector<IssuerConfig> issuers, JwksFetcher* fetcher, const Clock* clock,
                   size_t cache_capacity)
    : configs_(WithEffectiveClaims(std::move(issuers))),
      fetcher_(fetcher),
      clock_(clock),
      cache_capacity_(cache_capacity) {
  for (size_t i = 0; i < configs_.size(); ++i) states_.push_back(std::make_unique<IssuerState>());
  refresher_ = std::thread([this] { RefreshLoop(); });
}

Verifier::~Verifier() {
  {
    std::lock_guard lock(refresh_mu_);
    stop_ = true;
  }
  refresh_cv_.notify_all();
  refresher_.join();  // a fetch in flight ends within the fetcher's own timeout
}

size_t Verifier::cache_size() const {
  std::lock_guard lock(cache_mu_);
  return cache_.size();
}

bool Verifier::KeysFresh(size_t index, uint64_t generation) const {
  const IssuerState& st = *states_[index];
  std::lock_guard lock(st.mu);
  return st.keys && st.generation == generation &&
         clock_->Now() - st.fetched_at <= configs_[index].max_key_age;
}

bool Verifier::Refresh(size_t index, std::string* error) {
  IssuerState& st = *states_[index];
  std::lock_guard fetch_lock(st.fetch_mu);
  Result<std::string> text = fetcher_->Fetch(configs_[index]);
  Result<Jwks> parsed = text.ok() ? ParseJwks(*text) : Result<Jwks>(text.error());
  std::lock_guard lock(st.mu);
  if (!parsed.ok()) {
    st.last_error = parsed.error().message;
    *error = "fetching the issuer's keys failed: " + parsed.error().message;
    return false;
  }
  st.keys = std::make_shared<const Jwks>(std::move(*parsed));
  st.fetched_at = clock_->Now();
  st.last_error.clear();
  ++st.generation;
  return true;
}

bool Verifier::RequestRefresh(size_t index) {
  IssuerState& st = *states_[index];
  const int64_t now_ms = ToUnixMillis(clock_->Now());
  int64_t next = st.next_ask_ms.load(std::memory_order_relaxed);
  // Rate limit first, lock-free: of a flood of tokens, one per 30 s gets past this line.
  if (now_ms < next) return false;
  const int64_t interval_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(kOnDemandInterval).count();
  if (!st.next_ask_ms.compare_exchange_strong(next, now_ms + interval_ms)) return false;
  {
    // Held only to hand the work over: the refresh thread never fetches under it.
    std::lock_guard lock(refresh_mu_);
    if (st.wanted) return true;  // still queued from before
    st.wanted = true;
    ++refreshing_;
  }
  refresh_cv_.notify_one();
  return true;
}

void Verifier::RefreshLoop() {
  std::unique_lock lock(refresh_mu_);
  for (;;) {
    refresh_cv_.wait(lock, [&] { return stop_ || refreshing_ > 0; });
    if (stop_) return;
    std::vector<size_t> due;
    for (size_t i = 0; i < states_.size(); ++i) {
      if (states_[i]->wanted) due.push_back(i);
      states_[i]->wanted = false;
    }
    lock.unlock();
    for (size_t i : due) {
      std::string error;
      Refresh(i, &error);  // a failure keeps the cached keys; its message is kept
    }
    lock.lock();
    refreshing_ -= due.size();
    idle_cv_.notify_all();
  }
}

bool Verifier::WaitForRefreshes(std::chrono::milliseconds timeout) {
  std::unique_lock lock(refresh_mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return refreshing_ == 0; });
}

void Verifier::RefreshDue() {
  for (size_t i = 0; i < configs_.size(); ++i) {
    bool due;
    {
      std::lock_guard lock(states_[i]->mu);
      due = !states_[i]->keys ||
            clock_->Now() - states_[i]->fetched_at >= configs_[i].refresh_interval;
    }
    std::string error;
    if (due) Refresh(i, &error);
  }
}

Result<VerifiedIdentity> Verifier::Verify(std::string_view token,
                                          std::chrono::milliseconds wait_for_keys) {
  if (token.size() > kMaxTokenBytes) {
    return Refusal(code::kTooLarge, "token over " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  const Sha256Digest digest = Sha256(token);
  Result<VerifiedIdentity> id = VerifyCached(token, digest, nullptr);
  if (id.ok() || wait_for_keys <= std::chrono::milliseconds(0)) return id;
  const std::string_view c = RefusalCode(id.error());
  if (c != code::kUnknownKid && c != code::kKeysUnavailable) return id;
  // This caller may wait (it is off the network threads): for the refresh it asked for.
  if (!WaitForRefreshes(wait_for_keys)) return id;
  return VerifyCached(token, digest, nullptr);
}

Result<VerifiedIdentity> Verifier::VerifyAccessToken(std::string_view token,
                                                     std::string_view resource,
                                                     const std::vector<std::string>& issuers) {
  if (token.size() > kMaxTokenBytes) {
    return Refusal(code::kTooLarge, "token over " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  // Keyed by resource and token: the same token verified for another resource (or as a
  // workload identity) is another entry. A JWT never contains '\n'.
  std::string keyed;
  keyed.reserve(resource.size() + 1 + token.size());
  keyed.append(resource).append(1, '\n').append(token);
  const AccessTokenCheck at{resource, &issuers};
  return VerifyCached(token, Sha256(keyed), &at);
}

Result<VerifiedIdentity> Verifier::VerifyCached(std::string_view token, const Sha256Digest& digest,
                                                const AccessTokenCheck* at) {
  std::optional<CacheEntry> hit;
  {
    std::lock_guard lock(cache_mu_);
    if (auto it = cache_.find(digest); it != cache_.end()) hit = it->second;
  }
  if (hit) {
    const IssuerConfig& cfg = configs_[hit->issuer_index];
    // An access token's entry holds only for the authorization servers asked for now.
    const bool issuer_ok = at == nullptr || std::find(at->issuers->begin(), at->issuers->end(),
                                                      cfg.issuer) != at->issuers->end();
    if (issuer_ok && clock_->Now() < hit->identity.expires_at + cfg.skew &&
        KeysFresh(hit->issuer_index, hit->key_generation)) {
      return hit->identity;
    }
    std::lock_guard lock(cache_mu_);
    cache_.erase(digest);  // expired, or keys changed since: verify again below
  }
  size_t index = 0;
  uint64_t generation = 0;
  auto id = VerifyUncached(token, at, &index, &generation);
  if (!id.ok()) return id;
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= cache_capacity_) {
    const TimePoint now = clock_->Now();
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.identity.expires_at <= now; });
    if (cache_.size() >= cache_capacity_) cache_.clear();
  }
  cache_[digest] = CacheEntry{*id, index, generation};
  return id;
}

namespace {

// The token's time claims (RFC 7519 section 4.1) at `now` (seconds), within the issuer's
// skew and max_lifetime: its "exp", or the refusal.
Result<int64_t> CheckTimeClaims(const json::object& claims, const IssuerConfig& cfg, int64_t now) {
  auto exp = NumericDate(claims, "exp");
  if (!exp.ok()) return exp.error();
  if (!*exp) return Refusal(code::kNoExp, "the token has no \"exp\" (it would never expire)");
  auto nbf = NumericDate(claims, "nbf");
  if (!nbf.ok()) return nbf.error();
  auto iat = NumericDate(claims, "iat");
  if (!iat.ok()) return iat.error();
  const int64_t skew = cfg.skew.count();
  if (**exp + skew <= now) return Refusal(code::kExpired, "the token expired");
  if (*nbf && **nbf > now + skew) {
    return Refusal(code::kNotYetValid, "\"nbf\" is in the future beyond the allowed skew");
  }
  if (*iat && **iat > now + skew) {
    return Refusal(code::kIssuedInFuture, "\"iat\" is in the future beyond the allowed skew");
  }
  const int64_t start = *iat ? **iat : *nbf ? **nbf : now;
  if (**exp - start > cfg.max_lifetime.count()) {
    return Refusal(code::kLifetime, "the token is valid for " + std::to_string(**exp - start) +
                                        " s, more than max_lifetime " +
                                        std::to_string(cfg.max_lifetime.count()) + " s");
  }
  return **exp;
}

// An access token's identity: the human (sub), the client they authorized, and their groups
// where the issuer names the claim.
Status AccessTokenIdentity(const json::object& claims, const IssuerConfig& cfg,
                           VerifiedIdentity* id) {
  const json::string* sub = ClaimString(claims, "sub");
  if (!sub || sub->empty()) return Refusal(code::kNoIdentity, "the token has no string \"sub\"");
  const json::value* cid = claims.if_contains("client_id");
  if (!cid) cid = claims.if_contains("azp");
  if (!cid || !cid->is_string() || cid->as_string().empty()) {
    return Refusal(code::kNoIdentity, "the access token has no string \"client_id\"");
  }
  id->agent = std::string(*sub);
  id->on_behalf_of = id->agent;
  id->client_id = std::string(cid->as_string());
  if (!cfg.on_behalf_of_groups_claim.empty()) {
    auto groups = ClaimStrings(claims, cfg.on_behalf_of_groups_claim);
    if (!groups.ok()) return groups.error();
    id->on_behalf_of_groups = std::move(*groups);
  }
  return Status::Ok();
}

}  // namespace

Result<VerifiedIdentity> Verifier::VerifyUncached(std::string_view token,
                                                  const AccessTokenCheck* at, size_t* issuer_index,
                                                  uint64_t* generation) {
  auto jwt = ParseJwt(token);
  if (!jwt.ok()) return jwt.error();
  const json::object& claims = jwt->claims;

  const json::string* iss = ClaimString(claims, "iss");  // null when absent or not a string
  if (iss == nullptr) {
    return Refusal(code::kIssuer, "the token has no string \"iss\"");
  }
  size_t index = configs_.size();
  for (size_t i = 0; i < configs_.size(); ++i) {
    if (configs_[i].issuer == std::string_view(*iss)) index = i;
  }
  if (index == configs_.size()) {
    return Refusal(code::kIssuer, "issuer \"" + std::string(*iss) + "\" is not trusted");
  }
  if (at != nullptr && std::find(at->issuers->begin(), at->issuers->end(),
                                 std::string_view(*iss)) == at->issuers->end()) {
    return Refusal(code::kIssuer,
                   "issuer \"" + std::string(*iss) + "\" is not an authorization server here");
  }
  const IssuerConfig& cfg = configs_[index];
  IssuerState& st = *states_[index];

  // The keys as they are now: never fetched here (see the header). A token that needs
  // others asks the refresh thread for them and is refused at once.
  std::shared_ptr<const Jwks> keys;
  std::string last_error;
  {
    std::lock_guard lock(st.mu);
    if (st.keys && clock_->Now() - st.fetched_at <= cfg.max_key_age) keys = st.keys;
    *generation = st.generation;
    last_error = st.last_error;
  }
  auto retry_hint = [&](bool asked) {
    std::string hint = asked ? "; the issuer's keys are being fetched, retry in a few seconds"
                             : "; the issuer's keys are fetched at most every 30 s on demand, "
                               "retry later";
    if (!last_error.empty()) hint += " (last fetch: " + last_error + ")";
    return hint;
  };
  if (!keys) {
    const bool asked = RequestRefresh(index);
    return Refusal(code::kKeysUnavailable, "no keys of issuer \"" + cfg.issuer +
                                               "\" younger than max_key_age" + retry_hint(asked));
  }
  auto key = keys->Find(jwt->kid, jwt->alg);
  if (!key.ok()) {
    if (RefusalCode(key.error()) != code::kUnknownKid) return key.error();
    // Rotation: the issuer may have published a new key since the last fetch.
    const bool asked = RequestRefresh(index);
    return Refusal(
        code::kUnknownKid,
        key.error().message.substr(std::strlen(code::kUnknownKid) + 2) + retry_hint(asked));
  }
  if (Status s = VerifySignature(*jwt, **key); !s.ok()) return s.error();

  // Claims (RFC 7519 section 4.1), all after the signature: nothing unverified is trusted.
  if (at != nullptr) {
    if (!AudienceIsExactly(claims.if_contains("aud"), at->resource)) {
      return Refusal(code::kAudience,
                     "\"aud\" is not exactly this resource \"" + std::string(at->resource) + "\"");
    }
  } else if (!AudienceMatches(claims.if_contains("aud"), cfg.audience)) {
    return Refusal(code::kAudience, "\"aud\" does not contain \"" + cfg.audience + "\"");
  }
  const int64_t now = std::chrono::duration_cast<seconds>(clock_->Now().time_since_epoch()).count();
  Result<int64_t> exp = CheckTimeClaims(claims, cfg, now);
  if (!exp.ok()) return exp.error();

  VerifiedIdentity id;
  id.issuer = cfg.issuer;
  id.expires_at = FromUnixMillis(*exp * 1000);
  Result<std::vector<std::string>> actors = ActorChain(claims);
  if (!actors.ok()) return actors.error();
  id.actor_chain = std::move(*actors);
  *issuer_index = index;
  if (at != nullptr) {
    if (Status st = AccessTokenIdentity(claims, cfg, &id); !st.ok()) return st.error();
    return id;
  }
  const json::string* agent = ClaimString(claims, cfg.agent_claim);
  if (!agent || agent->empty()) {
    return Refusal(code::kNoIdentity, "the token has no string claim \"" + cfg.agent_claim + "\"");
  }
  id.agent = std::string(*agent);
  // Issuer binding: an identity bound to one issuer is asserted by that issuer only.
  auto bound_by = [&](const IssuerConfig& c) {
    return std::any_of(c.identities.begin(), c.identities.end(),
                       [&](const std::string& p) { return IdentityPatternMatches(p, id.agent); });
  };
  if (!cfg.identities.empty() && !bound_by(cfg)) {
    return Refusal(code::kIssuerNotBound, "issuer \"" + cfg.issuer +
                                              "\" may not assert identity \"" + id.agent +
                                              "\" (not in its identities)");
  }
  for (size_t i = 0; i < configs_.size(); ++i) {
    if (i != index && bound_by(configs_[i])) {
      return Refusal(code::kIssuerNotBound, "identity \"" + id.agent + "\" is bound to issuer \"" +
                                                configs_[i].issuer + "\"");
    }
  }
  // configs_ hold the effective claim (the constructor resolved the default).
  auto obo = OnBehalfOf(claims, cfg.on_behalf_of_claim);
  if (!obo.ok()) return obo.error();
  id.on_behalf_of = std::move(*obo);
  if (!id.on_behalf_of.empty() && !cfg.on_behalf_of_groups_claim.empty()) {
    auto groups = ClaimStrings(claims, cfg.on_behalf_of_groups_claim);
    if (!groups.ok()) return groups.error();
    id.on_behalf_of_groups = std::move(*groups);
  }
  return id;
}

}  // namespace interlock::identity
