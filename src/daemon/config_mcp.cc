// The daemon config's mcp: section (docs/operations.md#configuration, docs/mcp.md):
// upstreams, their sandbox and credentials, and the gateway's limits. Every error of the
// section is recorded (daemon/config_reader.h).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

#include "common/env_name.h"
#include "common/text.h"
#include "daemon/config_reader.h"
#include "outbound/http_endpoint.h"

namespace interlock::server::config_internal {
namespace {

namespace fs = std::filesystem;

bool McpConfigValidUpstreamName(std::string_view n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// credentials.client_credentials.agents: {AGENT: {client_id, client_secret_file}}.
void ReadCredentialAgents(ConfigReader& r, const std::string& at, const YamlNode& v,
                          McpUpstreamConfig* u) {
  identity::CredentialConfig& c = u->credentials;
  if (!v.IsMap()) {
    r.Report(v, at + ".agents must map agent ids to clients");
    return;
  }
  for (const auto& a : v.entries()) {
    const std::string agent = a.first.Scalar();
    const std::string where = at + ".agents." + agent;
    if (!a.second.IsMap()) {
      r.Report(a.second, where + " must be {client_id, client_secret_file}");
      continue;
    }
    identity::CredentialClient& client = c.agents[agent];
    const size_t before = r.error_count();
    Recorded(ReadSection(
        r, a.second, where,
        {{"client_id",
          [&](const YamlNode& n) { return r.String(n, where + ".client_id", &client.client_id); }},
         {"client_secret_file", [&](const YamlNode& n) {
            return r.Path(n, where + ".client_secret_file",
                          &u->credentials_agent_secret_files[agent]);
          }}}));
    if (r.error_count() == before &&
        (client.client_id.empty() || u->credentials_agent_secret_files.count(agent) == 0)) {
      r.Report(a.second, where + " needs client_id and client_secret_file");
    }
  }
}

// The keys of credentials.KIND, each read into `u` (the scope into `scope`).
std::vector<SectionKey> CredentialKeys(ConfigReader& r, const std::string& at, McpUpstreamConfig* u,
                                       std::string* scope) {
  identity::CredentialConfig& c = u->credentials;
  std::vector<SectionKey> keys = {
      {"token_url",
       [&r, at, &c](const YamlNode& v) { return r.String(v, at + ".token_url", &c.token_url); }},
      {"client_id",
       [&r, at, &c](const YamlNode& v) {
         return r.String(v, at + ".client_id", &c.client.client_id);
       }},
      {"client_secret_file",
       [&r, at, u](const YamlNode& v) {
         return r.Path(v, at + ".client_secret_file", &u->credentials_secret_file);
       }},
      // RFC 7523 private_key_jwt: the client signs a short-lived JWT instead of sending a
      // secret. {key_file: PEM} (Ed25519 or RSA).
      {"client_assertion",
       [&r, at, u](const YamlNode& v) {
         if (!v.IsMap() || v.size() != 1 || v.entries().front().first.Scalar() != "key_file") {
           return r.Fail(v, at + ".client_assertion must be {key_file: PATH}");
         }
         return r.Path(v.entries().front().second, at + ".client_assertion.key_file",
                       &u->credentials_assertion_key_file);
       }},
      {"audience",
       [&r, at, &c](const YamlNode& v) { return r.String(v, at + ".audience", &c.audience); }},
      {"scope", [&r, at, scope](const YamlNode& v) { return r.String(v, at + ".scope", scope); }},
      {"ca_file",
       [&r, at, &c](const YamlNode& v) { return r.Path(v, at + ".ca_file", &c.ca_file); }},
      {"timeout_ms",
       [&r, at, &c](const YamlNode& v) {
         return r.Millis(v, at + ".timeout_ms", 1, 50, 60000, &c.timeout);
       }},
      {"renew_before_seconds",
       [&r, at, &c](const YamlNode& v) {
         return r.Seconds(v, at + ".renew_before_seconds", 0, 3600, &c.renew_before);
       }},
      {"env", [&r, at, &c](const YamlNode& v) {
         if (Status st = r.String(v, at + ".env", &c.env); !st.ok()) return st;
         if (!ValidEnvName(c.env)) return r.Fail(v, at + ".env is not a variable name");
         return Status::Ok();
       }}};
  if (c.kind == identity::CredentialKind::kClientCredentials) {
    keys.push_back({"agents", [&r, at, u](const YamlNode& v) {
                      const size_t before = r.error_count();
                      ReadCredentialAgents(r, at, v, u);
                      return SectionStatus(r, before);
                    }});
  }
  return keys;
}

// credentials: {token_exchange | client_credentials: {token_url, client_id,
// client_secret_file, audience, scope, ca_file, timeout_ms, renew_before_seconds, env,
// agents: {AGENT: {client_id, client_secret_file}}}} (docs/identity.md#upstream-credentials).
Status ReadCredentials(ConfigReader& r, const std::string& where, const YamlNode& node,
                       McpUpstreamConfig* u) {
  if (!node.IsMap() || node.size() != 1) {
    return r.Fail(node, where + " must be {token_exchange: {...}} or {client_credentials: {...}}");
  }
  const YamlNode& kind_node = node.entries().front().first;
  const std::string kind = kind_node.Scalar();
  const YamlNode& body = node.entries().front().second;
  identity::CredentialConfig& c = u->credentials;
  if (kind == "token_exchange") {
    c.kind = identity::CredentialKind::kTokenExchange;
  } else if (kind == "client_credentials") {
    c.kind = identity::CredentialKind::kClientCredentials;
  } else {
    r.Unknown(kind_node, where, {"token_exchange", "client_credentials"});
    return Error::Invalid(r.errors().back());
  }
  const std::string at = where + "." + kind;
  c.upstream = u->name;
  u->has_credentials = true;
  std::string scope;
  if (Status st = ReadSection(r, body, at, CredentialKeys(r, at, u, &scope)); !st.ok()) return st;
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

// A list of paths under sandbox.write or sandbox.read (relative ones: to the file).
Status ReadSandboxPaths(ConfigReader& r, const std::string& list, const YamlNode& v,
                        std::vector<std::string>* into) {
  return ReadCheckedList(
      r, v, list, " of paths",
      [&r, &list](std::string& d) {
        if (d.empty()) return list + ": an empty path";
        if (!fs::path(d).is_absolute()) d = r.Resolve(d);
        return std::string();
      },
      into);
}

// mcp.upstreams.NAME.sandbox: true, false or {write: [DIR, ...], read: [PATH, ...], env: [...]}.
Status ReadUpstreamSandbox(ConfigReader& r, const std::string& where, const YamlNode& v,
                           McpUpstreamConfig* u) {
  if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) {
    u->sandbox = v.Scalar() == "true";
    return Status::Ok();
  }
  if (!v.IsMap()) {
    return r.Fail(v,
                  where + ".sandbox must be true, false or {write: [DIR, ...], read: [PATH, ...]}");
  }
  u->sandbox = true;
  const std::string at = where + ".sandbox";
  return ReadSection(
      r, v, at,
      {{"write",
        [&](const YamlNode& n) {
          return ReadSandboxPaths(r, at + ".write", n, &u->sandbox_write);
        }},
       {"read",
        [&](const YamlNode& n) { return ReadSandboxPaths(r, at + ".read", n, &u->sandbox_read); }},
       {"env",
        [&](const YamlNode& n) { return ReadEnvNames(r, n, at + ".env", &u->sandbox_env); }}});
}

// A list of non-empty strings at `key` (command, forward_methods).
Status ReadUpstreamStrings(ConfigReader& r, const YamlNode& v, const std::string& key,
                           const std::string& what, std::vector<std::string>* out) {
  if (!v.IsSequence() || v.size() == 0) return r.Fail(v, key + " must be " + what);
  const size_t before = r.error_count();
  for (const auto& item : v.items()) {
    std::string a;
    if (r.String(item, key, &a).ok()) out->push_back(a);
  }
  return SectionStatus(r, before);
}

// The keys of mcp.upstreams.NAME, each read into `u`.
std::vector<SectionKey> UpstreamKeys(ConfigReader& r, const std::string& where,
                                     McpUpstreamConfig* u, bool* has_keep_alive) {
  return {
      {"command",
       [&r, where, u](const YamlNode& v) {
         Status st =
             ReadUpstreamStrings(r, v, where + ".command", "a non-empty list (argv)", &u->command);
         if (st.ok() && u->command[0].empty()) return r.Fail(v, where + ".command[0] is empty");
         return st;
       }},
      {"env",
       [&r, where, u](const YamlNode& v) {
         return ReadStringMap(r, v, where + ".env", &ValidEnvName, &u->env);
       }},
      {"pass_env",
       [&r, where, u](const YamlNode& v) {
         return ReadEnvNames(r, v, where + ".pass_env", &u->pass_env);
       }},
      {"secret_env",
       [&r, where, u](const YamlNode& v) {
         return ReadEnvNames(r, v, where + ".secret_env", &u->secret_env);
       }},
      {"secret_files",
       [&r, where, u](const YamlNode& v) {
         std::map<std::string, std::string> files;
         Status st = ReadStringMap(r, v, where + ".secret_files", &ValidEnvName, &files);
         for (const auto& [n, p] : files) {
           if (p.empty()) {
             st = r.Fail(v, where + ".secret_files." + n + " is empty");
             continue;
           }
           u->secret_files[n] = fs::path(p).is_absolute() ? p : r.Resolve(p);
         }
         return st;
       }},
      {"forward_methods",
       [&r, where, u](const YamlNode& v) {
         if (v.IsSequence() && v.size() == 0) return Status::Ok();
         return ReadUpstreamStrings(r, v, where + ".forward_methods", "a list of method names",
                                    &u->forward_methods);
       }},
      {"sandbox",
       [&r, where, u](const YamlNode& v) { return ReadUpstreamSandbox(r, where, v, u); }},
      {"url",
       [&r, where, u](const YamlNode& v) {
         if (Status st = r.String(v, where + ".url", &u->url); !st.ok()) return st;
         if (u->url.rfind("http://", 0) != 0 && u->url.rfind("https://", 0) != 0) {
           return r.Fail(v, where + ".url must start with http:// or https://");
         }
         return Status::Ok();
       }},
      {"ca_file",
       [&r, where, u](const YamlNode& v) { return r.Path(v, where + ".ca_file", &u->ca_file); }},
      {"keep_alive_ms",
       [&r, where, u, has_keep_alive](const YamlNode& v) {
         *has_keep_alive = true;
         return r.Millis(v, where + ".keep_alive_ms", 1, 0, 60000, &u->keep_alive);
       }},
      {"headers",
       [&r, where, u](const YamlNode& v) {
         return ReadStringMap(r, v, where + ".headers", &ValidHeaderName, &u->headers);
       }},
      {"credentials",
       [&r, where, u](const YamlNode& v) {
         return ReadCredentials(r, where + ".credentials", v, u);
       }},
      {"secret_headers",
       [&r, where, u](const YamlNode& v) {
         Status st =
             ReadStringMap(r, v, where + ".secret_headers", &ValidHeaderName, &u->secret_headers);
         for (const auto& [h, n] : u->secret_headers) {
           if (!ValidEnvName(n)) {
             st =
                 r.Fail(v, where + ".secret_headers." + h + ": '" + n + "' is not a variable name");
           }
         }
         return st;
       }},
  };
}

// What one upstream's keys allow together; "" when they do.
std::string UpstreamConflict(const McpUpstreamConfig& u, bool has_keep_alive) {
  const bool stdio = !u.command.empty();
  const bool http = !u.url.empty();
  if (stdio == http) return " needs exactly one of command: and url:";
  if (http && u.sandbox)
    return ": sandbox applies to command: upstreams (a server Interlock starts)";
  if (stdio && (!u.headers.empty() || !u.secret_headers.empty())) {
    return ": headers apply to url: upstreams only";
  }
  if (!u.ca_file.empty() && u.url.rfind("https://", 0) != 0) {
    return ": ca_file applies to https:// upstreams only";
  }
  if (stdio && has_keep_alive) return ": keep_alive_ms applies to url: upstreams only";
  if (u.has_credentials && http) {
    // The brokered bearer acts as the human: it never crosses the network in clear. Plain
    // http only to loopback, as for the token endpoint.
    auto ep = outbound::ParseHttpEndpoint(u.url);
    if (!ep.ok()) return ".url: " + ep.error().message;
    if (!ep->tls && ep->host != "127.0.0.1" && ep->host != "::1" && ep->host != "localhost") {
      return ": credentials need an https:// url (the exchanged bearer acts for the human; plain "
             "http only to 127.0.0.1, ::1 or localhost)";
    }
  }
  if (u.has_credentials) {
    for (const auto* m : {&u.headers, &u.secret_headers}) {
      for (const auto& [h, v] : *m) {
        if (AsciiLower(h) == "authorization") {
          return ": credentials set the Authorization header; headers must not";
        }
      }
    }
  }
  if (http &&
      (!u.env.empty() || !u.secret_env.empty() || !u.secret_files.empty() || !u.pass_env.empty())) {
    return ": env, pass_env, secret_env and secret_files apply to command: upstreams";
  }
  return "";
}

Status ReadUpstream(ConfigReader& r, const std::string& name, const YamlNode& node,
                    McpUpstreamConfig* u) {
  const std::string where = "mcp.upstreams." + name;
  u->name = name;
  bool has_keep_alive = false;
  if (Status st = ReadSection(r, node, where, UpstreamKeys(r, where, u, &has_keep_alive));
      !st.ok()) {
    return st;
  }
  if (const std::string conflict = UpstreamConflict(*u, has_keep_alive); !conflict.empty()) {
    return r.Fail(node, where + conflict);
  }
  return Status::Ok();
}

// A list of origins (exact, or "*") allowed to call /mcp/*.
Status ReadAllowedOrigins(ConfigReader& r, const YamlNode& v, std::vector<std::string>* out) {
  if (v.IsSequence()) out->clear();
  return ReadCheckedList(
      r, v, "mcp.allowed_origins", "",
      [](std::string& o) {
        if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0) {
          return "mcp.allowed_origins: '" + o +
                 "' must be \"*\" or an origin like http://localhost:3000";
        }
        while (o.size() > 1 && o.back() == '/') o.pop_back();
        return std::string();
      },
      out);
}

// A list of host names (or host:port, or "*") a request to /mcp/* may name.
Status ReadAllowedHosts(ConfigReader& r, const YamlNode& v, std::vector<std::string>* out) {
  if (v.IsSequence()) out->clear();
  return ReadCheckedList(
      r, v, "mcp.allowed_hosts", "",
      [](std::string& h) {
        if (h.empty() || h.find_first_of("/ ") != std::string::npos) {
          return "mcp.allowed_hosts: '" + h +
                 "' must be \"*\", a host name or host:port (no scheme)";
        }
        return std::string();
      },
      out);
}

Status ReadUpstreams(ConfigReader& r, const YamlNode& v, McpConfig* m) {
  if (!v.IsMap()) return r.Fail(v, "mcp.upstreams must map names to upstream servers");
  const size_t before = r.error_count();
  m->upstreams.clear();
  for (const auto& u : v.entries()) {
    const std::string name = u.first.Scalar();
    if (!McpConfigValidUpstreamName(name)) {
      r.Report(u.first, "mcp.upstreams: '" + name +
                            "' is not a valid name (lower-case letters, digits, '-')");
      continue;
    }
    McpUpstreamConfig up;
    if (ReadUpstream(r, name, u.second, &up).ok()) m->upstreams[name] = std::move(up);
  }
  return SectionStatus(r, before);
}

}  // namespace

Status ReadMcp(ConfigReader& r, const YamlNode& node, McpConfig* m) {
  auto millis = [&r](const char* key, int64_t scale, int64_t min, int64_t max,
                     std::chrono::milliseconds* out) {
    return [&r, key, scale, min, max, out](const YamlNode& v) {
      return r.Millis(v, std::string("mcp.") + key, scale, min, max, out);
    };
  };
  return ReadSection(
      r, node, "mcp",
      {{"upstreams", [&](const YamlNode& v) { return ReadUpstreams(r, v, m); }},
       {"allowed_origins",
        [&](const YamlNode& v) { return ReadAllowedOrigins(r, v, &m->allowed_origins); }},
       {"allowed_hosts",
        [&](const YamlNode& v) { return ReadAllowedHosts(r, v, &m->allowed_hosts); }},
       {"max_sessions",
        [&](const YamlNode& v) {
          return r.Integer(v, "mcp.max_sessions", 1, 100000, &m->max_sessions);
        }},
       {"max_sessions_per_agent",
        [&](const YamlNode& v) {
          return r.Integer(v, "mcp.max_sessions_per_agent", 1, 100000, &m->max_sessions_per_agent);
        }},
       {"session_idle_timeout_seconds",
        millis("session_idle_timeout_seconds", 1000, 1, 7 * 86400, &m->session_idle_timeout)},
       {"session_idle_timeout_ms",
        millis("session_idle_timeout_ms", 1, 100, 7LL * 86400 * 1000, &m->session_idle_timeout)},
       {"sse_after_ms", millis("sse_after_ms", 1, 0, 600000, &m->sse_after)},
       {"approval_retry_wait_seconds",
        millis("approval_retry_wait_seconds", 1000, mcp::kMinRetryWaitSeconds,
               mcp::kMaxRetryWaitSeconds, &m->approval_retry_wait)},
       {"keepalive_seconds", millis("keepalive_seconds", 1000, 1, 3600, &m->keepalive)},
       {"child_grace_ms", millis("child_grace_ms", 1, 0, 60000, &m->child_grace)}});
}

}  // namespace interlock::server::config_internal
