// The environment of an MCP server Interlock starts (docs/mcp.md#the-servers-environment).
//
// Nothing is inherited: a server's environment is built from, in this order (a later
// source overrides an earlier one for the same name):
//   1. the base variables (kBaseEnvironment) that Interlock's own environment has;
//   2. the variables the operator names (`--pass-env`/`--sandbox-env`; `pass_env:`,
//      `sandbox: {env: [...]}`), copied from Interlock's environment when set there;
//   3. the server's literal values (`env:`);
//   4. the server's own secrets (`--secret-env`/`--secret-file`; `secret_env:`,
//      `secret_files:`), resolved by the caller.
// A name in `forbidden` (Interlock's own bearer-token variables) is an error when the
// operator asks to pass it or names it as a secret: it never reaches a server. A value
// from Interlock's environment that bash would read as an exported function ("() {...")
// is not copied (shellshock-style injection into a server's shell scripts).
//
// ProtectProcessSecrets closes the other way a same-user server reads what Interlock
// holds: /proc/<interlock>/environ and /proc/<interlock>/mem.
// Thread-safety: free functions; BuildServerEnv is pure over `lookup`.
#ifndef INTERLOCK_MCP_SERVER_ENV_H_
#define INTERLOCK_MCP_SERVER_ENV_H_

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env_name.h"
#include "interlock/result.h"

namespace interlock::mcp {

using ServerEnv = std::map<std::string, std::string>;  // the complete environment
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// What every server gets when Interlock has it: the official MCP SDKs' default for a
// stdio server (HOME, LOGNAME, PATH, SHELL, TERM, USER), which servers are written and
// tested against, plus the locale and time zone. None of them is a credential.
inline constexpr std::array<std::string_view, 10> kBaseEnvironment = {
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ"};

// Interlock's own credential variable, never given to a server whatever is asked.
inline constexpr std::string_view kInterlockTokenVariable = "INTERLOCK_TOKEN";

struct ServerEnvSpec {
  std::vector<std::string> pass;                // names copied from Interlock's environment
  std::map<std::string, std::string> literals;  // `env:` values
  std::map<std::string, std::string> secrets;   // the server's own, NAME -> value
  std::vector<std::string> forbidden;           // never passed; asking is an error
};

// A POSIX-portable variable name (common/env_name.h).
using ::interlock::ValidEnvName;

// The server's complete environment; an error names the offending variable (never a
// value). A passed name that Interlock's environment lacks is left out.
Result<ServerEnv> BuildServerEnv(const ServerEnvSpec& spec, const EnvLookup& lookup);

// "HOME, PATH, ..." (the names only, for the operator's log; never a value).
std::string EnvNames(const ServerEnv& env);

// The secrets written into a connection URI (a postgresql:// store's password, in its
// userinfo or a `password=` query parameter), as written and percent-decoded, for masking.
// Empty when there is none or `uri` does not parse.
std::vector<std::string> SecretsInUri(std::string_view uri);

// Reads this process's environment (getenv).
EnvLookup ProcessEnvLookup();

// The default environment: the base variables only.
ServerEnv BaseServerEnv();

// Marks this process non-dumpable (prctl PR_SET_DUMPABLE 0), as ssh-agent does: its
// /proc/<pid>/environ, mem, maps and fd become readable to root only, so a server
// running as the same user cannot read the secrets Interlock holds for other servers
// (or its bearer token) there. Core dumps of Interlock are off as a consequence. A child
// regains the default on exec. Root is not contained by this (CAP_SYS_PTRACE): only the
// sandbox contains a server then.
Status ProtectProcessSecrets();

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SERVER_ENV_H_
