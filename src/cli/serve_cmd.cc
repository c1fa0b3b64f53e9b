// `interlock serve`: the HTTP daemon (docs/operations.md#running-the-daemon).
//
// Composition root: config -> policy set -> store -> notifier -> Guard -> Api (+ the MCP
// Streamable HTTP endpoint when the config has mcp.upstreams) -> server, plus the policy
// watcher and signal handling. Shutdown runs in reverse, so nothing uses a resource after
// it is gone: stop the sweeper, end MCP sessions (children stopped, streams ended), answer
// long polls, stop accepting and finish in-flight requests (bounded), stop the retention
// pruner (a prune in progress stops after its current chunk), and only then close the
// store cleanly.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>

#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "approval/sweeper.h"
#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/retention.h"
#include "audit/sqlite_util.h"
#include "audit/tail.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/json.h"
#include "common/periodic.h"
#include "common/store_path.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "identity/jwks_fetch.h"
#include "identity/oidc_signin.h"
#include "identity/verifier.h"
#include "mcp/pins.h"
#include "mcp/sandbox.h"
#include "mcp/server_env.h"
#include "policy/loader.h"
#include "server/api.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/mcp_http.h"
#include "server/metrics.h"
#include "server/notifier.h"
#include "server/policy_watcher.h"
#include "store/open_store.h"
#include "store/postgres_audit.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"

namespace interlock::cli {
namespace {

// The key that signs reviewers' session cookies (identity.oidc): `oidc-session.key` in the
// keys directory, 32 random bytes created 0600 at first start; deleting it signs everyone
// out. Without a keys directory (:memory:) a key per start.
Result<std::string> LoadOrCreateSessionKey(const std::string& dir) {
  if (dir.empty()) return RandomBytes(identity::kSessionKeyBytes);
  const std::string path = dir + "/oidc-session.key";
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      auto key = ReadFileBounded(path, 64, "oidc-session.key");
      if (!key.ok()) return key.error();
      if (key->size() != identity::kSessionKeyBytes) {
        return Error::Invalid(path + " must hold exactly 32 bytes (delete it to make a new one)");
      }
      return key;
    }
    std::filesystem::create_directories(dir, ec);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) continue;  // another process made it: read theirs
      return Error::Unavailable("cannot create " + path + ": " + std::strerror(errno));
    }
    const std::string key = RandomBytes(identity::kSessionKeyBytes);
    const bool ok =
        ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Error::Unavailable("cannot write " + path);
    return key;
  }
  return Error::Unavailable("cannot create " + path);
}

// Call and approval rows deleted per write when the daemon applies audit.retention_days.
constexpr int64_t kPruneCallsChunk = 5000;

// The tail check at start (docs/audit.md, "Tail check at start"): a SQLite file against
// the checkpoint file; a PostgreSQL database against the fleet's checkpoint table and this
// daemon's file, read in one snapshot.
Status CheckTail(const std::string& store_uri, const std::string& checkpoints,
                 const std::string& keys_dir, const audit::PublicKey& key) {
  if (!store::IsPostgresUri(store_uri)) {
    return audit::CheckStoreTail(store_uri, checkpoints, keys_dir, key);
  }
  Result<std::unique_ptr<core::RecordSource>> source = store::OpenPostgresRecordSource(store_uri);
  if (!source.ok()) return source.error();
  return audit::CheckSourceTail(**source, "\"$URI\"", checkpoints, keys_dir, key);
}

namespace fs = std::filesystem;

struct ServeFlags {
  std::string config;
  std::string listen;
  std::vector<std::string> policies;
  std::string store;
  std::string tls_cert;
  std::string tls_key;
  std::string ready_file;
  std::string keys_dir;
  std::string checkpoints;
  std::string workspace;
  int threads = -1;
};

Status WriteReadyFile(const std::string& path, const std::string& host, uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ToJsonText(boost::json::object{{"address", host}, {"port", port}}) << '\n';
    if (!out.flush()) return Error::Unavailable("cannot write ready file " + path);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);  // atomic: readers never see a half-written file
  if (ec) return Error::Unavailable("cannot write ready file " + path + ": " + ec.message());
  return Status::Ok();
}

// The audit record of a policy set loaded (`set`) or refused (`error`).
core::PolicyLoad PolicyLoadOf(const policy::PolicySet* set, std::string why, std::string error,
                              TimePoint at) {
  core::PolicyLoad load;
  if (set != nullptr) {
    load.sha256 = set->sha256;
    load.agents = set->agents.size();
  }
  load.why = std::move(why);
  load.error = std::move(error);
  load.principal = "daemon";
  load.at = at;
  return load;
}

int RunServe(const ServeFlags& flags, const CLI::App& cmd) {
  // The daemon holds every upstream's secrets and its own: a server running as the same
  // user must not read them in /proc/<daemon>/environ or mem (mcp/server_env.h).
  if (Status st = mcp::ProtectProcessSecrets(); !st.ok()) {
    std::cerr << "interlock serve: " << st.error().message << '\n';
    return kExitFailure;
  }
  server::ServerConfig cfg;
  if (!flags.config.empty()) {
    if (Status st = server::LoadServerConfig(flags.config, &cfg); !st.ok()) {
      std::cerr << "interlock serve: " << st.error().message << '\n';
      return kExitUsage;
    }
  }
  if (cmd.count("--listen") > 0) {
    if (Status st = server::ParseListen(flags.listen, &cfg); !st.ok()) {
      std::cerr << "interlock serve: --listen: " << st.error().message << '\n';
      return kExitUsage;
    }
  }
  if (!flags.policies.empty()) cfg.policies = flags.policies;
  if (cmd.count("--store") > 0) cfg.store = flags.store;
  if (cfg.store.empty()) {
    Result<std::string> def = DefaultStorePath();  // the one default of every command
    if (!def.ok()) {
      std::cerr << "interlock serve: " << def.error().message << '\n';
      return kExitUsage;
    }
    cfg.store = std::move(def).value();
  }
  if (cmd.count("--tls-cert") > 0) cfg.tls_cert = flags.tls_cert;
  if (cmd.count("--tls-key") > 0) cfg.tls_key = flags.tls_key;
  if (flags.threads >= 0) cfg.threads = flags.threads;
  if (cfg.policies.empty()) {
    std::cerr << "interlock serve: no policies; pass --policies DIR or set `policies:` in "
                 "the config file\n";
    return kExitUsage;
  }
  if (cfg.tls_cert.empty() != cfg.tls_key.empty()) {
    std::cerr << "interlock serve: TLS needs both --tls-cert and --tls-key\n";
    return kExitUsage;
  }

  if (cmd.count("--workspace") > 0) cfg.workspace = flags.workspace;
  // ${workspace}: fixed at start (absolute), so a reload resolves it the same way.
  policy::LoadOptions load;
  if (auto w = WorkspaceDir(cfg.workspace); w.ok()) {
    load.workspace = std::move(*w);
  } else {
    std::cerr << "interlock serve: workspace: " << w.error().message << '\n';
    return kExitUsage;
  }

  // Fail closed at startup: no valid policy set, no daemon.
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(cfg.policies, &diags, load);
  if (!set.ok()) {
    std::cerr << "interlock serve: the policy set is invalid; fix it (run `interlock check`):\n"
              << set.error().message << '\n';
    return kExitUsage;
  }
  WarnShadowMode(**set, "", std::cerr);
  core::PolicySource policies(*set);

  // A PostgreSQL URI: a fleet member (docs/operations.md, "PostgreSQL"). Its audit keys
  // are given (every daemon of the fleet must redact with the same HMAC key), and what is
  // not implemented on PostgreSQL yet is refused at startup, not discovered under load.
  const bool postgres = store::IsPostgresUri(cfg.store);
  if (postgres && flags.keys_dir.empty()) {
    std::cerr << "interlock serve: a PostgreSQL store needs --keys DIR (the same audit keys on "
                 "every daemon that shares the database)\n";
    return kExitUsage;
  }
  if (cfg.store != ":memory:" && !postgres) {
    std::error_code ec;
    const fs::path parent = fs::path(cfg.store).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
  }
  store::StoreOptions sopt;
  sopt.path = cfg.store;
  sopt.durable_full = cfg.durable_full;
  sopt.approval_default_timeout_seconds = cfg.approval_timeout_seconds;
  sopt.approval_max_wait_seconds = cfg.approval_max_wait_seconds;
  SystemClock clock;
  // Audit keys: the HMAC key for redacted values and the Ed25519 key that signs
  // checkpoints, created on first start (docs/audit.md#keys).
  std::optional<audit::AuditKeys> keys;
  std::string checkpoints;
  std::string dir;
  if (cfg.store != ":memory:") {
    dir = flags.keys_dir.empty() ? audit::DefaultKeysDir(cfg.store) : flags.keys_dir;
    auto loaded = audit::LoadOrCreateAuditKeys(dir);
    if (!loaded.ok()) {
      std::cerr << "interlock serve: audit keys: " << loaded.error().message << '\n';
      return kExitFailure;
    }
    keys.emplace(std::move(loaded).value());
    sopt.audit_key = keys->hmac_key;
  }
  if (keys) {
    checkpoints =
        flags.checkpoints.empty() ? audit::DefaultCheckpointsFile(dir) : flags.checkpoints;
    // Kill switch, token and policy records are signed into the checkpoint file before
    // they take effect (docs/audit.md, "Anchors"); on PostgreSQL into the fleet's
    // checkpoint table in the record's own transaction, then copied to the file.
    // Not owned (the aliasing constructor with no owner): `keys` outlives the store.
    sopt.checkpoint_signer = audit::MakeCheckpointSigner(
        std::shared_ptr<const audit::SigningKey>(std::shared_ptr<void>(), &keys->signing_key),
        checkpoints, &clock);
  }
  if (!keys) sopt.audit_key = RandomBytes(32);
  auto opened = store::OpenStore(sopt);
  if (!opened.ok()) {
    std::cerr << "interlock serve: " << opened.error().message << '\n';
    return opened.error().kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  std::unique_ptr<core::Store> store = std::move(*opened);
  // No daemon on a log whose tail is missing (docs/audit.md, "Tail check"); then the
  // policy set in force is recorded, anchored, before anything is decided under it.
  // (PostgreSQL: against the fleet's checkpoint table and this daemon's file.)
  if (keys) {
    if (Status st = CheckTail(cfg.store, checkpoints, dir, keys->public_key); !st.ok()) {
      std::cerr << "interlock serve: " << st.error().message << '\n';
      return kExitFailure;
    }
    // A SQLite log with records and no checkpoint file had only the store's own view of
    // its tail to be checked against: say so (a deleted file hides a cut tail; a new
    // --checkpoints path is harmless, and the file starts again with this start's
    // checkpoint). On PostgreSQL the database's table holds the fleet's checkpoints, and a
    // daemon new to the fleet has no file of its own yet.
    if (std::error_code ec; !postgres && !std::filesystem::exists(checkpoints, ec)) {
      if (Result<int64_t> last = store->LastSeq(); last.ok() && *last > 0) {
        std::cerr << "interlock serve: warning: no checkpoint file at " << checkpoints
                  << " while the audit log holds records up to seq " << *last
                  << ": its tail was checked without this daemon's signed checkpoints. If the "
                     "file existed before (another --checkpoints path, or deleted), find it and "
                     "run `interlock audit verify --checkpoints FILE` (docs/audit.md, \"Tail "
                     "check at start\").\n";
      }
    }
  }
  if (Status st = store->RecordPolicyLoad(PolicyLoadOf(set->get(), "start", "", clock.Now()));
      !st.ok()) {
    std::cerr << "interlock serve: cannot record the policy load: " << st.error().message << '\n';
    return kExitFailure;
  }

  // Signed checkpoints of the chain head, so that deleting the log's tail is detectable.
  // A checkpoint failure is logged, never a deny: the chain itself is already durable.
  std::unique_ptr<audit::CheckpointThread> checkpointer;
  if (keys) {
    audit::CheckpointerOptions copt;
    copt.path = checkpoints;
    // PostgreSQL: into the fleet's table (every daemon checkpoints the one chain; each
    // also keeps its own copy in its file).
    std::unique_ptr<core::CheckpointStore> pg_checkpoints;
    if (postgres) {
      auto opened_cps = store::OpenPostgresCheckpointStore(cfg.store, checkpoints);
      if (!opened_cps.ok()) {
        std::cerr << "interlock serve: checkpoints: " << opened_cps.error().message << '\n';
        return kExitFailure;
      }
      pg_checkpoints = std::move(opened_cps).value();
    }
    auto cp = audit::Checkpointer::Create(&keys->signing_key, copt, &clock, pg_checkpoints.get());
    if (!cp.ok()) {
      std::cerr << "interlock serve: checkpoints: " << cp.error().message << '\n';
      return kExitFailure;
    }
    auto on_error = [](const Error& e) {
      std::cerr << "interlock: audit checkpoint failed: " << e.message << '\n';
    };
    auto started =
        postgres ? audit::CheckpointThread::Start(std::move(pg_checkpoints), std::move(cp).value(),
                                                  std::chrono::seconds(1), on_error)
                 : audit::CheckpointThread::Start(cfg.store, std::move(cp).value(),
                                                  std::chrono::seconds(1), on_error);
    if (!started.ok()) {
      std::cerr << "interlock serve: checkpoints: " << started.error().message << '\n';
      return kExitFailure;
    }
    checkpointer = std::move(started).value();
  }

  // Retention (docs/audit.md#retention): prune records older than audit.retention_days,
  // daily, on a thread of its own (chunked deletes, each anchored first, so decisions
  // are not held up). A failed prune is logged and retried at the next interval; the
  // log only ever keeps more than asked, never less.
  // `stopping` ends a prune in progress between chunks at shutdown.
  std::atomic<bool> stopping{false};
  std::unique_ptr<PeriodicTask> pruner;
  if (keys && cfg.audit_retention_days > 0) {
    pruner = std::make_unique<PeriodicTask>(
        cfg.audit_prune_first, cfg.audit_prune_interval,
        [&cfg, &keys, &clock, &store, &stopping, checkpoints] {
          audit::PruneOptions popt;
          popt.days = cfg.audit_retention_days;
          popt.now = clock.Now();
          popt.checkpoint_file = checkpoints;
          // PostgreSQL: one daemon of the fleet at a time; `lock` holds it while the
          // call rows are pruned too.
          std::unique_ptr<audit::PruneTarget> lock;
          Result<audit::PruneReport> r = PruneStoreAudit(cfg.store, keys->signing_key, popt, &lock);
          if (!r.ok()) {
            // The call rows stay too: if the log failed verification they are evidence.
            std::cerr << "interlock: audit prune failed: " << r.error().message << '\n';
            return;
          }
          if (r->deleted > 0) {
            std::cerr << "interlock: audit prune: deleted " << r->deleted << " records older than "
                      << popt.days << " days; the log starts at seq " << r->first_kept_seq
                      << " (anchor in " << checkpoints << ")\n";
          }
          // The per-call rows (calls, decided approvals) follow the same retention, in
          // short writes on the store's writer so decisions interleave with them.
          const TimePoint cutoff = popt.now - std::chrono::hours(24) * popt.days;
          int64_t rows = 0;
          while (!stopping.load()) {
            Result<int64_t> n = store->PruneCalls(cutoff, kPruneCallsChunk);
            if (!n.ok()) {
              std::cerr << "interlock: call prune failed: " << n.error().message << '\n';
              break;
            }
            if (*n == 0) break;
            rows += *n;
          }
          if (rows > 0) {
            std::cerr << "interlock: call prune: deleted " << rows
                      << " call and approval rows older than " << popt.days << " days\n";
          }
          if (stopping.load()) {
            std::cerr << "interlock: call prune: stopped for shutdown; the rest follows at the "
                         "next prune\n";
          }
        });
  }

  server::NotifierOptions nopt;
  nopt.webhooks = cfg.webhooks;
  nopt.max_attempts = cfg.webhook_attempts;
  nopt.ca_file = cfg.webhook_ca_file;
  nopt.initial_backoff = cfg.webhook_backoff;
  nopt.max_queue = cfg.notifier_queue;
  auto notifier = server::WebhookNotifier::Create(nopt);
  if (!notifier.ok()) {
    std::cerr << "interlock serve: " << notifier.error().message << '\n';
    return kExitUsage;
  }

  server::Metrics metrics;
  core::Guard guard(&policies, store.get(), &clock, notifier->get());
  server::ApiOptions aopt;
  aopt.max_body_bytes = cfg.limits.max_body_bytes;
  aopt.max_wait_seconds = cfg.max_wait_seconds;
  aopt.max_output_bytes = cfg.max_output_bytes;
  aopt.auth_cache_ttl = cfg.auth_cache_ttl;
  aopt.public_url = cfg.public_url;
  aopt.governance_wait = cfg.governance_wait;
  aopt.governance_min_interval = cfg.governance_min_interval;
  if (!cfg.metrics_token_file.empty()) {
    // Asked for and unreadable: refuse to start rather than serve /metrics open.
    Result<std::string> secret =
        ReadFileBounded(cfg.metrics_token_file, 4096, "metrics_token_file");
    if (!secret.ok()) {
      std::cerr << "interlock serve: " << secret.error().message << '\n';
      return kExitUsage;
    }
    std::string t = std::move(*secret);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    if (t.size() < 16 || t.size() > 512) {  // 512: the longest bearer token accepted
      std::cerr << "interlock serve: metrics_token_file " << cfg.metrics_token_file
                << " must hold a secret of 16 to 512 characters\n";
      return kExitUsage;
    }
    aopt.metrics_token = std::move(t);
  }
  // identity.jwt (docs/identity.md): keys fetched now, then refreshed on schedule; an
  // issuer unreachable at start is not fatal, its tokens are refused until it answers.
  identity::HttpsJwksFetcher jwks_fetcher;
  std::unique_ptr<identity::Verifier> jwt;
  std::unique_ptr<PeriodicTask> jwks_refresh;
  if (!cfg.jwt_issuers.empty()) {
    jwt = std::make_unique<identity::Verifier>(cfg.jwt_issuers, &jwks_fetcher, &clock);
    jwt->RefreshDue();
    jwks_refresh = std::make_unique<PeriodicTask>(
        std::chrono::seconds(30), std::chrono::seconds(30), [v = jwt.get()] { v->RefreshDue(); });
    aopt.jwt = jwt.get();
    aopt.oauth = cfg.oauth;  // its authorization servers are identity.jwt issuers
  }
  // identity.oidc (docs/identity.md): discovery now, bounded; a provider unreachable at
  // start is not fatal: sign-in answers that it is unavailable (and tries again at most
  // every 30 s), tokens keep working.
  std::unique_ptr<identity::OidcSignIn> oidc;
  std::string oidc_client_secret;  // masked in what MCP upstreams send
  if (!cfg.oidc.issuer.empty()) {
    identity::OidcConfig oc = cfg.oidc;
    Result<std::string> secret =
        ReadFileBounded(oc.client_secret_file, 4096, "identity.oidc.client_secret_file");
    if (!secret.ok()) {
      std::cerr << "interlock serve: " << secret.error().message << '\n';
      return kExitUsage;
    }
    oc.client_secret = std::move(*secret);
    while (!oc.client_secret.empty() &&
           std::isspace(static_cast<unsigned char>(oc.client_secret.back()))) {
      oc.client_secret.pop_back();
    }
    if (oc.client_secret.empty()) {
      std::cerr << "interlock serve: identity.oidc.client_secret_file " << oc.client_secret_file
                << " is empty\n";
      return kExitUsage;
    }
    oidc_client_secret = oc.client_secret;
    auto session_key = LoadOrCreateSessionKey(dir);
    if (!session_key.ok()) {
      std::cerr << "interlock serve: " << session_key.error().message << '\n';
      return kExitFailure;
    }
    oidc = std::make_unique<identity::OidcSignIn>(std::move(oc), std::move(*session_key), &clock);
    if (Status st = oidc->Discover(); !st.ok()) {
      std::cerr << "interlock serve: reviewer sign-in is unavailable until the provider answers: "
                << st.error().message << '\n';
    }
    aopt.oidc = oidc.get();
    aopt.secure_cookies = !cfg.tls_cert.empty() || cfg.public_url.starts_with("https://");
  }
  server::Api api(aopt, &guard, store.get(), &policies, &clock, &metrics);
  // Several daemons on one PostgreSQL database: a verdict committed through any of them
  // wakes this one's long polls (LISTEN/NOTIFY). Cleared before the Api goes away.
  struct CallListener {
    store::PostgresStore* pg;
    ~CallListener() {
      if (pg != nullptr) pg->SetCallListener(nullptr);
    }
  } call_listener{dynamic_cast<store::PostgresStore*>(store.get())};
  if (call_listener.pg != nullptr) {
    call_listener.pg->SetCallListener([&api](std::string_view call_id) {
      if (call_id.empty()) {
        api.call_waiters()->NotifyAll();
      } else {
        api.NotifyCall(call_id);
      }
    });
  }

  // MCP Streamable HTTP (/mcp/{upstream}): sessions decide through this Guard and wait on
  // this Api's approval queue; tool pins live in the same store (on PostgreSQL: shared by
  // every daemon of the fleet, so a pin accepted anywhere holds everywhere).
  std::unique_ptr<mcp::PinStore> pins;
  std::unique_ptr<server::McpHttpService> mcp_http;
  if (!cfg.mcp.upstreams.empty()) {
    auto pin_rows = store->OpenPinRows();
    if (!pin_rows.ok()) {
      std::cerr << "interlock serve: mcp pins: " << pin_rows.error().message << '\n';
      return kExitFailure;
    }
    pins = std::make_unique<mcp::PinStore>(std::move(pin_rows).value());
    server::McpHttpDeps deps;
    deps.guard = &guard;
    deps.store = store.get();
    deps.policies = &policies;
    deps.clock = &clock;
    deps.waiters = api.call_waiters();
    deps.pins = pins.get();
    deps.metrics = &metrics;
    deps.approval_url = [&api](std::string_view id) { return api.ApprovalUrl(id); };
    server::McpConfig mcp_config = cfg.mcp;
    mcp_config.masked_values = mcp::SecretsInUri(cfg.store);  // a PostgreSQL password
    if (const char* t = std::getenv(std::string(mcp::kInterlockTokenVariable).c_str());
        t != nullptr && *t != '\0') {
      mcp_config.masked_values.emplace_back(t);  // an operator's token the daemon inherited
    }
    if (!aopt.metrics_token.empty()) mcp_config.masked_values.push_back(aopt.metrics_token);
    if (!oidc_client_secret.empty()) mcp_config.masked_values.push_back(oidc_client_secret);
    // What no sandboxed upstream may write, or see where a bind would show it
    // (mcp/sandbox.h): the store (InterlockTrustedPaths adds it), keys and checkpoints,
    // the config file, the policies, the TLS key.
    mcp_config.sandbox_store = postgres || cfg.store == ":memory:" ? std::string() : cfg.store;
    auto& trusted = mcp_config.sandbox_trusted;
    if (!dir.empty()) trusted.emplace_back("the audit keys", dir);
    if (!checkpoints.empty()) trusted.emplace_back("the checkpoints file", checkpoints);
    if (!flags.config.empty()) trusted.emplace_back("the config file", flags.config);
    for (const std::string& p : cfg.policies) trusted.emplace_back("the policies", p);
    if (!cfg.tls_key.empty()) trusted.emplace_back("the TLS key", cfg.tls_key);
    if (!cfg.oidc.client_secret_file.empty()) {
      trusted.emplace_back("the OIDC client secret", cfg.oidc.client_secret_file);
    }
    auto service = server::McpHttpService::Create(mcp_config, deps);
    if (!service.ok()) {
      std::cerr << "interlock serve: " << service.error().message << '\n';
      return kExitUsage;
    }
    mcp_http = std::move(*service);
    api.SetMcpEndpoint(mcp_http.get());
  }

  server::HttpServerOptions hopt;
  hopt.host = cfg.host;
  hopt.port = cfg.port;
  hopt.threads = cfg.threads;
  hopt.limits = cfg.limits;
  hopt.tls_cert_file = cfg.tls_cert;
  hopt.tls_key_file = cfg.tls_key;
  server::HttpServer http(hopt, &api, &metrics);

  server::PolicyWatcher watcher(cfg.policies, &policies, &metrics, cfg.policy_poll);
  watcher.SetLoadOptions(load);
  watcher.SetRecorder(
      [&store, &clock](const policy::PolicySet* set, const char* why, const std::string& error) {
        return store->RecordPolicyLoad(PolicyLoadOf(set, why, error, clock.Now()));
      });

  // Signals are handled on the io_context; the main thread only waits for the verdict.
  std::mutex mu;
  std::condition_variable cv;
  int stop_signal = 0;
  boost::asio::signal_set signals(http.io_context(), SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          watcher.RequestReload();
          signals.async_wait(on_signal);
          return;
        }
        std::lock_guard lock(mu);
        stop_signal = sig;
        cv.notify_all();
      };
  signals.async_wait(on_signal);
  ::signal(SIGPIPE, SIG_IGN);

  if (Status st = http.Start(); !st.ok()) {
    std::cerr << "interlock serve: " << st.error().message << '\n';
    return kExitFailure;
  }
  watcher.Start();
  const auto ep = http.local_endpoint();
  const std::string host = ep.address().to_string();
  approval::SweeperOptions swopt;
  swopt.interval = cfg.approval_sweep;
  swopt.channel = cfg.approval_channel;
  swopt.public_url = !cfg.public_url.empty()
                         ? cfg.public_url
                         : std::string(http.tls() ? "https" : "http") + "://" +
                               (ep.address().is_v6() ? "[" + host + "]" : host) + ":" +
                               std::to_string(ep.port());
  api.SetPublicUrl(swopt.public_url);
  approval::Sweeper sweeper(store.get(), &policies, &clock, notifier->get(), swopt,
                            [&api](const std::string& call_id) { api.NotifyCall(call_id); });
  sweeper.Start();
  for (const auto& [name, up] : cfg.mcp.upstreams) {
    std::cout << "interlock: MCP upstream " << name << " at /mcp/" << name << " ("
              << (up.url.empty() ? "stdio" : up.url) << ")\n";
  }
  std::cout << "interlock: listening on " << (http.tls() ? "https" : "http") << "://"
            << (ep.address().is_v6() ? "[" + host + "]" : host) << ':' << ep.port() << '\n'
            << "interlock: " << (*set)->agents.size() << " agent policies, store " << cfg.store
            << std::endl;
  if (!flags.ready_file.empty()) {
    if (Status st = WriteReadyFile(flags.ready_file, host, ep.port()); !st.ok()) {
      std::cerr << "interlock serve: " << st.error().message << '\n';
    }
  }

  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return stop_signal != 0; });
  }
  std::cerr << "interlock: " << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
            << ": draining in-flight requests\n";
  // Post the signal_set cancel onto the io threads' world before they stop.
  boost::system::error_code ignored;
  signals.cancel(ignored);
  stopping.store(true);  // a prune in progress ends at its next chunk
  sweeper.Stop();
  if (mcp_http) mcp_http->Shutdown();  // MCP sessions end: children stopped, streams ended
  api.Shutdown();                      // long polls answer now; the blocking pool drains
  http.Shutdown();
  pruner.reset();  // waits for a prune in progress: it stops after its current chunk
  store.reset();   // nothing uses it now: drains the writer, checkpoints the WAL, closes
  if (checkpointer) checkpointer->Stop();  // a final signed checkpoint of the head
  std::cerr << "interlock: stopped\n";
  return kExitOk;
}

void AddServe(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Run the HTTP decision service (docs/api.md). Flags override the config file.");
  cmd->add_option("--config", flags->config, "YAML config file (docs/operations.md)");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:8181)");
  cmd->add_option("--policies", flags->policies, "Policy directory or file (repeatable)");
  cmd->add_option("--store", flags->store,
                  "SQLite store file (default $INTERLOCK_STORE, else "
                  "$XDG_STATE_HOME/interlock/interlock.db), or a PostgreSQL URI "
                  "postgresql://user@host:5432/db (docs/operations.md, \"PostgreSQL\")");
  cmd->add_option("--tls-cert", flags->tls_cert, "PEM certificate chain: serve HTTPS");
  cmd->add_option("--tls-key", flags->tls_key, "PEM private key for --tls-cert");
  cmd->add_option("--ready-file", flags->ready_file,
                  "Write {\"address\":...,\"port\":N} here once listening");
  cmd->add_option("--keys", flags->keys_dir,
                  "Audit key directory: HMAC and checkpoint signing keys, created on first "
                  "start (default STORE.keys)");
  cmd->add_option("--checkpoints", flags->checkpoints,
                  "Signed checkpoint file (default KEYS/checkpoints.jsonl)");
  cmd->add_option("--workspace", flags->workspace,
                  "The directory ${workspace} stands for in policies, at start and on every "
                  "reload (default: config key `workspace:`, else the daemon's current "
                  "directory)");
  cmd->add_option("--threads", flags->threads, "io threads (default: hardware concurrency)");
  cmd->callback([flags, exit_code, cmd] { *exit_code = RunServe(*flags, *cmd); });
}

const CommandRegistration kRegistration("serve", &AddServe);

}  // namespace
}  // namespace interlock::cli
