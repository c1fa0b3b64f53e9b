#include "cli/doctor.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <sqlite3.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/verify.h"
#include "cli/cli_util.h"
#include "common/json.h"
#include "common/store_path.h"
#include "common/text.h"
#include "common/url_text.h"
#include "core/app/drills.h"
#include "daemon/config.h"
#include "mcp/sandbox.h"
#include "policy/loader.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_history_source.h"
#include "store/sqlite_record_source.h"
#include "store/sqlite_store.h"

namespace interlock::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDash = " \u2014 ";

// The findings of one run, in order.
class Report {
 public:
  void Ok(std::string what) { findings_.push_back({DoctorLevel::kOk, std::move(what), ""}); }
  void Warn(std::string what, std::string fix) {
    findings_.push_back({DoctorLevel::kWarn, std::move(what), std::move(fix)});
  }
  void Fail(std::string what, std::string fix) {
    findings_.push_back({DoctorLevel::kFail, std::move(what), std::move(fix)});
  }
  // A warning, or a failure when the config uses what is missing.
  void Missing(bool used, std::string what, std::string fix) {
    if (used) {
      Fail(std::move(what), std::move(fix));
    } else {
      Warn(std::move(what), std::move(fix));
    }
  }
  std::vector<DoctorFinding> Take() { return std::move(findings_); }

 private:
  std::vector<DoctorFinding> findings_;
};

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string UserName(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid); pw != nullptr) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

// A secret file or directory: owned by the service's user, nothing for group and others.
// False when it failed (the finding is written); true when it passed (nothing written).
bool CheckPrivate(const std::string& path, bool dir, const DoctorOptions& o, Report* r) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    r->Fail(path + ": cannot stat: " + std::strerror(errno),
            "check that it exists and that " + o.owner_name + " can reach it");
    return false;
  }
  bool ok = true;
  if (st.st_uid != o.owner) {
    // Root checking a service's files without --user: the likelier fix is the flag.
    const std::string fix = o.owner == 0 ? "if the daemon runs as " + UserName(st.st_uid) +
                                               ", run `interlock doctor --user " +
                                               UserName(st.st_uid) + "`; else chown root " + path
                                         : "chown " + o.owner_name + " " + path;
    r->Fail(path + " is owned by " + UserName(st.st_uid) + ", not " + o.owner_name, fix);
    ok = false;
  }
  if ((st.st_mode & 077) != 0) {
    r->Fail(path + " is mode " + Octal(st.st_mode) + ": group or others can " +
                ((st.st_mode & 044) != 0 ? "read" : "use") + " it",
            std::string("chmod ") + (dir ? "700 " : "600 ") + path);
    ok = false;
  }
  return ok;
}

// Config and policy files may be readable by the service's group, never writable by
// anyone but their owner: whoever can write a policy decides what the agents may do.
void CheckNotWritableByOthers(const std::string& path, const std::string& what, Report* r) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // the loader reports unreadable files
  if ((st.st_mode & 022) != 0) {
    r->Fail(what + " " + path + " is mode " + Octal(st.st_mode) + ": group or others can change it",
            "chmod go-w " + path);
  }
}

struct ChildOutcome {
  int exit_code = -1;  // -1: killed (the timeout) or could not run
  std::string err;     // its stderr, first line
};

// Runs argv with stdin and stdout on /dev/null and stderr captured, killed after `timeout`.
ChildOutcome RunQuiet(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  ChildOutcome out;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    out.err = std::strerror(errno);
    return out;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(pipefd[1], 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  if (pid < 0) {
    ::close(pipefd[0]);
    out.err = std::strerror(errno);
    return out;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[512];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{pipefd[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;  // EOF: the child is done with stderr
    if (out.err.size() < 4096) out.err.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  pid_t w = 0;
  while ((w = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    ::usleep(10'000);
  }
  if (w == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    out.err = "no answer within " + std::to_string(timeout.count()) + " ms";
    return out;
  }
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (size_t nl = out.err.find('\n'); nl != std::string::npos) out.err.resize(nl);
  return out;
}

struct Resolved {
  server::ServerConfig cfg;
  std::string store;
  std::string keys_dir;
  std::string checkpoints;
  bool sandbox_used = false;
};

// The config and the policy set, as `interlock serve` would load them.
bool CheckConfigAndPolicies(const DoctorOptions& o, Resolved* res, Report* r) {
  if (!o.config.empty()) {
    if (Status st = server::LoadServerConfig(o.config, &res->cfg); !st.ok()) {
      r->Fail("config " + o.config + ": " + st.error().message,
              "fix the file (docs/operations.md#configuration)");
      return false;
    }
    CheckNotWritableByOthers(o.config, "config", r);
    r->Ok("config " + o.config + " loads");
  }
  if (!o.policies.empty()) res->cfg.policies = o.policies;
  for (const auto& [name, up] : res->cfg.mcp.upstreams) res->sandbox_used |= up.sandbox;
  if (res->cfg.policies.empty()) {
    r->Fail("no policies", "pass --policies DIR or set `policies:` in the config");
    return true;
  }
  std::string where;
  for (const std::string& p : res->cfg.policies) {
    where += (where.empty() ? "" : ", ") + p;
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(p, ec)) {
        CheckNotWritableByOthers(e.path().string(), "policy", r);
      }
      CheckNotWritableByOthers(p, "policy directory", r);
    } else {
      CheckNotWritableByOthers(p, "policy", r);
    }
  }
  policy::LoadOptions load;
  if (Result<std::string> w = WorkspaceDir(res->cfg.workspace); w.ok()) {
    load.workspace = std::move(*w);
  } else {
    r->Fail("workspace: " + w.error().message, "set `workspace:` to an existing directory");
    return true;
  }
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(res->cfg.policies, &diags, load);
  if (!set.ok()) {
    std::string first = set.error().message;
    if (size_t nl = first.find('\n'); nl != std::string::npos) first.resize(nl);
    r->Fail("policies " + where + " are invalid: " + first,
            "run `interlock check " + where + "` and fix every error");
    return true;
  }
  // The same warnings `interlock check` gives: the loader's and the checklist's (Lint).
  for (const auto& [id, agent] : (*set)->agents) {
    for (policy::Diagnostic& d : policy::Lint(*agent)) diags.push_back(std::move(d));
  }
  size_t warnings = 0;
  std::string first_warning;
  for (const policy::Diagnostic& d : diags) {
    if (d.severity != policy::Diagnostic::Severity::kWarning) continue;
    if (warnings++ == 0) first_warning = d.ToString();
  }
  const std::string agents = std::to_string((*set)->agents.size()) + " agent policies";
  if (warnings > 0) {
    r->Warn("policies " + where + ": " + agents + ", " + std::to_string(warnings) +
                " warning(s), the first: " + first_warning.substr(0, 200),
            "run `interlock check " + where + "` (checklist gaps, not errors)");
  } else {
    r->Ok("policies " + where + ": " + agents);
  }
  return true;
}

// A file the config names that holds a secret (a TLS key, the metrics token, a client
// secret, an assertion key, an upstream's secret file): readable by others is a failure
// (any local user has the secret); readable by the group a warning (a key shared through a
// group such as Debian's ssl-cert is a choice; say so). The owner is not checked: the
// daemon only needs to read it, and root may keep it.
void CheckSecretFile(const std::string& what, const std::string& path, Report* r) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    r->Fail(what + " " + path + ": cannot stat: " + std::strerror(errno),
            "`interlock serve` reads it at start; check the path and who can reach it");
    return;
  }
  if ((st.st_mode & 007) != 0) {
    r->Fail(what + " " + path + " is mode " + Octal(st.st_mode) + ": any local user can " +
                ((st.st_mode & 004) != 0 ? "read" : "use") + " it",
            "chmod 600 " + path + " (or 640 with a group only the daemon is in)");
  } else if ((st.st_mode & 070) != 0) {
    r->Warn(what + " " + path + " is mode " + Octal(st.st_mode) + ": its group can " +
                ((st.st_mode & 040) != 0 ? "read" : "use") + " it",
            "chmod 600 " + path + " unless that group holds only the daemon's user");
  } else {
    r->Ok(what + " " + path + " is private (mode " + Octal(st.st_mode) + ")");
  }
}

// A variable or header name that says it holds a credential.
bool LooksSecret(std::string_view original) {
  const std::string name = AsciiLower(original);
  for (std::string_view w : {"token", "secret", "password", "passwd", "key", "auth", "cookie",
                             "credential", "session"}) {
    if (name.find(w) != std::string::npos) return true;
  }
  return false;
}

// Every secret file the config names, then the secrets written into the config itself
// (docs/operations.md, "Checking an installation"): each names where, never the value.
void CheckSecrets(const DoctorOptions& o, const Resolved& res, Report* r) {
  const server::ServerConfig& c = res.cfg;
  if (!c.tls_key.empty()) CheckSecretFile("tls_key", c.tls_key, r);
  if (!c.metrics_token_file.empty()) CheckSecretFile("metrics_token_file", c.metrics_token_file, r);
  if (!c.oidc.client_secret_file.empty()) {
    CheckSecretFile("identity.oidc.client_secret_file", c.oidc.client_secret_file, r);
  }
  std::vector<std::string> inline_secrets;
  for (const auto& [name, up] : c.mcp.upstreams) {
    const std::string at = "mcp.upstreams." + name;
    for (const auto& [var, file] : up.secret_files) {
      CheckSecretFile(at + ".secret_files." + var, file, r);
    }
    if (!up.credentials_secret_file.empty()) {
      CheckSecretFile(at + ".credentials client_secret_file", up.credentials_secret_file, r);
    }
    if (!up.credentials_assertion_key_file.empty()) {
      CheckSecretFile(at + ".credentials client_assertion.key_file",
                      up.credentials_assertion_key_file, r);
    }
    for (const auto& [agent, file] : up.credentials_agent_secret_files) {
      CheckSecretFile(at + ".credentials agents." + agent + ".client_secret_file", file, r);
    }
    for (const auto& [var, value] : up.env) {
      if (LooksSecret(var) && !value.empty()) inline_secrets.push_back(at + ".env." + var);
    }
    for (const auto& [header, value] : up.headers) {
      if (LooksSecret(header) && !value.empty())
        inline_secrets.push_back(at + ".headers." + header);
    }
    if (UrlHasCredentials(up.url)) inline_secrets.push_back(at + ".url (userinfo)");
  }
  if (!o.config.empty() && UrlHasCredentials(c.store)) {
    inline_secrets.push_back("store (a password in the URI)");
  }
  for (const auto& [header, value] : c.telemetry.headers) {
    if (!value.empty()) inline_secrets.push_back("telemetry.headers." + header);
  }
  for (const std::string* url : {&c.telemetry.endpoint, &c.telemetry.traces_endpoint,
                                 &c.telemetry.logs_endpoint, &c.telemetry.metrics_endpoint}) {
    if (UrlHasCredentials(*url)) inline_secrets.push_back("telemetry endpoint (userinfo)");
  }
  for (const auto& [channel, url] : c.webhooks) {
    if (UrlHasCredentials(url)) inline_secrets.push_back("webhooks." + channel + " (userinfo)");
  }
  if (inline_secrets.empty() || o.config.empty()) return;
  std::string list;
  for (const std::string& w : inline_secrets) list += (list.empty() ? "" : ", ") + w;
  const std::string fix =
      "keep secrets out of the config: secret_env:/secret_files:/secret_headers: for upstreams, "
      "a .pgpass file (PGPASSFILE) for PostgreSQL, OTEL_EXPORTER_OTLP_HEADERS in the unit's "
      "environment file for telemetry";
  struct stat st {};
  if (::stat(o.config.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    r->Fail("config " + o.config + " holds secrets inline (" + list + ") and is mode " +
                Octal(st.st_mode) + ": group or others can read them",
            "chmod 600 " + o.config + "; better, " + fix);
    return;
  }
  r->Warn("config " + o.config + " holds secrets inline (" + list + ")", fix);
}

// The SQLite file and its keys: who owns them, who else can read them, whether the file
// opens and its schema is one this build can use. False when there is nothing to check
// the chain of.
bool CheckSqliteStore(const DoctorOptions& o, const Resolved& res, Report* r) {
  const std::string& path = res.store;
  std::error_code ec;
  if (struct stat st{}; ::stat(path.c_str(), &st) != 0 && errno != ENOENT) {
    r->Fail("store " + path + " cannot be reached by " + o.owner_name + ": " + std::strerror(errno),
            "chown -R " + o.owner_name + " " + fs::path(path).parent_path().string());
    return false;
  }
  if (!fs::exists(path, ec)) {
    r->Warn("store " + path + " does not exist yet",
            "`interlock serve` creates it at its first start; its directory must be "
            "writable by " +
                o.owner_name);
    return false;
  }
  bool perms = CheckPrivate(path, false, o, r);
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs::exists(path + suffix, ec)) perms &= CheckPrivate(path + suffix, false, o, r);
  }
  const std::string parent = fs::path(path).parent_path().string();
  if (struct stat st{}; !parent.empty() && ::stat(parent.c_str(), &st) == 0) {
    if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
      r->Fail("store directory " + parent + " is mode " + Octal(st.st_mode) +
                  ": group or others can replace the store",
              "chmod 700 " + parent);
      perms = false;
    }
  }
  Result<audit::SqliteDb> db = audit::OpenAuditStore(path, /*read_only=*/true);
  if (!db.ok()) {
    r->Fail("store " + path + " does not open: " + db.error().message,
            "restore it from a backup, or point --store / `store:` at the right file");
    return false;
  }
  audit::Statement s;
  int version = 0;
  if (s.Prepare(db->get(), "SELECT MAX(version) FROM schema_version").ok() &&
      sqlite3_step(s.get()) == SQLITE_ROW) {
    version = static_cast<int>(s.Int64(0));
  }
  const int known = store::SqliteSchemaVersion();
  if (version > known) {
    r->Fail("store " + path + " has schema version " + std::to_string(version) +
                ", newer than this interlock knows (" + std::to_string(known) + ")",
            "it was written by a newer interlock: install that version again "
            "(docs/operations.md#upgrades-and-rollback)");
    return false;
  }
  if (version < known) {
    r->Ok("store " + path + " opens (schema " + std::to_string(version) + ", migrated to " +
          std::to_string(known) + " at the next start)");
  } else if (perms) {
    r->Ok("store " + path + " opens read-only (schema " + std::to_string(version) + "), owned by " +
          o.owner_name + ", private");
  } else {
    r->Ok("store " + path + " opens read-only (schema " + std::to_string(version) + ")");
  }
  return true;
}

// The audit keys, then the whole chain against the signed checkpoints with them (the
// code of `interlock audit verify --checkpoints --pubkey`).
void CheckKeysAndChain(const DoctorOptions& o, const Resolved& res, bool have_store,
                       audit::RecordSource* source, Report* r) {
  std::error_code ec;
  if (struct stat st{}; ::stat(res.keys_dir.c_str(), &st) != 0 && errno != ENOENT) {
    r->Fail("audit keys " + res.keys_dir + " cannot be reached by " + o.owner_name + ": " +
                std::strerror(errno),
            "chown -R " + o.owner_name + " " + res.keys_dir + " and its parent directory");
    return;
  }
  if (!fs::exists(res.keys_dir, ec)) {
    if (have_store) {
      r->Fail("no audit keys at " + res.keys_dir + " beside an existing store",
              "restore the key directory from its backup (a new key cannot verify the old "
              "checkpoints), or pass --keys DIR");
    } else {
      r->Warn("audit keys " + res.keys_dir + " do not exist yet",
              "`interlock serve` creates them at its first start; back them up then");
    }
    return;
  }
  bool perms = CheckPrivate(res.keys_dir, true, o, r);
  for (std::string_view f : {audit::kHmacKeyFile, audit::kSigningKeyFile}) {
    const std::string path = res.keys_dir + "/" + std::string(f);
    if (fs::exists(path, ec)) perms &= CheckPrivate(path, false, o, r);
  }
  Result<audit::AuditKeys> keys = audit::LoadAuditKeys(res.keys_dir);
  if (!keys.ok()) {
    r->Fail("audit keys " + res.keys_dir + ": " + keys.error().message,
            "restore the key directory from its backup");
    return;
  }
  const std::string key_id = keys->public_key.KeyId();
  r->Ok("audit keys " + res.keys_dir + " load (checkpoint key " + key_id + ")" +
        (perms ? ", private" : ""));
  if (source == nullptr) return;

  std::vector<audit::Checkpoint> cps;
  if (fs::exists(res.checkpoints, ec)) {
    Result<std::vector<audit::Checkpoint>> read = audit::ReadCheckpoints(res.checkpoints);
    if (!read.ok()) {
      r->Fail("checkpoints " + res.checkpoints + ": " + read.error().message,
              "restore the file from its backup (it is what makes a cut tail detectable)");
      return;
    }
    cps = std::move(read).value();
  }
  Result<std::vector<audit::Checkpoint>> stored = source->StoredCheckpoints();
  if (!stored.ok()) {
    r->Fail("the store's checkpoints: " + stored.error().message, "check the store");
    return;
  }
  for (audit::Checkpoint& cp : *stored) cps.push_back(std::move(cp));
  for (const audit::Checkpoint& cp : cps) {
    if (!cp.key_id.empty() && cp.key_id != key_id) {
      r->Fail("the checkpoint at seq " + std::to_string(cp.seq) + " was signed by key " +
                  cp.key_id + ", not by the key in " + res.keys_dir + " (" + key_id + ")",
              "restore the key directory that signed the checkpoints; with a new key the "
              "trail cannot be verified");
      return;
    }
  }
  audit::VerifyOptions vo;
  vo.checkpoints = cps;
  vo.public_key = &keys->public_key;
  Result<audit::VerifyReport> v = audit::VerifyAuditLog(*source, vo);
  if (!v.ok()) {
    r->Fail("audit chain: cannot verify: " + v.error().message, "check the store and the keys");
    return;
  }
  if (!v->ok) {
    r->Fail("audit chain: " + audit::VerifySummary(*v),
            "investigate with `interlock audit verify` (docs/audit.md); do not start the "
            "daemon on a damaged trail");
    return;
  }
  if (cps.empty() && v->records > 0) {
    r->Warn("audit chain: " + std::to_string(v->records) +
                " records verify, but no signed checkpoint covers them (" + res.checkpoints +
                " is missing)",
            "restore the checkpoint file, or pass --checkpoints FILE");
    return;
  }
  r->Ok("audit chain: " + std::to_string(v->records) + " records, " +
        std::to_string(v->checkpoints_verified) + " checkpoints verified with key " + key_id);
}

// The last kill-switch drill (docs/drill.md): none, failed, or older than
// drill.warn_after_days is a warning. SQLite stores only (read here, read-only); a fleet's
// PostgreSQL store is asked with `interlock drill --status`.
void CheckLastDrill(const Resolved& res, sqlite3* db, Report* r) {
  const std::string fix = "run `interlock drill` against the daemon (docs/drill.md)";
  if (db == nullptr) {
    if (store::IsPostgresUri(res.store)) {
      r->Ok("kill-switch drills: ask the fleet with `interlock drill --status`");
    }
    return;
  }
  core::HistoryFilter filter;
  filter.types = {core::kDrillRecord};
  int64_t last_ms = -1;
  bool passed = false;
  Status s =
      store::SqliteHistorySource(db).ForEachRecord(filter, [&](const core::HistoryRecord& h) {
        last_ms = h.time_ms;  // seq order: the last one seen is the newest
        auto data = ParseOwnJson(h.data);
        const boost::json::object* o = data.ok() ? data->if_object() : nullptr;
        const boost::json::value* p = o != nullptr ? o->if_contains("passed") : nullptr;
        passed = p != nullptr && p->is_bool() && p->as_bool();
      });
  if (!s.ok()) {
    r->Warn("kill-switch drills cannot be read: " + s.error().message, fix);
    return;
  }
  if (last_ms < 0) {
    r->Warn("no kill-switch drill on record: the kill switch is implemented, not yet tested here",
            fix);
    return;
  }
  const std::string when = FormatRfc3339(FromUnixMillis(last_ms));
  if (!passed) {
    r->Warn("the last kill-switch drill (" + when + ") FAILED: a door did not refuse",
            "`interlock drill --status` names the door; fix it and drill again");
    return;
  }
  const auto age = std::chrono::system_clock::now() - FromUnixMillis(last_ms);
  const auto warn = res.cfg.drill_warn_after;
  if (warn.count() > 0 && age > warn) {
    r->Warn("the last kill-switch drill (" + when + ") is older than drill.warn_after_days (" +
                std::to_string(warn.count() / 86400000) + ")",
            fix);
    return;
  }
  r->Ok("kill-switch drill passed " + when);
}

void CheckStoreAndKeys(const DoctorOptions& o, Resolved* res, Report* r) {
  res->store = !o.store.empty() ? o.store : res->cfg.store;
  if (res->store.empty()) {
    Result<std::string> def = DefaultStorePath();
    if (!def.ok()) {
      r->Fail("no store: " + def.error().message, "pass --store or set `store:`");
      return;
    }
    res->store = std::move(def).value();
  }
  if (res->store == ":memory:") {
    r->Warn("store :memory: keeps nothing (no audit trail survives a restart)",
            "set `store:` to a file");
    return;
  }
  const bool postgres = store::IsPostgresUri(res->store);
  if (postgres && o.keys_dir.empty()) {
    r->Fail("a PostgreSQL store needs the fleet's keys", "pass --keys DIR");
    return;
  }
  res->keys_dir = !o.keys_dir.empty() ? o.keys_dir : audit::DefaultKeysDir(res->store);
  res->checkpoints =
      !o.checkpoints.empty() ? o.checkpoints : audit::DefaultCheckpointsFile(res->keys_dir);
  std::unique_ptr<audit::RecordSource> source;
  audit::SqliteDb db;
  bool have_store = false;
  if (postgres) {
    Result<std::unique_ptr<audit::RecordSource>> pg = store::OpenPostgresRecordSource(res->store);
    if (!pg.ok()) {
      r->Fail("store \"$URI\" does not open: " + pg.error().message,
              "check the URI, the network and the database (docs/operations.md#postgresql)");
    } else {
      r->Ok("store (PostgreSQL) opens");
      source = std::move(pg).value();
      have_store = true;
    }
  } else if (CheckSqliteStore(o, *res, r)) {
    have_store = true;
    Result<audit::SqliteDb> opened = audit::OpenAuditStore(res->store, /*read_only=*/true);
    if (opened.ok()) {
      db = std::move(opened).value();
      source = audit::MakeSqliteRecordSource(db.get());
    }
  }
  CheckKeysAndChain(o, *res, have_store, source.get(), r);
  if (have_store) CheckLastDrill(*res, postgres ? nullptr : db.get(), r);
}

// bubblewrap: present, and able to make the namespaces the sandbox uses.
void CheckSandbox(const DoctorOptions& o, const Resolved& res, Report* r) {
  Result<std::string> bwrap = mcp::FindBwrap();
  if (!bwrap.ok()) {
    r->Missing(res.sandbox_used, "sandbox: " + bwrap.error().message,
               "apt-get install bubblewrap (needed by `sandbox:` upstreams and `interlock mcp "
               "--sandbox`)");
    return;
  }
  const ChildOutcome probe = RunQuiet({*bwrap, "--unshare-user", "--unshare-pid", "--unshare-net",
                                       "--unshare-ipc", "--die-with-parent", "--ro-bind", "/", "/",
                                       "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"},
                                      o.probe_timeout);
  if (probe.exit_code != 0) {
    r->Missing(res.sandbox_used,
               "sandbox: " + *bwrap + " cannot make a user namespace: " +
                   (probe.err.empty() ? "exit " + std::to_string(probe.exit_code) : probe.err),
               "allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, "
               "kernel.unprivileged_userns_clone=1 where it exists; under systemd no "
               "RestrictNamespaces=)");
    return;
  }
  std::string bridge;
  bool subcommand = false;
  if (mcp::FindBridge(&bridge, &subcommand) && subcommand) {
    r->Warn("sandbox: interlock-sandbox-bridge is not beside this program",
            "install it next to interlock: sandboxed servers then start faster");
    return;
  }
  r->Ok("sandbox: " + *bwrap + " makes user, PID and network namespaces");
}

// The egress proxy of a sandboxed server listens on a Unix socket in a private directory
// under /tmp, bound into the sandbox: it must be possible to make one.
void CheckEgress(const Resolved& res, Report* r) {
  mcp::SandboxSocketDir dir;
  if (!dir.Create()) {
    r->Missing(res.sandbox_used,
               std::string("egress: cannot make the proxy's socket directory in /tmp: ") +
                   std::strerror(errno),
               "make /tmp writable for the service (the unit's PrivateTmp=yes gives it one)");
    return;
  }
  const std::string path = dir.path() + "/" + mcp::kSandboxSocketName;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const bool fits = path.size() < sizeof addr.sun_path;
  if (fits) std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const bool bound =
      fd >= 0 && fits && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  const std::string why = fd < 0 ? std::strerror(errno) : bound ? "" : std::strerror(errno);
  if (fd >= 0) ::close(fd);
  if (!bound) {
    r->Missing(res.sandbox_used, "egress: cannot bind a Unix socket in " + dir.path() + ": " + why,
               "allow AF_UNIX sockets (systemd: RestrictAddressFamilies= must list AF_UNIX)");
    return;
  }
  r->Ok("egress: the proxy's private socket directory can be made in /tmp");
}

}  // namespace

std::vector<DoctorFinding> RunDoctor(const DoctorOptions& options) {
  Report r;
  Resolved res;
  if (CheckConfigAndPolicies(options, &res, &r)) {
    CheckSecrets(options, res, &r);
    CheckStoreAndKeys(options, &res, &r);
  }
  CheckSandbox(options, res, &r);
  CheckEgress(res, &r);
  return r.Take();
}

std::string FormatFinding(const DoctorFinding& f) {
  switch (f.level) {
    case DoctorLevel::kOk:
      return "ok   " + f.what;
    case DoctorLevel::kWarn:
      return "warn " + f.what + kDash + f.fix;
    case DoctorLevel::kFail:
      return "FAIL " + f.what + kDash + f.fix;
  }
  return f.what;
}

}  // namespace interlock::cli
