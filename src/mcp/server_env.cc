#include "mcp/server_env.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cstdlib>

#include <boost/url/parse.hpp>

namespace interlock::mcp {

namespace {

bool Forbidden(const ServerEnvSpec& spec, const std::string& name) {
  return std::find(spec.forbidden.begin(), spec.forbidden.end(), name) != spec.forbidden.end();
}

// bash imports a variable whose value starts with "() {" as a function definition.
bool LooksLikeExportedFunction(std::string_view value) { return value.starts_with("()"); }

}  // namespace

Result<ServerEnv> BuildServerEnv(const ServerEnvSpec& spec, const EnvLookup& lookup) {
  ServerEnv env;
  auto copy = [&](const std::string& name) {
    std::optional<std::string> v = lookup(name);
    if (v && !LooksLikeExportedFunction(*v)) env[name] = std::move(*v);
  };
  for (std::string_view name : kBaseEnvironment) {
    if (!Forbidden(spec, std::string(name))) copy(std::string(name));
  }
  for (const std::string& name : spec.pass) {
    if (!ValidEnvName(name)) return Error::Invalid("'" + name + "' is not a variable name");
    if (Forbidden(spec, name)) {
      return Error::Invalid(name +
                            " holds Interlock's own bearer token; it is never passed to a server");
    }
    copy(name);
  }
  for (const auto& [name, value] : spec.literals) {
    if (!ValidEnvName(name)) return Error::Invalid("'" + name + "' is not a variable name");
    env[name] = value;
  }
  for (const auto& [name, value] : spec.secrets) {
    if (!ValidEnvName(name)) return Error::Invalid("'" + name + "' is not a variable name");
    if (Forbidden(spec, name)) {
      return Error::Invalid(name +
                            " holds Interlock's own bearer token; it is never passed to a server");
    }
    env[name] = value;
  }
  return env;
}

std::string EnvNames(const ServerEnv& env) {
  std::string out;
  for (const auto& [name, value] : env) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out.empty() ? "(empty)" : out;
}

std::vector<std::string> SecretsInUri(std::string_view uri) {
  std::vector<std::string> out;
  auto u = boost::urls::parse_uri(uri);
  if (!u) return out;
  auto add = [&out](std::string encoded, std::string decoded) {
    if (encoded.empty()) return;
    if (decoded != encoded) out.push_back(std::move(decoded));
    out.push_back(std::move(encoded));
  };
  if (u->has_password()) add(std::string(u->encoded_password()), u->password());
  for (auto param : u->encoded_params()) {
    if (param.key == "password" && param.has_value) {
      add(std::string(param.value), (*u->params().find("password")).value);
    }
  }
  return out;
}

EnvLookup ProcessEnvLookup() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

ServerEnv BaseServerEnv() {
  auto env = BuildServerEnv({}, ProcessEnvLookup());
  return env.ok() ? std::move(*env) : ServerEnv{};  // an empty spec cannot fail
}

Status ProtectProcessSecrets() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return Error::Unavailable(std::string("prctl(PR_SET_DUMPABLE): ") + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace interlock::mcp
