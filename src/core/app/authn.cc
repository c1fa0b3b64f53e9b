#include "core/app/authn.h"

#include <iostream>
#include <utility>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/drill_agent.h"
#include "common/json.h"
#include "identity/jwt.h"

namespace interlock::core {

bool IsJwtShaped(std::string_view token) { return identity::LooksLikeJwt(token); }

std::optional<TimePoint> JwtExpiry(std::string_view token) {
  const size_t a = token.find('.');
  const size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto payload = Base64UrlDecode(token.substr(a + 1, b - a - 1));
  if (!payload.ok()) return std::nullopt;
  auto v = ParseJsonStrict(*payload);
  if (!v.ok() || !v->is_object()) return std::nullopt;
  auto exp = identity::NumericDate(v->as_object(), "exp");
  if (!exp.ok() || !*exp) return std::nullopt;
  return TimePoint(std::chrono::seconds(**exp));
}

namespace {

class StoreTable final : public TokenTable {
 public:
  explicit StoreTable(core::Store* store) : store_(store) {}
  Result<Principal> Authenticate(std::string_view token) override {
    return store_->Authenticate(token);
  }
  std::optional<Principal> CachedPrincipal(std::string_view token) override {
    return store_->CachedPrincipal(token);
  }
  Status RecordAuthFailures(const AuthFailures& failures) override {
    return store_->RecordAuthFailures(failures);
  }

 private:
  core::Store* store_;
};

// A failure record is written at most once a second; what comes in between is held back.
constexpr std::chrono::seconds kFailureRecordInterval{1};
constexpr std::chrono::milliseconds kFlushDelay{1100};

}  // namespace

std::unique_ptr<TokenTable> StoreTokenTable(core::Store* store) {
  return std::make_unique<StoreTable>(store);
}

// Positive answers for a short TTL, keyed by the token's SHA-256, so the hot path does not
// ask the store on every request. Sharded to avoid one global lock.
class Authenticator::Cache {
 public:
  Cache(std::chrono::milliseconds ttl, const Clock* clock) : ttl_(ttl), clock_(clock) {}
  bool enabled() const { return ttl_.count() > 0; }

  std::optional<Principal> Get(const std::string& key) {
    if (ttl_.count() <= 0) return std::nullopt;
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    if (clock_->Now() >= it->second.expires) {
      s.map.erase(it);
      return std::nullopt;
    }
    return it->second.principal;
  }

  void Put(const std::string& key, const Principal& p) {
    if (ttl_.count() <= 0) return;
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    if (s.map.size() >= kMaxPerShard) s.map.clear();
    s.map[key] = Entry{p, clock_->Now() + ttl_};
  }

 private:
  static constexpr size_t kMaxPerShard = 4096;
  struct Entry {
    Principal principal;
    TimePoint expires;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
  };
  Shard& ShardFor(const std::string& key) {
    return shards_[static_cast<unsigned char>(key[0]) % shards_.size()];
  }
  std::chrono::milliseconds ttl_;
  const Clock* clock_;
  std::array<Shard, 16> shards_;
};

Authenticator::Authenticator(AuthnOptions options, TokenTable* tokens, const PolicySource* policies,
                             const Clock* clock, AuthnExecutor* executor)
    : options_(std::move(options)),
      tokens_(tokens),
      policies_(policies),
      clock_(clock),
      executor_(executor),
      cache_(std::make_unique<Cache>(options_.cache_ttl, clock)) {}

Authenticator::~Authenticator() { Shutdown(); }

AuthnResult Authenticator::Bearer(std::optional<std::string_view> token, bool header_present) {
  if (!token) {
    return Refuse(
        header_present ? "malformed Authorization header" : "missing token",
        {AuthnOutcome::kUnauthenticated,
         header_present ? "Authorization must be 'Bearer <token>'" : "missing bearer token"});
  }
  if (options_.jwt != nullptr && identity::LooksLikeJwt(*token)) return Jwt(*token);
  return *Interlock(*token, /*may_wait=*/true);
}

std::optional<AuthnResult> Authenticator::BearerWithoutWaiting(
    std::optional<std::string_view> token, bool header_present) {
  if (!token || (options_.jwt != nullptr && identity::LooksLikeJwt(*token))) {
    return Bearer(token, header_present);  // neither reads the token table
  }
  return Interlock(*token, /*may_wait=*/false);
}

void Authenticator::ArmDrill(std::string token) {
  std::lock_guard lock(drill_mu_);
  drill_token_ = std::move(token);
  drill_armed_.store(!drill_token_.empty(), std::memory_order_release);
}

void Authenticator::DisarmDrill() {
  std::lock_guard lock(drill_mu_);
  drill_token_.clear();
  drill_armed_.store(false, std::memory_order_release);
}

std::optional<AuthnResult> Authenticator::Interlock(std::string_view token, bool may_wait) {
  const AuthnRefusal invalid{AuthnOutcome::kUnauthenticated, "invalid or revoked token"};
  if (token.size() > kMaxInterlockTokenBytes) return Refuse("invalid or revoked token", invalid);
  if (drill_armed_.load(std::memory_order_acquire)) {
    std::lock_guard lock(drill_mu_);
    if (!drill_token_.empty() && ConstantTimeEquals(token, drill_token_)) {
      Principal p;
      p.name = std::string(kDrillAgentId);
      p.agent_id = std::string(kDrillAgentId);
      p.role = Role::kAgent;
      return AuthnResult{Caller{std::move(p), {}}, {}};
    }
  }
  // The digest only when the cache is on: the token table hashes the token itself.
  std::string key;
  if (cache_->enabled()) {
    const Sha256Digest digest = Sha256(token);
    key.assign(reinterpret_cast<const char*>(digest.data()), digest.size());
    if (auto p = cache_->Get(key)) return AuthnResult{Caller{std::move(*p), {}}, {}};
  }
  if (!may_wait) {
    std::optional<Principal> held = tokens_->CachedPrincipal(token);
    if (!held) return std::nullopt;
    if (cache_->enabled()) cache_->Put(key, *held);
    return AuthnResult{Caller{std::move(*held), {}}, {}};
  }
  auto p = tokens_->Authenticate(token);
  if (!p.ok()) {
    if (p.error().kind == ErrorKind::kUnavailable || p.error().kind == ErrorKind::kTimeout) {
      // Not the caller's fault and not audited as theirs: the door answers 503.
      return AuthnResult{
          std::nullopt,
          {AuthnOutcome::kUnavailable,
           "the store is unavailable, so the token cannot be checked: " + p.error().message}};
    }
    return Refuse("invalid or revoked token", invalid);
  }
  if (cache_->enabled()) cache_->Put(key, *p);
  return AuthnResult{Caller{std::move(*p), {}}, {}};
}

AuthnResult Authenticator::Jwt(std::string_view token) {
  auto refuse = [this](std::string_view why, std::string reason) {
    return Refuse(why, {AuthnOutcome::kUnauthenticated, std::move(reason), true});
  };
  // Verified tokens are cached by the verifier until their exp. This may run on a network
  // thread, so it never waits for the identity provider: a token whose keys are not known
  // (none yet, or an unknown kid) is refused at once and asks the verifier's own thread
  // for a refresh (at most once per 30 s per issuer; identity/verifier.h).
  auto id = options_.jwt->Verify(token);
  if (!id.ok()) {
    const std::string_view code = identity::RefusalCode(id.error());
    return refuse(code.empty() ? std::string_view("invalid JWT") : code, id.error().message);
  }
  // The agent is the policy whose agent.identity equals the claim (the loader refuses two
  // policies with one identity).
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  const policy::AgentPolicy* agent = nullptr;
  if (set) {
    for (const auto& [agent_id, p] : set->agents) {
      if (p->identity == id->agent) {
        if (agent != nullptr) return refuse("JWT_AMBIGUOUS_IDENTITY", "two policies claim it");
        agent = p.get();
      }
    }
  }
  if (agent == nullptr) {
    return refuse("JWT_NO_AGENT", "no policy has agent.identity '" + id->agent + "'");
  }
  Caller c;
  c.principal.role = Role::kAgent;
  c.principal.agent_id = agent->id;
  c.principal.token_id = "jwt:" + Sha256Hex(token).substr(0, 16);
  // The name the call is recorded and shown under (approvals show it): who, from whom,
  // and for whom.
  c.principal.name = id->agent + " (" + id->issuer + ")";
  if (!id->on_behalf_of.empty()) c.principal.name += " on behalf of " + id->on_behalf_of;
  c.identity = {id->issuer, id->agent, id->on_behalf_of, id->on_behalf_of_groups, id->actor_chain};
  return {std::move(c), {}};
}

AuthnResult Authenticator::OAuthAccessToken(std::string_view token, std::string_view resource,
                                            const std::vector<std::string>& authorization_servers,
                                            std::string_view upstream,
                                            std::optional<std::string> agent) {
  auto refuse = [this](std::string_view why, std::string reason) {
    return Refuse(why, {AuthnOutcome::kUnauthenticated, std::move(reason), true});
  };
  if (options_.jwt == nullptr) return refuse("invalid JWT", "no issuer is trusted");
  auto id = options_.jwt->VerifyAccessToken(token, resource, authorization_servers);
  if (!id.ok()) {
    const std::string_view code = identity::RefusalCode(id.error());
    return refuse(code.empty() ? std::string_view("invalid JWT") : code, id.error().message);
  }
  // The agent is fixed per upstream: the human (sub) and the dynamically registered client
  // say who authorized, never which policy applies.
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  if (!agent || !set || set->Find(*agent) == nullptr) {
    return Refuse("OAUTH_NO_AGENT", {AuthnOutcome::kForbidden,
                                     !agent ? "no agent acts for OAuth clients of /mcp/" +
                                                  std::string(upstream) + " (identity.oauth.agents)"
                                            : "identity.oauth.agents names agent '" + *agent +
                                                  "', which has no policy"});
  }
  Caller c;
  c.principal.role = Role::kAgent;
  c.principal.agent_id = *agent;
  c.principal.token_id = "oauth:" + Sha256Hex(token).substr(0, 16);
  c.principal.name =
      "oauth client " + id->client_id + " (" + id->issuer + ") on behalf of " + id->agent;
  c.identity = {id->issuer, id->client_id, id->on_behalf_of, id->on_behalf_of_groups,
                id->actor_chain};
  return {std::move(c), {}};
}

AuthnResult Authenticator::Refuse(std::string_view why, AuthnRefusal refusal) {
  NoteFailure(why);
  return {std::nullopt, std::move(refusal)};
}

void Authenticator::NoteFailure(std::string_view why, const RefusedSignIn* who) {
  if (options_.count_failure) options_.count_failure();
  std::optional<AuthFailures> due;
  {
    std::lock_guard lock(fail_mu_);
    const TimePoint now = clock_->Now();
    if (held_.count == 0) held_.first = now;
    ++held_.count;
    ++held_.reasons[std::string(why)];
    held_.last = now;
    if (who != nullptr && held_.sign_ins.size() < core::kMaxListedSignIns) {
      held_.sign_ins.push_back(*who);
    }
    // After Shutdown nothing is held back: no flush is left to write it.
    if (now - last_written_ >= kFailureRecordInterval || shut_down_) {
      due = std::exchange(held_, AuthFailures{});
      last_written_ = now;
    } else if (!flush_armed_) {
      // Held back: written within a second even if no other failure comes.
      flush_armed_ = true;
      executor_->ArmFlush(kFlushDelay);
    }
  }
  if (!due) return;
  if (shut_down_) return Write(*due);
  executor_->Post([this, f = std::move(*due)] { Write(f); });
}

void Authenticator::FlushFailures() {
  std::optional<AuthFailures> due;
  {
    std::lock_guard lock(fail_mu_);
    if (flush_armed_) {
      flush_armed_ = false;
      executor_->CancelFlush();
    }
    if (held_.count > 0) {
      due = std::exchange(held_, AuthFailures{});
      last_written_ = clock_->Now();
    }
  }
  if (due) Write(*due);
}

void Authenticator::Shutdown() {
  if (shut_down_.exchange(true)) return;
  FlushFailures();
}

void Authenticator::Write(const AuthFailures& f) {
  if (Status s = tokens_->RecordAuthFailures(f); !s.ok()) {
    std::cerr << "interlock serve: could not record " << f.count
              << " authentication failure(s): " << s.error().message << '\n';
  }
}

bool McpOAuth::IsMetadataPath(std::string_view path) {
  return path.starts_with(identity::kProtectedResourceWellKnown);
}

std::string McpOAuth::UpstreamOfMetadataPath(std::string_view base, std::string_view path) {
  return identity::UpstreamOfMetadataPath(base, path);
}

boost::json::object McpOAuth::Metadata(std::string_view base, std::string_view upstream) const {
  return identity::ProtectedResourceMetadata(config_, base, upstream);
}

std::string McpOAuth::Challenge(std::string_view base, std::string_view upstream,
                                bool invalid_token) const {
  return identity::BearerChallenge(config_, base, upstream, invalid_token);
}

AuthnResult McpOAuth::Authenticate(Authenticator& authn, std::string_view token,
                                   std::string_view base, std::string_view upstream) const {
  auto agent = config_.agents.find(std::string(upstream));
  return authn.OAuthAccessToken(
      token, identity::McpResourceUrl(base, upstream), config_.authorization_servers, upstream,
      agent == config_.agents.end() ? std::nullopt : std::optional<std::string>(agent->second));
}

}  // namespace interlock::core
