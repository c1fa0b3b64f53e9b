// Small helpers shared by subcommands: reading files, printing JSON lines.
#ifndef INTERLOCK_CLI_CLI_UTIL_H_
#define INTERLOCK_CLI_CLI_UTIL_H_

#include <iosfwd>
#include <string>

#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace CLI {
class App;
}

namespace interlock::cli {

// Where an agent-side front door (`hook claude-code`, `mcp`) gets its decisions: a local
// policy and store, or a daemon. Both commands take the same flags.
struct EnforcementFlags {
  std::string policy;
  std::string agent;
  std::string store;
  std::string daemon;
  std::string daemon_ca;
  std::string token_env;
};
// Adds --policy, --agent, --store, --daemon, --daemon-ca and --token-env to `cmd`.
void AddEnforcementFlags(CLI::App* cmd, EnforcementFlags* flags);

Result<std::string> ReadFileToString(const std::string& path);
// Writes `v` as one compact line and flushes (JSON-lines protocols).
void WriteJsonLine(std::ostream& out, const boost::json::value& v);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_CLI_UTIL_H_
