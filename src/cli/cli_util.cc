#include "cli/cli_util.h"

#include <fstream>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "common/json.h"

namespace interlock::cli {

void AddEnforcementFlags(CLI::App* cmd, EnforcementFlags* f) {
  cmd->add_option("--policy", f->policy, "Policy file or directory");
  cmd->add_option("--agent", f->agent, "Agent id (required when the policy holds several)");
  cmd->add_option("--store", f->store,
                  "SQLite store (default $XDG_STATE_HOME/interlock/interlock.db)");
  cmd->add_option("--daemon", f->daemon,
                  "Ask this `interlock serve` (http(s)://HOST:PORT) instead of the local store");
  cmd->add_option("--daemon-ca", f->daemon_ca,
                  "With an https:// --daemon: PEM CA file to verify it with (default: system CAs)");
  cmd->add_option("--token-env", f->token_env,
                  "With --daemon: environment variable holding the agent's bearer token");
}

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::Unavailable("cannot read " + path);
  return ss.str();
}

void WriteJsonLine(std::ostream& out, const boost::json::value& v) {
  out << ToJsonText(v) << '\n';
  out.flush();
}

}  // namespace interlock::cli
