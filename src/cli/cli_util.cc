#include "cli/cli_util.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/command.h"
#include "common/json.h"
#include "common/store_path.h"
#include "daemon_client/daemon_client.h"
#include "doors/egress/daemon_decider.h"
#include "mcp/daemon_enforcer.h"
#include "policy/policy.h"
#include "store/postgres_audit.h"
#include "store/postgres_store.h"
#include "store/sqlite_audit_retention.h"
#include "store/sqlite_audit_util.h"

namespace interlock::cli {

void AddEnforcementFlags(CLI::App* cmd, EnforcementFlags* f) {
  cmd->add_option("--policy", f->policy, "Policy file or directory");
  cmd->add_option("--agent", f->agent, "Agent id (required when the policy holds several)");
  cmd->add_option("--store", f->store,
                  "SQLite store (default $INTERLOCK_STORE, else "
                  "$XDG_STATE_HOME/interlock/interlock.db)");
  cmd->add_flag("--create", f->create,
                "Make the missing directories of --store / $INTERLOCK_STORE (0700); without it "
                "a named store whose directory does not exist is refused");
  cmd->add_option("--daemon", f->daemon,
                  "Ask this `interlock serve` (http(s)://HOST:PORT) instead of the local store");
  cmd->add_option("--daemon-ca", f->daemon_ca,
                  "With an https:// --daemon: PEM CA file to verify it with (default: system CAs)");
  cmd->add_option("--token-env", f->token_env,
                  "With --daemon: environment variable holding the agent's bearer token");
}

void AddAuditKeyFlags(CLI::App* cmd, std::string* keys_dir, std::string* checkpoints) {
  cmd->add_option("--keys", *keys_dir,
                  "Audit key directory: the HMAC key for redacted values and the checkpoint "
                  "signing key (default STORE.keys)");
  cmd->add_option("--checkpoints", *checkpoints,
                  "Signed checkpoint file (default KEYS/checkpoints.jsonl)");
}

CLI::Option* AddStoreFlag(CLI::App* cmd, std::string* store) {
  Result<std::string> def = DefaultStorePath();
  CLI::Option* o =
      cmd->add_option("--store", *store,
                      "SQLite store file, or a postgresql:// URI where the command supports one "
                      "(default $INTERLOCK_STORE, else $XDG_STATE_HOME/interlock/interlock.db)");
  if (def.ok()) {
    *store = std::move(def).value();
  } else {
    o->required();
  }
  return o;
}

void AddDaemonFlags(CLI::App* cmd, DaemonFlags* f) {
  const char* env = std::getenv("INTERLOCK_URL");
  f->url = env != nullptr && *env != '\0' ? env : "http://127.0.0.1:8181";
  f->token_env = "INTERLOCK_TOKEN";
  cmd->add_option("--url", f->url,
                  "daemon base URL, http(s):// (default $INTERLOCK_URL, else "
                  "http://127.0.0.1:8181)");
  cmd->add_option("--ca", f->ca_file,
                  "https: PEM CA bundle to verify the daemon with (default: system CAs)");
  cmd->add_option("--token-env", f->token_env,
                  "environment variable holding the bearer token (default INTERLOCK_TOKEN)");
}

const core::DaemonConnector& DaemonClientConnector() { return daemon_client::DefaultConnector(); }

Result<DaemonConnection> DaemonConnection::Open(const DaemonFlags& flags,
                                                std::string_view user_agent) {
  const char* token = std::getenv(flags.token_env.c_str());
  if (token == nullptr || *token == '\0') {
    return Error::Invalid("set " + flags.token_env + " to a reviewer or admin token");
  }
  core::DaemonAddress address;
  address.url = flags.url;
  address.ca_file = flags.ca_file;
  address.token = token;
  address.user_agent = std::string(user_agent);
  auto client = DaemonClientConnector().Connect(std::move(address));
  if (!client.ok()) return Error::Invalid("--url: " + client.error().message);
  DaemonConnection c;
  c.url_ = flags.url;
  c.client_ = std::move(client).value();
  return c;
}

std::unique_ptr<egress::DaemonEgressDecider> MakeDaemonEgressDecider(
    mcp::DaemonEnforcer* daemon, std::function<std::string()> in_flight) {
  const core::DaemonChannel* channel = &daemon->channel();
  auto exchange = [channel](std::string_view method, std::string_view target,
                            std::string body) -> Result<core::DaemonReply> {
    return channel->Exchange(method, target, std::move(body), std::chrono::seconds(10));
  };
  // The enforcer's own lazy start: a session's first call and first connection share a run.
  auto run = [daemon]() -> Result<std::string> { return daemon->EnsureRun(); };
  return std::make_unique<egress::DaemonEgressDecider>(std::move(exchange), std::move(run),
                                                       std::move(in_flight));
}

DaemonReply DaemonConnection::Send(std::string_view method, const std::string& target,
                                   std::string body) {
  DaemonReply out;
  auto r = client_->Exchange(method, target, std::move(body), std::chrono::seconds(10));
  if (!r.ok()) {
    out.error = "cannot reach the daemon at " + url_ + ": " + r.error().message;
    return out;
  }
  out.status = r->status;
  out.body = std::move(r->body);
  return out;
}

int Fail(std::string_view command, std::string_view message, int code) {
  std::cerr << "interlock " << command << ": " << message << '\n';
  return code;
}

int PrintDaemonRefusal(std::string_view command, const DaemonReply& r) {
  if (!r.error.empty()) return Fail(command, r.error, kExitFailure);
  std::string reason;
  // Null when the reply is not JSON: every reading below then finds nothing.
  boost::json::value v = ParseOwnJson(r.body).value_or(boost::json::value());
  if (v.is_object()) {
    if (auto* x = v.as_object().if_contains("reason"); x && x->is_string()) {
      reason = std::string(x->as_string());
    }
  }
  const char* what = r.status == 401   ? "the token is missing, invalid or revoked"
                     : r.status == 403 ? "not allowed"
                     : r.status == 404 ? "not found"
                     : r.status == 409 ? "already decided"
                     : r.status == 400 ? "bad request"
                                       : "request failed";
  return Fail(command,
              std::string(what) + " (HTTP " + std::to_string(r.status) + ")" +
                  (reason.empty() ? "" : ": " + reason),
              kExitFailure);
}

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::Unavailable("cannot read " + path);
  return ss.str();
}

std::string OperatorActor(const std::string& given) {
  if (!given.empty()) return given;
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? std::string("cli:") + user : std::string("cli");
}

Status CheckTextOrJson(std::string_view format) {
  if (format != "text" && format != "json") {
    return Error::Invalid("--format must be text or json");
  }
  return Status::Ok();
}

void PrintReport(std::string_view format, const std::function<boost::json::value()>& json,
                 const std::function<std::string()>& text) {
  if (format == "json") {
    std::cout << ToJsonText(json()) << '\n';
  } else {
    std::cout << text();
  }
}

void WriteJsonLine(std::ostream& out, const boost::json::value& v) {
  out << ToJsonText(v) << '\n';
  out.flush();
}

Result<audit::CheckpointSigner> LoadStoreSigner(const std::string& store,
                                                const std::string& keys_dir,
                                                const std::string& checkpoints) {
  if (!store::IsPostgresUri(store)) {
    return audit::LoadCheckpointSigner(keys_dir.empty() ? audit::DefaultKeysDir(store) : keys_dir,
                                       checkpoints, /*create_missing_keys=*/true);
  }
  if (keys_dir.empty()) {
    return Error::Invalid("a PostgreSQL store needs --keys DIR (the fleet's audit keys) to anchor");
  }
  return audit::LoadCheckpointSigner(keys_dir, checkpoints, /*create_missing_keys=*/false);
}

Result<audit::CheckpointSigner> LoadExistingStoreSigner(const std::string& store,
                                                        const std::string& keys_dir,
                                                        const std::string& checkpoints) {
  if (std::error_code ec; !store::IsPostgresUri(store) && !std::filesystem::exists(store, ec)) {
    return audit::CheckpointSigner{};
  }
  return LoadStoreSigner(store, keys_dir, checkpoints);
}

Result<audit::PruneReport> PruneStoreAudit(const std::string& store, const audit::SigningKey& key,
                                           audit::PruneOptions options,
                                           std::unique_ptr<audit::PruneTarget>* lock) {
  if (!store::IsPostgresUri(store)) {
    if (options.checkpoint_file.empty()) {
      return Error::Invalid("--checkpoints FILE is required for a SQLite store");
    }
    Result<audit::SqliteDb> db = audit::OpenAuditStore(store, /*read_only=*/false);
    if (!db.ok()) return db.error();
    return audit::PruneAuditLog(db->get(), key, options);
  }
  // Each chunk well under the 5 s statement timeout; the daemons' writers append at the
  // head meanwhile and never wait on the old rows.
  constexpr int64_t kPostgresChunk = 5000;
  Result<std::unique_ptr<audit::PruneTarget>> target = store::OpenPostgresPruneTarget(store);
  if (!target.ok()) return target.error();
  Result<std::unique_ptr<audit::CheckpointStore>> anchors =
      store::OpenPostgresCheckpointStore(store, options.checkpoint_file);
  if (!anchors.ok()) return anchors.error();
  options.chunk_records = std::min(options.chunk_records, kPostgresChunk);
  Result<audit::PruneReport> r = audit::PruneAuditLog(**target, **anchors, key, options);
  if (lock != nullptr) *lock = std::move(target).value();
  return r;
}

}  // namespace interlock::cli
