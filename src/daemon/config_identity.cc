// The daemon config's identity: (docs/identity.md) and telemetry: (docs/telemetry.md)
// sections. Every error of a section is recorded (daemon/config_reader.h).
#include <algorithm>
#include <optional>

#include "daemon/config_reader.h"

namespace interlock::server::config_internal {
namespace {

bool IdentityConfigAgentName(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// identity.oauth: {resource_base, authorization_servers, scopes_supported, agents}
// (docs/identity.md#mcp-clients-with-oauth-21); checked against identity.jwt by the caller.
Status ReadOAuth(ConfigReader& r, const YamlNode& node, identity::OAuthConfig* o) {
  const std::string at = "identity.oauth";
  return ReadSection(
      r, node, at,
      {{"resource_base",
        [&](const YamlNode& v) { return r.String(v, at + ".resource_base", &o->resource_base); }},
       {"authorization_servers",
        [&](const YamlNode& v) {
          return ReadStringList(r, v, at + ".authorization_servers", &o->authorization_servers);
        }},
       {"scopes_supported",
        [&](const YamlNode& v) {
          return ReadStringList(r, v, at + ".scopes_supported", &o->scopes_supported);
        }},
       {"agents", [&](const YamlNode& v) {
          return ReadStringMap(r, v, at + ".agents", &IdentityConfigAgentName, &o->agents);
        }}});
}

// identity.oidc: reviewer and admin sign-in on /ui/ (docs/identity.md, "Reviewer sign-in
// with OpenID Connect"). The secret is read from client_secret_file when the daemon starts.
Status ReadOidc(ConfigReader& r, const YamlNode& node, identity::OidcConfig* o) {
  const std::string at = "identity.oidc.";
  auto str = [&r, at](const char* k, std::string* out) {
    return [&r, at, k, out](const YamlNode& v) { return r.String(v, at + k, out); };
  };
  auto list = [&r, at](const char* k, std::vector<std::string>* out) {
    return [&r, at, k, out](const YamlNode& v) { return ReadStringList(r, v, at + k, out); };
  };
  Status st = ReadSection(
      r, node, "identity.oidc",
      {{"issuer", str("issuer", &o->issuer)},
       {"client_id", str("client_id", &o->client_id)},
       {"client_secret_file",
        [&](const YamlNode& v) {
          return r.Path(v, at + "client_secret_file", &o->client_secret_file);
        }},
       {"redirect_uri", str("redirect_uri", &o->redirect_uri)},
       {"ca_file", [&](const YamlNode& v) { return r.Path(v, at + "ca_file", &o->ca_file); }},
       {"name",
        [&](const YamlNode& v) {
          if (Status s = r.String(v, at + "name", &o->name); !s.ok()) return s;
          if (o->name.size() > 64 || o->name.find_first_of("\r\n") != std::string::npos) {
            return r.Fail(v, at + "name must be one line of at most 64 bytes");
          }
          return Status::Ok();
        }},
       {"scopes", list("scopes", &o->scopes)},
       {"role_claim", str("role_claim", &o->role_claim)},
       {"name_claim", str("name_claim", &o->name_claim)},
       {"reviewer_values", list("reviewer_values", &o->reviewer_values)},
       {"admin_values", list("admin_values", &o->admin_values)},
       {"session_seconds",
        [&](const YamlNode& v) {
          return r.Seconds(v, at + "session_seconds", 60, 86400, &o->session_lifetime);
        }},
       {"skew_seconds",
        [&](const YamlNode& v) { return r.Seconds(v, at + "skew_seconds", 0, 600, &o->skew); }}});
  if (!st.ok()) return st;
  if (Status v = identity::ValidateOidcConfig(*o); !v.ok()) {
    return r.Fail(node, "identity.oidc." + v.error().message);
  }
  return Status::Ok();
}

// One entry of identity.jwt.
Status ReadJwtIssuer(ConfigReader& r, const YamlNode& item, identity::IssuerConfig* c) {
  const std::string at = "identity.jwt[].";
  auto str = [&r, at](const char* k, std::string* out) {
    return [&r, at, k, out](const YamlNode& v) { return r.String(v, at + k, out); };
  };
  auto secs = [&r, at](const char* k, int64_t min, int64_t max, std::chrono::seconds* out) {
    return [&r, at, k, min, max, out](const YamlNode& v) {
      return r.Seconds(v, at + k, min, max, out);
    };
  };
  Status st = ReadSection(
      r, item, "identity.jwt[]",
      {{"issuer", str("issuer", &c->issuer)},
       {"audience", str("audience", &c->audience)},
       {"jwks_uri", str("jwks_uri", &c->jwks_uri)},
       {"ca_file", [&](const YamlNode& v) { return r.Path(v, at + "ca_file", &c->ca_file); }},
       {"agent_claim", str("agent_claim", &c->agent_claim)},
       {"on_behalf_of_claim", str("on_behalf_of_claim", &c->on_behalf_of_claim)},
       {"on_behalf_of_groups_claim",
        str("on_behalf_of_groups_claim", &c->on_behalf_of_groups_claim)},
       {"skew_seconds", secs("skew_seconds", 0, 600, &c->skew)},
       {"max_lifetime_seconds", secs("max_lifetime_seconds", 1, 366LL * 86400, &c->max_lifetime)},
       {"max_key_age_seconds", secs("max_key_age_seconds", 60, 30LL * 86400, &c->max_key_age)},
       {"refresh_seconds", secs("refresh_seconds", 30, 86400, &c->refresh_interval)},
       {"identities", [&](const YamlNode& v) {
          return ReadStringList(r, v, at + "identities", &c->identities);
        }}});
  if (!st.ok()) return st;
  if (Status v = identity::ValidateIssuerConfig(*c); !v.ok()) {
    return r.Fail(item, "identity.jwt: " + v.error().message);
  }
  return Status::Ok();
}

Status ReadJwtIssuers(ConfigReader& r, const YamlNode& v,
                      std::vector<identity::IssuerConfig>* out) {
  if (!v.IsSequence()) return r.Fail(v, "identity.jwt must be a list of issuers");
  const size_t before = r.error_count();
  out->clear();
  for (const auto& item : v.items()) {
    identity::IssuerConfig c;
    if (!ReadJwtIssuer(r, item, &c).ok()) continue;
    const bool twice = std::any_of(out->begin(), out->end(), [&c](const identity::IssuerConfig& o) {
      return o.issuer == c.issuer;
    });
    if (twice) {
      r.Report(item, "identity.jwt lists issuer '" + c.issuer + "' twice");
      continue;
    }
    out->push_back(std::move(c));
  }
  return SectionStatus(r, before);
}

// A URL an OTLP signal is posted to: http(s)://host[:port]/path.
Status ReadOtlpUrl(ConfigReader& r, const YamlNode& v, const std::string& key, std::string* out) {
  if (Status st = r.String(v, key, out); !st.ok()) return st;
  if (out->rfind("http://", 0) != 0 && out->rfind("https://", 0) != 0) {
    return r.Fail(v, key +
                         " must start with http:// or https:// (OTLP/HTTP; gRPC is not "
                         "supported)");
  }
  return Status::Ok();
}

// telemetry.resource_attributes: a mapping of names to strings, in document order.
Status ReadResourceAttributes(ConfigReader& r, const YamlNode& v, const std::string& key,
                              telemetry::Attributes* out) {
  if (!v.IsMap()) return r.Fail(v, key + " must be a mapping");
  const size_t before = r.error_count();
  for (const auto& a : v.entries()) {
    std::string value;
    if (r.String(a.second, key + "." + a.first.Scalar(), &value).ok()) {
      out->emplace_back(a.first.Scalar(), value);
    }
  }
  return SectionStatus(r, before);
}

// The keys of telemetry:, each read into `t`.
std::vector<SectionKey> TelemetryKeys(ConfigReader& r, telemetry::TelemetryOptions* t) {
  const std::string at = "telemetry.";
  auto url = [&r, at](const char* k, std::string* out) {
    return [&r, at, k, out](const YamlNode& v) { return ReadOtlpUrl(r, v, at + k, out); };
  };
  auto flag = [&r, at](const char* k, bool* out) {
    return [&r, at, k, out](const YamlNode& v) { return r.Bool(v, at + k, out); };
  };
  auto millis = [&r, at](const char* k, int64_t min, int64_t max, std::chrono::milliseconds* out) {
    return [&r, at, k, min, max, out](const YamlNode& v) {
      return r.Millis(v, at + k, 1, min, max, out);
    };
  };
  return {
      {"endpoint", url("endpoint", &t->endpoint)},
      {"traces_endpoint", url("traces_endpoint", &t->traces_endpoint)},
      {"logs_endpoint", url("logs_endpoint", &t->logs_endpoint)},
      {"metrics_endpoint", url("metrics_endpoint", &t->metrics_endpoint)},
      {"protocol",
       [&r, at, t](const YamlNode& v) {
         std::string p;
         if (Status st = r.String(v, at + "protocol", &p); !st.ok()) return st;
         if (p != "http/protobuf" && p != "http/json") {
           return r.Fail(v, at + "protocol must be http/protobuf or http/json");
         }
         t->protocol =
             p == "http/json" ? telemetry::Encoding::kJson : telemetry::Encoding::kProtobuf;
         return Status::Ok();
       }},
      {"headers",
       [&r, at, t](const YamlNode& v) {
         std::map<std::string, std::string> headers;
         Status st = ReadStringMap(r, v, at + "headers", ValidHeaderName, &headers);
         for (auto& [name, value] : headers) t->headers.emplace_back(name, value);
         return st;
       }},
      {"ca_file",
       [&r, at, t](const YamlNode& v) { return r.Path(v, at + "ca_file", &t->ca_file); }},
      {"traces", flag("traces", &t->traces)},
      {"logs", flag("logs", &t->logs)},
      {"metrics", flag("metrics", &t->metrics)},
      {"send_arguments", flag("send_arguments", &t->send_arguments)},
      {"queue_size",
       [&r, at, t](const YamlNode& v) {
         return r.Integer(v, at + "queue_size", 1, 1 << 20, &t->queue_size);
       }},
      {"batch_size",
       [&r, at, t](const YamlNode& v) {
         return r.Integer(v, at + "batch_size", 1, 1 << 16, &t->batch_size);
       }},
      {"batch_interval_ms", millis("batch_interval_ms", 10, 600000, &t->batch_interval)},
      {"metrics_interval_ms", millis("metrics_interval_ms", 100, 3600000, &t->metrics_interval)},
      {"timeout_ms", millis("timeout_ms", 1, 600000, &t->timeout)},
      {"shutdown_timeout_ms", millis("shutdown_timeout_ms", 0, 600000, &t->shutdown_timeout)},
      {"service_name",
       [&r, at, t](const YamlNode& v) {
         if (Status st = r.String(v, at + "service_name", &t->service_name); !st.ok()) return st;
         if (t->service_name.empty()) return r.Fail(v, at + "service_name must not be empty");
         return Status::Ok();
       }},
      {"resource_attributes",
       [&r, at, t](const YamlNode& v) {
         return ReadResourceAttributes(r, v, at + "resource_attributes", &t->resource_attributes);
       }},
  };
}

}  // namespace

// identity: {jwt: [{issuer, audience, jwks_uri, ca_file, agent_claim, on_behalf_of_claim,
// on_behalf_of_groups_claim, skew_seconds, max_lifetime_seconds, max_key_age_seconds,
// refresh_seconds, identities}, ...], oauth: {...}, oidc: {...}}
Status ReadIdentity(ConfigReader& r, const YamlNode& node, ServerConfig* config) {
  std::optional<YamlNode> oauth_node;
  Status st = ReadSection(
      r, node, "identity",
      {{"jwt", [&](const YamlNode& v) { return ReadJwtIssuers(r, v, &config->jwt_issuers); }},
       {"oauth",
        [&](const YamlNode& v) {
          oauth_node = v;
          return ReadOAuth(r, v, &config->oauth);
        }},
       {"oidc", [&](const YamlNode& v) { return ReadOidc(r, v, &config->oidc); }}});
  if (!st.ok()) return st;
  if (oauth_node) {
    if (Status v = identity::ValidateOAuthConfig(config->oauth, config->jwt_issuers); !v.ok()) {
      return r.Fail(*oauth_node, "identity.oauth: " + v.error().message);
    }
  }
  return Status::Ok();
}

// telemetry: (docs/telemetry.md#configuration). An endpoint turns export on.
Status ReadTelemetry(ConfigReader& r, const YamlNode& node, telemetry::TelemetryOptions* t) {
  Status st = ReadSection(r, node, "telemetry", TelemetryKeys(r, t));
  t->enabled = !t->endpoint.empty() || !t->traces_endpoint.empty() || !t->logs_endpoint.empty() ||
               !t->metrics_endpoint.empty();
  return st;
}

}  // namespace interlock::server::config_internal
