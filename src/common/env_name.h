// ValidEnvName: what Interlock accepts as an environment variable's name wherever one is
// named (`${env:NAME}` in policies, `secret_env`/`pass_env`/`sandbox.env` in the server
// config, `--pass-env`/`--secret-env`): a POSIX-portable name, [A-Za-z_][A-Za-z0-9_]*.
// Pure; any thread.
#ifndef INTERLOCK_COMMON_ENV_NAME_H_
#define INTERLOCK_COMMON_ENV_NAME_H_

#include <string_view>

namespace interlock {

constexpr bool ValidEnvName(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  for (const char c : n) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_ENV_NAME_H_
