// Small helpers shared by subcommands: the store and daemon flags, reading files,
// printing JSON lines. Stores are opened by store/open_store.h.
#ifndef INTERLOCK_CLI_CLI_UTIL_H_
#define INTERLOCK_CLI_CLI_UTIL_H_

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "audit/checkpoint.h"
#include "audit/retention.h"
#include "cli/command.h"
#include "core/app/daemon_channel.h"
#include "core/app/standalone.h"
#include "core/ports/store.h"
#include "interlock/result.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace interlock::egress {
class DaemonEgressDecider;
}  // namespace interlock::egress

namespace interlock::mcp {
class DaemonEnforcer;
}  // namespace interlock::mcp

namespace interlock::policy {
struct PolicySet;
}  // namespace interlock::policy

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
  bool create = false;  // --create: make a missing directory of a named --store
};
// Adds --policy, --agent, --store, --create, --daemon, --daemon-ca and --token-env to `cmd`.
void AddEnforcementFlags(CLI::App* cmd, EnforcementFlags* flags);
// The one daemon client's connector (daemon_client/daemon_client.h), which the CLI hands to
// the doors it composes (their options' daemon_connector) and opens DaemonConnection with.
const core::DaemonConnector& DaemonClientConnector();
// The flags into a door's options (the command hook's and the stdio gateway's have these
// members by the same names), with the embedded stores a local decision opens.
template <typename DoorOptions>
void ApplyEnforcementFlags(const EnforcementFlags& e, const core::LocalStores* stores,
                           DoorOptions* o) {
  o->policy = e.policy;
  o->agent = e.agent;
  o->store = e.store;
  o->create = e.create;
  o->daemon = e.daemon;
  o->daemon_ca = e.daemon_ca;
  o->token_env = e.token_env;
  o->stores = stores;
}

// Adds --store to `cmd`, defaulting to DefaultStorePath() (common/store_path.h) ($INTERLOCK_STORE,
// else the XDG state directory); required when no default can be worked out. Every command that
// opens a store takes it through this, so they all open the same file by default.
CLI::Option* AddStoreFlag(CLI::App* cmd, std::string* store);

// Adds --keys and --checkpoints, the audit keys and the file their checkpoints are signed
// into, to a command that signs or checks them: the daemon (`serve`), `doctor`, and the
// commands writing a record that needs its signed anchor (kill switches, tokens;
// LoadStoreSigner below reads them). Empty values mean the defaults: STORE.keys and
// KEYS/checkpoints.jsonl.
void AddAuditKeyFlags(CLI::App* cmd, std::string* keys_dir, std::string* checkpoints);

// The signer of the anchors of `store`'s security-relevant records (kill switch, token and
// policy records; docs/audit.md, "Anchors"), into `checkpoints` ("" = the keys directory's
// default file). A SQLite file: the keys of `keys_dir` or the store's default keys
// directory, created if missing (a deployment's first token comes before its daemon). A
// postgresql:// URI: the fleet's keys from --keys DIR, which must exist (there is no
// default next to a database; kInvalidArgument without it).
Result<audit::CheckpointSigner> LoadStoreSigner(const std::string& store,
                                                const std::string& keys_dir,
                                                const std::string& checkpoints);

// LoadStoreSigner for a record written to a store that must already exist (a kill switch,
// a revocation: store::OperatorWrite::kExistingStore). A SQLite file that does not exist
// gets no signer and no keys made up for a typo (opening the store then refuses it); a
// store that exists, or a PostgreSQL URI, gets LoadStoreSigner's answer.
Result<audit::CheckpointSigner> LoadExistingStoreSigner(const std::string& store,
                                                        const std::string& keys_dir,
                                                        const std::string& checkpoints);

// Prunes the audit log of `store` (a SQLite file or a postgresql:// URI) by the rule of
// audit/retention.h. On PostgreSQL the anchors go to the database's audit_checkpoints
// (and options.checkpoint_file when set), the chunks are short, and the fleet's prune lock
// is taken first (kAlreadyExists: another process is pruning) and handed to *lock, so the
// caller may prune the call rows under it too.
Result<audit::PruneReport> PruneStoreAudit(const std::string& store, const audit::SigningKey& key,
                                           audit::PruneOptions options,
                                           std::unique_ptr<audit::PruneTarget>* lock = nullptr);

// How an operator command reaches a running daemon (`approvals`, `kill`, `runs`).
struct DaemonFlags {
  std::string url;        // --url, default $INTERLOCK_URL, else http://127.0.0.1:8181
  std::string ca_file;    // --ca
  std::string token_env;  // --token-env, default INTERLOCK_TOKEN
};
// Adds --url, --ca and --token-env to `cmd`.
void AddDaemonFlags(CLI::App* cmd, DaemonFlags* flags);

// One request to the daemon: the status and body, or a transport error.
struct DaemonReply {
  int status = 0;
  std::string body;
  std::string error;  // cannot reach the daemon (set instead of status)
};
// A connection to the daemon the flags name, with the token read from the environment
// variable they name, over the one daemon client (core::DaemonChannel). Errors are usage
// errors (no token, a bad URL).
class DaemonConnection {
 public:
  static Result<DaemonConnection> Open(const DaemonFlags& flags, std::string_view user_agent);
  DaemonReply Send(std::string_view method, const std::string& target, std::string body = "");
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::shared_ptr<const core::DaemonChannel> client_;
};
// The egress decider of `--daemon` (egress --daemon, mcp --sandbox --daemon): each
// connection decided by POST /v1/runs/{run}/egress through `daemon` (not owned; must
// outlive the decider), in the daemon's current run, started on first use when none is.
// `in_flight` as egress::InFlightFn (may be empty).
std::unique_ptr<egress::DaemonEgressDecider> MakeDaemonEgressDecider(
    mcp::DaemonEnforcer* daemon, std::function<std::string()> in_flight = {});

// How a subcommand reports a failure: prints "interlock COMMAND: MESSAGE" to stderr and
// returns `code` (COMMAND as typed, "audit verify"; kExitUsage for bad flags or input,
// kExitFailure when the command ran and failed).
int Fail(std::string_view command, std::string_view message, int code = kExitUsage);
inline int Fail(std::string_view command, const Error& e, int code = kExitUsage) {
  return Fail(command, e.message, code);
}

// Prints the daemon's refusal (`reply` not 2xx, or unreachable) for `command` and returns
// the exit code (kExitFailure).
int PrintDaemonRefusal(std::string_view command, const DaemonReply& reply);

// WorkspaceDir and WarnShadowMode are the standalone doors' facade's (core/app/standalone.h).
using core::WarnShadowMode;
using core::WorkspaceDir;

Result<std::string> ReadFileToString(const std::string& path);

// Who an operator command's record names (--actor, --by): `given`, else "cli:$USER", else
// "cli".
std::string OperatorActor(const std::string& given = "");

// The `--format` of a reporting command: "text" or "json"; anything else is refused
// ("--format must be text or json").
Status CheckTextOrJson(std::string_view format);

// Prints a reporting command's report to stdout as its checked --format says: for "json",
// `json()` on one line; else `text()` as it is.
void PrintReport(std::string_view format, const std::function<boost::json::value()>& json,
                 const std::function<std::string()>& text);

// Writes `v` as one compact line and flushes (JSON-lines protocols).
void WriteJsonLine(std::ostream& out, const boost::json::value& v);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_CLI_UTIL_H_
