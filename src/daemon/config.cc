// The daemon config file: the top level and its small sections (limits, approvals,
// notifier, audit, slack, governance, drill); mcp: in config_mcp.cc, identity: and
// telemetry: in config_identity.cc. Every error of the file in one pass
// (daemon/config_reader.h).
#include "daemon/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/host_name.h"
#include "daemon/config_reader.h"

namespace interlock::server {

using config_internal::ConfigReader;
using config_internal::ReadSection;
using config_internal::Recorded;
using config_internal::SectionKey;
using config_internal::SectionStatus;

namespace {

namespace fs = std::filesystem;

// role_policies: a map of "agent/role" (one slash, neither side empty) to a policy id. A
// policy that is not loaded when a call comes is no fallback: the call is refused.
Status ReadRolePolicies(ConfigReader& r, const YamlNode& node,
                        std::map<std::string, std::string, std::less<>>* out) {
  if (!node.IsMap()) {
    return r.Fail(node, "role_policies must map \"agent/role\" to a policy id");
  }
  const size_t before = r.error_count();
  for (const auto& kv : node.entries()) {
    const std::string key = kv.first.Scalar();
    const size_t slash = key.find('/');
    if (slash == 0 || slash == std::string::npos || slash + 1 == key.size() ||
        key.find('/', slash + 1) != std::string::npos) {
      r.Report(kv.first, "role_policies key '" + key +
                             "' must be \"agent/role\" (an agent id, one slash, a role)");
      continue;
    }
    std::string policy;
    if (!r.String(kv.second, "role_policies." + key, &policy).ok()) continue;
    if (policy.empty()) {
      r.Report(kv.second, "role_policies." + key + " names no policy");
      continue;
    }
    (*out)[key] = std::move(policy);
  }
  return SectionStatus(r, before);
}

Status ReadLimits(ConfigReader& r, const YamlNode& node, ServerConfig* c) {
  auto integer = [&r](const char* k, int64_t min, int64_t max, auto* out) {
    return [&r, k, min, max, out](const YamlNode& v) {
      return r.Integer(v, std::string("limits.") + k, min, max, out);
    };
  };
  auto millis = [&r](const char* k, int64_t scale, int64_t min, int64_t max,
                     std::chrono::milliseconds* out) {
    return [&r, k, scale, min, max, out](const YamlNode& v) {
      return r.Millis(v, std::string("limits.") + k, scale, min, max, out);
    };
  };
  ServerLimits& l = c->limits;
  return ReadSection(
      r, node, "limits",
      {{"max_body_bytes", integer("max_body_bytes", 1024, 64 << 20, &l.max_body_bytes)},
       {"max_header_bytes", integer("max_header_bytes", 1024, 1 << 20, &l.max_header_bytes)},
       {"read_timeout_seconds", millis("read_timeout_seconds", 1000, 1, 3600, &l.read_timeout)},
       {"read_timeout_ms", millis("read_timeout_ms", 1, 50, 3600000, &l.read_timeout)},
       {"idle_timeout_seconds", millis("idle_timeout_seconds", 1000, 1, 86400, &l.idle_timeout)},
       {"write_timeout_seconds", millis("write_timeout_seconds", 1000, 1, 3600, &l.write_timeout)},
       {"shutdown_grace_seconds",
        millis("shutdown_grace_seconds", 1000, 0, 3600, &l.shutdown_grace)},
       {"max_connections", integer("max_connections", 1, 1 << 20, &l.max_connections)},
       {"max_wait_seconds", integer("max_wait_seconds", 0, 3600, &c->max_wait_seconds)},
       {"max_output_bytes", integer("max_output_bytes", 0, 64 << 20, &c->max_output_bytes)},
       {"max_run_depth", integer("max_run_depth", 1, 32, &c->max_run_depth)},
       {"max_live_children", integer("max_live_children", 1, 10000, &c->max_live_children)}});
}

Status ReadApprovals(ConfigReader& r, const YamlNode& node, ServerConfig* c) {
  return ReadSection(
      r, node, "approvals",
      {{"default_timeout_seconds",
        [&](const YamlNode& n) {
          return r.Integer(n, "approvals.default_timeout_seconds", 1, 7 * 86400,
                           &c->approval_timeout_seconds);
        }},
       {"max_wait_seconds",
        [&](const YamlNode& n) {
          return r.Integer(n, "approvals.max_wait_seconds", 1, 30 * 86400,
                           &c->approval_max_wait_seconds);
        }},
       {"public_url",
        [&](const YamlNode& n) {
          if (Status st = r.String(n, "approvals.public_url", &c->public_url); !st.ok()) return st;
          if (c->public_url.rfind("http://", 0) != 0 && c->public_url.rfind("https://", 0) != 0) {
            return r.Fail(n, "approvals.public_url must start with http:// or https://");
          }
          return Status::Ok();
        }},
       {"channel",
        [&](const YamlNode& n) { return r.String(n, "approvals.channel", &c->approval_channel); }},
       {"sweep_ms", [&](const YamlNode& n) {
          return r.Millis(n, "approvals.sweep_ms", 1, 10, 60000, &c->approval_sweep);
        }}});
}

Status ReadNotifier(ConfigReader& r, const YamlNode& node, ServerConfig* c) {
  return ReadSection(
      r, node, "notifier",
      {{"max_attempts",
        [&](const YamlNode& n) {
          return r.Integer(n, "notifier.max_attempts", 1, 100, &c->webhook_attempts);
        }},
       {"initial_backoff_ms",
        [&](const YamlNode& n) {
          return r.Millis(n, "notifier.initial_backoff_ms", 1, 1, 600000, &c->webhook_backoff);
        }},
       {"queue",
        [&](const YamlNode& n) {
          return r.Integer(n, "notifier.queue", 1, 1 << 20, &c->notifier_queue);
        }},
       {"ca_file",
        [&](const YamlNode& n) { return r.Path(n, "notifier.ca_file", &c->webhook_ca_file); }}});
}

Status ReadAudit(ConfigReader& r, const YamlNode& node, ServerConfig* c) {
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

// slack.users: Slack user ids to reviewer names.
Status ReadSlackUsers(ConfigReader& r, const YamlNode& n, std::map<std::string, std::string>* out) {
  if (!n.IsMap()) return r.Fail(n, "slack.users must map Slack user ids to reviewer names");
  const size_t before = r.error_count();
  for (const auto& u : n.entries()) {
    const std::string key = "slack.users." + u.first.Scalar();
    std::string name;
    if (!r.String(u.second, key, &name).ok()) continue;
    if (name.empty()) {
      r.Report(u.second, key + " is empty");
      continue;
    }
    (*out)[u.first.Scalar()] = name;
  }
  return SectionStatus(r, before);
}

// slack: channel, api_base, bot_token_file, signing_secret_file, users, state_file,
// ca_file. A channel needs both secrets; users maps Slack user ids to names.
Status ReadSlack(ConfigReader& r, const YamlNode& node, SlackConfig* s) {
  auto str = [&r](const char* k, std::string* out) {
    return [&r, k, out](const YamlNode& n) { return r.String(n, std::string("slack.") + k, out); };
  };
  auto path = [&r](const char* k, std::string* out) {
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
       {"users", [&](const YamlNode& n) { return ReadSlackUsers(r, n, &s->users); }},
       {"users_by_email",
        [&](const YamlNode& n) { return r.Bool(n, "slack.users_by_email", &s->users_by_email); }}});
  if (!st.ok()) return st;
  if (s->channel.empty()) return r.Fail(node, "slack.channel is required");
  if (s->bot_token_file.empty() || s->signing_secret_file.empty()) {
    return r.Fail(node, "slack needs bot_token_file and signing_secret_file");
  }
  return Status::Ok();
}

// policies: one path or a list of paths (files or directories).
Status ReadPolicies(ConfigReader& r, const YamlNode& v, std::vector<std::string>* out) {
  out->clear();
  if (!v.IsSequence()) {
    std::string p;
    Status st = r.Path(v, "policies", &p);
    if (st.ok()) out->push_back(p);
    return st;
  }
  const size_t before = r.error_count();
  for (const auto& item : v.items()) {
    std::string p;
    if (r.Path(item, "policies", &p).ok()) out->push_back(p);
  }
  return SectionStatus(r, before);
}

// webhooks: channel names to http(s):// URLs.
Status ReadWebhooks(ConfigReader& r, const YamlNode& v, std::map<std::string, std::string>* out) {
  if (!v.IsMap()) return r.Fail(v, "webhooks must map channel names to http(s):// URLs");
  const size_t before = r.error_count();
  for (const auto& w : v.entries()) {
    std::string url;
    if (r.String(w.second, "webhooks." + w.first.Scalar(), &url).ok()) {
      (*out)[w.first.Scalar()] = url;
    }
  }
  return SectionStatus(r, before);
}

// The top level's scalar keys (the sections are in TopLevelKeys).
std::vector<SectionKey> TopLevelScalarKeys(ConfigReader& r, ServerConfig* c) {
  return {
      {"listen",
       [&r, c](const YamlNode& v) {
         std::string s;
         if (Status st = r.String(v, "listen", &s); !st.ok()) return st;
         if (Status st = ParseListen(s, c); !st.ok()) return r.Fail(v, st.error().message);
         return Status::Ok();
       }},
      {"threads",
       [&r, c](const YamlNode& v) { return r.Integer(v, "threads", 0, 1024, &c->threads); }},
      {"policies", [&r, c](const YamlNode& v) { return ReadPolicies(r, v, &c->policies); }},
      {"allow_plain_http",
       [&r, c](const YamlNode& v) { return r.Bool(v, "allow_plain_http", &c->allow_plain_http); }},
      {"auth_cache_ms",
       [&r, c](const YamlNode& v) {
         return r.Millis(v, "auth_cache_ms", 1, 0, 60000, &c->auth_cache_ttl);
       }},
      {"durability",
       [&r, c](const YamlNode& v) {
         std::string s;
         if (Status st = r.String(v, "durability", &s); !st.ok()) return st;
         if (s != "full" && s != "normal") {
           return r.Fail(v, "durability must be 'full' or 'normal'");
         }
         c->durable_full = s != "normal";
         return Status::Ok();
       }},
      {"store",
       [&r, c](const YamlNode& v) {
         // A PostgreSQL URI (store::IsPostgresUri's prefixes) goes to libpq as written; only
         // a SQLite file's path is relative to this file's directory.
         std::string s;
         if (Status st = r.String(v, "store", &s); !st.ok()) return st;
         if (s.starts_with("postgresql://") || s.starts_with("postgres://")) {
           c->store = s;
           return Status::Ok();
         }
         return r.Path(v, "store", &c->store);
       }},
      {"tls_cert", [&r, c](const YamlNode& v) { return r.Path(v, "tls_cert", &c->tls_cert); }},
      {"tls_key", [&r, c](const YamlNode& v) { return r.Path(v, "tls_key", &c->tls_key); }},
      {"metrics_token_file",
       [&r, c](const YamlNode& v) {
         return r.Path(v, "metrics_token_file", &c->metrics_token_file);
       }},
      {"policy_poll_ms",
       [&r, c](const YamlNode& v) {
         return r.Millis(v, "policy_poll_ms", 1, 100, 3600000, &c->policy_poll);
       }},
      {"workspace", [&r, c](const YamlNode& v) { return r.Path(v, "workspace", &c->workspace); }},
  };
}

// Every top-level key of the config file and its reader.
std::vector<SectionKey> TopLevelKeys(ConfigReader& r, ServerConfig* c) {
  std::vector<SectionKey> keys = TopLevelScalarKeys(r, c);
  std::vector<SectionKey> sections = {
      {"limits", [&r, c](const YamlNode& v) { return ReadLimits(r, v, c); }},
      {"webhooks", [&r, c](const YamlNode& v) { return ReadWebhooks(r, v, &c->webhooks); }},
      {"role_policies",
       [&r, c](const YamlNode& v) { return ReadRolePolicies(r, v, &c->role_policies); }},
      {"approvals", [&r, c](const YamlNode& v) { return ReadApprovals(r, v, c); }},
      {"notifier", [&r, c](const YamlNode& v) { return ReadNotifier(r, v, c); }},
      {"mcp", [&r, c](const YamlNode& v) { return config_internal::ReadMcp(r, v, &c->mcp); }},
      {"identity", [&r, c](const YamlNode& v) { return config_internal::ReadIdentity(r, v, c); }},
      {"telemetry",
       [&r, c](const YamlNode& v) { return config_internal::ReadTelemetry(r, v, &c->telemetry); }},
      {"audit", [&r, c](const YamlNode& v) { return ReadAudit(r, v, c); }},
      {"slack", [&r, c](const YamlNode& v) { return ReadSlack(r, v, &c->slack); }},
      {"governance",
       [&r, c](const YamlNode& v) {
         return ReadSection(r, v, "governance",
                            {{"wait_ms",
                              [&r, c](const YamlNode& n) {
                                return r.Millis(n, "governance.wait_ms", 1, 0, 10000,
                                                &c->governance_wait);
                              }},
                             {"min_interval_seconds", [&r, c](const YamlNode& n) {
                                return r.Millis(n, "governance.min_interval_seconds", 1000, 0,
                                                86400, &c->governance_min_interval);
                              }}});
       }},
      {"drill",
       [&r, c](const YamlNode& v) {
         return ReadSection(r, v, "drill", {{"warn_after_days", [&r, c](const YamlNode& n) {
                                               return r.Millis(n, "drill.warn_after_days",
                                                               86400 * 1000, 0, 3650,
                                                               &c->drill_warn_after);
                                             }}});
       }},
      {"ext_authz",
       [&r, c](const YamlNode& v) { return config_internal::ReadExtAuthz(r, v, &c->ext_authz); }},
  };
  for (SectionKey& k : sections) keys.push_back(std::move(k));
  return keys;
}

// Every recorded error as one Error: the message itself when there is one, else
// "N errors:" and one per line.
Status ConfigErrors(const ConfigReader& r) {
  const std::vector<std::string>& errors = r.errors();
  if (errors.empty()) return Status::Ok();
  if (errors.size() == 1) return Error::Invalid(errors[0]);
  std::string all = std::to_string(errors.size()) + " errors:";
  for (const std::string& e : errors) all += "\n" + e;
  return Error::Invalid(all);
}

}  // namespace

Status ParseListen(std::string_view listen, ServerConfig* config) {
  Result<ListenAddress> at = ParseListenAddress(listen);
  if (!at.ok()) return at.error();
  config->host = std::move(at->host);
  config->port = at->port;
  return Status::Ok();
}

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
  ConfigReader r(path, fs::path(path).parent_path());
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return r.Fail(root, "the config file must be a mapping");
  Recorded(ReadSection(r, root, "", TopLevelKeys(r, c)));
  if (Status st = ConfigErrors(r); !st.ok()) return st;
  // A Slack user known by e-mail is the console's reviewer of that e-mail only when the
  // console's sign-in names people by e-mail: otherwise one person would be two reviewers
  // (the two-person rule counting them twice).
  if (c->slack.users_by_email && (c->oidc.issuer.empty() || c->oidc.name_claim != "email")) {
    return Error::Invalid(path +
                          ": slack.users_by_email needs identity.oidc with name_claim: email "
                          "(a person must be one reviewer in Slack and in the console)");
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
