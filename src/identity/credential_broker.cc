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

Result<TokenResponse> ParseTokenResponse(int status, std::string_view body) {
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
      why += ": " + Printable(StringMember(*o, "error"));
      const std::string d = StringMember(*o, "error_description");
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
  std::string type = tt != nullptr && tt->is_string() ? std::string(tt->as_string()) : "";
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (type != "bearer") {
    return Error::Invalid("the token endpoint's answer is not a Bearer token (token_type '" +
                          Printable(type) + "')");
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
  o["subject"] = subject;
  if (!actor.empty()) o["actor"] = actor;
  o["client_id"] = client_id;
  o["fingerprint"] = fingerprint;
  o["expires_at"] = FormatRfc3339(expires_at);
  return CanonicalJson(o);
}

Result<CredentialRecord> DescribeToken(std::string_view token, std::string_view audience,
                                       const std::vector<std::string>& asked) {
  CredentialRecord r;
  r.fingerprint = "sha256:" + Sha256Hex(token).substr(0, 16);
  size_t a = token.find('.');
  size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
    return r;  // opaque: the endpoint's answer alone describes it
  }
  auto payload = Base64UrlDecode(token.substr(a + 1, b - a - 1));
  if (!payload.ok()) return r;
  JsonLimits limits;
  limits.max_bytes = 16 * 1024;
  limits.max_depth = 16;
  auto v = ParseJsonStrict(*payload, limits);
  if (!v.ok() || !v->is_object()) return r;
  const json::object& c = v->as_object();
  r.issuer = StringMember(c, "iss");
  r.subject = StringMember(c, "sub");
  if (const std::string jti = StringMember(c, "jti"); !jti.empty()) {
    r.fingerprint = "jti:" + Printable(jti);
  }
  if (const json::value* act = c.if_contains("act"); act != nullptr && act->is_object()) {
    r.actor = StringMember(act->as_object(), "sub");
  }
  std::vector<std::string> aud;
  if (const json::value* x = c.if_contains("aud")) {
    if (x->is_string()) aud.emplace_back(x->as_string());
    if (x->is_array()) {
      for (const json::value& e : x->as_array()) {
        if (e.is_string()) aud.emplace_back(e.as_string());
      }
    }
  }
  if (!audience.empty() && std::find(aud.begin(), aud.end(), audience) == aud.end()) {
    return Error::Invalid("the issued token is for another audience");
  }
  r.audience = JoinScopes(aud);
  if (const json::value* s = c.if_contains("scope"); s != nullptr && s->is_string()) {
    r.scopes = SplitScopes(s->as_string());
    if (!Subset(r.scopes, asked)) {
      return Error::Invalid("the issued token carries a scope that was not asked for");
    }
  }
  if (const json::value* e = c.if_contains("exp"); e != nullptr && e->is_int64()) {
    r.expires_at = TimePoint(std::chrono::seconds(e->as_int64()));
  }
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
  auto reply = endpoint_->Post(c, client, form);
  if (!reply.ok()) return Unavailable(c.upstream, reply.error().message);
  auto parsed = ParseTokenResponse(reply->status, reply->body);
  if (!parsed.ok()) return Unavailable(c.upstream, parsed.error().message);
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
  if (r.scopes.empty()) r.scopes = parsed->scope ? *parsed->scope : scopes;
  if (r.subject.empty())
    r.subject = c.kind == CredentialKind::kTokenExchange ? rq.subject : client.client_id;
  out.record = std::move(r);
  return out;
}

}  // namespace interlock::identity
