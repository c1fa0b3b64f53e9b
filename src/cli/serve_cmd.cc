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
#include <utility>

#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "approval/sweeper.h"
#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/retention.h"
#include "audit/tail.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/local_store.h"
#include "cli/notice_logger.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/host_name.h"
#include "common/json.h"
#include "common/periodic.h"
#include "common/private_fs.h"
#include "common/store_path.h"
#include "common/time.h"
#include "common/url_text.h"
#include "core/app/audit.h"
#include "core/app/calls.h"
#include "core/app/console_signin.h"
#include "core/app/egress_receipt_book.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/request_state.h"
#include "daemon/config.h"
#include "daemon/decision_metrics.h"
#include "daemon/metrics.h"
#include "daemon/notifier.h"
#include "daemon/policy_watcher.h"
#include "daemon/report_cache.h"
#include "daemon/slack.h"
#include "daemon/upstream_credentials.h"
#include "doors/egress/decider.h"
#include "doors/egress/proxy.h"
#include "doors/egress/receipts.h"
#include "doors/ext_authz/door.h"
#include "doors/ext_authz/grpc_service.h"
#include "doors/http_api/api.h"
#include "doors/http_api/http_server.h"
#include "doors/mcp_http/mcp_enforcer.h"
#include "doors/mcp_http/mcp_http.h"
#include "identity/jwks_fetch.h"
#include "identity/oidc_signin.h"
#include "identity/verifier.h"
#include "mcp/pins.h"
#include "mcp/sandbox.h"
#include "mcp/server_env.h"
#include "outbound/http_connector.h"
#include "policy/loader.h"
#include "store/open_store.h"
#include "store/postgres_audit.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"
#include "store/sqlite_audit_checkpoint.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"
#include "telemetry/setup.h"

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
    if (Status st = CreatePrivateDirectories(dir); !st.ok()) return st.error();
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
  Result<std::unique_ptr<audit::RecordSource>> source = store::OpenPostgresRecordSource(store_uri);
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
  bool create = false;            // --create: make a missing directory of a named store
  bool allow_plain_http = false;  // --allow-plain-http
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

// The HTTP API's outcome receipts (core::EgressReceiptBook), kept by the egress door's
// receipt book: the egress decisions the API made for proxies that ask this daemon.
class ApiEgressReceipts final : public core::EgressReceiptBook {
 public:
  void Decided(const core::EgressDecided& d) override {
    egress::EgressOutcome o;
    o.attempt = egress::EgressAttempt{d.host, d.port, d.address, d.tunnel};
    o.decision = d.decision;
    o.call_id = d.call_id;
    o.in_flight_call_id = d.in_flight_call_id;
    o.serial = d.serial;
    o.open = d.open;
    book_.Observe(o);
  }
  void Closed(uint64_t serial, uint64_t bytes_up, uint64_t bytes_down) override {
    book_.Closed(serial, bytes_up, bytes_down);
  }
  bool Has(const std::string& call_id) override { return book_.Has(call_id); }
  std::string TakeJson(const std::string& call_id) override { return book_.TakeJson(call_id); }

 private:
  egress::ReceiptBook book_;
};

// The daemon's object graph (the composition root), built by named phases in order.
//
// Members are declared in the order the phases build them, so C++ destroys them in the
// reverse order: whatever uses a resource goes before it (the sweeper before the
// servers, the servers before the Api, the Api before the Guard and the identity
// providers, all of them before the store, the store before the audit keys). A phase
// that fails leaves the later members empty, so an early exit tears down exactly what was
// built. Once serving, the graceful drain (Drain(), run by the destructor) first stops
// work in the order it must end: the sweeper, MCP sessions, long polls, in-flight
// requests, the pruner, then the store (before the final checkpoint of its head).
class Daemon {
 public:
  Daemon(const ServeFlags& flags, const CLI::App& cmd) : flags_(flags), cmd_(cmd) {}
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() {
    if (serving_) Drain();
  }

  // Builds the daemon phase by phase and serves until SIGTERM or SIGINT: the exit code.
  int Run() {
    using Phase = int (Daemon::*)();
    for (Phase phase :
         {&Daemon::LoadConfig, &Daemon::LoadPolicies, &Daemon::PrepareStore, &Daemon::LoadKeys,
          &Daemon::OpenStore, &Daemon::StartCheckpoints, &Daemon::StartRetention,
          &Daemon::BuildApiOptions, &Daemon::StartIdentity, &Daemon::BuildApi,
          &Daemon::StartUpstreams, &Daemon::StartExtAuthz, &Daemon::StartServers}) {
      if (const int code = (this->*phase)(); code != kExitOk) return code;
    }
    WaitForStopSignal();
    return kExitOk;
  }

 private:
  static int Fail(std::string_view what, int code) { return cli::Fail("serve", what, code); }

  // The config file, then the flags over it.
  int LoadConfig() {
    // The daemon holds every upstream's secrets and its own: a server running as the same
    // user must not read them in /proc/<daemon>/environ or mem (mcp/server_env.h).
    if (Status st = mcp::ProtectProcessSecrets(); !st.ok()) {
      return Fail(st.error().message, kExitFailure);
    }
    if (!flags_.config.empty()) {
      if (Status st = server::LoadServerConfig(flags_.config, &cfg_); !st.ok()) {
        return Fail(st.error().message, kExitUsage);
      }
    }
    if (cmd_.count("--listen") > 0) {
      if (Status st = server::ParseListen(flags_.listen, &cfg_); !st.ok()) {
        return Fail("--listen: " + st.error().message, kExitUsage);
      }
    }
    if (!flags_.policies.empty()) cfg_.policies = flags_.policies;
    if (cmd_.count("--store") > 0) cfg_.store = flags_.store;
    if (cfg_.store.empty()) {
      Result<std::string> def = DefaultStorePath();  // the one default of every command
      if (!def.ok()) return Fail(def.error().message, kExitUsage);
      cfg_.store = std::move(def).value();
    }
    if (cmd_.count("--tls-cert") > 0) cfg_.tls_cert = flags_.tls_cert;
    if (cmd_.count("--tls-key") > 0) cfg_.tls_key = flags_.tls_key;
    if (flags_.threads >= 0) cfg_.threads = flags_.threads;
    if (cfg_.policies.empty()) {
      return Fail("no policies; pass --policies DIR or set `policies:` in the config file",
                  kExitUsage);
    }
    if (cfg_.tls_cert.empty() != cfg_.tls_key.empty()) {
      return Fail("TLS needs both --tls-cert and --tls-key", kExitUsage);
    }
    if (cmd_.count("--workspace") > 0) cfg_.workspace = flags_.workspace;
    if (flags_.allow_plain_http) cfg_.allow_plain_http = true;
    return CheckPlainHttp();
  }

  // Plain HTTP beyond loopback carries every bearer token and tool argument in clear: only
  // when asked for (docs/operations.md, "TLS and plain HTTP"), and said at every start.
  int CheckPlainHttp() {
    if (!cfg_.tls_cert.empty() || IsLoopbackLiteral(cfg_.host)) return kExitOk;
    const std::string where = cfg_.host + ":" + std::to_string(cfg_.port);
    if (!cfg_.allow_plain_http) {
      return Fail("refusing to serve plain HTTP on " + where +
                      ", which is not a loopback address: bearer tokens and tool arguments "
                      "would cross the network in clear. Configure TLS (--tls-cert/--tls-key, "
                      "`tls_cert:`/`tls_key:`), listen on 127.0.0.1 behind a TLS proxy, or "
                      "pass --allow-plain-http (`allow_plain_http: true`) if plain HTTP is "
                      "intended",
                  kExitUsage);
    }
    std::cerr << "interlock serve: warning: serving plain HTTP on " << where
              << " (allow_plain_http): bearer tokens and tool arguments cross the network in "
                 "clear\n";
    return kExitOk;
  }

  // Fail closed at startup: no valid policy set, no daemon.
  int LoadPolicies() {
    // ${workspace}: fixed at start (absolute), so a reload resolves it the same way.
    if (auto w = WorkspaceDir(cfg_.workspace); w.ok()) {
      load_.workspace = std::move(*w);
    } else {
      return Fail("workspace: " + w.error().message, kExitUsage);
    }
    std::vector<policy::Diagnostic> diags;
    auto set = policy::LoadPolicySet(cfg_.policies, &diags, load_);
    if (!set.ok()) {
      return Fail(
          "the policy set is invalid; fix it (run `interlock check`):\n" + set.error().message,
          kExitUsage);
    }
    set_ = std::move(*set);
    WarnShadowMode(*set_, "", std::cerr);
    policies_ = std::make_unique<core::PolicySource>(set_);
    return kExitOk;
  }

  // A PostgreSQL URI: a fleet member (docs/operations.md, "PostgreSQL"). Its audit keys
  // are given (every daemon of the fleet must redact with the same HMAC key), and what is
  // not implemented on PostgreSQL yet is refused at startup, not discovered under load.
  int PrepareStore() {
    postgres_ = store::IsPostgresUri(cfg_.store);
    if (postgres_ && flags_.keys_dir.empty()) {
      return Fail(
          "a PostgreSQL store needs --keys DIR (the same audit keys on every daemon that "
          "shares the database)",
          kExitUsage);
    }
    // A named store's missing directory is refused unless --create; a new store is said.
    if (Status st = PrepareStorePlace(cfg_.store, flags_.create, "serve"); !st.ok()) {
      return Fail(st.error().message,
                  st.error().kind == ErrorKind::kNotFound ? kExitUsage : kExitFailure);
    }
    return kExitOk;
  }

  // Audit keys: the HMAC key for redacted values and the Ed25519 key that signs
  // checkpoints, created on first start (docs/audit.md#keys). None for :memory:.
  int LoadKeys() {
    if (cfg_.store == ":memory:") return kExitOk;
    keys_dir_ = flags_.keys_dir.empty() ? audit::DefaultKeysDir(cfg_.store) : flags_.keys_dir;
    auto loaded = audit::LoadOrCreateAuditKeys(keys_dir_);
    if (!loaded.ok()) return Fail("audit keys: " + loaded.error().message, kExitFailure);
    keys_.emplace(std::move(loaded).value());
    checkpoints_ =
        flags_.checkpoints.empty() ? audit::DefaultCheckpointsFile(keys_dir_) : flags_.checkpoints;
    return kExitOk;
  }

  // Opens the store, checks the audit log's tail and records the policy set in force.
  int OpenStore() {
    store::StoreOptions sopt;
    sopt.path = cfg_.store;
    sopt.durable_full = cfg_.durable_full;
    sopt.approval_default_timeout_seconds = cfg_.approval_timeout_seconds;
    sopt.approval_max_wait_seconds = cfg_.approval_max_wait_seconds;
    if (keys_) {
      sopt.audit_key = keys_->hmac_key;
      // Kill switch, token and policy records are signed into the checkpoint file before
      // they take effect (docs/audit.md, "Anchors"); on PostgreSQL into the fleet's
      // checkpoint table in the record's own transaction, then copied to the file.
      // Not owned (the aliasing constructor with no owner): `keys_` outlives the store.
      sopt.checkpoint_signer = audit::MakeCheckpointSigner(
          std::shared_ptr<const audit::SigningKey>(std::shared_ptr<void>(), &keys_->signing_key),
          checkpoints_, &clock_);
    } else {
      sopt.audit_key = RandomBytes(32);
    }
    auto opened = store::OpenStore(sopt);
    if (!opened.ok()) {
      return Fail(opened.error().message,
                  opened.error().kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailure);
    }
    store_ = std::move(*opened);
    // No daemon on a log whose tail is missing (docs/audit.md, "Tail check"); then the
    // policy set in force is recorded, anchored, before anything is decided under it.
    // (PostgreSQL: against the fleet's checkpoint table and this daemon's file.)
    if (keys_) {
      if (Status st = CheckTail(cfg_.store, checkpoints_, keys_dir_, keys_->public_key); !st.ok()) {
        return Fail(st.error().message, kExitFailure);
      }
      WarnIfNoCheckpointFile();
    }
    if (Status st = store_->RecordPolicyLoad(PolicyLoadOf(set_.get(), "start", "", clock_.Now()));
        !st.ok()) {
      return Fail("cannot record the policy load: " + st.error().message, kExitFailure);
    }
    return kExitOk;
  }

  // A SQLite log with records and no checkpoint file had only the store's own view of
  // its tail to be checked against: say so (a deleted file hides a cut tail; a new
  // --checkpoints path is harmless, and the file starts again with this start's
  // checkpoint). On PostgreSQL the database's table holds the fleet's checkpoints, and a
  // daemon new to the fleet has no file of its own yet.
  void WarnIfNoCheckpointFile() {
    if (std::error_code ec; postgres_ || std::filesystem::exists(checkpoints_, ec)) return;
    if (Result<int64_t> last = store_->LastSeq(); last.ok() && *last > 0) {
      std::cerr << "interlock serve: warning: no checkpoint file at " << checkpoints_
                << " while the audit log holds records up to seq " << *last
                << ": its tail was checked without this daemon's signed checkpoints. If the "
                   "file existed before (another --checkpoints path, or deleted), find it and "
                   "run `interlock audit verify --checkpoints FILE` (docs/audit.md, \"Tail "
                   "check at start\").\n";
    }
  }

  // Signed checkpoints of the chain head, so that deleting the log's tail is detectable.
  // A checkpoint failure is logged, never a deny: the chain itself is already durable.
  int StartCheckpoints() {
    if (!keys_) return kExitOk;
    audit::CheckpointerOptions copt;
    copt.path = checkpoints_;
    // PostgreSQL: into the fleet's table (every daemon checkpoints the one chain; each
    // also keeps its own copy in its file).
    std::unique_ptr<audit::CheckpointStore> pg_checkpoints;
    if (postgres_) {
      auto opened_cps = store::OpenPostgresCheckpointStore(cfg_.store, checkpoints_);
      if (!opened_cps.ok()) {
        return Fail("checkpoints: " + opened_cps.error().message, kExitFailure);
      }
      pg_checkpoints = std::move(opened_cps).value();
    }
    auto cp = audit::Checkpointer::Create(&keys_->signing_key, copt, &clock_, pg_checkpoints.get());
    if (!cp.ok()) return Fail("checkpoints: " + cp.error().message, kExitFailure);
    auto on_error = [](const Error& e) {
      std::cerr << "interlock: audit checkpoint failed: " << e.message << '\n';
    };
    auto started =
        postgres_ ? audit::CheckpointThread::Start(std::move(pg_checkpoints), std::move(cp).value(),
                                                   std::chrono::seconds(1), on_error)
                  : audit::StartSqliteCheckpointThread(cfg_.store, std::move(cp).value(),
                                                       std::chrono::seconds(1), on_error);
    if (!started.ok()) return Fail("checkpoints: " + started.error().message, kExitFailure);
    checkpointer_ = std::move(started).value();
    return kExitOk;
  }

  // Retention (docs/audit.md#retention): prune records older than audit.retention_days,
  // daily, on a thread of its own (chunked deletes, each anchored first, so decisions
  // are not held up). A failed prune is logged and retried at the next interval; the
  // log only ever keeps more than asked, never less.
  int StartRetention() {
    if (keys_ && cfg_.audit_retention_days > 0) {
      pruner_ = std::make_unique<PeriodicTask>(cfg_.audit_prune_first, cfg_.audit_prune_interval,
                                               [this] { PruneOnce(); });
    }
    return kExitOk;
  }

  void PruneOnce() {
    audit::PruneOptions popt;
    popt.days = cfg_.audit_retention_days;
    popt.now = clock_.Now();
    popt.checkpoint_file = checkpoints_;
    // PostgreSQL: one daemon of the fleet at a time; `lock` holds it while the
    // call rows are pruned too.
    std::unique_ptr<audit::PruneTarget> lock;
    Result<audit::PruneReport> r = PruneStoreAudit(cfg_.store, keys_->signing_key, popt, &lock);
    if (!r.ok()) {
      // The call rows stay too: if the log failed verification they are evidence.
      std::cerr << "interlock: audit prune failed: " << r.error().message << '\n';
      return;
    }
    if (r->deleted > 0) {
      std::cerr << "interlock: audit prune: deleted " << r->deleted << " records older than "
                << popt.days << " days; the log starts at seq " << r->first_kept_seq
                << " (anchor in " << checkpoints_ << ")\n";
    }
    // The per-call rows (calls, decided approvals) follow the same retention, in
    // short writes on the store's writer so decisions interleave with them.
    const TimePoint cutoff = popt.now - std::chrono::hours(24) * popt.days;
    int64_t rows = 0;
    while (!stopping_.load()) {
      Result<int64_t> n = store_->PruneCalls(cutoff, kPruneCallsChunk);
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
    if (stopping_.load()) {
      std::cerr << "interlock: call prune: stopped for shutdown; the rest follows at the "
                   "next prune\n";
    }
  }

  // The notifier, the Guard and the Api's options (the /metrics secret among them).
  int BuildApiOptions() {
    server::NotifierOptions nopt;
    nopt.webhooks = cfg_.webhooks;
    nopt.max_attempts = cfg_.webhook_attempts;
    nopt.ca_file = cfg_.webhook_ca_file;
    nopt.initial_backoff = cfg_.webhook_backoff;
    nopt.max_queue = cfg_.notifier_queue;
    auto notifier = server::WebhookNotifier::Create(nopt);
    if (!notifier.ok()) return Fail(notifier.error().message, kExitUsage);
    notifier_ = std::move(*notifier);

    // OpenTelemetry export (docs/telemetry.md): decision spans, notices as logs, /metrics.
    auto otel = telemetry::StartExporter(
        cfg_.telemetry,
        [this, s = store_.get()] {
          std::vector<server::Metrics::KillGauge> kills = {{"global", 0}, {"agent", 0}, {"run", 0}};
          if (auto engaged = s->ListKills(); engaged.ok()) {
            for (const core::KillEntry& k : *engaged) {
              for (auto& g : kills) g.engaged += k.engaged && g.scope == k.scope ? 1 : 0;
            }
          }
          return metrics_.Render(kills);
        },
        "interlock serve");
    if (!otel.ok()) return Fail(otel.error().message, kExitUsage);
    otel_ = std::move(*otel);
    telemetry::Sink* const sink = otel_ ? otel_.get() : telemetry::NoopSink();
    notices_ = std::make_unique<NoticeLogger>(
        notifier_.get(), sink, [](const Notification& n, const core::CallRecord& c) {
          return ToJsonText(server::WebhookNotifier::Body(n, c));
        });
    if (otel_) metrics_.SetExtra([e = otel_.get()] { return e->RenderPrometheus(); });
    guard_ = std::make_unique<core::Guard>(policies_.get(), store_.get(), &clock_, notices_.get());
    guard_->SetTelemetry(sink);
    guard_->SetDecisionObserver(&decision_metrics_);
    guard_->SetRolePolicies(&cfg_.role_policies);
    telemetry::SetDefaultSink(sink);  // MCP sessions' tools/call spans
    aopt_.max_body_bytes = cfg_.limits.max_body_bytes;
    aopt_.max_wait_seconds = cfg_.max_wait_seconds;
    aopt_.max_output_bytes = cfg_.max_output_bytes;
    aopt_.child_runs = core::ChildRunLimits{cfg_.max_run_depth, cfg_.max_live_children};
    aopt_.authn.cache_ttl = cfg_.auth_cache_ttl;
    aopt_.public_url = cfg_.public_url;
    aopt_.drill_warn_after =
        std::chrono::duration_cast<std::chrono::seconds>(cfg_.drill_warn_after);
    if (!cfg_.metrics_token_file.empty()) {
      // Asked for and unreadable: refuse to start rather than serve /metrics open.
      Result<std::string> secret =
          ReadFileBounded(cfg_.metrics_token_file, 4096, "metrics_token_file");
      if (!secret.ok()) return Fail(secret.error().message, kExitUsage);
      std::string t = std::move(*secret);
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      if (t.size() < 16 || t.size() > 512) {  // 512: the longest bearer token accepted
        return Fail("metrics_token_file " + cfg_.metrics_token_file +
                        " must hold a secret of 16 to 512 characters",
                    kExitUsage);
      }
      aopt_.metrics_token = std::move(t);
    }
    return kExitOk;
  }

  // identity.jwt and identity.oidc (docs/identity.md).
  int StartIdentity() {
    // identity.jwt: keys fetched now, then refreshed on schedule; an issuer unreachable at
    // start is not fatal, its tokens are refused until it answers.
    if (!cfg_.jwt_issuers.empty()) {
      jwt_ = std::make_unique<identity::Verifier>(cfg_.jwt_issuers, &jwks_fetcher_, &clock_);
      jwt_->RefreshDue();
      jwks_refresh_ =
          std::make_unique<PeriodicTask>(std::chrono::seconds(30), std::chrono::seconds(30),
                                         [v = jwt_.get()] { v->RefreshDue(); });
      aopt_.authn.jwt = jwt_.get();
      aopt_.oauth =
          core::McpOAuth(cfg_.oauth);  // its authorization servers are identity.jwt issuers
    }
    return cfg_.oidc.issuer.empty() ? kExitOk : StartOidc();
  }

  // identity.oidc: discovery now, bounded; a provider unreachable at start is not fatal:
  // sign-in answers that it is unavailable (and tries again at most every 30 s), tokens
  // keep working.
  int StartOidc() {
    identity::OidcConfig oc = cfg_.oidc;
    Result<std::string> secret =
        ReadFileBounded(oc.client_secret_file, 4096, "identity.oidc.client_secret_file");
    if (!secret.ok()) return Fail(secret.error().message, kExitUsage);
    oc.client_secret = std::move(*secret);
    while (!oc.client_secret.empty() &&
           std::isspace(static_cast<unsigned char>(oc.client_secret.back()))) {
      oc.client_secret.pop_back();
    }
    if (oc.client_secret.empty()) {
      return Fail("identity.oidc.client_secret_file " + oc.client_secret_file + " is empty",
                  kExitUsage);
    }
    oidc_client_secret_ = oc.client_secret;
    auto session_key = LoadOrCreateSessionKey(keys_dir_);
    if (!session_key.ok()) return Fail(session_key.error().message, kExitFailure);
    oidc_ = std::make_unique<identity::OidcSignIn>(std::move(oc), std::move(*session_key), &clock_);
    if (Status st = oidc_->Discover(); !st.ok()) {
      std::cerr << "interlock serve: reviewer sign-in is unavailable until the provider answers: "
                << st.error().message << '\n';
    }
    console_signin_ = std::make_unique<core::ConsoleSignIn>(oidc_.get());
    aopt_.oidc = console_signin_.get();
    aopt_.secure_cookies = !cfg_.tls_cert.empty() || cfg_.public_url.starts_with("https://");
    return kExitOk;
  }

  int BuildApi() {
    // The Governance page's reports, computed on the cache's own thread (governance:).
    reports_ = std::make_unique<server::ReportCache>(
        server::ReportCache::Options{.wait = cfg_.governance_wait,
                                     .min_interval = cfg_.governance_min_interval},
        &clock_, [audit = core::AuditTrail(store_.get())]() -> std::optional<int64_t> {
          Result<int64_t> seq = audit.LastSeq();
          if (!seq.ok()) return std::nullopt;
          return *seq;
        });
    aopt_.reports = reports_.get();
    aopt_.egress_receipts = &egress_receipts_;
    api_ = std::make_unique<server::Api>(aopt_, guard_.get(), store_.get(), policies_.get(),
                                         &clock_, &metrics_);
    // Several daemons on one PostgreSQL database: a verdict committed through any of them
    // wakes this one's long polls (LISTEN/NOTIFY). Cleared before the Api goes away.
    call_listener_.pg = dynamic_cast<store::PostgresStore*>(store_.get());
    if (call_listener_.pg != nullptr) {
      call_listener_.pg->SetCallListener([api = api_.get()](std::string_view call_id) {
        if (call_id.empty()) {
          api->call_waiters()->NotifyAll();
        } else {
          api->NotifyCall(call_id);
        }
      });
    }
    return StartSlack();
  }

  // The secret in `file` (trailing whitespace trimmed); "" with *code set on failure.
  std::string SlackSecret(const std::string& file, const char* key, int* code) {
    Result<std::string> secret = ReadFileBounded(file, 4096, key);
    if (!secret.ok()) {
      *code = Fail(secret.error().message, kExitUsage);
      return {};
    }
    std::string t = std::move(*secret);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    if (t.empty()) *code = Fail(std::string(key) + " " + file + " is empty", kExitUsage);
    return t;
  }

  // slack: (docs/approvals.md, "Approving from Slack"): the callback route's secret and
  // user mapping on the Api, and the messages' notifier (in front of the sweeper's).
  int StartSlack() {
    const server::SlackConfig& sc = cfg_.slack;
    if (sc.channel.empty()) return kExitOk;
    int code = kExitOk;
    server::SlackOptions so;
    so.bot_token = SlackSecret(sc.bot_token_file, "slack.bot_token_file", &code);
    if (code != kExitOk) return code;
    slack_callbacks_ = std::make_unique<server::SlackCallbacks>();
    slack_callbacks_->signing_secret =
        SlackSecret(sc.signing_secret_file, "slack.signing_secret_file", &code);
    if (code != kExitOk) return code;
    slack_callbacks_->users = sc.users;
    so.api_base = sc.api_base;
    so.channel = sc.channel;
    so.ca_file = sc.ca_file;
    // The (approval -> channel, ts) record lives in the store. An older release kept it in
    // a file (slack.state_file, deprecated; by default next to the store, or in the keys
    // directory for PostgreSQL): imported into the store once when it is there.
    so.state_file = sc.state_file;
    if (so.state_file.empty() && cfg_.store != ":memory:") {
      const std::filesystem::path dir = postgres_ ? std::filesystem::path(keys_dir_)
                                                  : std::filesystem::path(cfg_.store).parent_path();
      so.state_file = (dir / "slack-messages.jsonl").string();
    }
    slack_bot_token_ = so.bot_token;  // masked in what upstreams send
    so.approval_url = [api = api_.get()](std::string_view id) { return api->ApprovalUrl(id); };
    auto slack =
        server::SlackApprovals::Create(std::move(so), notices_.get(), store_.get(), &clock_);
    if (!slack.ok()) return Fail(slack.error().message, kExitUsage);
    slack_ = std::move(*slack);
    if (sc.users_by_email) {
      // The config requires identity.oidc with name_claim: email: the console names the
      // same person alike (identity::OidcEmailName).
      slack_callbacks_->reviewer_by_email = [slack = slack_.get(), issuer = cfg_.oidc.issuer](
                                                std::string_view user) -> Result<std::string> {
        Result<std::string> email = slack->VerifiedEmail(user);
        if (!email.ok()) return email.error();
        return identity::OidcEmailName(*email, issuer);
      };
    }
    api_->SetSlack(slack_callbacks_.get());
    return kExitOk;
  }

  // MCP Streamable HTTP (/mcp/{upstream}): sessions decide through this Guard and wait on
  // this Api's approval queue; tool pins live in the same store (on PostgreSQL: shared by
  // every daemon of the fleet, so a pin accepted anywhere holds everywhere).
  int StartUpstreams() {
    if (cfg_.mcp.upstreams.empty()) return kExitOk;
    auto pin_rows = store_->OpenPinRows();
    if (!pin_rows.ok()) return Fail("mcp pins: " + pin_rows.error().message, kExitFailure);
    pins_ = std::make_unique<mcp::PinStore>(std::move(pin_rows).value());
    server::McpHttpDeps deps;
    deps.guard = guard_.get();
    deps.store = store_.get();
    deps.policies = policies_.get();
    deps.clock = &clock_;
    deps.waiters = api_->call_waiters();
    deps.pins = pins_.get();
    deps.metrics = &metrics_;
    deps.approval_url = [api = api_.get()](std::string_view id) { return api->ApprovalUrl(id); };
    // Approvals over MRTR: states sealed under a key derived from the audit HMAC key (the
    // keys directory every daemon of a fleet shares), so a state issued before a restart,
    // or by another daemon of the fleet, opens here. :memory: has no keys: one per start.
    const std::string secret = keys_ ? keys_->hmac_key : RandomBytes(32);
    request_states_ = std::make_unique<core::RequestStates>(secret, &clock_);
    deps.request_states = request_states_.get();
    // Sandboxed upstreams reach the network only through their session's egress proxy,
    // deciding through this Guard and recording in this store.
    deps.sandbox_egress = [guard = guard_.get(), store = store_.get(),
                           clock = &clock_](core::SessionEgressRequest request) {
      return egress::StartSessionEgress(guard, store, clock, std::move(request));
    };
    server::McpHttpConfig config = UpstreamConfig();
    // Upstream credentials: the identity providers' client secrets read now, masked like
    // every upstream's secret.
    auto credentials =
        server::McpUpstreamCredentials::Create(cfg_.mcp, &clock_, &config.masked_values);
    if (!credentials.ok()) return Fail(credentials.error().message, kExitUsage);
    upstream_credentials_ = std::move(*credentials);
    deps.credentials = upstream_credentials_.get();
    deps.connector = outbound::Connector();
    auto service = server::McpHttpService::Create(std::move(config), deps);
    if (!service.ok()) return Fail(service.error().message, kExitUsage);
    mcp_http_ = std::move(*service);
    api_->SetMcpEndpoint(mcp_http_.get());
    mcp_drill_ = std::make_unique<server::McpDrillProbe>(
        guard_.get(), store_.get(), policies_.get(), &clock_, api_->call_waiters());
    api_->AddDrillProbe(mcp_drill_.get());
    return kExitOk;
  }

  // ext_authz (docs/gateways.md): Envoy's external authorization over gRPC, on a listener of
  // its own, deciding through this Guard, this Api's Authenticator and approval links.
  int StartExtAuthz() {
    if (!cfg_.ext_authz.enabled) return kExitOk;
    ext_authz_calls_ = std::make_unique<core::Calls>(store_.get(), policies_.get(), &clock_);
    doors::ext_authz::DoorDeps deps;
    deps.guard = guard_.get();
    deps.calls = ext_authz_calls_.get();
    deps.authn = api_->authenticator();
    deps.approval_url = [api = api_.get()](std::string_view id) { return api->ApprovalUrl(id); };
    ext_authz_door_ = std::make_unique<doors::ext_authz::Door>(cfg_.ext_authz, std::move(deps));
    ext_authz_drill_ = std::make_unique<doors::ext_authz::DoorDrillProbe>(ext_authz_door_.get());
    api_->AddDrillProbe(ext_authz_drill_.get());
    auto server = doors::ext_authz::ExtAuthzServer::Start(ext_authz_door_.get());
    if (!server.ok()) return Fail(server.error().message, kExitFailure);
    ext_authz_ = std::move(*server);
    return kExitOk;
  }

  // cfg.mcp with what the upstreams must never see: the values masked in all they send,
  // and what no sandboxed upstream may write, or see where a bind would show it
  // (mcp/sandbox.h): the store (InterlockTrustedPaths adds it), keys and checkpoints, the
  // config file, the policies, the TLS key.
  server::McpHttpConfig UpstreamConfig() const {
    server::McpHttpConfig mcp_config;
    static_cast<server::McpHttpSettings&>(mcp_config) = cfg_.mcp;  // the door's section
    for (const auto& [name, u] : cfg_.mcp.upstreams) mcp_config.upstreams.emplace(name, u);
    mcp_config.masked_values = mcp::SecretsInUri(cfg_.store);  // a PostgreSQL password
    if (const char* t = std::getenv(std::string(mcp::kInterlockTokenVariable).c_str());
        t != nullptr && *t != '\0') {
      mcp_config.masked_values.emplace_back(t);  // an operator's token the daemon inherited
    }
    if (!aopt_.metrics_token.empty()) mcp_config.masked_values.push_back(aopt_.metrics_token);
    if (!oidc_client_secret_.empty()) mcp_config.masked_values.push_back(oidc_client_secret_);
    if (slack_callbacks_) {
      mcp_config.masked_values.push_back(slack_callbacks_->signing_secret);
      mcp_config.masked_values.push_back(slack_bot_token_);
    }
    mcp_config.sandbox_store = postgres_ || cfg_.store == ":memory:" ? std::string() : cfg_.store;
    auto& trusted = mcp_config.sandbox_trusted;
    if (!keys_dir_.empty()) trusted.emplace_back("the audit keys", keys_dir_);
    if (!checkpoints_.empty()) trusted.emplace_back("the checkpoints file", checkpoints_);
    if (!flags_.config.empty()) trusted.emplace_back("the config file", flags_.config);
    for (const std::string& p : cfg_.policies) trusted.emplace_back("the policies", p);
    if (!cfg_.tls_key.empty()) trusted.emplace_back("the TLS key", cfg_.tls_key);
    if (!cfg_.oidc.client_secret_file.empty()) {
      trusted.emplace_back("the OIDC client secret", cfg_.oidc.client_secret_file);
    }
    return mcp_config;
  }

  // The HTTP server, the policy watcher, signal handling and the approval sweeper; then
  // the daemon says where it listens.
  int StartServers() {
    server::HttpServerOptions hopt;
    hopt.host = cfg_.host;
    hopt.port = cfg_.port;
    hopt.threads = cfg_.threads;
    hopt.limits = cfg_.limits;
    hopt.tls_cert_file = cfg_.tls_cert;
    hopt.tls_key_file = cfg_.tls_key;
    http_ = std::make_unique<server::HttpServer>(hopt, api_.get(), &metrics_);

    watcher_ = std::make_unique<server::PolicyWatcher>(cfg_.policies, policies_.get(), &metrics_,
                                                       cfg_.policy_poll);
    watcher_->SetLoadOptions(load_);
    watcher_->SetRecorder(
        [this](const policy::PolicySet* set, const char* why, const std::string& error) {
          return store_->RecordPolicyLoad(PolicyLoadOf(set, why, error, clock_.Now()));
        });

    // Signals are handled on the io_context; the main thread only waits for the verdict.
    signals_ =
        std::make_unique<boost::asio::signal_set>(http_->io_context(), SIGTERM, SIGINT, SIGHUP);
    on_signal_ = [this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        watcher_->RequestReload();
        signals_->async_wait(on_signal_);
        return;
      }
      std::lock_guard lock(mu_);
      stop_signal_ = sig;
      cv_.notify_all();
    };
    signals_->async_wait(on_signal_);
    ::signal(SIGPIPE, SIG_IGN);

    if (Status st = http_->Start(); !st.ok()) return Fail(st.error().message, kExitFailure);
    serving_ = true;
    watcher_->Start();
    StartSweeper();
    Announce();
    return kExitOk;
  }

  // The URL of this daemon as its clients reach it: public_url, else the listening address.
  std::string ListeningUrl() const {
    const auto ep = http_->local_endpoint();
    const std::string host = ep.address().to_string();
    return std::string(http_->tls() ? "https" : "http") + "://" +
           (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
  }

  void StartSweeper() {
    approval::SweeperOptions swopt;
    swopt.interval = cfg_.approval_sweep;
    swopt.channel = cfg_.approval_channel;
    swopt.public_url = !cfg_.public_url.empty() ? cfg_.public_url : ListeningUrl();
    api_->SetPublicUrl(swopt.public_url);
    // With Slack, its notifier sees the approval notices first (and passes them on), and
    // every settled approval (decided through any door or daemon: the sweeper re-announces
    // them) updates its message.
    core::Notifier* notifier = slack_ ? static_cast<core::Notifier*>(slack_.get()) : notices_.get();
    sweeper_ = std::make_unique<approval::Sweeper>(
        store_.get(), policies_.get(), &clock_, notifier, swopt,
        [api = api_.get(), slack = slack_.get()](const std::string& call_id) {
          api->NotifyCall(call_id);
          if (slack != nullptr) slack->OnSettled(call_id);
        });
    sweeper_->Start();
    // Runs past their wall-clock limit are halted at the deadline, not at their next call
    // (docs/api.md#runs): every 2 s, the overdue runs of each agent with a limit.
    deadline_calls_ = std::make_unique<core::Calls>(store_.get(), policies_.get(), &clock_);
    deadlines_ = std::make_unique<PeriodicTask>(
        std::chrono::seconds(1), std::chrono::seconds(2), [calls = deadline_calls_.get()] {
          Result<size_t> n = calls->HaltOverdueRuns();
          if (!n.ok()) {
            std::cerr << "interlock serve: the wall-clock deadline sweep failed: "
                      << n.error().message << '\n';
          } else if (*n > 0) {
            std::cerr << "interlock serve: halted " << *n
                      << " run(s) at their wall-clock deadline\n";
          }
        });
  }

  // Where the daemon listens, on stdout, and in --ready-file.
  void Announce() {
    const auto ep = http_->local_endpoint();
    const std::string host = ep.address().to_string();
    for (const auto& [name, up] : cfg_.mcp.upstreams) {
      std::cout << "interlock: MCP upstream " << name << " at /mcp/" << name << " ("
                << (up.url.empty() ? "stdio" : UrlForLog(up.url)) << ")\n";
    }
    if (ext_authz_) {
      const std::string& h = cfg_.ext_authz.host;
      std::cout << "interlock: ext_authz gRPC on "
                << (h.find(':') != std::string::npos ? "[" + h + "]" : h) << ':'
                << ext_authz_->port() << (ext_authz_->tls() ? " (TLS)" : " (plain)") << '\n';
    }
    std::cout << "interlock: listening on " << (http_->tls() ? "https" : "http") << "://"
              << (ep.address().is_v6() ? "[" + host + "]" : host) << ':' << ep.port() << '\n'
              << "interlock: " << set_->agents.size() << " agent policies, store "
              << UrlForLog(cfg_.store) << std::endl;
    if (!flags_.ready_file.empty()) {
      if (Status st = WriteReadyFile(flags_.ready_file, host, ep.port()); !st.ok()) {
        std::cerr << "interlock serve: " << st.error().message << '\n';
      }
    }
  }

  void WaitForStopSignal() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_signal_ != 0; });
  }

  // The graceful shutdown of a serving daemon: work stops in the order it must end, so
  // nothing uses a resource after it is gone; then the members go in reverse order.
  void Drain() {
    std::cerr << "interlock: " << (stop_signal_ == SIGINT ? "SIGINT" : "SIGTERM")
              << ": draining in-flight requests\n";
    // Post the signal_set cancel onto the io threads' world before they stop.
    boost::system::error_code ignored;
    signals_->cancel(ignored);
    stopping_.store(true);  // a prune in progress ends at its next chunk
    sweeper_->Stop();
    deadlines_.reset();
    if (mcp_http_) mcp_http_->Shutdown();    // MCP sessions end: children stopped, streams ended
    if (ext_authz_) ext_authz_->Shutdown();  // Checks in flight finish, bounded
    api_->Shutdown();                        // long polls answer now; the blocking pool drains
    slack_.reset();  // Slack messages in flight, bounded; before the store it reads goes
    http_->Shutdown();
    reports_.reset();  // a report being computed stops; before the store it reads goes
    // The last spans, logs and metrics, bounded; before the store its metrics read goes.
    telemetry::SetDefaultSink(nullptr);
    if (otel_) otel_->Shutdown();
    pruner_.reset();         // waits for a prune in progress: it stops after its current chunk
    call_listener_.Clear();  // before the store it is set on goes (it would outlive it)
    store_.reset();          // nothing uses it now: drains the writer, checkpoints the WAL, closes
    if (checkpointer_) checkpointer_->Stop();  // a final signed checkpoint of the head
    std::cerr << "interlock: stopped\n";
  }

  // Clears the PostgreSQL store's call listener (it calls into the Api) before the Api goes,
  // or before the store when Drain() closes the store first (store_ outlives this member, so
  // the destructor alone cleared it on a freed store: a use-after-free at every stop on
  // PostgreSQL, caught by an -O0 build of the upgrade test's last release).
  struct CallListener {
    store::PostgresStore* pg = nullptr;
    void Clear() {
      if (pg != nullptr) std::exchange(pg, nullptr)->SetCallListener(nullptr);
    }
    ~CallListener() { Clear(); }
  };

  const ServeFlags& flags_;
  const CLI::App& cmd_;
  // Built in this order by the phases above, destroyed in the reverse order.
  server::ServerConfig cfg_;                               // LoadConfig
  policy::LoadOptions load_;                               // LoadPolicies
  std::shared_ptr<const policy::PolicySet> set_;           //
  std::unique_ptr<core::PolicySource> policies_;           //
  bool postgres_ = false;                                  // PrepareStore
  SystemClock clock_;                                      //
  std::optional<audit::AuditKeys> keys_;                   // LoadKeys
  std::string keys_dir_;                                   //
  std::string checkpoints_;                                //
  std::unique_ptr<core::Store> store_;                     // OpenStore
  std::unique_ptr<audit::CheckpointThread> checkpointer_;  // StartCheckpoints
  std::atomic<bool> stopping_{false};                      // StartRetention
  std::unique_ptr<PeriodicTask> pruner_;                   //
  std::unique_ptr<server::WebhookNotifier> notifier_;      // BuildApiOptions
  server::Metrics metrics_;                                //
  server::DecisionMetrics decision_metrics_{&metrics_};    // every door's decisions
  std::unique_ptr<telemetry::OtlpExporter> otel_;          //
  std::unique_ptr<NoticeLogger> notices_;                  //
  std::unique_ptr<core::Guard> guard_;                     //
  server::ApiOptions aopt_;                                //
  identity::HttpsJwksFetcher jwks_fetcher_;                // StartIdentity
  std::unique_ptr<identity::Verifier> jwt_;                //
  std::unique_ptr<PeriodicTask> jwks_refresh_;             //
  std::unique_ptr<identity::OidcSignIn> oidc_;             //
  std::unique_ptr<core::ConsoleSignIn> console_signin_;    // the Api's view of oidc_
  std::string oidc_client_secret_;                         // masked in what upstreams send
  std::unique_ptr<server::ReportCache> reports_;           // BuildApi; outlives the Api
  ApiEgressReceipts egress_receipts_;                      //
  std::unique_ptr<server::Api> api_;                       //
  CallListener call_listener_;                             //
  std::unique_ptr<mcp::PinStore> pins_;                    // StartUpstreams
  std::unique_ptr<core::RequestStates> request_states_;    //
  std::unique_ptr<server::McpDrillProbe> mcp_drill_;       // the drill's view of /mcp/ (Api's)
  std::unique_ptr<server::McpUpstreamCredentials> upstream_credentials_;  // StartUpstreams
  std::unique_ptr<server::McpHttpService> mcp_http_;                      //
  std::unique_ptr<core::Calls> ext_authz_calls_;                          // StartExtAuthz
  std::unique_ptr<doors::ext_authz::Door> ext_authz_door_;
  std::unique_ptr<doors::ext_authz::DoorDrillProbe> ext_authz_drill_;
  std::unique_ptr<doors::ext_authz::ExtAuthzServer> ext_authz_;
  std::unique_ptr<server::HttpServer> http_;          // StartServers
  std::unique_ptr<server::PolicyWatcher> watcher_;    //
  std::mutex mu_;                                     //
  std::condition_variable cv_;                        //
  int stop_signal_ = 0;                               // guarded by mu_
  std::unique_ptr<boost::asio::signal_set> signals_;  //
  std::function<void(const boost::system::error_code&, int)> on_signal_;
  std::unique_ptr<approval::Sweeper> sweeper_;   //
  std::unique_ptr<core::Calls> deadline_calls_;  // the wall-clock deadline sweep
  std::unique_ptr<PeriodicTask> deadlines_;      //
  bool serving_ = false;                         // http_ started: Drain() on the way out
  // StartSlack (in BuildApi); the bot token is kept to be masked in what upstreams send.
  std::unique_ptr<server::SlackCallbacks> slack_callbacks_;
  std::unique_ptr<server::SlackApprovals> slack_;
  std::string slack_bot_token_;
};

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
  AddAuditKeyFlags(cmd, &flags->keys_dir, &flags->checkpoints);
  cmd->add_option("--workspace", flags->workspace,
                  "The directory ${workspace} stands for in policies, at start and on every "
                  "reload (default: config key `workspace:`, else the daemon's current "
                  "directory)");
  cmd->add_option("--threads", flags->threads, "io threads (default: hardware concurrency)");
  cmd->add_flag("--create", flags->create,
                "Make the missing directories of --store / `store:` (0700); without it a named "
                "store whose directory does not exist is refused (a typo would start a new, "
                "empty audit trail)");
  cmd->add_flag("--allow-plain-http", flags->allow_plain_http,
                "Serve plain HTTP on an address other than loopback (config: "
                "`allow_plain_http: true`); refused otherwise unless TLS is configured");
  cmd->callback([flags, exit_code, cmd] { *exit_code = Daemon(*flags, *cmd).Run(); });
}

const CommandRegistration kRegisterServe("serve", &AddServe);

}  // namespace
}  // namespace interlock::cli
