#include "server/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

#include "common/env_name.h"
#include "common/spelling.h"
#include "outbound/http_endpoint.h"
#include "policy/yaml_tree.h"

namespace interlock::server {
namespace {

namespace fs = std::filesystem;

std::string Where(const std::string& file, const YamlNode& n) { return YamlWhere(file, n); }

class Reader {
 public:
  Reader(std::string file, fs::path base) : file_(std::move(file)), base_(std::move(base)) {}

  Status Fail(const YamlNode& n, const std::string& what) {
    return Error::Invalid(Where(file_, n) + what);
  }

  Status String(const YamlNode& n, const std::string& key, std::string* out) {
    if (!n.IsScalar()) return Fail(n, key + " must be a string");
    *out = n.Scalar();
    return Status::Ok();
  }

  Status Path(const YamlNode& n, const std::string& key, std::string* out) {
    std::string s;
    if (Status st = String(n, key, &s); !st.ok()) return st;
    if (s.empty()) return Fail(n, key + " must not be empty");
    fs::path p(s);
    *out = p.is_absolute() ? s : (base_ / p).lexically_normal().string();
    return Status::Ok();
  }

  template <class Int>
  Status Integer(const YamlNode& n, const std::string& key, int64_t min, int64_t max, Int* out) {
    if (!n.IsScalar()) return Fail(n, key + " must be an integer");
    const std::string& s = n.Scalar();
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return Fail(n, key + " must be an integer, not '" + s + "'");
    }
    if (v < min || v > max) {
      return Fail(n,
                  key + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    *out = static_cast<Int>(v);
    return Status::Ok();
  }

  Status Millis(const YamlNode& n, const std::string& key, int64_t scale, int64_t min, int64_t max,
                std::chrono::milliseconds* out) {
    int64_t v = 0;
    if (Status st = Integer(n, key, min, max, &v); !st.ok()) return st;
    *out = std::chrono::milliseconds(v * scale);
    return Status::Ok();
  }

  const std::string& file() const { return file_; }
  std::string Resolve(const std::string& p) const {
    return (base_ / p).lexically_normal().string();
  }

 private:
  std::string file_;
  fs::path base_;
};

// One key of a mapping section and how its value is read.
struct SectionKey {
  std::string_view key;
  std::function<Status(const YamlNode& value)> read;
};

// Reads the mapping `node` of the section `name` ("approvals", "audit"), each key by its
// reader in document order; the first error wins, an unknown key is an error at its
// position.
Status ReadSection(Reader& r, const YamlNode& node, const std::string& name,
                   const std::vector<SectionKey>& keys) {
  if (!node.IsMap()) return r.Fail(node, name + " must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string& k = kv.first.Scalar();
    auto it =
        std::find_if(keys.begin(), keys.end(), [&](const SectionKey& sk) { return sk.key == k; });
    if (it == keys.end()) {
      std::vector<std::string_view> known;
      for (const SectionKey& sk : keys) known.push_back(sk.key);
      const std::string best = NearestName(k, known);
      return r.Fail(kv.first,
                    "unknown key '" + name + "." + k + "'" +
                        (best.empty() ? "" : "; did you mean '" + name + "." + best + "'?"));
    }
    if (Status st = it->read(kv.second); !st.ok()) return st;
  }
  return Status::Ok();
}

// role_policies: a map of "agent/role" (one slash, neither side empty) to a policy id. A
// policy that is not loaded when a call comes is no fallback: the call is refused.
Status ReadRolePolicies(Reader& r, const YamlNode& node,
                        std::map<std::string, std::string, std::less<>>* out) {
  if (!node.IsMap()) {
    return r.Fail(node, "role_policies must map \"agent/role\" to a policy id");
  }
  for (const auto& kv : node.entries()) {
    const std::string key = kv.first.Scalar();
    const size_t slash = key.find('/');
    if (slash == 0 || slash == std::string::npos || slash + 1 == key.size() ||
        key.find('/', slash + 1) != std::string::npos) {
      return r.Fail(kv.first, "role_policies key '" + key +
                                  "' must be \"agent/role\" (an agent id, one slash, a role)");
    }
    std::string policy;
    if (Status st = r.String(kv.second, "role_policies." + key, &policy); !st.ok()) return st;
    if (policy.empty()) return r.Fail(kv.second, "role_policies." + key + " names no policy");
    (*out)[key] = std::move(policy);
  }
  return Status::Ok();
}

Status ReadLimits(Reader& r, const YamlNode& node, ServerConfig* c) {
  if (!node.IsMap()) return r.Fail(node, "limits must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string key = kv.first.Scalar();
    const YamlNode& v = kv.second;
    Status st;
    if (key == "max_body_bytes") {
      st = r.Integer(v, key, 1024, 64 << 20, &c->limits.max_body_bytes);
    } else if (key == "max_header_bytes") {
      st = r.Integer(v, key, 1024, 1 << 20, &c->limits.max_header_bytes);
    } else if (key == "read_timeout_seconds") {
      st = r.Millis(v, key, 1000, 1, 3600, &c->limits.read_timeout);
    } else if (key == "read_timeout_ms") {
      st = r.Millis(v, key, 1, 50, 3600000, &c->limits.read_timeout);
    } else if (key == "idle_timeout_seconds") {
      st = r.Millis(v, key, 1000, 1, 86400, &c->limits.idle_timeout);
    } else if (key == "write_timeout_seconds") {
      st = r.Millis(v, key, 1000, 1, 3600, &c->limits.write_timeout);
    } else if (key == "shutdown_grace_seconds") {
      st = r.Millis(v, key, 1000, 0, 3600, &c->limits.shutdown_grace);
    } else if (key == "max_connections") {
      st = r.Integer(v, key, 1, 1 << 20, &c->limits.max_connections);
    } else if (key == "max_wait_seconds") {
      st = r.Integer(v, key, 0, 3600, &c->max_wait_seconds);
    } else if (key == "max_output_bytes") {
      st = r.Integer(v, key, 0, 64 << 20, &c->max_output_bytes);
    } else if (key == "max_run_depth") {
      st = r.Integer(v, key, 1, 32, &c->max_run_depth);
    } else if (key == "max_live_children") {
      st = r.Integer(v, key, 1, 10000, &c->max_live_children);
    } else {
      const std::string best =
          NearestName(key, std::initializer_list<std::string_view>{
                               "max_body_bytes", "max_header_bytes", "read_timeout_seconds",
                               "read_timeout_ms", "idle_timeout_seconds", "write_timeout_seconds",
                               "shutdown_grace_seconds", "max_connections", "max_wait_seconds",
                               "max_output_bytes", "max_run_depth", "max_live_children"});
      st = r.Fail(kv.first, "unknown key 'limits." + key + "'" +
                                (best.empty() ? "" : "; did you mean 'limits." + best + "'?"));
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

bool ValidUpstreamName(std::string_view n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool ValidHeaderName(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

Status ReadStringMap(Reader& r, const YamlNode& node, const std::string& key,
                     bool (*valid_key)(std::string_view), std::map<std::string, std::string>* out) {
  if (!node.IsMap()) return r.Fail(node, key + " must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string k = kv.first.Scalar();
    if (!valid_key(k)) return r.Fail(kv.first, key + ": '" + k + "' is not a valid name");
    std::string v;
    if (Status st = r.String(kv.second, key + "." + k, &v); !st.ok()) return st;
    if (v.find_first_of("\r\n") != std::string::npos || v.find('\0') != std::string::npos) {
      return r.Fail(kv.second, key + "." + k + " must be one line");
    }
    (*out)[k] = v;
  }
  return Status::Ok();
}

// A list of variable names (pass_env, sandbox.env): what a server may see of Interlock's
// environment besides the base variables (mcp/server_env.h).
Status ReadEnvNames(Reader& r, const YamlNode& v, const std::string& key,
                    std::vector<std::string>* out) {
  if (!v.IsSequence()) return r.Fail(v, key + " must be a list of variable names");
  for (const auto& item : v.items()) {
    std::string n;
    if (Status st = r.String(item, key, &n); !st.ok()) return st;
    if (!ValidEnvName(n)) return r.Fail(item, key + ": '" + n + "' is not a variable name");
    out->push_back(n);
  }
  return Status::Ok();
}

// credentials: {token_exchange | client_credentials: {token_url, client_id,
// client_secret_file, audience, scope, ca_file, timeout_ms, renew_before_seconds, env,
// agents: {AGENT: {client_id, client_secret_file}}}} (docs/identity.md#upstream-credentials).
Status ReadCredentials(Reader& r, const std::string& where, const YamlNode& node,
                       McpUpstreamConfig* u) {
  if (!node.IsMap() || node.size() != 1) {
    return r.Fail(node, where + " must be {token_exchange: {...}} or {client_credentials: {...}}");
  }
  const std::string kind = node.entries().front().first.Scalar();
  const YamlNode body = node.entries().front().second;  // a copy: the iterator is a temporary
  identity::CredentialConfig& c = u->credentials;
  if (kind == "token_exchange") {
    c.kind = identity::CredentialKind::kTokenExchange;
  } else if (kind == "client_credentials") {
    c.kind = identity::CredentialKind::kClientCredentials;
  } else {
    return r.Fail(node.entries().front().first,
                  "unknown key '" + where + "." + kind + "' (token_exchange, client_credentials)");
  }
  const std::string at = where + "." + kind;
  if (!body.IsMap()) return r.Fail(body, at + " must be a mapping");
  c.upstream = u->name;
  u->has_credentials = true;
  std::string scope;
  for (const auto& kv : body.entries()) {
    const std::string k = kv.first.Scalar();
    const YamlNode& v = kv.second;
    Status st;
    if (k == "token_url") {
      st = r.String(v, at + ".token_url", &c.token_url);
    } else if (k == "client_id") {
      st = r.String(v, at + ".client_id", &c.client.client_id);
    } else if (k == "client_secret_file") {
      st = r.Path(v, at + ".client_secret_file", &u->credentials_secret_file);
    } else if (k == "client_assertion") {
      // RFC 7523 private_key_jwt: the client signs a short-lived JWT instead of sending
      // a secret. {key_file: PEM} (Ed25519 or RSA).
      if (!v.IsMap() || v.size() != 1 || v.entries().front().first.Scalar() != "key_file") {
        st = r.Fail(v, at + ".client_assertion must be {key_file: PATH}");
      } else {
        st = r.Path(v.entries().front().second, at + ".client_assertion.key_file",
                    &u->credentials_assertion_key_file);
      }
    } else if (k == "audience") {
      st = r.String(v, at + ".audience", &c.audience);
    } else if (k == "scope") {
      st = r.String(v, at + ".scope", &scope);
    } else if (k == "ca_file") {
      st = r.Path(v, at + ".ca_file", &c.ca_file);
    } else if (k == "timeout_ms") {
      st = r.Millis(v, at + ".timeout_ms", 1, 50, 60000, &c.timeout);
    } else if (k == "renew_before_seconds") {
      int64_t n = 0;
      st = r.Integer(v, at + ".renew_before_seconds", 0, 3600, &n);
      c.renew_before = std::chrono::seconds(n);
    } else if (k == "env") {
      st = r.String(v, at + ".env", &c.env);
      if (st.ok() && !ValidEnvName(c.env)) st = r.Fail(v, at + ".env is not a variable name");
    } else if (k == "agents" && c.kind == identity::CredentialKind::kClientCredentials) {
      if (!v.IsMap()) st = r.Fail(v, at + ".agents must map agent ids to clients");
      for (const auto& a : v.entries()) {
        if (!st.ok()) break;
        const std::string agent = a.first.Scalar();
        if (!a.second.IsMap()) {
          st = r.Fail(a.second,
                      at + ".agents." + agent + " must be {client_id, client_secret_file}");
          break;
        }
        identity::CredentialClient& client = c.agents[agent];
        for (const auto& f : a.second.entries()) {
          const std::string fk = f.first.Scalar();
          if (fk == "client_id") {
            st = r.String(f.second, at + ".agents." + agent + ".client_id", &client.client_id);
          } else if (fk == "client_secret_file") {
            st = r.Path(f.second, at + ".agents." + agent + ".client_secret_file",
                        &u->credentials_agent_secret_files[agent]);
          } else {
            st = r.Fail(f.first, "unknown key '" + at + ".agents." + agent + "." + fk +
                                     "' (client_id, client_secret_file)");
          }
          if (!st.ok()) break;
        }
        if (st.ok() &&
            (client.client_id.empty() || u->credentials_agent_secret_files.count(agent) == 0)) {
          st =
              r.Fail(a.second, at + ".agents." + agent + " needs client_id and client_secret_file");
        }
      }
    } else {
      st = r.Fail(kv.first,
                  "unknown key '" + at + "." + k +
                      "' (token_url, client_id, client_secret_file, client_assertion, "
                      "audience, scope, "
                      "ca_file, timeout_ms, renew_before_seconds, env" +
                      (c.kind == identity::CredentialKind::kClientCredentials ? ", agents)" : ")"));
    }
    if (!st.ok()) return st;
  }
  std::istringstream words(scope);
  for (std::string w; words >> w;) c.scope.push_back(w);
  if (c.token_url.empty() || c.client.client_id.empty() ||
      u->credentials_secret_file.empty() == u->credentials_assertion_key_file.empty()) {
    return r.Fail(body, at + " needs token_url, client_id and one of client_secret_file and "
                             "client_assertion");
  }
  // The secret is read at start-up; until then a placeholder lets the rest be checked.
  identity::CredentialConfig check = c;
  check.client.client_secret = "-";
  for (auto& [agent, client] : check.agents) client.client_secret = "-";
  if (Status st = identity::ValidateCredentialConfig(check); !st.ok()) {
    return r.Fail(body, st.error().message);
  }
  return Status::Ok();
}

// mcp.upstreams.NAME.sandbox: true, false or {write: [DIR, ...], read: [PATH, ...], env: [...]}.
Status ReadUpstreamSandbox(Reader& r, const std::string& where, const YamlNode& v,
                           McpUpstreamConfig* u) {
  Status st;
  if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) {
    u->sandbox = v.Scalar() == "true";
  } else if (v.IsMap()) {
    u->sandbox = true;
    for (const auto& skv : v.entries()) {
      const std::string sk = skv.first.Scalar();
      if (sk == "env") {
        if (st = ReadEnvNames(r, skv.second, where + ".sandbox.env", &u->sandbox_env); !st.ok()) {
          break;
        }
        continue;
      }
      if (sk != "write" && sk != "read") {
        st = r.Fail(skv.first, "unknown key '" + where + ".sandbox." + sk + "' (write, read, env)");
        break;
      }
      const std::string list = where + ".sandbox." + sk;
      if (!skv.second.IsSequence()) {
        st = r.Fail(skv.second, list + " must be a list of paths");
        break;
      }
      std::vector<std::string>& into = sk == "write" ? u->sandbox_write : u->sandbox_read;
      for (const auto& item : skv.second.items()) {
        std::string d;
        if (st = r.String(item, list, &d); !st.ok()) break;
        if (d.empty()) {
          st = r.Fail(item, list + ": an empty path");
          break;
        }
        into.push_back(fs::path(d).is_absolute() ? d : r.Resolve(d));
      }
      if (!st.ok()) break;
    }
  } else {
    st =
        r.Fail(v, where + ".sandbox must be true, false or {write: [DIR, ...], read: [PATH, ...]}");
  }
  return st;
}

Status ReadUpstream(Reader& r, const std::string& name, const YamlNode& node,
                    McpUpstreamConfig* u) {
  const std::string where = "mcp.upstreams." + name;
  if (!node.IsMap()) return r.Fail(node, where + " must be a mapping");
  u->name = name;
  bool has_keep_alive = false;
  for (const auto& kv : node.entries()) {
    const std::string key = kv.first.Scalar();
    const YamlNode& v = kv.second;
    Status st;
    if (key == "command") {
      if (!v.IsSequence() || v.size() == 0) {
        st = r.Fail(v, where + ".command must be a non-empty list (argv)");
      } else {
        for (const auto& item : v.items()) {
          std::string a;
          if (st = r.String(item, where + ".command", &a); !st.ok()) break;
          u->command.push_back(a);
        }
        if (st.ok() && u->command[0].empty()) st = r.Fail(v, where + ".command[0] is empty");
      }
    } else if (key == "env") {
      st = ReadStringMap(r, v, where + ".env", &ValidEnvName, &u->env);
    } else if (key == "pass_env") {
      st = ReadEnvNames(r, v, where + ".pass_env", &u->pass_env);
    } else if (key == "secret_env") {
      if (!v.IsSequence()) {
        st = r.Fail(v, where + ".secret_env must be a list of variable names");
      } else {
        for (const auto& item : v.items()) {
          std::string n;
          if (st = r.String(item, where + ".secret_env", &n); !st.ok()) break;
          if (!ValidEnvName(n)) {
            st = r.Fail(item, where + ".secret_env: '" + n + "' is not a variable name");
            break;
          }
          u->secret_env.push_back(n);
        }
      }
    } else if (key == "secret_files") {
      std::map<std::string, std::string> files;
      st = ReadStringMap(r, v, where + ".secret_files", &ValidEnvName, &files);
      for (const auto& [n, p] : files) {
        if (!st.ok()) break;
        if (p.empty()) {
          st = r.Fail(v, where + ".secret_files." + n + " is empty");
          break;
        }
        fs::path path(p);
        u->secret_files[n] = path.is_absolute() ? p : r.Resolve(p);
      }
    } else if (key == "forward_methods") {
      if (!v.IsSequence()) {
        st = r.Fail(v, where + ".forward_methods must be a list of method names");
      } else {
        for (const auto& item : v.items()) {
          std::string m;
          if (st = r.String(item, where + ".forward_methods", &m); !st.ok()) break;
          u->forward_methods.push_back(m);
        }
      }
    } else if (key == "sandbox") {
      st = ReadUpstreamSandbox(r, where, v, u);
    } else if (key == "url") {
      st = r.String(v, where + ".url", &u->url);
      if (st.ok() && u->url.rfind("http://", 0) != 0 && u->url.rfind("https://", 0) != 0) {
        st = r.Fail(v, where + ".url must start with http:// or https://");
      }
    } else if (key == "ca_file") {
      st = r.String(v, where + ".ca_file", &u->ca_file);
      if (st.ok())
        u->ca_file = fs::path(u->ca_file).is_absolute() ? u->ca_file : r.Resolve(u->ca_file);
    } else if (key == "keep_alive_ms") {
      st = r.Millis(v, where + ".keep_alive_ms", 1, 0, 60000, &u->keep_alive);
      has_keep_alive = true;
    } else if (key == "headers") {
      st = ReadStringMap(r, v, where + ".headers", &ValidHeaderName, &u->headers);
    } else if (key == "credentials") {
      st = ReadCredentials(r, where + ".credentials", v, u);
    } else if (key == "secret_headers") {
      st = ReadStringMap(r, v, where + ".secret_headers", &ValidHeaderName, &u->secret_headers);
      for (const auto& [h, n] : u->secret_headers) {
        if (st.ok() && !ValidEnvName(n)) {
          st = r.Fail(v, where + ".secret_headers." + h + ": '" + n + "' is not a variable name");
        }
      }
    } else {
      st = r.Fail(kv.first, "unknown key '" + where + "." + key + "'");
    }
    if (!st.ok()) return st;
  }
  const bool stdio = !u->command.empty();
  const bool http = !u->url.empty();
  if (stdio == http) return r.Fail(node, where + " needs exactly one of command: and url:");
  if (http && u->sandbox) {
    return r.Fail(node,
                  where + ": sandbox applies to command: upstreams (a server Interlock starts)");
  }
  if (stdio && (!u->headers.empty() || !u->secret_headers.empty())) {
    return r.Fail(node, where + ": headers apply to url: upstreams only");
  }
  if (!u->ca_file.empty() && u->url.rfind("https://", 0) != 0) {
    return r.Fail(node, where + ": ca_file applies to https:// upstreams only");
  }
  if (stdio && has_keep_alive) {
    return r.Fail(node, where + ": keep_alive_ms applies to url: upstreams only");
  }
  if (u->has_credentials && http) {
    // The brokered bearer acts as the human: it never crosses the network in clear. Plain
    // http only to loopback, as for the token endpoint.
    auto ep = outbound::ParseHttpEndpoint(u->url);
    if (!ep.ok()) return r.Fail(node, where + ".url: " + ep.error().message);
    if (!ep->tls && ep->host != "127.0.0.1" && ep->host != "::1" && ep->host != "localhost") {
      return r.Fail(node, where +
                              ": credentials need an https:// url (the exchanged bearer acts "
                              "for the human; plain http only to 127.0.0.1, ::1 or localhost)");
    }
  }
  if (u->has_credentials) {
    for (const auto* m : {&u->headers, &u->secret_headers}) {
      for (const auto& [h, v] : *m) {
        std::string lower = h;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower == "authorization") {
          return r.Fail(node, where +
                                  ": credentials set the Authorization header; headers "
                                  "must not");
        }
      }
    }
  }
  if (http && (!u->env.empty() || !u->secret_env.empty() || !u->secret_files.empty() ||
               !u->pass_env.empty())) {
    return r.Fail(node, where +
                            ": env, pass_env, secret_env and secret_files apply to command: "
                            "upstreams");
  }
  return Status::Ok();
}

// A list of one-line strings.
Status ReadStringList(Reader& r, const YamlNode& node, const std::string& key,
                      std::vector<std::string>* out) {
  if (!node.IsSequence()) return r.Fail(node, key + " must be a list of strings");
  out->clear();
  for (const auto& item : node.items()) {
    std::string s;
    if (Status st = r.String(item, key, &s); !st.ok()) return st;
    if (s.find_first_of("\r\n") != std::string::npos || s.find('\0') != std::string::npos) {
      return r.Fail(item, key + " entries must be one line");
    }
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

// identity.oauth: {resource_base, authorization_servers, scopes_supported, agents}
// (docs/identity.md#mcp-clients-with-oauth-21); checked against identity.jwt by the caller.
Status ReadOAuth(Reader& r, const YamlNode& node, identity::OAuthConfig* o) {
  if (!node.IsMap()) return r.Fail(node, "identity.oauth must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string k = kv.first.Scalar();
    const std::string where = "identity.oauth." + k;
    Status st;
    if (k == "resource_base") {
      st = r.String(kv.second, where, &o->resource_base);
    } else if (k == "authorization_servers") {
      st = ReadStringList(r, kv.second, where, &o->authorization_servers);
    } else if (k == "scopes_supported") {
      st = ReadStringList(r, kv.second, where, &o->scopes_supported);
    } else if (k == "agents") {
      st = ReadStringMap(
          r, kv.second, where,
          [](std::string_view n) {
            return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            });
          },
          &o->agents);
    } else {
      st = r.Fail(kv.first,
                  "unknown key '" + where +
                      "' (resource_base, authorization_servers, scopes_supported, agents)");
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// identity.oidc: reviewer and admin sign-in on /ui/ (docs/identity.md, "Reviewer sign-in
// with OpenID Connect"). The secret is read from client_secret_file when the daemon starts.
Status ReadOidc(Reader& r, const YamlNode& node, identity::OidcConfig* o) {
  if (!node.IsMap()) return r.Fail(node, "identity.oidc must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string k = kv.first.Scalar();
    const std::string where = "identity.oidc." + k;
    int64_t secs = 0;
    Status st;
    if (k == "issuer") {
      st = r.String(kv.second, where, &o->issuer);
    } else if (k == "client_id") {
      st = r.String(kv.second, where, &o->client_id);
    } else if (k == "client_secret_file") {
      st = r.Path(kv.second, where, &o->client_secret_file);
    } else if (k == "redirect_uri") {
      st = r.String(kv.second, where, &o->redirect_uri);
    } else if (k == "ca_file") {
      st = r.Path(kv.second, where, &o->ca_file);
    } else if (k == "name") {
      st = r.String(kv.second, where, &o->name);
      if (st.ok() && (o->name.size() > 64 || o->name.find_first_of("\r\n") != std::string::npos)) {
        st = r.Fail(kv.second, where + " must be one line of at most 64 bytes");
      }
    } else if (k == "scopes") {
      st = ReadStringList(r, kv.second, where, &o->scopes);
    } else if (k == "role_claim") {
      st = r.String(kv.second, where, &o->role_claim);
    } else if (k == "reviewer_values") {
      st = ReadStringList(r, kv.second, where, &o->reviewer_values);
    } else if (k == "admin_values") {
      st = ReadStringList(r, kv.second, where, &o->admin_values);
    } else if (k == "session_seconds") {
      st = r.Integer(kv.second, where, 60, 86400, &secs);
      o->session_lifetime = std::chrono::seconds(secs);
    } else if (k == "skew_seconds") {
      st = r.Integer(kv.second, where, 0, 600, &secs);
      o->skew = std::chrono::seconds(secs);
    } else {
      st = r.Fail(kv.first, "unknown key '" + where +
                                "' (issuer, client_id, client_secret_file, redirect_uri, ca_file, "
                                "name, scopes, role_claim, reviewer_values, admin_values, "
                                "session_seconds, skew_seconds)");
    }
    if (!st.ok()) return st;
  }
  if (Status st = identity::ValidateOidcConfig(*o); !st.ok()) {
    return r.Fail(node, "identity.oidc." + st.error().message);
  }
  return Status::Ok();
}

// identity: {jwt: [{issuer, audience, jwks_uri, ca_file, agent_claim, on_behalf_of_claim,
// on_behalf_of_groups_claim, skew_seconds, max_lifetime_seconds, max_key_age_seconds,
// refresh_seconds, identities}, ...], oauth: {...}, oidc: {...}}
Status ReadIdentity(Reader& r, const YamlNode& node, ServerConfig* config) {
  if (!node.IsMap()) return r.Fail(node, "identity must be a mapping");
  std::vector<identity::IssuerConfig>* out = &config->jwt_issuers;
  std::optional<YamlNode> oauth_node;
  for (const auto& kv : node.entries()) {
    const std::string key = kv.first.Scalar();
    if (key == "oauth") {
      if (Status st = ReadOAuth(r, kv.second, &config->oauth); !st.ok()) return st;
      oauth_node = kv.second;
      continue;
    }
    if (key == "oidc") {
      if (Status st = ReadOidc(r, kv.second, &config->oidc); !st.ok()) return st;
      continue;
    }
    if (key != "jwt") {
      return r.Fail(kv.first, "unknown key 'identity." + key + "' (jwt, oauth, oidc)");
    }
    if (!kv.second.IsSequence()) return r.Fail(kv.second, "identity.jwt must be a list of issuers");
    out->clear();
    for (const auto& item : kv.second.items()) {
      if (!item.IsMap()) return r.Fail(item, "each identity.jwt entry must be a mapping");
      identity::IssuerConfig c;
      for (const auto& f : item.entries()) {
        const std::string k = f.first.Scalar();
        const std::string where = "identity.jwt[]." + k;
        int64_t secs = 0;
        Status st;
        if (k == "issuer") {
          st = r.String(f.second, where, &c.issuer);
        } else if (k == "audience") {
          st = r.String(f.second, where, &c.audience);
        } else if (k == "jwks_uri") {
          st = r.String(f.second, where, &c.jwks_uri);
        } else if (k == "ca_file") {
          st = r.Path(f.second, where, &c.ca_file);
        } else if (k == "agent_claim") {
          st = r.String(f.second, where, &c.agent_claim);
        } else if (k == "on_behalf_of_claim") {
          st = r.String(f.second, where, &c.on_behalf_of_claim);
        } else if (k == "on_behalf_of_groups_claim") {
          st = r.String(f.second, where, &c.on_behalf_of_groups_claim);
        } else if (k == "skew_seconds") {
          st = r.Integer(f.second, where, 0, 600, &secs);
          c.skew = std::chrono::seconds(secs);
        } else if (k == "max_lifetime_seconds") {
          st = r.Integer(f.second, where, 1, 366LL * 86400, &secs);
          c.max_lifetime = std::chrono::seconds(secs);
        } else if (k == "max_key_age_seconds") {
          st = r.Integer(f.second, where, 60, 30LL * 86400, &secs);
          c.max_key_age = std::chrono::seconds(secs);
        } else if (k == "refresh_seconds") {
          st = r.Integer(f.second, where, 30, 86400, &secs);
          c.refresh_interval = std::chrono::seconds(secs);
        } else if (k == "identities") {
          st = ReadStringList(r, f.second, where, &c.identities);
        } else {
          st = r.Fail(f.first, "unknown key '" + where + "'");
        }
        if (!st.ok()) return st;
      }
      if (Status st = identity::ValidateIssuerConfig(c); !st.ok()) {
        return r.Fail(item, "identity.jwt: " + st.error().message);
      }
      for (const identity::IssuerConfig& other : *out) {
        if (other.issuer == c.issuer) {
          return r.Fail(item, "identity.jwt lists issuer '" + c.issuer + "' twice");
        }
      }
      out->push_back(std::move(c));
    }
  }
  if (oauth_node) {
    if (Status st = identity::ValidateOAuthConfig(config->oauth, *out); !st.ok()) {
      return r.Fail(*oauth_node, "identity.oauth: " + st.error().message);
    }
  }
  return Status::Ok();
}

Status ReadBool(Reader& r, const YamlNode& n, const std::string& key, bool* out) {
  if (!n.IsScalar() || (n.Scalar() != "true" && n.Scalar() != "false")) {
    return r.Fail(n, key + " must be true or false");
  }
  *out = n.Scalar() == "true";
  return Status::Ok();
}

// A URL an OTLP signal is posted to: http(s)://host[:port]/path.
Status ReadOtlpUrl(Reader& r, const YamlNode& v, const std::string& key, std::string* out) {
  if (Status st = r.String(v, key, out); !st.ok()) return st;
  if (out->rfind("http://", 0) != 0 && out->rfind("https://", 0) != 0) {
    return r.Fail(v, key +
                         " must start with http:// or https:// (OTLP/HTTP; gRPC is not "
                         "supported)");
  }
  return Status::Ok();
}

// telemetry: (docs/telemetry.md#configuration). An endpoint turns export on.
Status ReadTelemetry(Reader& r, const YamlNode& node, telemetry::TelemetryOptions* t) {
  if (!node.IsMap()) return r.Fail(node, "telemetry must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string k = kv.first.Scalar();
    const std::string key = "telemetry." + k;
    const YamlNode& v = kv.second;
    Status st;
    if (k == "endpoint") {
      st = ReadOtlpUrl(r, v, key, &t->endpoint);
    } else if (k == "traces_endpoint") {
      st = ReadOtlpUrl(r, v, key, &t->traces_endpoint);
    } else if (k == "logs_endpoint") {
      st = ReadOtlpUrl(r, v, key, &t->logs_endpoint);
    } else if (k == "metrics_endpoint") {
      st = ReadOtlpUrl(r, v, key, &t->metrics_endpoint);
    } else if (k == "protocol") {
      std::string p;
      st = r.String(v, key, &p);
      if (st.ok() && p != "http/protobuf" && p != "http/json") {
        st = r.Fail(v, key + " must be http/protobuf or http/json");
      }
      t->protocol = p == "http/json" ? telemetry::Encoding::kJson : telemetry::Encoding::kProtobuf;
    } else if (k == "headers") {
      std::map<std::string, std::string> headers;
      st = ReadStringMap(r, v, key, ValidHeaderName, &headers);
      for (auto& [name, value] : headers) t->headers.emplace_back(name, value);
    } else if (k == "ca_file") {
      st = r.Path(v, key, &t->ca_file);
    } else if (k == "traces") {
      st = ReadBool(r, v, key, &t->traces);
    } else if (k == "logs") {
      st = ReadBool(r, v, key, &t->logs);
    } else if (k == "metrics") {
      st = ReadBool(r, v, key, &t->metrics);
    } else if (k == "send_arguments") {
      st = ReadBool(r, v, key, &t->send_arguments);
    } else if (k == "queue_size") {
      st = r.Integer(v, key, 1, 1 << 20, &t->queue_size);
    } else if (k == "batch_size") {
      st = r.Integer(v, key, 1, 1 << 16, &t->batch_size);
    } else if (k == "batch_interval_ms") {
      st = r.Millis(v, key, 1, 10, 600000, &t->batch_interval);
    } else if (k == "metrics_interval_ms") {
      st = r.Millis(v, key, 1, 100, 3600000, &t->metrics_interval);
    } else if (k == "timeout_ms") {
      st = r.Millis(v, key, 1, 1, 600000, &t->timeout);
    } else if (k == "shutdown_timeout_ms") {
      st = r.Millis(v, key, 1, 0, 600000, &t->shutdown_timeout);
    } else if (k == "service_name") {
      st = r.String(v, key, &t->service_name);
      if (st.ok() && t->service_name.empty()) st = r.Fail(v, key + " must not be empty");
    } else if (k == "resource_attributes") {
      if (!v.IsMap()) {
        st = r.Fail(v, key + " must be a mapping");
      } else {
        for (const auto& a : v.entries()) {
          std::string value;
          if (st = r.String(a.second, key + "." + a.first.Scalar(), &value); !st.ok()) break;
          t->resource_attributes.emplace_back(a.first.Scalar(), value);
        }
      }
    } else {
      st = r.Fail(kv.first, "unknown key '" + key + "'");
    }
    if (!st.ok()) return st;
  }
  t->enabled = !t->endpoint.empty() || !t->traces_endpoint.empty() || !t->logs_endpoint.empty() ||
               !t->metrics_endpoint.empty();
  return Status::Ok();
}

Status ReadMcp(Reader& r, const YamlNode& node, McpConfig* m) {
  if (!node.IsMap()) return r.Fail(node, "mcp must be a mapping");
  for (const auto& kv : node.entries()) {
    const std::string key = kv.first.Scalar();
    const YamlNode& v = kv.second;
    Status st;
    if (key == "upstreams") {
      if (!v.IsMap()) {
        st = r.Fail(v, "mcp.upstreams must map names to upstream servers");
      } else {
        m->upstreams.clear();
        for (const auto& u : v.entries()) {
          const std::string name = u.first.Scalar();
          if (!ValidUpstreamName(name)) {
            st = r.Fail(u.first, "mcp.upstreams: '" + name +
                                     "' is not a valid name (lower-case letters, digits, '-')");
            break;
          }
          McpUpstreamConfig up;
          if (st = ReadUpstream(r, name, u.second, &up); !st.ok()) break;
          m->upstreams[name] = std::move(up);
        }
      }
    } else if (key == "allowed_origins") {
      if (!v.IsSequence()) {
        st = r.Fail(v, "mcp.allowed_origins must be a list");
      } else {
        m->allowed_origins.clear();
        for (const auto& item : v.items()) {
          std::string o;
          if (st = r.String(item, "mcp.allowed_origins", &o); !st.ok()) break;
          if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0) {
            st = r.Fail(item, "mcp.allowed_origins: '" + o +
                                  "' must be \"*\" or an origin like http://localhost:3000");
            break;
          }
          while (o.size() > 1 && o.back() == '/') o.pop_back();
          m->allowed_origins.push_back(o);
        }
      }
    } else if (key == "allowed_hosts") {
      if (!v.IsSequence()) {
        st = r.Fail(v, "mcp.allowed_hosts must be a list");
      } else {
        m->allowed_hosts.clear();
        for (const auto& item : v.items()) {
          std::string h;
          if (st = r.String(item, "mcp.allowed_hosts", &h); !st.ok()) break;
          if (h.empty() || h.find_first_of("/ ") != std::string::npos) {
            st = r.Fail(item, "mcp.allowed_hosts: '" + h +
                                  "' must be \"*\", a host name or host:port (no scheme)");
            break;
          }
          m->allowed_hosts.push_back(h);
        }
      }
    } else if (key == "max_sessions") {
      st = r.Integer(v, "mcp." + key, 1, 100000, &m->max_sessions);
    } else if (key == "max_sessions_per_agent") {
      st = r.Integer(v, "mcp." + key, 1, 100000, &m->max_sessions_per_agent);
    } else if (key == "session_idle_timeout_seconds") {
      st = r.Millis(v, "mcp." + key, 1000, 1, 7 * 86400, &m->session_idle_timeout);
    } else if (key == "session_idle_timeout_ms") {
      st = r.Millis(v, "mcp." + key, 1, 100, 7LL * 86400 * 1000, &m->session_idle_timeout);
    } else if (key == "sse_after_ms") {
      st = r.Millis(v, "mcp." + key, 1, 0, 600000, &m->sse_after);
    } else if (key == "approval_retry_wait_seconds") {
      st = r.Millis(v, "mcp." + key, 1000, mcp::kMinRetryWaitSeconds, mcp::kMaxRetryWaitSeconds,
                    &m->approval_retry_wait);
    } else if (key == "keepalive_seconds") {
      st = r.Millis(v, "mcp." + key, 1000, 1, 3600, &m->keepalive);
    } else if (key == "child_grace_ms") {
      st = r.Millis(v, "mcp." + key, 1, 0, 60000, &m->child_grace);
    } else {
      st = r.Fail(kv.first, "unknown key 'mcp." + key + "'");
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

Status ParseListen(std::string_view listen, ServerConfig* config) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return Error::Invalid("listen address '" + std::string(listen) + "' must be HOST:PORT");
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    return Error::Invalid("listen port '" + std::string(port) + "' must be 0..65535");
  }
  config->host = std::string(host == "localhost" ? "127.0.0.1" : host);
  config->port = static_cast<uint16_t>(p);
  return Status::Ok();
}

Status ReadApprovals(Reader& r, const YamlNode& node, ServerConfig* c) {
  return ReadSection(
      r, node, "approvals",
      {{"default_timeout_seconds",
        [&](const YamlNode& n) {
          return r.Integer(n, "default_timeout_seconds", 1, 7 * 86400,
                           &c->approval_timeout_seconds);
        }},
       {"max_wait_seconds",
        [&](const YamlNode& n) {
          return r.Integer(n, "max_wait_seconds", 1, 30 * 86400, &c->approval_max_wait_seconds);
        }},
       {"public_url",
        [&](const YamlNode& n) {
          if (Status st = r.String(n, "public_url", &c->public_url); !st.ok()) return st;
          if (c->public_url.rfind("http://", 0) != 0 && c->public_url.rfind("https://", 0) != 0) {
            return r.Fail(n, "approvals.public_url must start with http:// or https://");
          }
          return Status::Ok();
        }},
       {"channel", [&](const YamlNode& n) { return r.String(n, "channel", &c->approval_channel); }},
       {"sweep_ms", [&](const YamlNode& n) {
          return r.Millis(n, "sweep_ms", 1, 10, 60000, &c->approval_sweep);
        }}});
}

Status ReadNotifier(Reader& r, const YamlNode& node, ServerConfig* c) {
  return ReadSection(
      r, node, "notifier",
      {{"max_attempts",
        [&](const YamlNode& n) {
          return r.Integer(n, "max_attempts", 1, 100, &c->webhook_attempts);
        }},
       {"initial_backoff_ms",
        [&](const YamlNode& n) {
          return r.Millis(n, "initial_backoff_ms", 1, 1, 600000, &c->webhook_backoff);
        }},
       {"queue",
        [&](const YamlNode& n) { return r.Integer(n, "queue", 1, 1 << 20, &c->notifier_queue); }},
       {"ca_file",
        [&](const YamlNode& n) { return r.Path(n, "notifier.ca_file", &c->webhook_ca_file); }}});
}

Status ReadAudit(Reader& r, const YamlNode& node, ServerConfig* c) {
  return ReadSection(r, node, "audit",
                     {{"retention_days",
                       [&](const YamlNode& n) {
                         return r.Integer(n, "audit.retention_days", 0, 100 * 365,
                                          &c->audit_retention_days);
                       }},
                      {"prune_interval_hours",
                       [&](const YamlNode& n) {
                         return r.Millis(n, "audit.prune_interval_hours", 3600 * 1000, 1, 24 * 366,
                                         &c->audit_prune_interval);
                       }},
                      {"prune_interval_ms",  // tests
                       [&](const YamlNode& n) {
                         return r.Millis(n, "audit.prune_interval_ms", 1, 10,
                                         24LL * 366 * 3600 * 1000, &c->audit_prune_interval);
                       }},
                      {"first_prune_after_ms", [&](const YamlNode& n) {
                         return r.Millis(n, "audit.first_prune_after_ms", 1, 0, 24LL * 3600 * 1000,
                                         &c->audit_prune_first);
                       }}});
}

// slack: channel, api_base, bot_token_file, signing_secret_file, users, state_file,
// ca_file. A channel needs both secrets; users maps Slack user ids to names.
Status ReadSlack(Reader& r, const YamlNode& node, SlackConfig* s) {
  auto str = [&](const char* k, std::string* out) {
    return [&r, k, out](const YamlNode& n) { return r.String(n, std::string("slack.") + k, out); };
  };
  auto path = [&](const char* k, std::string* out) {
    return [&r, k, out](const YamlNode& n) { return r.Path(n, std::string("slack.") + k, out); };
  };
  Status st = ReadSection(
      r, node, "slack",
      {{"channel", str("channel", &s->channel)},
       {"api_base", str("api_base", &s->api_base)},
       {"bot_token_file", path("bot_token_file", &s->bot_token_file)},
       {"signing_secret_file", path("signing_secret_file", &s->signing_secret_file)},
       {"state_file", path("state_file", &s->state_file)},
       {"ca_file", path("ca_file", &s->ca_file)},
       {"users", [&](const YamlNode& n) {
          if (!n.IsMap()) return r.Fail(n, "slack.users must map Slack user ids to reviewer names");
          for (const auto& u : n.entries()) {
            std::string name;
            if (Status e = r.String(u.second, "slack.users." + u.first.Scalar(), &name); !e.ok()) {
              return e;
            }
            if (name.empty())
              return r.Fail(u.second, "slack.users." + u.first.Scalar() + " is empty");
            s->users[u.first.Scalar()] = name;
          }
          return Status::Ok();
        }}});
  if (!st.ok()) return st;
  if (s->channel.empty()) return r.Fail(node, "slack.channel is required");
  if (s->bot_token_file.empty() || s->signing_secret_file.empty()) {
    return r.Fail(node, "slack needs bot_token_file and signing_secret_file");
  }
  return Status::Ok();
}

// The config file's top-level keys, as LoadServerConfig reads them (for "did you mean":
// add a key here when the reader below learns it).
const std::vector<std::string_view> kTopLevelKeys = {"listen",
                                                     "threads",
                                                     "policies",
                                                     "allow_plain_http",
                                                     "auth_cache_ms",
                                                     "durability",
                                                     "limits",
                                                     "store",
                                                     "tls_cert",
                                                     "tls_key",
                                                     "metrics_token_file",
                                                     "policy_poll_ms",
                                                     "webhooks",
                                                     "role_policies",
                                                     "workspace",
                                                     "approvals",
                                                     "notifier",
                                                     "mcp",
                                                     "identity",
                                                     "telemetry",
                                                     "audit",
                                                     "slack",
                                                     "governance",
                                                     "drill",
                                                     "ext_authz"};

Status LoadServerConfig(const std::string& path, ServerConfig* c) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  // The strict reader: a key written twice (which would silently keep one), or a second
  // document, is an error with its position, as in policy files.
  Result<YamlNode> read = ReadYamlTree(ss.str(), path);
  if (!read.ok()) return read.error();
  const YamlNode root = std::move(*read);
  Reader r(path, fs::path(path).parent_path());
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return r.Fail(root, "the config file must be a mapping");
  std::vector<Status> errors;
  for (const auto& kv : root.entries()) {
    const std::string key = kv.first.Scalar();
    const YamlNode& v = kv.second;
    Status st;
    if (key == "listen") {
      std::string s;
      st = r.String(v, key, &s);
      if (st.ok()) {
        st = ParseListen(s, c);
        if (!st.ok()) st = r.Fail(v, st.error().message);
      }
    } else if (key == "threads") {
      st = r.Integer(v, key, 0, 1024, &c->threads);
    } else if (key == "policies") {
      c->policies.clear();
      if (v.IsSequence()) {
        for (const auto& item : v.items()) {
          std::string p;
          if (st = r.Path(item, key, &p); !st.ok()) break;
          c->policies.push_back(p);
        }
      } else {
        std::string p;
        st = r.Path(v, key, &p);
        if (st.ok()) c->policies.push_back(p);
      }
    } else if (key == "workspace") {
      st = r.Path(v, key, &c->workspace);
    } else if (key == "store") {
      // A PostgreSQL URI (store::IsPostgresUri's prefixes) goes to libpq as written; only a
      // SQLite file's path is relative to this file's directory.
      std::string s;
      st = r.String(v, key, &s);
      if (st.ok() && (s.starts_with("postgresql://") || s.starts_with("postgres://"))) {
        c->store = s;
      } else if (st.ok()) {
        st = r.Path(v, key, &c->store);
      }
    } else if (key == "durability") {
      std::string s;
      st = r.String(v, key, &s);
      if (st.ok() && s != "full" && s != "normal") {
        st = r.Fail(v, "durability must be 'full' or 'normal'");
      }
      c->durable_full = s != "normal";
    } else if (key == "tls_cert") {
      st = r.Path(v, key, &c->tls_cert);
    } else if (key == "tls_key") {
      st = r.Path(v, key, &c->tls_key);
    } else if (key == "metrics_token_file") {
      st = r.Path(v, key, &c->metrics_token_file);
    } else if (key == "allow_plain_http") {
      st = ReadBool(r, v, key, &c->allow_plain_http);
    } else if (key == "limits") {
      st = ReadLimits(r, v, c);
    } else if (key == "auth_cache_ms") {
      st = r.Millis(v, key, 1, 0, 60000, &c->auth_cache_ttl);
    } else if (key == "policy_poll_ms") {
      st = r.Millis(v, key, 1, 100, 3600000, &c->policy_poll);
    } else if (key == "webhooks") {
      if (!v.IsMap()) {
        st = r.Fail(v, "webhooks must map channel names to http(s):// URLs");
      } else {
        for (const auto& w : v.entries()) {
          std::string url;
          if (st = r.String(w.second, "webhooks." + w.first.Scalar(), &url); !st.ok()) break;
          c->webhooks[w.first.Scalar()] = url;
        }
      }
    } else if (key == "role_policies") {
      st = ReadRolePolicies(r, v, &c->role_policies);
    } else if (key == "approvals") {
      st = ReadApprovals(r, v, c);
    } else if (key == "notifier") {
      st = ReadNotifier(r, v, c);
    } else if (key == "mcp") {
      st = ReadMcp(r, v, &c->mcp);
    } else if (key == "identity") {
      st = ReadIdentity(r, v, c);
    } else if (key == "telemetry") {
      st = ReadTelemetry(r, v, &c->telemetry);
    } else if (key == "audit") {
      st = ReadAudit(r, v, c);
    } else if (key == "slack") {
      st = ReadSlack(r, v, &c->slack);
    } else if (key == "ext_authz") {
      st = doors::ext_authz::ReadExtAuthzConfig(v, path, fs::path(path).parent_path().string(),
                                                &c->ext_authz);
    } else if (key == "governance") {
      st = ReadSection(r, v, key,
                       {{"wait_ms",
                         [&](const YamlNode& n) {
                           return r.Millis(n, "governance.wait_ms", 1, 0, 10000,
                                           &c->governance_wait);
                         }},
                        {"min_interval_seconds", [&](const YamlNode& n) {
                           return r.Millis(n, "governance.min_interval_seconds", 1000, 0, 86400,
                                           &c->governance_min_interval);
                         }}});
    } else if (key == "drill") {
      st = ReadSection(r, v, key, {{"warn_after_days", [&](const YamlNode& n) {
                                      return r.Millis(n, "drill.warn_after_days", 86400 * 1000, 0,
                                                      3650, &c->drill_warn_after);
                                    }}});
    } else {
      const std::string best = NearestName(key, kTopLevelKeys);
      st = r.Fail(kv.first, "unknown key '" + key + "'" +
                                (best.empty() ? "" : "; did you mean '" + best + "'?"));
    }
    // Every section's error in one pass (the first of each), as the policy loader does.
    if (!st.ok()) errors.push_back(std::move(st));
  }
  if (errors.size() == 1) return errors[0];
  if (!errors.empty()) {
    std::string all = std::to_string(errors.size()) + " errors:";
    for (const Status& e : errors) all += "\n" + e.error().message;
    return Error::Invalid(all);
  }
  // identity.oauth.agents names upstreams of the mcp: section (read in either order).
  for (const auto& [upstream, agent] : c->oauth.agents) {
    if (c->mcp.upstreams.count(upstream) == 0) {
      return Error::Invalid(path + ": identity.oauth.agents: no mcp upstream named '" + upstream +
                            "'");
    }
  }
  return Status::Ok();
}

}  // namespace interlock::server
