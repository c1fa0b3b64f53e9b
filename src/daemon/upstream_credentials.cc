#include "daemon/upstream_credentials.h"

#include <utility>

#include "common/file.h"

namespace interlock::server {

namespace {

// `u`'s credentials with the client secrets read from their files (*secrets: the values
// to mask).
Result<identity::CredentialConfig> ReadClientSecrets(const McpUpstreamConfig& u,
                                                     std::vector<std::string>* secrets) {
  const std::string where = "mcp.upstreams." + u.name;
  identity::CredentialConfig c = u.credentials;
  if (!u.credentials_assertion_key_file.empty()) {
    auto k = ReadSecretFile(u.credentials_assertion_key_file,
                            where + ".credentials.client_assertion.key_file");
    if (!k.ok()) return k.error();
    // Checked now: a key that cannot sign refuses the start, not the first call.
    if (auto probe = identity::SignClientAssertion("probe", "probe", *k, TimePoint{});
        !probe.ok()) {
      return Error::Invalid(where + ".credentials: " + probe.error().message);
    }
    c.client.assertion_key_pem = *k;
  } else {
    auto v = ReadSecretFile(u.credentials_secret_file, where + ".credentials");
    if (!v.ok()) return v.error();
    c.client.client_secret = *v;
    secrets->push_back(*v);
  }
  for (const auto& [agent, path] : u.credentials_agent_secret_files) {
    auto a = ReadSecretFile(path, where + ".credentials.agents." + agent);
    if (!a.ok()) return a.error();
    c.agents[agent].client_secret = *a;
    secrets->push_back(*a);
  }
  return c;
}

}  // namespace

Result<std::unique_ptr<McpUpstreamCredentials>> McpUpstreamCredentials::Create(
    const McpConfig& config, const Clock* clock, std::vector<std::string>* secrets) {
  std::vector<identity::CredentialConfig> configs;
  for (const auto& [name, u] : config.upstreams) {
    if (!u.has_credentials) continue;
    auto c = ReadClientSecrets(u, secrets);
    if (!c.ok()) return c.error();
    configs.push_back(std::move(*c));
  }
  if (configs.empty()) return std::unique_ptr<McpUpstreamCredentials>();
  return std::unique_ptr<McpUpstreamCredentials>(
      new McpUpstreamCredentials(std::move(configs), clock));
}

McpUpstreamCredentials::McpUpstreamCredentials(std::vector<identity::CredentialConfig> configs,
                                               const Clock* clock)
    : broker_(configs, &endpoint_, clock) {
  for (const identity::CredentialConfig& c : configs) {
    terms_[c.upstream] = UpstreamCredentialTerms{c.scope, c.env, c.renew_before};
  }
}

const UpstreamCredentialTerms* McpUpstreamCredentials::Terms(std::string_view upstream) const {
  auto it = terms_.find(upstream);
  return it == terms_.end() ? nullptr : &it->second;
}

Result<UpstreamCredential> McpUpstreamCredentials::Get(const Request& request) {
  auto c = broker_.Get(request);
  if (!c.ok()) return c.error();
  return UpstreamCredential{std::move(c->access_token), c->expires_at, c->record.ToJson()};
}

}  // namespace interlock::server
