#include "identity/credential_broker.h"

#include <algorithm>
#include <cctype>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/escape.h"
#include "common/json.h"
#include "common/text.h"
#include "identity/jwt.h"
#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"
#include "outbound/tls_client.h"

namespace interlock::identity {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

constexpr size_t kMaxDescriptionBytes = 200;
constexpr int64_t kMaxExpiresIn = 24 * 3600;

Error Unavailable(const std::string& upstream, const std::string& why) {
  return Error::Unavailable(std::string(kCredentialUnavailable) + ": no credential for upstream " +
                            upstream + ": " + why);
}

// A value from the identity provider, fit for a message: bounded, printable ASCII only.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxDescriptionBytes)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

bool Loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost";
}

std::vector<std::string> SplitScopes(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string JoinScopes(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// `text` with every secret of `secrets` (4 bytes or more; a shorter one would mask letters,
// not secrets) replaced by "[secret]", longest first so that no part of one survives.
std::string MaskSecrets(std::string text, std::vector<std::string> secrets) {
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& x, const std::string& y) { return x.size() > y.size(); });
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[secret]");
      at += 8;
    }
  }
  return text;
}

bool Subset(const std::vector<std::string>& got, const std::vector<std::string>& asked) {
  return std::all_of(got.begin(), got.end(), [&](const std::string& s) {
    return std::find(asked.begin(), asked.end(), s) != asked.end();
  });
}

}  // namespace

const char* CredentialKindName(CredentialKind k) {
  return k == CredentialKind::kTokenExchange ? "token_exchange" : "client_credentials";
}

Status ValidateCredentialConfig(const CredentialConfig& c) {
  const std::string where = "mcp.upstreams." + c.upstream + ".credentials";
  auto ep = outbound::ParseHttpEndpoint(c.token_url);
  if (!ep.ok()) return Error::Invalid(where + ".token_url: " + ep.error().message);
  if (!ep->tls && !Loopback(ep->host)) {
    return Error::Invalid(where + ".token_url must be https (plain http only to 127.0.0.1)");
  }
  if (ep->has_userinfo || ep->has_fragment) {
    return Error::Invalid(where + ".token_url must have no user info and no fragment");
  }
  if (c.kind == CredentialKind::kTokenExchange && c.audience.empty()) {
    return Error::Invalid(where + ".token_exchange.audience is required");
  }
  if (c.client.client_id.empty() ||
      (c.client.client_secret.empty() && c.client.assertion_key_pem.empty())) {
    return Error::Invalid(where +
                          ": client_id and client_secret_file (or client_assertion) are required");
  }
  if (c.kind == CredentialKind::kTokenExchange && !c.agents.empty()) {
    return Error::Invalid(where + ".token_exchange: agents applies to client_credentials");
  }
  for (const auto& [agent, client] : c.agents) {
    if (client.client_id.empty() || client.client_secret.empty()) {
      return Error::Invalid(where + ".agents." + agent + ": client_id and client_secret_file");
    }
  }
  for (const std::string& s : c.scope) {
    if (s.empty() || s.find_first_of(" \"\\") != std::string::npos) {
      return Error::Invalid(where + ".scope: '" + s + "' is not a scope token");
    }
  }
  if (c.timeout <= std::chrono::milliseconds(0) || c.renew_before.count() < 0) {
    return Error::Invalid(where + ": timeout must be positive, renew_before not negative");
  }
  return Status::Ok();
}

Result<TokenResponse> ParseTokenResponse(int status, std::string_view body,
                                         const std::vector<std::string>& secrets) {
  if (body.size() > kMaxTokenResponseBytes) {
    return Error::Invalid("the token endpoint's answer is over 64 KiB");
  }
  JsonLimits limits;
  limits.max_bytes = kMaxTokenResponseBytes;
  limits.max_depth = 8;
  auto v = ParseJsonStrict(body, limits);
  const json::object* o = v.ok() && v->is_object() ? &v->as_object() : nullptr;
  if (status != 200) {
    std::string why = "the token endpoint answered HTTP " + std::to_string(status);
    if (o != nullptr && o->contains("error")) {
      // Masked before they are bounded: a cut must not leave half a secret behind.
      why += ": " + Printable(MaskSecrets(StringMember(*o, "error"), secrets));
      const std::string d = MaskSecrets(StringMember(*o, "error_description"), secrets);
      if (!d.empty()) why += " (" + Printable(d) + ")";
    }
    return Error::Denied(why);
  }
  if (o == nullptr) return Error::Invalid("the token endpoint's answer is not a JSON object");
  TokenResponse r;
  const json::value* at = o->if_contains("access_token");
  if (at == nullptr || !at->is_string() || at->as_string().empty()) {
    return Error::Invalid("the token endpoint's answer has no access_token");
  }
  r.access_token = std::string(at->as_string());
  for (char c : r.access_token) {
    if (c <= 0x20 || c >= 0x7f) return Error::Invalid("the access_token is not a header value");
  }
  const json::value* tt = o->if_contains("token_type");
  const std::string sent = tt != nullptr && tt->is_string() ? std::string(tt->as_string()) : "";
  const std::string type = AsciiLower(sent);
  if (type != "bearer") {
    // What the provider sent is echoed as sent, masked before it is bounded: a provider that
    // mirrors the request may put the client secret in any field.
    return Error::Invalid("the token endpoint's answer is not a Bearer token (token_type '" +
                          Printable(MaskSecrets(sent, secrets)) + "')");
  }
  if (const json::value* itt = o->if_contains("issued_token_type")) {
    if (!itt->is_string()) return Error::Invalid("issued_token_type is not a string");
    r.issued_token_type = std::string(itt->as_string());
  }
  if (const json::value* e = o->if_contains("expires_in")) {
    if (!e->is_int64() && !e->is_uint64()) return Error::Invalid("expires_in is not an integer");
    const int64_t n = e->is_int64() ? e->as_int64() : -1;
    if (n < 0 || n > kMaxExpiresIn) {
      return Error::Invalid("expires_in is outside 0..86400");
    }
    r.expires_in = n;
  }
  if (const json::value* s = o->if_contains("scope")) {
    if (!s->is_string()) return Error::Invalid("scope is not a string");
    r.scope = SplitScopes(s->as_string());
  }
  return r;
}

std::string CredentialRecord::ToJson() const {
  json::object o;
  o["kind"] = CredentialKindName(kind);
  o["issuer"] = issuer;
  o["audience"] = audience;
  json::array s;
  for (const std::string& x : scopes) s.emplace_back(x);
  o["scopes"] = std::move(s);
  if (!scopes_from.empty()) o["scopes_from"] = scopes_from;
  o["subject"] = subject;
  if (!actor.empty()) o["actor"] = actor;
  o["client_id"] = client_id;
  o["fingerprint"] = fingerprint;
  o["expires_at"] = FormatRfc3339(expires_at);
  return CanonicalJson(o);
}

bool LooksLikeJwsCompact(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

namespace {

// A claim that holds strings: one string (split on spaces when `split`), or an array of
// strings. Absent: nullopt. Any other shape is refused, never skipped.
Result<std::optional<std::vector<std::string>>> StringsClaim(const json::object& c,
                                                             std::string_view name, bool split) {
  const json::value* v = c.if_contains(name);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  std::vector<std::string> out;
  if (v->is_string()) {
    if (split) {
      out = SplitScopes(v->as_string());
    } else {
      out.emplace_back(v->as_string());
    }
    return std::optional(std::move(out));
  }
  if (!v->is_array()) {
    return Error::Invalid("the issued token's \"" + std::string(name) +
                          "\" is neither a string nor an array of strings");
  }
  for (const json::value& e : v->as_array()) {
    if (!e.is_string()) {
      return Error::Invalid("the issued token's \"" + std::string(name) + "\" holds a non-string");
    }
    // An array element is one scope; one with a space in it would be two to the upstream.
    if (split) {
      for (std::string& w : SplitScopes(e.as_string())) out.push_back(std::move(w));
    } else {
      out.emplace_back(e.as_string());
    }
  }
  return std::optional(std::move(out));
}

}  // namespace

Result<CredentialRecord> DescribeToken(std::string_view token, std::string_view audience,
                                       const std::vector<std::string>& asked) {
  CredentialRecord r;
  r.fingerprint = "sha256:" + Sha256Hex(token).substr(0, 16);
  if (!LooksLikeJwsCompact(token)) {
    return r;  // opaque: the endpoint's answer alone describes it
  }
  // JWT-shaped: the upstream will read its claims, so the daemon must read them too. One
  // it cannot read (not base64url, not a JSON object, a duplicate key, over the bounds) is
  // refused: described as opaque it would pass with neither audience nor scope checked.
  const size_t a = token.find('.');
  const size_t b = token.find('.', a + 1);
  const std::string_view p64 = token.substr(a + 1, b - a - 1);
  if (p64.size() > kMaxTokenPayloadBytes * 4 / 3 + 4) {
    return Error::Invalid("the issued token's claims are over 16 KiB");
  }
  auto payload = Base64UrlDecode(p64);
  if (!payload.ok()) return Error::Invalid("the issued token's claims are not base64url");
  JsonLimits limits;
  limits.max_bytes = kMaxTokenPayloadBytes;
  limits.max_depth = 16;
  auto v = ParseJsonStrict(*payload, limits);
  if (!v.ok()) {
    return Error::Invalid("the issued token's claims cannot be read (" +
                          Printable(v.error().message) + ")");
  }
  if (!v->is_object()) return Error::Invalid("the issued token's claims are not a JSON object");
  const json::object& c = v->as_object();
  r.issuer = StringMember(c, "iss");
  r.subject = StringMember(c, "sub");
  if (const std::string jti = StringMember(c, "jti"); !jti.empty()) {
    r.fingerprint = "jti:" + Printable(jti);
  }
  if (const json::value* act = c.if_contains("act"); act != nullptr && act->is_object()) {
    r.actor = StringMember(act->as_object(), "sub");
  }
  // aud: a string or an array of strings. Token exchange names one audience, the
  // upstream's: a token that also names another would be good at that one too.
  auto aud = StringsClaim(c, "aud", /*split=*/false);
  if (!aud.ok()) return aud.error();
  if (!audience.empty()) {
    const std::vector<std::string> names = aud->value_or(std::vector<std::string>{});
    if (std::find(names.begin(), names.end(), audience) == names.end()) {
      return Error::Invalid("the issued token is for another audience");
    }
    if (std::any_of(names.begin(), names.end(),
                    [&](const std::string& n) { return n != audience; })) {
      return Error::Invalid("the issued token names an audience besides the upstream's");
    }
  }
  if (*aud) {
    std::vector<std::string> names;  // each once: ["a", "a"] is one audience
    for (const std::string& n : **aud) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
    r.audience = JoinScopes(names);
  }
  // scope (RFC 8693 section 4.2, RFC 9068: space-separated) and scp (Okta, Entra, Auth0:
  // often an array): read in both forms; every scope either grants must have been asked.
  for (const char* name : {"scope", "scp"}) {
    auto granted = StringsClaim(c, name, /*split=*/true);
    if (!granted.ok()) return granted.error();
    if (!*granted) continue;
    if (!Subset(**granted, asked)) {
      return Error::Invalid("the issued token carries a scope that was not asked for");
    }
    for (std::string& s : **granted) {
      if (std::find(r.scopes.begin(), r.scopes.end(), s) == r.scopes.end()) {
        r.scopes.push_back(std::move(s));
      }
    }
    r.scopes_from = "token";
  }
  // exp: a number (integer or float); a string or another shape is refused, not skipped.
  auto exp = NumericDate(c, "exp");
  if (!exp.ok()) return Error::Invalid("the issued token's \"exp\" is not a number of seconds");
  if (*exp) r.expires_at = TimePoint(std::chrono::seconds(**exp));
  return r;
}

// ---------------------------------------------------------------------------------------
// CredentialCache

Result<Credential> CredentialCache::Get(const std::string& key, std::chrono::seconds renew_before,
                                        const Fetch& fetch) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::unique_lock lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      if (clock_->Now() + renew_before < it->second.expires_at) return it->second;
      entries_.erase(it);
    }
    auto f = flights_.find(key);
    if (f == flights_.end()) {
      flight = std::make_shared<Flight>();
      flights_.emplace(key, flight);
      leader = true;
      ++fetches_;
    } else {
      flight = f->second;
    }
    if (!leader) {
      cv_.wait(lock, [&] { return flight->done; });
      return *flight->result;
    }
  }
  Result<Credential> r = fetch();
  std::lock_guard lock(mu_);
  if (r.ok() && clock_->Now() + renew_before < r->expires_at) InsertLocked(key, *r);
  flight->result = r;
  flight->done = true;
  flights_.erase(key);
  cv_.notify_all();
  return r;
}

void CredentialCache::InsertLocked(const std::string& key, Credential c) {
  if (capacity_ == 0) return;
  if (entries_.size() >= capacity_) {
    const TimePoint now = clock_->Now();
    std::erase_if(entries_, [&](const auto& e) { return e.second.expires_at <= now; });
  }
  while (entries_.size() >= capacity_) {
    auto soonest = std::min_element(entries_.begin(), entries_.end(), [](auto& x, auto& y) {
      return x.second.expires_at < y.second.expires_at;
    });
    entries_.erase(soonest);
  }
  entries_[key] = std::move(c);
}

size_t CredentialCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

size_t CredentialCache::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

// ---------------------------------------------------------------------------------------
// The token endpoint

std::string FormEncode(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      AppendPercentEncoded(out, c);
    }
  }
  return out;
}

std::string Base64Std(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

Result<TokenEndpoint::Reply> HttpsTokenEndpoint::Post(const CredentialConfig& config,
                                                      const CredentialClient& client,
                                                      const std::string& form) {
  auto ep = outbound::ParseHttpEndpoint(config.token_url);
  if (!ep.ok()) return Error::Invalid("token_url: " + ep.error().message);
  if (!ep->tls && !Loopback(ep->host)) return Error::Invalid("token_url must be https");
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (ep->tls) {
    auto made = outbound::MakeTlsClientContext(config.ca_file);
    if (!made.ok()) return made.error();
    tls = std::move(*made);
  }
  std::string target = ep->path.empty() ? "/" : ep->path;
  if (ep->has_query) target += "?" + ep->query;
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, outbound::HostHeader(ep->host, ep->port, ep->tls ? "443" : "80"));
  req.set(http::field::accept, "application/json");
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.set(http::field::user_agent, "interlock-credentials");
  req.set(http::field::connection, "close");
  std::string body = form;
  if (!client.assertion_key_pem.empty()) {
    // RFC 7523 section 2.2: the client proves itself with a short-lived signed JWT whose
    // audience is the token endpoint; no secret travels.
    auto assertion =
        SignClientAssertion(client.client_id, config.token_url, client.assertion_key_pem,
                            std::chrono::system_clock::now());
    if (!assertion.ok()) return assertion.error();
    body += "&client_id=" + FormEncode(client.client_id) + "&client_assertion_type=" +
            FormEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
            "&client_assertion=" + FormEncode(*assertion);
  } else {
    // RFC 6749 section 2.3.1: both halves form-encoded before the Basic encoding.
    req.set(http::field::authorization, "Basic " + Base64Std(FormEncode(client.client_id) + ":" +
                                                             FormEncode(client.client_secret)));
  }
  req.body() = std::move(body);
  req.prepare_payload();
  outbound::ExchangeOptions o;
  o.peer = "the identity provider's token endpoint";
  o.connect_timeout = config.timeout;
  o.timeout = config.timeout;
  o.max_reply_bytes = kMaxTokenResponseBytes;
  auto r = outbound::HttpExchange(ep->host, ep->port, tls.get(), req, o);
  if (!r.ok()) return r.error();
  return Reply{r->status, std::move(r->body)};
}

Result<std::string> SignClientAssertion(std::string_view client_id, std::string_view audience,
                                        std::string_view key_pem, TimePoint now) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  if (!bio) return Error::Internal("OpenSSL could not allocate a BIO");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) return Error::Invalid("client_assertion.key_file is not a PEM private key");
  const char* alg = nullptr;
  const EVP_MD* md = nullptr;
  switch (EVP_PKEY_base_id(key.get())) {
    case EVP_PKEY_ED25519:
      alg = "EdDSA";
      break;
    case EVP_PKEY_RSA:
      alg = "RS256";
      md = EVP_sha256();
      break;
    default:
      return Error::Invalid("client_assertion.key_file must hold an Ed25519 or RSA key");
  }
  const int64_t iat = ToUnixMillis(now) / 1000;
  boost::json::object header{{"alg", alg}, {"typ", "JWT"}};
  boost::json::object claims{
      {"iss", client_id},
      {"sub", client_id},
      {"aud", audience},
      {"jti", HexEncode(reinterpret_cast<const uint8_t*>(RandomBytes(16).data()), 16)},
      {"iat", iat},
      {"exp", iat + 60}};
  const std::string input =
      Base64UrlEncode(ToJsonText(header)) + "." + Base64UrlEncode(ToJsonText(claims));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return Error::Internal("OpenSSL could not sign the client assertion");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return Error::Internal("OpenSSL could not sign the client assertion");
  }
  sig.resize(len);
  return input + "." + Base64UrlEncode(sig);
}

// ---------------------------------------------------------------------------------------
// CredentialBroker

namespace {

// What must never reach an answer: every client secret of the upstream's config (as sent
// raw, form-encoded and inside the HTTP Basic credentials) and the caller's subject token.
std::vector<std::string> SecretsOf(const CredentialConfig& c, const CredentialBroker::Request& rq) {
  std::vector<std::string> out;
  auto add = [&](const CredentialClient& client) {
    if (client.client_secret.empty()) return;
    out.push_back(client.client_secret);
    out.push_back(FormEncode(client.client_secret));
    out.push_back(Base64Std(FormEncode(client.client_id) + ":" + FormEncode(client.client_secret)));
  };
  add(c.client);
  for (const auto& [agent, client] : c.agents) add(client);
  if (!rq.subject_token.empty()) out.push_back(rq.subject_token);
  return out;
}

}  // namespace

CredentialBroker::CredentialBroker(std::vector<CredentialConfig> configs, TokenEndpoint* endpoint,
                                   const Clock* clock, size_t capacity)
    : endpoint_(endpoint), clock_(clock), cache_(clock, capacity) {
  for (CredentialConfig& c : configs) {
    std::string name = c.upstream;
    configs_.emplace(std::move(name), std::move(c));
  }
}

bool CredentialBroker::Has(std::string_view upstream) const {
  return configs_.find(upstream) != configs_.end();
}

const CredentialConfig* CredentialBroker::Config(std::string_view upstream) const {
  auto it = configs_.find(upstream);
  return it == configs_.end() ? nullptr : &it->second;
}

Result<Credential> CredentialBroker::Get(const Request& rq) {
  const CredentialConfig* c = Config(rq.upstream);
  if (c == nullptr) return Unavailable(rq.upstream, "the upstream has no credentials configured");
  const std::vector<std::string>& scopes = rq.scopes ? *rq.scopes : c->scope;
  const CredentialClient* client = &c->client;
  if (c->kind == CredentialKind::kClientCredentials) {
    if (auto it = c->agents.find(rq.agent_id); it != c->agents.end()) client = &it->second;
  } else if (rq.subject_token.empty()) {
    return Unavailable(rq.upstream,
                       "it exchanges the caller's JWT for a token on the caller's behalf, and this "
                       "caller presented none (an Interlock token cannot be exchanged)");
  }
  std::vector<std::string> sorted = scopes;
  std::sort(sorted.begin(), sorted.end());
  std::string key = std::string(CredentialKindName(c->kind)) + '\n' + rq.upstream + '\n' +
                    client->client_id + '\n' + c->audience + '\n' + JoinScopes(sorted);
  if (c->kind == CredentialKind::kTokenExchange) {
    // The subject and the very token: a renewed caller token gets its own exchange, so a
    // cached credential never outlives the token it was exchanged for.
    key += '\n' + rq.subject + '\n' + Sha256Hex(rq.subject_token);
  }
  return cache_.Get(key, c->renew_before,
                    [&]() -> Result<Credential> { return Fetch(*c, *client, rq, scopes); });
}

Result<Credential> CredentialBroker::Fetch(const CredentialConfig& c,
                                           const CredentialClient& client, const Request& rq,
                                           const std::vector<std::string>& scopes) {
  std::string form;
  if (c.kind == CredentialKind::kTokenExchange) {
    form = "grant_type=" + FormEncode(kTokenExchangeGrant) +
           "&subject_token=" + FormEncode(rq.subject_token) +
           "&subject_token_type=" + FormEncode(kJwtTokenType) +
           "&requested_token_type=" + FormEncode(kAccessTokenType) +
           "&audience=" + FormEncode(c.audience);
  } else {
    form = "grant_type=client_credentials";
    if (!c.audience.empty()) form += "&audience=" + FormEncode(c.audience);
  }
  if (!scopes.empty()) form += "&scope=" + FormEncode(JoinScopes(scopes));
  const std::vector<std::string> secrets = SecretsOf(c, rq);
  auto reply = endpoint_->Post(c, client, form);
  if (!reply.ok()) return Unavailable(c.upstream, MaskSecrets(reply.error().message, secrets));
  auto parsed = ParseTokenResponse(reply->status, reply->body, secrets);
  if (!parsed.ok()) return Unavailable(c.upstream, MaskSecrets(parsed.error().message, secrets));
  // A scope the call did not ask for is a broader credential than the tool's: refused.
  if (parsed->scope && !Subset(*parsed->scope, scopes)) {
    return Unavailable(c.upstream, "the identity provider granted a scope that was not asked for");
  }
  auto record = DescribeToken(parsed->access_token, c.audience, scopes);
  if (!record.ok()) return Unavailable(c.upstream, record.error().message);
  Credential out;
  out.access_token = std::move(parsed->access_token);
  const TimePoint now = clock_->Now();
  TimePoint exp =
      parsed->expires_in ? now + std::chrono::seconds(*parsed->expires_in) : record->expires_at;
  if (record->expires_at != TimePoint{} && record->expires_at < exp) exp = record->expires_at;
  if (rq.subject_expires_at && *rq.subject_expires_at < exp) exp = *rq.subject_expires_at;
  if (exp <= now) return Unavailable(c.upstream, "the issued token has expired already");
  out.expires_at = exp;
  CredentialRecord& r = *record;
  r.kind = c.kind;
  r.client_id = client.client_id;
  r.expires_at = exp;
  if (r.issuer.empty()) {
    auto ep = outbound::ParseHttpEndpoint(c.token_url);
    r.issuer = ep.ok() ? (ep->tls ? "https://" : "http://") +
                             outbound::HostHeader(ep->host, ep->port, ep->tls ? "443" : "80")
                       : c.token_url;
  }
  if (r.audience.empty()) r.audience = c.audience;
  if (r.scopes_from.empty()) {
    r.scopes = parsed->scope ? *parsed->scope : scopes;
    r.scopes_from = parsed->scope ? "answer" : "request";
  }
  if (r.subject.empty())
    r.subject = c.kind == CredentialKind::kTokenExchange ? rq.subject : client.client_id;
  out.record = std::move(r);
  return out;
}

}  // namespace interlock::identity
